// Issue 17: walk — the seams between the desk's parts over HTTP: a person merge moves a file's tasks (a
// rule's and a hand-made one), its uploaded documents and its letters' documents together, and the undo
// moves exactly them back; a task links to a document of its file (and to nothing of another file); an
// emergency access (break-glass) holder of another department sees the file's documents as the policy says
// (list and read, never add or delete) and nothing before; the access report words the day's desk acts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setUpTenant, startHarness, type Account, type Client, type Harness, type Tenant } from '../helpers/harness.ts';
import { testPdf } from '../helpers/documents.ts';

type User = Client & Account;
let h: Harness;
let t: Tenant;
let INF: string;
let TB: string;
let clerk: User;
let physician: User;
let tbPhysician: User;
let dpo: User;
let invitation: string;

before(async () => {
  h = await startHarness({ listen: true });
  t = await setUpTenant(h, ['INF', 'TB']);
  INF = t.departments.INF!;
  TB = t.departments.TB!;
  clerk = await t.user({ memberships: [{ departmentId: INF, role: 'clerk' }] });
  physician = await t.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  tbPhysician = await t.user({ memberships: [{ departmentId: TB, role: 'physician' }] });
  dpo = await t.user({ tenantRoles: ['dpo'] });
  assert.equal((await t.admin.post('/api/admin/templates/starters')).status, 200);
  const usable = (await clerk.get(`/api/departments/${INF}/letter-templates`)).body.items as {
    id: string;
    kind: string;
  }[];
  invitation = usable.find((x) => x.kind === 'invitation')!.id;
});
after(() => h.close());

let seq = 0;
async function file(familyName = `Nahtstelle${String.fromCharCode(97 + (seq++ % 26))}`, birthDate = '1961-04-17') {
  const r = await physician.post('/api/persons', { departmentId: INF, familyName, givenName: 'Hannelore', birthDate });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id as string;
}
const upload = (by: Client, personId: string, name: string) =>
  by.call('POST', `/api/persons/${personId}/documents`, testPdf(name), {
    'content-type': 'application/octet-stream',
    'x-file-name': encodeURIComponent(name),
  });
const documentsOf = async (personId: string, by: Client = clerk) => {
  const r = await by.get(`/api/persons/${personId}/documents`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return (r.body.items as { id: string; fileName: string | null; title: string | null }[])
    .map((d) => d.fileName ?? d.title ?? d.id)
    .sort();
};
const tasksOf = async (personId: string) => {
  const r = await clerk.get(`/api/persons/${personId}/tasks`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return (r.body.items as { title: string }[]).map((x) => x.title).sort();
};

test("a merge moves the absorbed file's tasks, documents and letters together; its undo moves exactly them back", async () => {
  const survivor = await file();
  const absorbed = await file();
  // The absorbed file: a rule's task (a screening to follow up), a task by hand, an upload and a letter.
  const screening = await physician.post(`/api/persons/${absorbed}/records`, {
    type: 'tb-screening',
    sensitivity: 'normal',
    content: { date: '2026-06-01', method: 'chest-x-ray', result: 'follow-up' },
  });
  assert.equal(screening.status, 201, JSON.stringify(screening.body));
  const byHand = await clerk.post(`/api/persons/${absorbed}/tasks`, {
    title: 'Rückruf Hausarzt',
    dueDate: '2026-12-11',
    type: 'call',
  });
  assert.equal(byHand.status, 201, JSON.stringify(byHand.body));
  assert.equal((await upload(clerk, absorbed, 'Befund Lunge.pdf')).status, 201);
  const letter = await clerk.post(`/api/persons/${absorbed}/letters`, {
    templateId: invitation,
    requestKey: randomUUID(),
  });
  assert.equal(letter.status, 201, JSON.stringify(letter.body));
  // The survivor has its own document already.
  assert.equal((await upload(clerk, survivor, 'Eigener Brief.pdf')).status, 201);
  const absorbedDocuments = await documentsOf(absorbed);
  assert.equal(absorbedDocuments.length, 2);
  const survivorDocuments = await documentsOf(survivor);

  const merged = await clerk.post(`/api/persons/${survivor}/merge`, {
    absorbedId: absorbed,
    survivorVersion: 1,
    absorbedVersion: 1,
  });
  assert.equal(merged.status, 201, JSON.stringify(merged.body));
  assert.deepEqual(await tasksOf(survivor), ['Röntgenkontrolle', 'Rückruf Hausarzt']);
  assert.deepEqual(await documentsOf(survivor), [...absorbedDocuments, ...survivorDocuments].sort());
  // The letter still opens from its new file (its bytes re-keyed, not lost).
  const opened = await clerk.call('GET', `/api/documents/${letter.body.documentId}/content`);
  assert.equal(opened.status, 200);
  assert.equal(opened.raw.subarray(0, 5).toString(), '%PDF-');

  const undone = await clerk.post(`/api/person-merges/${merged.body.id}/undo`, { version: merged.body.version });
  assert.equal(undone.status, 200, JSON.stringify(undone.body));
  assert.deepEqual(await tasksOf(absorbed), ['Röntgenkontrolle', 'Rückruf Hausarzt']);
  assert.deepEqual(await tasksOf(survivor), []);
  assert.deepEqual(await documentsOf(absorbed), absorbedDocuments);
  assert.deepEqual(await documentsOf(survivor), survivorDocuments);
  assert.equal((await clerk.call('GET', `/api/documents/${letter.body.documentId}/content`)).status, 200);
});

test('a task links to a document of its file and opens it; a document of another file or a deleted one is no link', async () => {
  const p = await file();
  const other = await file();
  const doc = (await upload(clerk, p, 'Antwortschreiben.pdf')).body.id as string;
  const foreign = (await upload(clerk, other, 'Fremd.pdf')).body.id as string;
  const made = await clerk.post(`/api/persons/${p}/tasks`, {
    title: 'Antwort prüfen',
    dueDate: '2026-12-11',
    type: 'letter',
    link: { kind: 'document', id: doc },
  });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const listed = (await clerk.get(`/api/persons/${p}/tasks`)).body.items as { link: unknown }[];
  assert.deepEqual(listed[0]!.link, { kind: 'document', id: doc });
  // The link's address (the web's) is the document's preview, and it opens.
  assert.equal((await clerk.call('GET', `/api/documents/${doc}/preview`)).status, 200);
  for (const id of [foreign, randomUUID()]) {
    const r = await clerk.post(`/api/persons/${p}/tasks`, {
      title: 'x',
      dueDate: '2026-12-11',
      type: 'letter',
      link: { kind: 'document', id },
    });
    assert.equal(r.status, 422, JSON.stringify(r.body));
    assert.equal(r.body.field, 'link.id');
  }
  const removed = await physician.call('DELETE', `/api/documents/${doc}`, { reason: 'Doppelt eingescannt' });
  assert.ok(removed.status === 200 || removed.status === 204, JSON.stringify(removed.body));
  const late = await clerk.post(`/api/persons/${p}/tasks`, {
    title: 'y',
    dueDate: '2026-12-11',
    type: 'letter',
    link: { kind: 'document', id: doc },
  });
  assert.equal(late.status, 422);
});

test("a break-glass holder of another department lists and reads the file's documents, adds and deletes none; nothing before", async () => {
  const p = await file('Notfallberg', '1955-02-03');
  const doc = (await upload(clerk, p, 'Vorbefund.pdf')).body.id as string;
  assert.equal((await tbPhysician.get(`/api/persons/${p}/documents`)).status, 404);
  assert.equal((await tbPhysician.call('GET', `/api/documents/${doc}/content`)).status, 404);
  const reason = 'Patient in der Sprechstunde kollabiert, Vorbefunde werden gebraucht';
  const found = await tbPhysician.post('/api/persons/emergency-search', {
    familyName: 'Notfallberg',
    birthDate: '1955-02-03',
    reason,
  });
  assert.equal(found.status, 200, JSON.stringify(found.body));
  assert.equal(found.body.hits.length, 1);
  // Found is not opened: the documents stay closed until the break-glass.
  assert.equal((await tbPhysician.get(`/api/persons/${p}/documents`)).status, 404);
  const opened = await tbPhysician.post(`/api/emergency-hits/${found.body.hits[0].handle}/break-glass`, { reason });
  assert.equal(opened.status, 200, JSON.stringify(opened.body));
  assert.deepEqual(await documentsOf(p, tbPhysician), ['Vorbefund.pdf']);
  assert.equal((await tbPhysician.call('GET', `/api/documents/${doc}/content`)).status, 200);
  assert.equal((await upload(tbPhysician, p, 'Notiz.pdf')).status, 403);
  assert.equal(
    (await tbPhysician.call('DELETE', `/api/documents/${doc}`, { reason: 'Nicht mehr gebraucht hier' })).status,
    403,
  );
  // The access report names the emergency reading of the documents, in German.
  const report = await dpo.get(`/api/access-reports?persons=${p}`);
  assert.equal(report.status, 200, JSON.stringify(report.body));
  const acts = (report.body.lines as { act: string; ground: { kind: string } | null }[]).map(
    (l) => `${l.act}:${l.ground?.kind ?? 'denied'}`,
  );
  for (const expected of ['documents.added:department', 'documents.viewed:emergency', 'documents.read:emergency'])
    assert.ok(acts.includes(expected), `${expected} in ${acts.join(', ')}`);
});
