// Attacks on letters (issue 17): a bulk run started twice — a double click, or a retry after a timeout, at
// the same moment or while the first still runs — must not make every file's letter twice; a clerk's run over an
// outbreak must not reach (and name) the contacts the outbreak's list hides from a clerk; a letter made from a
// restricted record must not turn readable to a clerk when the record is relabelled and the letter made again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { setUpTenant, startHarness, type Harness, type Tenant } from '../helpers/harness.ts';

let h: Harness;
let t: Tenant;
let INF: string;
type C = Awaited<ReturnType<Tenant['user']>>;
let clerk: C;

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h);
  INF = t.departments.INF!;
  clerk = await t.user({ memberships: [{ departmentId: INF, role: 'clerk' }] });
  assert.equal((await t.admin.post('/api/admin/templates/starters')).status, 200);
});
after(() => h.close());

async function people(n: number, base: string): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await clerk.post('/api/persons', {
      departmentId: INF,
      familyName: `${base}${String.fromCharCode(97 + i)}`,
      givenName: 'Rita',
      birthDate: '1970-07-07',
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    out.push(r.body.id);
  }
  return out;
}

const generationsOf = (personIds: string[]) =>
  inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .selectFrom('letter_generations')
      .select(['person_id', (eb) => eb.fn.countAll<number | string>().as('n')])
      .where('person_id', 'in', personIds)
      .groupBy('person_id')
      .execute(),
  );

test('a bulk run started twice (at once, or again while it runs) makes each file’s letter once', async () => {
  const templates = await clerk.get(`/api/departments/${INF}/letter-templates`);
  const invitation = templates.body.items.find((i: { kind: string }) => i.kind === 'invitation').id as string;
  const files = await people(5, 'Doppelklick');
  const runner = h.services.letterRunner;
  // The runner holds still (as if busy elsewhere), so the first run is still going when the second arrives.
  runner.stopAfter = 0;
  const selection = { templateId: invitation, personIds: files };
  const both = await Promise.all([
    clerk.post(`/api/departments/${INF}/letter-runs`, selection),
    clerk.post(`/api/departments/${INF}/letter-runs`, selection),
  ]);
  assert.deepEqual(both.map((r) => r.status).sort(), [201, 409], JSON.stringify(both.map((r) => r.body)));
  const refused = both.find((r) => r.status === 409)!;
  assert.equal(refused.body.errors[0].code, 'run-running');
  const again = await clerk.post(`/api/departments/${INF}/letter-runs`, {
    ...selection,
    personIds: [...files].reverse(),
  });
  assert.equal(again.status, 409, JSON.stringify(again.body));
  // Another selection with the same template is a run of its own.
  const other = await clerk.post(`/api/departments/${INF}/letter-runs`, { ...selection, personIds: files.slice(0, 2) });
  assert.equal(other.status, 201, JSON.stringify(other.body));
  runner.stopAfter = undefined;
  await runner.start();
  await runner.idle();
  const counts = new Map((await generationsOf(files)).map((r) => [r.person_id, Number(r.n)]));
  assert.deepEqual(
    files.map((f) => counts.get(f)),
    [2, 2, 1, 1, 1],
  );
});

test('hostile template text: the opinion by odd spellings, prototype keys, control and bidi characters, 20,000 line breaks — refused by name or rendered, never a 500', async () => {
  const base = {
    name: 'Angriff',
    letterhead: { officeName: 'Gesundheitsamt', addressLines: [] },
    senderLine: 'Gesundheitsamt',
    subject: 'Betreff',
    signature: '',
  };
  const preview = (kind: string, body: string) =>
    t.admin.post('/api/admin/templates/preview', { kind, content: { ...base, body } });
  // Fields the cover letter must never reach, however written: refused naming the field.
  for (const body of [
    '{{record.opinion}}',
    '{{ record.opinion }}',
    '{{record.diagnosis}}',
    '{{record.__proto__}}',
    '{{constructor}}',
    '{{record.constructor.name}}',
    '{{__proto__.opinion}}',
    '{{record["opinion"]}}',
    '{{record.opinion\u200b}}',
    '{{\u200brecord.opinion}}',
    '{{person}}',
    '{{record}}',
  ]) {
    const r = await preview('expert-opinion-cover', body);
    assert.equal(r.status, 422, `${JSON.stringify(body)}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    assert.equal(r.body.errors[0].code, 'template-field-unknown', JSON.stringify(body));
  }
  // Look-alike braces are not fields: plain text.
  for (const body of [
    '\uff5b\uff5brecord.opinion\uff5d\uff5d',
    'A\u0000B\u0007C \u202Egnp.fdp \uD83D\uDE00 漢字 ﷽',
    '\n'.repeat(19_000),
    '{{person.familyName}}'.repeat(900),
  ]) {
    const r = await preview('expert-opinion-cover', body);
    assert.ok(r.status === 200 || r.status === 422, `${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    if (r.status === 200) assert.equal(r.raw.subarray(0, 5).toString('latin1'), '%PDF-');
  }
});

test("a clerk's bulk run over an outbreak leaves out restricted contacts, as the outbreak's own list does: no name of one in the run, no letter in its file", async () => {
  const invitation = (await clerk.get(`/api/departments/${INF}/letter-templates`)).body.items.find(
    (i: { kind: string }) => i.kind === 'invitation',
  ).id as string;
  const physician = await t.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  const outbreak = await clerk.post(`/api/departments/${INF}/outbreaks`, {
    name: 'Wohngruppe Lindenhof',
    setting: 'other',
    periodFrom: '2026-11-25',
  });
  assert.equal(outbreak.status, 201, JSON.stringify(outbreak.body));
  const [normalCase, restrictedCase] = await people(2, 'Ausbruchsfall');
  const caseIn = async (personId: string, sensitivity: string) => {
    const c = await physician.post(`/api/persons/${personId}/records`, {
      type: 'ifsg-case',
      sensitivity,
      content: { disease: { code: 'nrvd', display: 'Norovirus' }, status: 'confirmed', notifiedOn: '2026-12-01' },
    });
    assert.equal(c.status, 201, JSON.stringify(c.body));
    const added = await physician.post(`/api/outbreaks/${outbreak.body.id}/cases`, {
      caseId: c.body.id,
      caseVersion: 1,
    });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    return c.body.id as string;
  };
  const contactOf = async (caseId: string, familyName: string) => {
    const k = await physician.post(`/api/cases/${caseId}/contacts`, {
      person: { familyName, givenName: 'Kunigunde', birthDate: '1975-05-05' },
      category: 'close',
      lastExposure: '2026-12-01',
    });
    assert.equal(k.status, 201, JSON.stringify(k.body));
    contactRecords.set(k.body.personId, k.body.id);
    return k.body.personId as string;
  };
  const contactRecords = new Map<string, string>();
  await contactOf(await caseIn(normalCase!, 'normal'), 'Offenkontakt');
  const hidden = await contactOf(await caseIn(restrictedCase!, 'restricted'), 'Geheimkontakt');
  // The outbreak as the clerk sees it: the restricted contact is not listed.
  const seen = await clerk.get(`/api/outbreaks/${outbreak.body.id}`);
  assert.equal(seen.status, 200, JSON.stringify(seen.body));
  assert.deepEqual(
    seen.body.contactList.map((k: { familyName: string }) => k.familyName),
    ['Offenkontakt'],
  );
  const run = await clerk.post(`/api/departments/${INF}/letter-runs`, {
    templateId: invitation,
    outbreakId: outbreak.body.id,
  });
  assert.equal(run.status, 201, JSON.stringify(run.body));
  await h.services.letterRunner.idle();
  const view = await clerk.get(`/api/letter-runs/${run.body.id}`);
  assert.equal(view.status, 200, JSON.stringify(view.body));
  assert.deepEqual(
    view.body.items.map((i: { familyName: string }) => i.familyName),
    ['Offenkontakt'],
    'the run names a restricted contact to a clerk',
  );
  assert.equal(view.body.total, 1);
  assert.deepEqual(await generationsOf([hidden]), []);
  // A physician, who reads restricted records, reaches both.
  const senior = await physician.post(`/api/departments/${INF}/letter-runs`, {
    templateId: invitation,
    outbreakId: outbreak.body.id,
  });
  assert.equal(senior.status, 201, JSON.stringify(senior.body));
  await h.services.letterRunner.idle();
  assert.equal((await physician.get(`/api/letter-runs/${senior.body.id}`)).body.total, 2);
  // The physician's run, read by a clerk of the department: the restricted contact is not named there either.
  const asClerk = await clerk.get(`/api/letter-runs/${senior.body.id}`);
  assert.equal(asClerk.status, 200, JSON.stringify(asClerk.body));
  assert.deepEqual(
    asClerk.body.items.map((i: { familyName: string | null }) => i.familyName),
    ['Offenkontakt'],
    "a clerk read the restricted contact's name in a physician's run",
  );
  assert.ok(!asClerk.body.items.some((i: { personId: string }) => i.personId === hidden));
  // Nor counted for the clerk (total 2 against one item shown would tell of one hidden contact), in the run or the list.
  assert.deepEqual([asClerk.body.total, asClerk.body.done, asClerk.body.failed], [1, 1, 0]);
  const listed = await clerk.get(`/api/departments/${INF}/letter-runs`);
  assert.equal(listed.status, 200, JSON.stringify(listed.body));
  const inList = listed.body.items.find((r: { id: string }) => r.id === senior.body.id);
  assert.deepEqual([inList.total, inList.done], [1, 1]);
  // The restricted contact ended since (removed): the run still does not name them to a clerk.
  const removed = await physician.call('DELETE', `/api/records/${contactRecords.get(hidden)}`, {
    reason: 'Kontakt irrtümlich erfasst',
  });
  assert.equal(removed.status, 204, JSON.stringify(removed.body));
  const later = await clerk.get(`/api/letter-runs/${senior.body.id}`);
  assert.ok(!later.body.items.some((i: { personId: string }) => i.personId === hidden), 'named once its contact ended');
  assert.equal(later.body.total, 1);
});

test('a letter made from a restricted record stays restricted after the record is relabelled normal and the letter made again: a clerk reads no earlier version', async () => {
  const physician = await t.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  const certificate = (await physician.get(`/api/departments/${INF}/letter-templates`)).body.items.find(
    (i: { kind: string }) => i.kind === 'certificate-36',
  ).id as string;
  const [file] = await people(1, 'Umetikett');
  const screening = await physician.post(`/api/persons/${file}/records`, {
    type: 'tb-screening',
    sensitivity: 'restricted',
    content: { date: '2026-12-01', method: 'chest-x-ray', result: 'negative' },
  });
  assert.equal(screening.status, 201, JSON.stringify(screening.body));
  const letter = () =>
    physician.post(`/api/persons/${file}/letters`, {
      templateId: certificate,
      recordId: screening.body.id,
      requestKey: crypto.randomUUID(),
    });
  const first = await letter();
  assert.equal(first.status, 201, JSON.stringify(first.body));
  const restrictedLetter = `/api/documents/${first.body.documentId}/content?version=${first.body.documentVersion}`;
  assert.notEqual((await clerk.get(restrictedLetter)).status, 200);
  // The physician relabels the record normal; its restricted version stays the physicians' (records keep it so).
  const relabelled = await physician.put(`/api/records/${screening.body.id}`, {
    content: { date: '2026-12-01', method: 'chest-x-ray', result: 'negative' },
    sensitivity: 'normal',
    version: 1,
  });
  assert.equal(relabelled.status, 200, JSON.stringify(relabelled.body));
  assert.equal((await clerk.get(`/api/records/${screening.body.id}/versions/1`)).status, 403);
  const second = await letter();
  assert.equal(second.status, 201, JSON.stringify(second.body));
  // The letter made from the restricted version is not the clerk's either.
  const read = await clerk.get(restrictedLetter);
  assert.notEqual(read.status, 200, 'a clerk read the letter made from the restricted version');
  // The new letter, made from the normal version, is.
  const now = await clerk.get(
    `/api/documents/${second.body.documentId}/content?version=${second.body.documentVersion}`,
  );
  assert.equal(now.status, 200);
});
