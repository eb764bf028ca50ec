// Attack stories against the gate: the wrong department, the wrong role, the
// administrator and the DPO, sharing and break-the-glass at their edges, and
// rows tampered with behind the application's back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { inTenant } from '../../src/db/connect.ts';
import { startHarness, setUpTenant, samplePerson, type Client, type Harness, type Tenant } from '../helpers/harness.ts';

let h: Harness;
let t: Tenant;
let tbPhysician: Client & { id: string };
let tbClerk: Client & { id: string };
let tbHead: Client & { id: string };
let infClerk: Client & { id: string };
let infHead: Client & { id: string };
let spdiHead: Client & { id: string };
let dpo: Client & { id: string };
let person: string;
let normalRecord: string;
let restrictedRecord: string;

const MISSING = '00000000-0000-4000-8000-000000000000';

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h);
  const d = t.departments;
  tbPhysician = await t.user({ memberships: [{ departmentId: d.TB!, role: 'physician' }] });
  tbClerk = await t.user({ memberships: [{ departmentId: d.TB!, role: 'clerk' }] });
  tbHead = await t.user({ memberships: [{ departmentId: d.TB!, role: 'head' }] });
  infClerk = await t.user({ memberships: [{ departmentId: d.INF!, role: 'clerk' }] });
  infHead = await t.user({ memberships: [{ departmentId: d.INF!, role: 'head' }] });
  spdiHead = await t.user({ memberships: [{ departmentId: d.SPDI!, role: 'head' }] });
  dpo = await t.user({ tenantRoles: ['dpo'] });
  person = (await tbPhysician.post('/api/persons', samplePerson(d.TB!, 'Kowalczyk'))).body.id;
  const rec = (sensitivity: string, text: string) =>
    tbPhysician.post(`/api/persons/${person}/records`, { type: 'note', sensitivity, content: { text } });
  normalRecord = (await rec('normal', 'Röntgen-Termin vereinbart')).body.id;
  restrictedRecord = (await rec('restricted', 'Psychiatrischer Befund, vertraulich')).body.id;
});
after(() => h.close());

/** Every route of a file, as a stranger would call it. */
function fileRoutes(personId: string, recordId: string): [string, string, unknown?][] {
  return [
    ['GET', `/api/persons/${personId}`],
    ['PATCH', `/api/persons/${personId}`, { givenName: 'X', version: 1 }],
    ['GET', `/api/persons/${personId}/records`],
    ['POST', `/api/persons/${personId}/records`, { type: 'note', sensitivity: 'normal', content: { text: 'x' } }],
    ['GET', `/api/persons/${personId}/access-log`],
    ['POST', `/api/persons/${personId}/shares`, { departmentId: t.departments.INF, purpose: 'Amtshilfe', until: '2030-01-01' }],
    ['GET', `/api/records/${recordId}`],
    ['PUT', `/api/records/${recordId}`, { content: { text: 'x' }, version: 1 }],
    ['GET', `/api/records/${recordId}/versions`],
    ['DELETE', `/api/records/${recordId}`, { reason: 'weg damit' }],
  ];
}

const withoutIds = (body: unknown) => JSON.stringify(body).replaceAll(/[0-9a-f]{8}-[0-9a-f-]{27}/g, 'ID');

test('another department gets 404 on every file route, exactly like a file that does not exist, and each denial is audited', async () => {
  const before = await auditCount();
  for (const [method, url, body] of fileRoutes(person, normalRecord)) {
    const real = await infClerk.call(method, url, body);
    const missing = await infClerk.call(method, url.replace(person, MISSING).replace(normalRecord, MISSING), body);
    assert.equal(real.status, 404, `${method} ${url}`);
    assert.equal(withoutIds(real.body), withoutIds(missing.body), `${method} ${url}`);
  }
  const search = await infClerk.get('/api/persons?q=Kowalczyk');
  assert.deepEqual(search.body, []);
  const denied = await inTenant(h.services.store, t.tenantId, (tx) =>
    tx.selectFrom('audit_events').selectAll().where('seq', '>', before).where('actor_id', '=', infClerk.id).where('outcome', '=', 'denied').execute(),
  );
  // Ten routes on the real file; the ones on the missing ids are audited too but name no person.
  assert.equal(denied.filter((e) => e.person_id === person).length, 10);
  // Nothing changed.
  assert.equal((await tbPhysician.get(`/api/persons/${person}`)).body.version, 1);
  assert.equal((await tbPhysician.get(`/api/records/${normalRecord}`)).body.version, 1);
});

test('a clerk of the owning department sees a restricted record listed but may not read, edit or write restricted content', async () => {
  const list = await tbClerk.get(`/api/persons/${person}/records`);
  assert.deepEqual(new Set(list.body.map((r: any) => r.id)), new Set([normalRecord, restrictedRecord]));
  assert.ok(!JSON.stringify(list.body).includes('Psychiatrisch'));
  assert.equal((await tbClerk.get(`/api/records/${restrictedRecord}`)).status, 403);
  assert.equal((await tbClerk.get(`/api/records/${restrictedRecord}/versions`)).status, 403);
  assert.equal((await tbClerk.put(`/api/records/${restrictedRecord}`, { content: { text: 'überschrieben' }, version: 1 })).status, 403);
  assert.equal((await tbClerk.post(`/api/persons/${person}/records`, { type: 'note', sensitivity: 'restricted', content: { text: 'x' } })).status, 403);
  // Nor downgrade a normal record's edit into restricted, nor delete.
  assert.equal((await tbClerk.put(`/api/records/${normalRecord}`, { content: { text: 'x' }, sensitivity: 'restricted', version: 1 })).status, 403);
  assert.equal((await tbClerk.del(`/api/records/${normalRecord}`, { reason: 'Aufräumen' })).status, 403);
  // The normal record is the clerk's to read and edit.
  assert.equal((await tbClerk.get(`/api/records/${normalRecord}`)).body.content.text, 'Röntgen-Termin vereinbart');
  assert.equal((await tbPhysician.get(`/api/records/${restrictedRecord}`)).body.content.text, 'Psychiatrischer Befund, vertraulich');
});

test('administrator and DPO read no contents; the admin cannot grant itself access, and the attempt is audited', async () => {
  for (const [method, url, body] of fileRoutes(person, normalRecord)) {
    assert.equal((await t.admin.call(method, url, body)).status, 404, `admin ${method} ${url}`);
    if (!url.endsWith('access-log')) assert.equal((await dpo.call(method, url, body)).status, 404, `dpo ${method} ${url}`);
  }
  assert.equal((await t.admin.get('/api/persons?q=Kowalczyk')).status, 403);
  assert.equal((await dpo.get('/api/persons?q=Kowalczyk')).status, 403);
  const log = await dpo.get(`/api/persons/${person}/access-log`);
  assert.equal(log.status, 200);
  assert.ok(log.body.some((e: any) => e.action === 'record.read' && e.actorId === tbPhysician.id));

  const self = await t.admin.patch(`/api/admin/users/${t.adminId}`, { memberships: [{ departmentId: t.departments.TB, role: 'head' }] });
  assert.equal(self.status, 403);
  assert.equal((await t.admin.patch(`/api/admin/users/${t.adminId}`, { tenantRoles: ['admin', 'dpo'] })).status, 403);
  assert.equal((await t.admin.patch(`/api/admin/users/${t.adminId}`, { active: false })).status, 403);
  const me = await t.admin.get('/api/me');
  assert.deepEqual([me.body.tenantRoles, me.body.memberships], [['admin'], []]);
  const attempts = await dpo.get(`/api/audit?actorId=${t.adminId}&action=admin.user.update-access&outcome=denied`);
  assert.equal(attempts.body.length, 3);
  // Granting someone else is the admin's job.
  const grant = await t.admin.patch(`/api/admin/users/${infClerk.id}`, {
    memberships: [
      { departmentId: t.departments.INF, role: 'clerk' },
      { departmentId: t.departments.SPDI, role: 'clerk' },
    ],
  });
  assert.equal(grant.status, 200);
  assert.equal(grant.body.memberships.length, 2);
});

test('a share lets the receiving department read, never edit, until it is revoked or runs out', async () => {
  const infPhysician = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'physician' }] });
  assert.equal((await tbClerk.post(`/api/persons/${person}/shares`, { departmentId: t.departments.INF, purpose: 'Amtshilfe', until: '2030-01-01' })).status, 403);
  const until = new Date(Date.now() + 7 * 86_400_000).toISOString();
  const bad = [
    [{ departmentId: MISSING, purpose: 'Kontaktpersonen', until }, 'departmentId'],
    [{ departmentId: t.departments.INF, purpose: 'Kontaktpersonen', until: '2020-01-01' }, 'until'],
    [{ departmentId: t.departments.TB, purpose: 'Kontaktpersonen', until }, 'departmentId'],
  ] as const;
  for (const [body, field] of bad) {
    const r = await tbHead.post(`/api/persons/${person}/shares`, body);
    assert.equal(r.status, 422, JSON.stringify(body));
    assert.equal(r.body.field, field);
  }
  const share = await tbHead.post(`/api/persons/${person}/shares`, { departmentId: t.departments.INF, purpose: 'Kontaktpersonenermittlung', until });
  assert.equal(share.status, 201);

  assert.equal((await infClerk.get(`/api/persons/${person}`)).status, 200);
  assert.equal((await infClerk.get(`/api/records/${normalRecord}`)).status, 200);
  assert.equal((await infClerk.get(`/api/records/${restrictedRecord}`)).status, 403);
  assert.equal((await infPhysician.get(`/api/records/${restrictedRecord}`)).status, 200);
  assert.deepEqual((await infClerk.get('/api/persons?q=Kowalczyk')).body.map((p: any) => p.id), [person]);
  assert.equal((await infClerk.patch(`/api/persons/${person}`, { givenName: 'X', version: 1 })).status, 403);
  assert.equal((await infClerk.put(`/api/records/${normalRecord}`, { content: { text: 'x' }, version: 1 })).status, 403);
  assert.equal((await infClerk.post(`/api/persons/${person}/records`, { type: 'note', sensitivity: 'normal', content: { text: 'x' } })).status, 403);
  // A third department still sees nothing, and the receiver cannot end the share.
  assert.equal((await spdiHead.get(`/api/persons/${person}`)).status, 404);
  assert.equal((await infHead.del(`/api/shares/${share.body.id}`)).status, 403);

  assert.equal((await tbHead.del(`/api/shares/${share.body.id}`)).status, 204);
  assert.equal((await infClerk.get(`/api/persons/${person}`)).status, 404);

  const again = await tbHead.post(`/api/persons/${person}/shares`, { departmentId: t.departments.INF, purpose: 'Nachermittlung', until });
  assert.equal((await infClerk.get(`/api/persons/${person}`)).status, 200);
  await inTenant(h.services.store, t.tenantId, (tx) =>
    tx.updateTable('shares').set({ until: new Date(Date.now() - 1000).toISOString() }).where('id', '=', again.body.id).execute(),
  );
  assert.equal((await infClerk.get(`/api/persons/${person}`)).status, 404);
});

test('break the glass: a written reason, sixty minutes of reading, flagged for the right reviewers, reviewed once', async () => {
  const short = await spdiHead.post(`/api/persons/${person}/break-glass`, { reason: 'Notfall' });
  assert.equal(short.status, 422);
  assert.equal(short.body.field, 'reason');
  assert.equal((await spdiHead.get(`/api/persons/${person}`)).status, 404);
  // Pure admins and DPOs have no department from which to break the glass.
  assert.equal((await dpo.post(`/api/persons/${person}/break-glass`, { reason: 'Akute Eigengefährdung, Klinik fragt an' })).status, 404);

  const reason = 'Akute Eigengefährdung, Klinik fragt nach Vorbefunden';
  const glass = await spdiHead.post(`/api/persons/${person}/break-glass`, { reason });
  assert.equal(glass.status, 200);
  const minutes = (Date.parse(glass.body.expiresAt) - Date.now()) / 60_000;
  assert.ok(minutes > 58 && minutes <= 60, String(minutes));
  assert.equal((await spdiHead.get(`/api/records/${restrictedRecord}`)).status, 200);
  assert.equal((await spdiHead.put(`/api/records/${normalRecord}`, { content: { text: 'x' }, version: 1 })).status, 403);

  const forDpo = (await dpo.get('/api/reviews')).body.filter((r: any) => r.personId === person);
  const forOwner = (await tbHead.get('/api/reviews')).body.filter((r: any) => r.personId === person);
  const forOther = (await infHead.get('/api/reviews')).body.filter((r: any) => r.personId === person);
  assert.equal(forDpo.length, 1);
  assert.equal(forDpo[0].reason, reason);
  assert.deepEqual(forOwner.map((r: any) => r.id), [forDpo[0].id]);
  assert.deepEqual(forOther, []);
  const event = (await dpo.get(`/api/audit?personId=${person}&action=person.break-glass`)).body[0];
  assert.equal(event.reason, reason);

  const id = forDpo[0].id;
  assert.equal((await infHead.post(`/api/reviews/${id}`, { decision: 'unjustified', comment: 'nicht zuständig' })).status, 404);
  assert.equal((await spdiHead.post(`/api/reviews/${id}`, { decision: 'justified', comment: 'selbst geprüft' })).status, 404);
  const decided = await tbHead.post(`/api/reviews/${id}`, { decision: 'justified', comment: 'Rücksprache gehalten' });
  assert.equal(decided.status, 200);
  assert.equal((await dpo.post(`/api/reviews/${id}`, { decision: 'unjustified', comment: 'zweites Mal' })).status, 409);
  assert.deepEqual((await dpo.get('/api/reviews')).body.filter((r: any) => r.id === id), []);

  await inTenant(h.services.store, t.tenantId, (tx) =>
    tx.updateTable('break_glass').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).where('id', '=', id).execute(),
  );
  assert.equal((await spdiHead.get(`/api/persons/${person}`)).status, 404);
});

test('nobody reviews their own emergency access', async () => {
  const infDpoHead = await t.user({ tenantRoles: ['dpo'], memberships: [{ departmentId: t.departments.INF!, role: 'head' }] });
  const glass = await infDpoHead.post(`/api/persons/${person}/break-glass`, { reason: 'Amtsärztliche Stellungnahme eilt heute' });
  assert.equal(glass.status, 200);
  const mine = (await infDpoHead.get('/api/reviews')).body.find((r: any) => r.userId === infDpoHead.id);
  const r = await infDpoHead.post(`/api/reviews/${mine.id}`, { decision: 'justified', comment: 'passt' });
  assert.equal(r.status, 403);
});

test('ciphertexts swapped or moved behind the back of the application never show another row', async () => {
  const { body: other } = await tbPhysician.post('/api/persons', samplePerson(t.departments.TB!, 'Nowak'));
  const { body: otherRec } = await tbPhysician.post(`/api/persons/${other.id}/records`, { type: 'note', sensitivity: 'normal', content: { text: 'Geheim B' } });
  const { body: ownRec } = await tbPhysician.post(`/api/persons/${other.id}/records`, { type: 'note', sensitivity: 'normal', content: { text: 'Geheim A' } });
  const store = h.services.store;
  const contentOf = (id: string) =>
    inTenant(store, t.tenantId, (tx) => tx.selectFrom('record_versions').select('content_enc').where('record_id', '=', id).executeTakeFirstOrThrow());
  const a = await contentOf(ownRec.id);
  const b = await contentOf(otherRec.id);
  await inTenant(store, t.tenantId, async (tx) => {
    await tx.updateTable('record_versions').set({ content_enc: b.content_enc }).where('record_id', '=', ownRec.id).execute();
    await tx.updateTable('record_versions').set({ content_enc: a.content_enc }).where('record_id', '=', otherRec.id).execute();
  });
  for (const id of [ownRec.id, otherRec.id]) {
    const r = await tbPhysician.get(`/api/records/${id}`);
    assert.equal(r.status, 500);
    assert.equal(r.body.code, 'internal-error');
    assert.ok(!JSON.stringify(r.body).includes('Geheim'));
  }
  // Another person's identity copied onto this file does not decrypt either.
  const data = await inTenant(store, t.tenantId, (tx) =>
    tx.selectFrom('person_versions').select('data_enc').where('person_id', '=', person).executeTakeFirstOrThrow(),
  );
  await inTenant(store, t.tenantId, (tx) => tx.updateTable('person_versions').set({ data_enc: data.data_enc }).where('person_id', '=', other.id).execute());
  const p = await tbPhysician.get(`/api/persons/${other.id}`);
  assert.equal(p.status, 500);
  assert.ok(!JSON.stringify(p.body).includes('Kowalczyk'));
  // Moving a restricted record into a file the attacker's department can see reveals nothing.
  await inTenant(store, t.tenantId, (tx) => tx.updateTable('records').set({ person_id: other.id, sensitivity: 'normal' }).where('id', '=', restrictedRecord).execute());
  const moved = await tbClerk.get(`/api/records/${restrictedRecord}`);
  assert.notEqual(moved.status, 200);
  assert.ok(!JSON.stringify(moved.body).includes('Psychiatrisch'));
});

async function auditCount(): Promise<number> {
  const row = await inTenant(h.services.store, t.tenantId, (tx) =>
    tx.selectFrom('audit_events').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirstOrThrow(),
  );
  return Number(row.seq);
}
