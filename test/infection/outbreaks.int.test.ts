// Outbreaks (issue 16): a department's group of cases with setting, period, timeline and counts by
// status. A case joins through an update of its record; another department's outbreaks are not
// there (404), its lists forbidden (403); stale versions, races, bad input and tokens are refused;
// the outbreak's name and timeline never reach the database file in clear.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { inTenantTransaction } from '../../src/db/connect.ts';
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
let physician: C;
let clerk: C;
let stranger: C;
let both: C;
before(async () => {
  h = await startHarness();
  t = await setUpTenant(h);
  INF = t.departments.INF!;
  TB = t.departments.TB!;
  physician = await t.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  clerk = await t.user({ memberships: [{ departmentId: INF, role: 'clerk' }] });
  stranger = await t.user({ memberships: [{ departmentId: TB, role: 'head' }] });
  both = await t.user({
    memberships: [
      { departmentId: INF, role: 'physician' },
      { departmentId: TB, role: 'physician' },
    ],
  });
});
after(() => h.close());

const outbreakBody = {
  name: 'Kita Sonnenschein Norovirus',
  description: 'Gastroenteritis in der Gruppe Igel',
  setting: 'daycare',
  periodFrom: '2026-11-30',
};

let seq = 0;
/** A person of `dept` with a case of `code`, made through the API; answers the case's record id. */
async function newCase(
  by: C,
  dept: string,
  extra: Record<string, unknown> = {},
  sensitivity: 'normal' | 'restricted' = 'normal',
): Promise<{ id: string; personId: string; familyName: string }> {
  const familyName = `Ausbruchfall${String.fromCharCode(97 + (seq++ % 26))}${seq}`;
  const person = await by.post('/api/persons', samplePerson(dept, familyName));
  assert.equal(person.status, 201, JSON.stringify(person.body));
  const rec = await by.post(`/api/persons/${person.body.id}/records`, {
    type: 'ifsg-case',
    sensitivity,
    content: {
      disease: { code: 'norp', display: 'Norovirus' },
      status: 'confirmed',
      notifiedOn: '2026-12-02',
      onset: '2026-11-29',
      ...extra,
    },
  });
  assert.equal(rec.status, 201, JSON.stringify(rec.body));
  return { id: rec.body.id, personId: person.body.id, familyName };
}

const caseVersion = async (id: string) => (await physician.get(`/api/records/${id}`)).body.version as number;
const caseOutbreak = async (id: string) =>
  inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .selectFrom('ifsg_cases')
      .select(['outbreak_id', 'version'])
      .where('record_id', '=', id)
      .executeTakeFirstOrThrow(),
  );

test('an outbreak is created, listed, read with its cases, counts, dates and timeline, and changed on its version', async () => {
  const made = await clerk.post(`/api/departments/${INF}/outbreaks`, outbreakBody);
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const id = made.body.id;
  const a = await newCase(physician, INF, { status: 'confirmed', notifiedOn: '2026-12-01', onset: '2026-11-27' });
  const b = await newCase(physician, INF, { status: 'suspected', notifiedOn: '2026-12-03', onset: '2026-11-30' });
  for (const c of [a, b]) {
    const added = await clerk.post(`/api/outbreaks/${id}/cases`, { caseId: c.id, caseVersion: 1 });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    assert.deepEqual(added.body, { caseId: c.id, caseVersion: 2, outbreakId: id });
  }
  // The case record itself carries it, and its facts beside it.
  assert.equal((await physician.get(`/api/records/${a.id}`)).body.content.outbreakId, id);
  assert.equal((await caseOutbreak(a.id)).outbreak_id, id);

  const entry = await clerk.post(`/api/outbreaks/${id}/timeline`, {
    day: '2026-12-02',
    text: 'Begehung der Einrichtung, Hygieneplan besprochen',
  });
  assert.equal(entry.status, 201);

  const list = await clerk.get(`/api/departments/${INF}/outbreaks`);
  assert.equal(list.status, 200);
  const item = list.body.items.find((o: { id: string }) => o.id === id);
  assert.equal(item.name, outbreakBody.name);
  assert.equal(item.state, 'open');
  assert.deepEqual(item.counts, { suspected: 1, probable: 0, confirmed: 1, 'not-a-case': 0 });
  assert.equal(item.cases, 2);

  const view = await clerk.get(`/api/outbreaks/${id}`);
  assert.equal(view.status, 200, JSON.stringify(view.body));
  assert.equal(view.body.description, outbreakBody.description);
  assert.equal(view.body.cases, 2);
  assert.deepEqual(view.body.notified, { first: '2026-12-01', last: '2026-12-03' });
  assert.deepEqual(view.body.onset, { first: '2026-11-27', last: '2026-11-30' });
  assert.deepEqual(
    view.body.caseList.map((c: { familyName: string; status: string }) => [c.familyName, c.status]),
    [
      [b.familyName, 'suspected'],
      [a.familyName, 'confirmed'],
    ],
  );
  assert.equal(view.body.caseList[0].disease.code, 'norp');
  assert.equal(view.body.timeline[0].text, 'Begehung der Einrichtung, Hygieneplan besprochen');
  assert.equal(view.body.timeline[0].createdByName, clerk.displayName);

  const changed = await clerk.put(`/api/outbreaks/${id}`, {
    ...outbreakBody,
    periodUntil: '2026-12-20',
    state: 'closed',
    version: 1,
  });
  assert.equal(changed.status, 200, JSON.stringify(changed.body));
  assert.equal(changed.body.version, 2);
  const stale = await clerk.put(`/api/outbreaks/${id}`, { ...outbreakBody, name: 'Überschrieben', version: 1 });
  assert.equal(stale.status, 409);
  assert.equal(stale.body.currentVersion, 2);
  const after = (await clerk.get(`/api/outbreaks/${id}`)).body;
  assert.equal(after.name, outbreakBody.name);
  assert.equal(after.state, 'closed');
  assert.equal(after.periodUntil, '2026-12-20');

  // Taken out again: an update of the case record; a second time changes nothing.
  const out = await clerk.del(`/api/outbreaks/${id}/cases/${b.id}`);
  assert.equal(out.status, 200, JSON.stringify(out.body));
  assert.deepEqual(out.body, { caseId: b.id, caseVersion: 3, outbreakId: null });
  assert.equal((await physician.get(`/api/records/${b.id}`)).body.content.outbreakId, undefined);
  const again = await clerk.del(`/api/outbreaks/${id}/cases/${b.id}`);
  assert.equal(again.body.caseVersion, 3);
  assert.equal((await clerk.get(`/api/outbreaks/${id}`)).body.cases, 1);
});

test('the same case added twice at once changes its record once; a case of another outbreak is refused', async () => {
  const id = (await clerk.post(`/api/departments/${INF}/outbreaks`, { ...outbreakBody, name: 'Pflegeheim Abendrot' }))
    .body.id;
  const c = await newCase(physician, INF);
  const answers = await Promise.all(
    Array.from({ length: 4 }, () => clerk.post(`/api/outbreaks/${id}/cases`, { caseId: c.id, caseVersion: 1 })),
  );
  for (const a of answers) assert.equal(a.status, 200, JSON.stringify(a.body));
  assert.ok(answers.every((a) => a.body.caseVersion === 2));
  assert.equal(await caseVersion(c.id), 2);
  const versions = (await physician.get(`/api/records/${c.id}/versions`)).body;
  assert.equal(versions.length, 2);

  const other = (await clerk.post(`/api/departments/${INF}/outbreaks`, { ...outbreakBody, name: 'Schule am Park' }))
    .body.id;
  const refused = await clerk.post(`/api/outbreaks/${other}/cases`, { caseId: c.id, caseVersion: 2 });
  assert.equal(refused.status, 409);
  assert.deepEqual(refused.body.errors, [{ field: 'caseId', code: 'case-in-other-outbreak' }]);
  // A stale case version is refused with the current one.
  const d = await newCase(physician, INF);
  await physician.put(`/api/records/${d.id}`, {
    content: { disease: { code: 'norp' }, status: 'probable', notifiedOn: '2026-12-02' },
    version: 1,
  });
  const stale = await clerk.post(`/api/outbreaks/${id}/cases`, { caseId: d.id, caseVersion: 1 });
  assert.equal(stale.status, 409);
  assert.equal(stale.body.currentVersion, 2);
  assert.equal((await caseOutbreak(d.id)).outbreak_id, null);
});

test("another department's outbreaks are not there, its lists forbidden; an outbreak refuses a case of another department", async () => {
  const id = (await clerk.post(`/api/departments/${INF}/outbreaks`, { ...outbreakBody, name: 'Station 4b' })).body.id;
  const mine = await newCase(physician, INF);
  assert.equal((await stranger.get(`/api/departments/${INF}/outbreaks`)).status, 403);
  assert.equal((await stranger.post(`/api/departments/${INF}/outbreaks`, outbreakBody)).status, 403);
  assert.equal((await stranger.get(`/api/outbreaks/${id}`)).status, 404);
  assert.equal((await stranger.put(`/api/outbreaks/${id}`, { ...outbreakBody, version: 1 })).status, 404);
  assert.equal((await stranger.post(`/api/outbreaks/${id}/timeline`, { day: '2026-12-01', text: 'x' })).status, 404);
  assert.equal((await stranger.get(`/api/outbreaks/${crypto.randomUUID()}`)).status, 404);
  // The stranger's own case into our outbreak: the outbreak is not there for them.
  const theirs = await newCase(stranger, TB);
  const hidden = await stranger.post(`/api/outbreaks/${id}/cases`, { caseId: theirs.id, caseVersion: 1 });
  assert.equal(hidden.status, 404);
  // Our case into their list: the case is not there for them.
  assert.equal((await stranger.post(`/api/outbreaks/${id}/cases`, { caseId: mine.id, caseVersion: 1 })).status, 404);
  // Someone in both departments: the outbreak of INF refuses the case of TB, naming the field.
  const refused = await both.post(`/api/outbreaks/${id}/cases`, { caseId: theirs.id, caseVersion: 1 });
  assert.equal(refused.status, 422);
  assert.deepEqual(refused.body.errors, [{ field: 'caseId', code: 'outbreak-other-department' }]);
  assert.equal((await caseOutbreak(theirs.id)).outbreak_id, null);
  assert.equal((await caseOutbreak(theirs.id)).version, 1);
  // Written straight into the case record, an outbreak of another department (or none at all) is refused too.
  const theirOutbreak = (await stranger.post(`/api/departments/${TB}/outbreaks`, { ...outbreakBody, name: 'Fremd' }))
    .body.id;
  for (const outbreakId of [theirOutbreak, crypto.randomUUID()]) {
    const direct = await physician.put(`/api/records/${mine.id}`, {
      content: { disease: { code: 'norp' }, status: 'confirmed', notifiedOn: '2026-12-02', outbreakId },
      version: 1,
    });
    assert.equal(direct.status, 422, JSON.stringify(direct.body));
    assert.deepEqual(direct.body.errors, [{ field: 'content.outbreakId', code: 'outbreak-other-department' }]);
  }
  assert.equal((await caseOutbreak(mine.id)).version, 1);
  // A record that is no case.
  const note = await physician.post(`/api/persons/${mine.personId}/records`, {
    type: 'note',
    sensitivity: 'normal',
    content: { text: 'Telefonat' },
  });
  const notCase = await clerk.post(`/api/outbreaks/${id}/cases`, { caseId: note.body.id, caseVersion: 1 });
  assert.equal(notCase.status, 422);
  assert.equal(notCase.body.errors[0].code, 'not-a-case-record');
});

test('restricted cases are counted but listed only for who may read them; adding one is a physician’s', async () => {
  const id = (await clerk.post(`/api/departments/${INF}/outbreaks`, { ...outbreakBody, name: 'Wohngruppe Eiche' })).body
    .id;
  const open = await newCase(physician, INF);
  const closed = await newCase(physician, INF, {}, 'restricted');
  assert.equal((await clerk.post(`/api/outbreaks/${id}/cases`, { caseId: closed.id, caseVersion: 1 })).status, 403);
  assert.equal((await physician.post(`/api/outbreaks/${id}/cases`, { caseId: closed.id, caseVersion: 1 })).status, 200);
  assert.equal((await clerk.post(`/api/outbreaks/${id}/cases`, { caseId: open.id, caseVersion: 1 })).status, 200);
  const byClerk = (await clerk.get(`/api/outbreaks/${id}`)).body;
  assert.equal(byClerk.cases, 2);
  assert.deepEqual(
    byClerk.caseList.map((c: { id: string }) => c.id),
    [open.id],
  );
  assert.equal(byClerk.casesNotListed, 1);
  const byPhysician = (await physician.get(`/api/outbreaks/${id}`)).body;
  assert.equal(byPhysician.caseList.length, 2);
  // Each listed file is on the record for the citizen's access report.
  const dpo = await t.user({ tenantRoles: ['dpo'] });
  const events = (await dpo.get(`/api/audit?personId=${closed.personId}`)).body as { action: string }[];
  assert.ok(events.some((e) => e.action === 'outbreak.read'));
});

test('bad input is refused naming each field, and nothing is written', async () => {
  const count = () =>
    inTenantTransaction(h.services.store, t.tenantId, (tx) =>
      tx
        .selectFrom('outbreaks')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow(),
    );
  const before = Number((await count()).n);
  const bad = await clerk.post(`/api/departments/${INF}/outbreaks`, {
    name: 'x'.repeat(201),
    setting: 'zoo',
    periodFrom: '2026-12-10',
    periodUntil: '2026-12-01',
  });
  assert.equal(bad.status, 422);
  const fields = bad.body.errors.map((e: { field: string; code: string }) => `${e.field}:${e.code}`);
  assert.ok(fields.includes('name:too-long'), fields.join());
  assert.ok(fields.includes('setting:not-one-of'), fields.join());
  const order = await clerk.post(`/api/departments/${INF}/outbreaks`, {
    ...outbreakBody,
    periodFrom: '2026-12-10',
    periodUntil: '2026-12-01',
  });
  assert.deepEqual(order.body.errors, [{ field: 'periodUntil', code: 'date-order' }]);
  const extra = await clerk.post(`/api/departments/${INF}/outbreaks`, { ...outbreakBody, secret: 1 });
  assert.equal(extra.status, 422);
  const huge = await clerk.post(`/api/departments/${INF}/outbreaks`, {
    ...outbreakBody,
    description: 'x'.repeat(400_000),
  });
  assert.equal(huge.status, 413);
  const malformed = await clerk.call('POST', `/api/departments/${INF}/outbreaks`, '{"name":', {});
  assert.equal(malformed.status, 400);
  assert.equal(Number((await count()).n), before);
  const id = (await clerk.post(`/api/departments/${INF}/outbreaks`, outbreakBody)).body.id;
  const longEntry = await clerk.post(`/api/outbreaks/${id}/timeline`, { day: '2026-12-01', text: 'x'.repeat(5_001) });
  assert.equal(longEntry.body.field, 'text');
  const badDay = await clerk.post(`/api/outbreaks/${id}/timeline`, { day: '1.12.2026', text: 'Eintrag' });
  assert.equal(badDay.body.errors[0].code, 'invalid-date');
  assert.equal((await clerk.get(`/api/outbreaks/${id}`)).body.timeline.length, 0);
});

test('a token acts within its scopes; the timeline cannot be changed even in the database', async () => {
  const made = await clerk.post('/api/auth/tokens', { name: 'Lesen', scopes: ['records:read'], expiresInDays: 1 });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const api = new Client(h);
  const auth = { authorization: `Bearer ${made.body.token}` };
  assert.equal((await api.call('GET', `/api/departments/${INF}/outbreaks`, undefined, auth)).status, 200);
  const refused = await api.call('POST', `/api/departments/${INF}/outbreaks`, outbreakBody, auth);
  assert.equal(refused.status, 403);
  assert.equal(refused.body.type.endsWith('token-scope'), true);

  const id = (await clerk.post(`/api/departments/${INF}/outbreaks`, outbreakBody)).body.id;
  await clerk.post(`/api/outbreaks/${id}/timeline`, { day: '2026-12-01', text: 'Erster Eintrag' });
  await assert.rejects(
    inTenantTransaction(h.services.store, t.tenantId, (tx) =>
      tx.updateTable('outbreak_events').set({ day: '2020-01-01' }).where('outbreak_id', '=', id).execute(),
    ),
    /append-only/,
  );
  await assert.rejects(
    inTenantTransaction(h.services.store, t.tenantId, (tx) =>
      tx.deleteFrom('outbreak_events').where('outbreak_id', '=', id).execute(),
    ),
    /append-only/,
  );
});

test("the outbreak's name, description and timeline never reach the database files in clear", {
  skip: DIALECT === 'postgres' && "the PostgreSQL data directory is not Kartei's",
}, async () => {
  const secrets = [
    'Kindergarten Zaubergarten-Wolkenstein',
    'Elternabend mit Brechdurchfall-Zettel',
    'Gruppe Regenbogenfisch',
  ];
  const id = (
    await clerk.post(`/api/departments/${INF}/outbreaks`, {
      ...outbreakBody,
      name: secrets[0],
      description: secrets[2],
    })
  ).body.id;
  await clerk.post(`/api/outbreaks/${id}/timeline`, { day: '2026-12-01', text: secrets[1] });
  await clerk.put(`/api/outbreaks/${id}`, { ...outbreakBody, name: secrets[0], description: secrets[2], version: 1 });
  assert.equal((await clerk.get(`/api/outbreaks/${id}`)).body.timeline[0].text, secrets[1]);
  await sql`PRAGMA wal_checkpoint(FULL)`.execute(h.services.store.db);
  const files = fs.readdirSync(h.config.dataDir).filter((f) => f.startsWith('kartei.sqlite'));
  assert.ok(files.length > 0);
  for (const f of files) {
    const bytes = fs.readFileSync(path.join(h.config.dataDir, f));
    for (const s of secrets)
      for (const enc of ['utf8', 'utf16le'] as const) assert.ok(!bytes.includes(Buffer.from(s, enc)), `${s} in ${f}`);
    // The control: something stored in clear is found by the same scan.
    if (f === 'kartei.sqlite') assert.ok(bytes.includes(Buffer.from('daycare')));
  }
});
