// Letters (issue 17): templates edited by the office's admins (unknown fields refused where they are, stale
// versions 409, every version kept), letters made in a file as PDF/A through the DocumentSink (policy: the
// owning department's members, restricted records for physicians and heads, others 404, tokens by scope), a
// repeated or parallel request makes one letter, a failed PDF stores nothing, bulk runs over a selection resume
// after a simulated crash without a second letter for any file, and neither the person's name nor the
// letter's text reaches the database file or the data directory in clear.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { inTenantTransaction } from '../../src/db/connect.ts';
import type { DocumentSink } from '../../src/desk/document-sink.ts';
import { pdfText } from '../helpers/pdf-text.ts';
import {
  Client,
  DIALECT,
  samplePerson,
  setUpTenant,
  startHarness,
  type Harness,
  type Tenant,
} from '../helpers/harness.ts';

let h: Harness;
let t: Tenant;
let INF: string;
let TB: string;
type C = Awaited<ReturnType<Tenant['user']>>;
let clerk: C;
let physician: C;
let stranger: C;

/** What the fake sink kept (only when the documents part's real one is not wired). */
const stored: { personId: string; bytes: Buffer; template: { id: string; version: number }; title: string }[] = [];
let realSink = false;

function installSink(harness: Harness) {
  if (harness.services.documentSink) {
    realSink = true;
    return;
  }
  const sink: DocumentSink = {
    async addGenerated(_ctx, doc) {
      stored.push({ personId: doc.personId, bytes: doc.bytes, template: doc.template, title: doc.title });
      return { documentId: randomUUID(), version: 1 };
    },
  };
  harness.services.documentSink = sink;
}

before(async () => {
  h = await startHarness();
  installSink(h);
  t = await setUpTenant(h);
  INF = t.departments.INF!;
  TB = t.departments.TB!;
  clerk = await t.user({ memberships: [{ departmentId: INF, role: 'clerk' }] });
  physician = await t.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  stranger = await t.user({ memberships: [{ departmentId: TB, role: 'head' }] });
  const starters = await t.admin.post('/api/admin/templates/starters');
  assert.equal(starters.status, 200, JSON.stringify(starters.body));
  assert.equal(starters.body.created, 4);
});
after(() => h.close());

const content = (body: string, extra: Record<string, unknown> = {}) => ({
  name: 'Testvorlage',
  letterhead: { officeName: 'Gesundheitsamt Teststadt', addressLines: ['Rathausplatz 1', '99999 Teststadt'] },
  senderLine: 'Gesundheitsamt Teststadt · Rathausplatz 1 · 99999 Teststadt',
  subject: 'Betreff {{person.familyName}}',
  body,
  signature: 'Im Auftrag\n{{user.displayName}}',
  ...extra,
});

async function templateOf(kind: string): Promise<string> {
  const list = await t.admin.get('/api/admin/templates');
  assert.equal(list.status, 200, JSON.stringify(list.body));
  const found = list.body.items.find(
    (i: { kind: string; departmentId: string | null }) => i.kind === kind && !i.departmentId,
  );
  assert.ok(found, kind);
  return found.id;
}

let seq = 0;
async function person(
  by: C = clerk,
  dept = INF,
  familyName = `Briefperson${String.fromCharCode(97 + (seq++ % 26))}${seq}`,
) {
  const r = await by.post('/api/persons', samplePerson(dept, familyName));
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { id: r.body.id as string, familyName };
}

/** The stored PDF of a letter: from the documents part (read through the gate as a physician of INF), or the fake sink. */
async function pdfOf(documentId: string): Promise<Buffer> {
  if (!realSink) return stored.at(-1)!.bytes;
  const reader = {
    userId: physician.id,
    tenantId: t.tenantId,
    tenantRoles: [],
    memberships: [{ departmentId: INF, role: 'physician' as const }],
  };
  return h.services.gate.run(reader, 'document.read', { kind: 'document', documentId }, async (ctx) => {
    const chunks: Buffer[] = [];
    for await (const c of (await h.services.documents.read(ctx, documentId)).body) chunks.push(c);
    return Buffer.concat(chunks);
  });
}

const generate = (by: Client, personId: string, templateId: string, extra: Record<string, unknown> = {}) =>
  by.post(`/api/persons/${personId}/letters`, { templateId, requestKey: randomUUID(), ...extra });

const letterCount = async () =>
  Number(
    (
      await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
        tx
          .selectFrom('letter_generations')
          .select((eb) => eb.fn.countAll<number | string>().as('n'))
          .where('tenant_id', '=', t.tenantId)
          .executeTakeFirstOrThrow(),
      )
    ).n,
  );

test('the starting templates exist once, with the catalogue of their kind; only admins edit templates', async () => {
  assert.equal((await t.admin.post('/api/admin/templates/starters')).body.created, 0);
  const list = (await t.admin.get('/api/admin/templates')).body.items;
  assert.deepEqual(list.map((i: { kind: string }) => i.kind).sort(), [
    'certificate-36',
    'expert-opinion-cover',
    'invitation',
    'isolation-order-30',
  ]);
  const order = (await t.admin.get(`/api/admin/templates/${await templateOf('isolation-order-30')}`)).body;
  assert.match(order.content.body, /Rechtsbehelfsbelehrung/);
  assert.equal(order.recordType, 'ifsg-case');
  const cover = (await t.admin.get(`/api/admin/templates/${await templateOf('expert-opinion-cover')}`)).body;
  assert.deepEqual(
    cover.fields.filter((f: { from: string }) => f.from === 'record').map((f: { name: string }) => f.name),
    ['record.result', 'record.requestedBy', 'record.requestedOn'],
  );
  for (const c of [clerk, physician, stranger]) {
    assert.equal((await c.get('/api/admin/templates')).status, 403);
    assert.equal(
      (await c.post('/api/admin/templates', { departmentId: null, kind: 'other', content: content('x') })).status,
      403,
    );
  }
});

test('a template with an unknown field is refused where the field is; nothing is written', async () => {
  const before = (await t.admin.get('/api/admin/templates')).body.items.length;
  const bad = await t.admin.post('/api/admin/templates', {
    departmentId: INF,
    kind: 'invitation',
    content: content('Guten Tag,\n\nIhre Diagnose: {{record.diagnoses}} und {{ person.familyName }}.\n{{oops'),
  });
  assert.equal(bad.status, 422, JSON.stringify(bad.body));
  assert.deepEqual(bad.body.errors[0], {
    field: 'content.body',
    code: 'template-field-unknown',
    params: { name: 'record.diagnoses', line: 3, column: 16 },
  });
  assert.equal(bad.body.errors[1].code, 'template-syntax');
  // The cover letter to the commissioning authority never reaches the opinion.
  const cover = await t.admin.post('/api/admin/templates', {
    departmentId: null,
    kind: 'expert-opinion-cover',
    content: content('{{record.opinion}}'),
  });
  assert.equal(cover.status, 422);
  assert.equal(cover.body.errors[0].params.name, 'record.opinion');
  const subject = await t.admin.post('/api/admin/templates', {
    departmentId: null,
    kind: 'other',
    content: content('Text', { subject: 'Zu {{record.date}}' }),
  });
  assert.equal(subject.status, 422);
  assert.equal(subject.body.errors[0].field, 'content.subject');
  const otherOffice = await t.admin.post('/api/admin/templates', {
    departmentId: randomUUID(),
    kind: 'other',
    content: content('Text'),
  });
  assert.equal(otherOffice.status, 422);
  assert.equal(otherOffice.body.field, 'departmentId');
  assert.equal((await t.admin.get('/api/admin/templates')).body.items.length, before);
});

test('every save is a new version, old ones kept; a stale save is 409 with the current version', async () => {
  const made = await t.admin.post('/api/admin/templates', {
    departmentId: INF,
    kind: 'other',
    content: content('Eins'),
  });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const id = made.body.id;
  const two = await t.admin.put(`/api/admin/templates/${id}`, { version: 1, content: content('Zwei') });
  assert.deepEqual(two.body, { id, version: 2 });
  const stale = await t.admin.put(`/api/admin/templates/${id}`, { version: 1, content: content('Drei') });
  assert.equal(stale.status, 409);
  assert.equal(stale.body.currentVersion, 2);
  // Two saves on the same version at once: one wins.
  const race = await Promise.all([
    t.admin.put(`/api/admin/templates/${id}`, { version: 2, content: content('A') }),
    t.admin.put(`/api/admin/templates/${id}`, { version: 2, content: content('B') }),
  ]);
  assert.deepEqual(race.map((r) => r.status).sort(), [200, 409]);
  const view = (await t.admin.get(`/api/admin/templates/${id}`)).body;
  assert.deepEqual(
    view.versions.map((v: { version: number }) => v.version),
    [3, 2, 1],
  );
  assert.equal((await t.admin.get(`/api/admin/templates/${id}/versions/1`)).body.content.body, 'Eins');
  await assert.rejects(
    inTenantTransaction(h.services.store, t.tenantId, (tx) =>
      tx.updateTable('letter_template_versions').set({ created_by: 'x' }).where('template_id', '=', id).execute(),
    ),
    /append-only/,
  );
});

test('a clerk makes an invitation in a file: PDF/A-2b, stored through the sink with template and version', async () => {
  const p = await person();
  const invitation = await templateOf('invitation');
  const usable = await clerk.get(`/api/departments/${INF}/letter-templates`);
  assert.equal(usable.status, 200);
  assert.ok(usable.body.items.some((i: { id: string }) => i.id === invitation));
  assert.equal((await clerk.get(`/api/departments/${TB}/letter-templates`)).status, 403);
  const r = await generate(clerk, p.id, invitation);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.templateVersion, 1);
  assert.equal(r.body.created, true);
  if (!realSink) {
    const doc = stored.at(-1)!;
    assert.equal(doc.personId, p.id);
    assert.deepEqual(doc.template, { id: invitation, version: 1 });
  }
  const pdf = await pdfOf(r.body.documentId);
  assert.equal(pdf.subarray(0, 5).toString(), '%PDF-');
  assert.match(pdf.toString('latin1'), /<pdfaid:part>2<\/pdfaid:part>/);
  assert.match(pdf.toString('latin1'), /<pdfaid:conformance>B<\/pdfaid:conformance>/);
  assert.ok(!pdf.includes('/Encrypt'));
  const text = pdfText(pdf).join(' ');
  assert.match(text, new RegExp(p.familyName));
  assert.match(text, /Einladung/);
  // The audit event names the template and its version, not the content.
  const events = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .selectFrom('audit_events')
      .select(['detail', 'outcome'])
      .where('action', '=', 'letter.generate')
      .where('person_id', '=', p.id)
      .execute(),
  );
  assert.equal(events.length, 1);
  const detail = JSON.parse(String(events[0]!.detail));
  assert.equal(detail.templateId, invitation);
  assert.equal(detail.templateVersion, 1);
  assert.ok(!String(events[0]!.detail).includes(p.familyName));
});

test('who may: another department 404, a department template elsewhere refused, restricted records for seniors, tokens by scope', async () => {
  const p = await person();
  const invitation = await templateOf('invitation');
  assert.equal((await generate(stranger, p.id, invitation)).status, 404);
  assert.equal((await generate(t.admin, p.id, invitation)).status, 404);
  assert.equal((await generate(clerk, randomUUID(), invitation)).status, 404);
  // A template of TB is not INF's.
  const tbOnly = await t.admin.post('/api/admin/templates', {
    departmentId: TB,
    kind: 'other',
    content: content('TB'),
  });
  const refused = await generate(clerk, p.id, tbOnly.body.id);
  assert.equal(refused.status, 422);
  assert.equal(refused.body.errors[0].code, 'template-unknown');
  // A §36 certificate for a restricted screening: physicians, not clerks; a screening with findings: none.
  const screening = await physician.post(`/api/persons/${p.id}/records`, {
    type: 'tb-screening',
    sensitivity: 'restricted',
    content: { date: '2026-12-01', method: 'chest-x-ray', result: 'negative' },
  });
  assert.equal(screening.status, 201, JSON.stringify(screening.body));
  const certificate = await templateOf('certificate-36');
  assert.equal((await generate(clerk, p.id, certificate, { recordId: screening.body.id })).status, 403);
  const noRecord = await generate(physician, p.id, certificate);
  assert.equal(noRecord.status, 422);
  assert.equal(noRecord.body.errors[0].code, 'record-required');
  assert.equal((await generate(physician, p.id, certificate, { recordId: screening.body.id })).status, 201);
  const positive = await physician.post(`/api/persons/${p.id}/records`, {
    type: 'tb-screening',
    sensitivity: 'normal',
    content: { date: '2026-12-02', method: 'chest-x-ray', result: 'positive' },
  });
  const notNegative = await generate(physician, p.id, certificate, { recordId: positive.body.id });
  assert.equal(notNegative.body.errors[0].code, 'certificate-not-negative');
  // Another file's record is not this letter's.
  const q = await person();
  const foreign = await generate(physician, q.id, certificate, { recordId: screening.body.id });
  assert.equal(foreign.status, 422);
  assert.equal(foreign.body.errors[0].code, 'record-unsuitable');
  // Tokens: a letter is a write to the file.
  const read = await clerk.post('/api/auth/tokens', { name: 'Lesen', scopes: ['records:read'], expiresInDays: 1 });
  const write = await clerk.post('/api/auth/tokens', {
    name: 'Schreiben',
    scopes: ['records:write'],
    expiresInDays: 1,
  });
  const api = new Client(h);
  const as = (token: string) => ({ authorization: `Bearer ${token}` });
  const body = () => ({ templateId: invitation, requestKey: randomUUID() });
  const scoped = await api.call('POST', `/api/persons/${p.id}/letters`, body(), as(read.body.token));
  assert.equal(scoped.status, 403);
  assert.ok(scoped.body.type.endsWith('token-scope'));
  assert.equal((await api.call('POST', `/api/persons/${p.id}/letters`, body(), as(write.body.token))).status, 201);
  // A bulk run is a person's act in a session.
  const bulk = await api.call(
    'POST',
    `/api/departments/${INF}/letter-runs`,
    { templateId: invitation, personIds: [p.id] },
    as(write.body.token),
  );
  assert.equal(bulk.status, 403);
  // Template editing too.
  const adminToken = await t.admin.post('/api/auth/tokens', {
    name: 'Admin',
    scopes: ['records:read'],
    expiresInDays: 1,
  });
  assert.equal((await api.call('GET', '/api/admin/templates', undefined, as(adminToken.body.token))).status, 403);
});

test('the expert opinion cover letter tells the result, never the opinion', async () => {
  const p = await person();
  const opinion = await physician.post(`/api/persons/${p.id}/records`, {
    type: 'expert-opinion',
    sensitivity: 'normal',
    content: {
      question: 'Dienstfähigkeit nach längerer Erkrankung',
      requestedBy: 'Landesamt für Besoldung\nPostfach 1\n40001 Düsseldorf',
      opinion: 'Geheimbefund Bandscheibenvorfall L4/L5 mit Dauerschaden',
      date: '2026-12-03',
      result: 'nicht dienstfähig',
      requestedOn: '2026-11-02',
    },
  });
  assert.equal(opinion.status, 201, JSON.stringify(opinion.body));
  const r = await generate(physician, p.id, await templateOf('expert-opinion-cover'), { recordId: opinion.body.id });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const text = pdfText(await pdfOf(r.body.documentId)).join(' ');
  assert.match(text, /nicht dienstfähig/);
  assert.match(text, /02\.11\.2026/);
  assert.match(text, /Landesamt für Besoldung/);
  assert.doesNotMatch(text, /Geheimbefund|Bandscheibe|Dienstfähigkeit nach/);
});

test('a repeated or parallel request makes one letter; a failed PDF stores nothing', async () => {
  const p = await person();
  const invitation = await templateOf('invitation');
  const key = randomUUID();
  const before = await letterCount();
  const storedBefore = stored.length;
  const answers = await Promise.all(
    Array.from({ length: 5 }, () =>
      clerk.post(`/api/persons/${p.id}/letters`, { templateId: invitation, requestKey: key }),
    ),
  );
  assert.deepEqual(
    answers.map((a) => a.status).sort(),
    [200, 200, 200, 200, 201],
    JSON.stringify(answers.map((a) => a.body)),
  );
  assert.equal(new Set(answers.map((a) => a.body.documentId)).size, 1);
  assert.equal(await letterCount(), before + 1);
  if (!realSink) assert.equal(stored.length, storedBefore + 1);
  // The same key for another file is a conflict, not a letter.
  const q = await person();
  const reused = await clerk.post(`/api/persons/${q.id}/letters`, { templateId: invitation, requestKey: key });
  assert.equal(reused.status, 409);

  const documentsOf = async (personId: string) =>
    realSink
      ? (
          await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
            tx
              .selectFrom('document_versions as v')
              .innerJoin('documents as d', 'd.id', 'v.document_id')
              .select('v.version')
              .where('d.person_id', '=', personId)
              .execute(),
          )
        ).length
      : stored.filter((d) => d.personId === personId).length;
  const documentsBefore = await documentsOf(p.id);
  const render = h.services.letters.renderPdf;
  h.services.letters.renderPdf = () => Promise.reject(new Error('font table broken'));
  try {
    const failed = await generate(clerk, p.id, invitation);
    assert.equal(failed.status, 500);
    assert.ok(failed.body.type.endsWith('letter-failed'));
    assert.doesNotMatch(JSON.stringify(failed.body), /font table/);
  } finally {
    h.services.letters.renderPdf = render;
  }
  assert.equal(await letterCount(), before + 1);
  assert.equal(await documentsOf(p.id), documentsBefore);
  if (!realSink) assert.equal(stored.length, storedBefore + 1);
  // Malformed and oversized input.
  assert.equal(
    (await clerk.post(`/api/persons/${p.id}/letters`, { templateId: invitation, requestKey: 'nope' })).status,
    422,
  );
  const huge = await t.admin.post('/api/admin/templates', {
    departmentId: null,
    kind: 'other',
    content: content('x'.repeat(20_001)),
  });
  assert.equal(huge.status, 422);
});

test('a bulk run of 20 files resumes after a simulated crash without a second letter for any file', async () => {
  const invitation = await templateOf('invitation');
  const people: string[] = [];
  for (let i = 0; i < 20; i++) people.push((await person()).id);
  const before = await letterCount();
  // Another department's files cannot be slipped in.
  const foreign = await person(stranger, TB);
  const mixed = await clerk.post(`/api/departments/${INF}/letter-runs`, {
    templateId: invitation,
    personIds: [...people, foreign.id],
  });
  assert.equal(mixed.status, 422);
  assert.equal(mixed.body.errors[0].code, 'not-in-department');

  h.services.letterRunner.stopAfter = 7;
  const started = await clerk.post(`/api/departments/${INF}/letter-runs`, {
    templateId: invitation,
    personIds: people,
  });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const runId = started.body.id;
  await h.services.letterRunner.idle();
  const halfway = (await clerk.get(`/api/letter-runs/${runId}`)).body;
  assert.equal(halfway.state, 'running');
  assert.equal(halfway.done, 7);
  assert.equal(halfway.total, 20);
  // Another department's run is not there; its list is not theirs.
  assert.equal((await stranger.get(`/api/letter-runs/${runId}`)).status, 404);
  assert.equal((await stranger.get(`/api/departments/${INF}/letter-runs`)).status, 403);

  // The process ends ("crash"), a new one starts on the same data and finishes the run.
  await h.stop();
  h = await startHarness({ reopen: h.installation });
  if (!h.services.documentSink) {
    installSink(h);
    await h.services.letterRunner.start();
  }
  await h.services.letterRunner.idle();
  // The sessions live on in the database: the same clients, now talking to the new process.
  for (const c of [t.admin, clerk, physician, stranger]) (c as { h: Harness }).h = h;
  const again = clerk;
  const done = (await again.get(`/api/letter-runs/${runId}`)).body;
  assert.equal(done.state, 'finished', JSON.stringify(done));
  assert.equal(done.done, 20);
  assert.equal(done.failed, 0);
  assert.equal(done.items.length, 20);
  assert.ok(done.items.every((i: { state: string; familyName: string | null }) => i.state === 'done' && i.familyName));
  assert.equal(new Set(done.items.map((i: { documentId: string }) => i.documentId)).size, 20);
  assert.equal(await letterCount(), before + 20);
  const perFile = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .selectFrom('letter_generations')
      .select(['person_id', (eb) => eb.fn.countAll<number | string>().as('n')])
      .where('run_id', '=', runId)
      .groupBy('person_id')
      .execute(),
  );
  assert.equal(perFile.length, 20);
  assert.ok(perFile.every((r) => Number(r.n) === 1));
  // Starting the runner again finds nothing to do.
  await h.services.letterRunner.start();
  await h.services.letterRunner.idle();
  assert.equal(await letterCount(), before + 20);
  const list = (await again.get(`/api/departments/${INF}/letter-runs`)).body.items;
  assert.equal(list[0].id, runId);
  // Each letter of the run was audited on its file.
  const audited = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .selectFrom('audit_events')
      .select('person_id')
      .where('action', '=', 'letter.generate')
      .where('outcome', '=', 'allowed')
      .where('person_id', 'in', people)
      .execute(),
  );
  assert.equal(audited.length, 20);
});

test("a bulk run over an outbreak's contacts reaches each contact's file once", async () => {
  const invitation = await templateOf('invitation');
  const physician2 = physician;
  const outbreak = (
    await clerk.post(`/api/departments/${INF}/outbreaks`, {
      name: 'Kita Regenbogen',
      setting: 'daycare',
      periodFrom: '2026-11-25',
    })
  ).body.id as string;
  const p = await person(physician2);
  const kase = await physician2.post(`/api/persons/${p.id}/records`, {
    type: 'ifsg-case',
    sensitivity: 'normal',
    content: { disease: { code: 'nrvd', display: 'Norovirus' }, status: 'confirmed', notifiedOn: '2026-12-01' },
  });
  assert.equal(
    (await physician2.post(`/api/outbreaks/${outbreak}/cases`, { caseId: kase.body.id, caseVersion: 1 })).status,
    200,
  );
  for (const name of ['Kontakteins', 'Kontaktzwei', 'Kontaktdrei']) {
    const r = await clerk.post(`/api/cases/${kase.body.id}/contacts`, {
      person: { familyName: name, givenName: 'Kunigunde', birthDate: '1975-05-05' },
      category: 'close',
      lastExposure: '2026-12-01',
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  const run = await clerk.post(`/api/departments/${INF}/letter-runs`, { templateId: invitation, outbreakId: outbreak });
  assert.equal(run.status, 201, JSON.stringify(run.body));
  await h.services.letterRunner.idle();
  const view = (await clerk.get(`/api/letter-runs/${run.body.id}`)).body;
  assert.equal(view.total, 3);
  assert.equal(view.done, 3);
  assert.deepEqual(view.items.map((i: { familyName: string }) => i.familyName).sort(), [
    'Kontaktdrei',
    'Kontakteins',
    'Kontaktzwei',
  ]);
  // Another department's outbreak is not there.
  assert.equal(
    (await stranger.post(`/api/departments/${TB}/letter-runs`, { templateId: invitation, outbreakId: outbreak }))
      .status,
    404,
  );
});

test('a bulk run marks a file it cannot make the letter for, with the reason, and goes on', async () => {
  const certificate = await templateOf('certificate-36');
  const withScreening = await person();
  const without = await person();
  const screening = await physician.post(`/api/persons/${withScreening.id}/records`, {
    type: 'tb-screening',
    sensitivity: 'normal',
    content: { date: '2026-12-01', method: 'chest-x-ray', result: 'negative' },
  });
  assert.equal(screening.status, 201, JSON.stringify(screening.body));
  const run = await clerk.post(`/api/departments/${INF}/letter-runs`, {
    templateId: certificate,
    personIds: [withScreening.id, without.id],
  });
  assert.equal(run.status, 201, JSON.stringify(run.body));
  await h.services.letterRunner.idle();
  const view = (await clerk.get(`/api/letter-runs/${run.body.id}`)).body;
  assert.equal(view.state, 'finished');
  assert.equal(view.done, 1);
  assert.equal(view.failed, 1);
  const failed = view.items.find((i: { personId: string }) => i.personId === without.id);
  assert.deepEqual([failed.state, failed.error, failed.documentId], ['failed', 'record-required', null]);
  const made = view.items.find((i: { personId: string }) => i.personId === withScreening.id);
  assert.equal(made.documentVersion, 1);
});

test('at rest: neither the name nor the letter text is in the database file or the data directory', {
  skip: DIALECT !== 'sqlite',
}, async () => {
  const secretName = 'Zwetschgenbaumer';
  const secretText = 'Sonderabsatz Wackelpudding-Protokoll';
  const made = await t.admin.post('/api/admin/templates', {
    departmentId: INF,
    kind: 'invitation',
    content: content(`{{person.salutation}}\n\n${secretText}`),
  });
  assert.equal(made.status, 201);
  const p = await person(clerk, INF, secretName);
  const r = await generate(clerk, p.id, made.body.id);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await sql`PRAGMA wal_checkpoint(FULL)`.execute(h.services.store.db);
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }))
      e.isDirectory() ? walk(path.join(dir, e.name)) : files.push(path.join(dir, e.name));
  };
  walk(h.config.dataDir);
  assert.ok(files.some((f) => f.endsWith('kartei.sqlite')));
  for (const f of files) {
    const bytes = fs.readFileSync(f);
    for (const s of [secretName, secretText, 'Wackelpudding'])
      for (const enc of ['utf8', 'utf16le'] as const) assert.ok(!bytes.includes(Buffer.from(s, enc)), `${s} in ${f}`);
    if (f.endsWith('kartei.sqlite'))
      assert.ok(bytes.includes(Buffer.from('invitation')), 'the control: plain kinds are found');
  }
});
