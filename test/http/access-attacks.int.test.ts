// Attack stories against the gate: the wrong department, the wrong role, the
// administrator and the DPO, sharing and break-the-glass at their edges, rows
// tampered with behind the application's back, and another tenant's rows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { inTenantTransaction } from '../../src/db/connect.ts';
import {
  DIALECT,
  startHarness,
  setUpTenant,
  samplePerson,
  type Client,
  type Harness,
  type Tenant,
} from '../helpers/harness.ts';

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
/** An INF file with the same surname, so the stranger's search has something to find. */
let infPerson: string;
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
  infPerson = (await infClerk.post('/api/persons', { ...samplePerson(d.INF!, 'Kowalczyk'), givenName: 'Zbigniew' }))
    .body.id;
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
    [
      'POST',
      `/api/persons/${personId}/shares`,
      { departmentId: t.departments.INF, purpose: 'Amtshilfe für das Ordnungsamt', until: '2030-01-01' },
    ],
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
    assert.equal(missing.status, real.status, `${method} ${url}`);
    assert.equal(real.headers['content-type'], missing.headers['content-type'], `${method} ${url}`);
    assert.equal(withoutIds(real.body), withoutIds(missing.body), `${method} ${url}`);
  }
  // Search finds the department's own Kowalczyk, never the TB one, by name or birth date.
  for (const q of ['Kowalczyk', 'Kowaltschik', '1961-04-17']) {
    const search = await infClerk.get(`/api/persons?q=${q}`);
    assert.deepEqual(
      search.body.map((p: any) => p.id),
      [infPerson],
      q,
    );
  }
  const denied = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .selectFrom('audit_events')
      .selectAll()
      .where('seq', '>', before)
      .where('actor_id', '=', infClerk.id)
      .where('outcome', '=', 'denied')
      .execute(),
  );
  // Ten routes on the real file, each denial naming the person; the ones on the missing ids are audited too but name no person.
  const onFile = denied.filter((e) => e.person_id === person);
  assert.equal(onFile.length, 10);
  assert.equal(new Set(onFile.map((e) => e.action)).size, 10, JSON.stringify(onFile.map((e) => e.action)));
  // The DPO sees the same denials through the API.
  const viaApi = await dpo.get(`/api/audit?personId=${person}&actorId=${infClerk.id}&outcome=denied`);
  assert.equal(viaApi.body.length, 10);
  // Nothing changed.
  assert.equal((await tbPhysician.get(`/api/persons/${person}`)).body.version, 1);
  assert.equal((await tbPhysician.get(`/api/records/${normalRecord}`)).body.version, 1);
  assert.deepEqual(
    new Set((await tbPhysician.get(`/api/persons/${person}/records`)).body.map((r: any) => r.id)),
    new Set([normalRecord, restrictedRecord]),
  );
});

test('a clerk of the owning department sees a restricted record listed but may not read, edit or write restricted content', async () => {
  const list = await tbClerk.get(`/api/persons/${person}/records`);
  assert.deepEqual(new Set(list.body.map((r: any) => r.id)), new Set([normalRecord, restrictedRecord]));
  assert.ok(!JSON.stringify(list.body).includes('Psychiatrisch'));
  assert.equal((await tbClerk.get(`/api/records/${restrictedRecord}`)).status, 403);
  assert.equal((await tbClerk.get(`/api/records/${restrictedRecord}/versions`)).status, 403);
  assert.equal(
    (await tbClerk.put(`/api/records/${restrictedRecord}`, { content: { text: 'überschrieben' }, version: 1 })).status,
    403,
  );
  assert.equal(
    (
      await tbClerk.post(`/api/persons/${person}/records`, {
        type: 'note',
        sensitivity: 'restricted',
        content: { text: 'x' },
      })
    ).status,
    403,
  );
  // Nor raise a normal record to restricted (it would then be content the clerk wrote but may not see), nor delete.
  assert.equal(
    (
      await tbClerk.put(`/api/records/${normalRecord}`, {
        content: { text: 'x' },
        sensitivity: 'restricted',
        version: 1,
      })
    ).status,
    403,
  );
  assert.equal((await tbClerk.del(`/api/records/${normalRecord}`, { reason: 'Aufräumen' })).status, 403);
  assert.equal((await tbClerk.del(`/api/records/${restrictedRecord}`, { reason: 'Aufräumen' })).status, 403);
  // Nothing the clerk tried took effect; the normal record is the clerk's to read.
  const restricted = await tbPhysician.get(`/api/records/${restrictedRecord}`);
  assert.deepEqual([restricted.body.content.text, restricted.body.version], ['Psychiatrischer Befund, vertraulich', 1]);
  const normal = await tbClerk.get(`/api/records/${normalRecord}`);
  assert.deepEqual(
    [normal.body.content.text, normal.body.sensitivity, normal.body.version],
    ['Röntgen-Termin vereinbart', 'normal', 1],
  );
  assert.equal((await tbPhysician.get(`/api/persons/${person}/records`)).body.length, 2);

  // What the clerk may not delete, a physician may.
  const spare = await tbPhysician.post(`/api/persons/${person}/records`, {
    type: 'note',
    sensitivity: 'normal',
    content: { text: 'Doppelt angelegt' },
  });
  assert.equal((await tbClerk.del(`/api/records/${spare.body.id}`, { reason: 'Doppelt angelegt' })).status, 403);
  assert.equal((await tbClerk.get(`/api/records/${spare.body.id}`)).status, 200);
  assert.equal((await tbPhysician.del(`/api/records/${spare.body.id}`, { reason: 'Doppelt angelegt' })).status, 204);
  assert.equal((await tbClerk.get(`/api/records/${spare.body.id}`)).status, 404);

  // Each of the eight refusals is audited as denied, naming the file.
  const denials = await dpo.get(`/api/audit?actorId=${tbClerk.id}&personId=${person}&outcome=denied`);
  assert.equal(denials.body.length, 8);
});

test('administrator and DPO read no contents; the admin cannot grant itself access, and the attempt is audited', async () => {
  for (const [method, url, body] of fileRoutes(person, normalRecord)) {
    assert.equal((await t.admin.call(method, url, body)).status, 404, `admin ${method} ${url}`);
    if (!url.endsWith('access-log'))
      assert.equal((await dpo.call(method, url, body)).status, 404, `dpo ${method} ${url}`);
  }
  assert.equal((await t.admin.get('/api/persons?q=Kowalczyk')).status, 403);
  assert.equal((await dpo.get('/api/persons?q=Kowalczyk')).status, 403);
  const log = await dpo.get(`/api/persons/${person}/access-log`);
  assert.equal(log.status, 200);
  assert.ok(log.body.some((e: any) => e.action === 'record.read' && e.actorId === tbPhysician.id));

  const self = await t.admin.patch(`/api/admin/users/${t.adminId}`, {
    memberships: [{ departmentId: t.departments.TB, role: 'head' }],
  });
  assert.equal(self.status, 403);
  assert.equal((await t.admin.patch(`/api/admin/users/${t.adminId}`, { tenantRoles: ['admin', 'dpo'] })).status, 403);
  assert.equal((await t.admin.patch(`/api/admin/users/${t.adminId}`, { active: false })).status, 403);
  const me = await t.admin.get('/api/me');
  assert.deepEqual([me.body.tenantRoles, me.body.memberships], [['admin'], []]);
  const attempts = await dpo.get(`/api/audit?actorId=${t.adminId}&action=admin.user.update-access&outcome=denied`);
  assert.equal(attempts.body.length, 3);
  // Granting someone else is the admin's job, and it takes effect at the next request.
  const newcomer = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'clerk' }] });
  assert.equal((await newcomer.get(`/api/persons/${person}`)).status, 404);
  const grant = await t.admin.patch(`/api/admin/users/${newcomer.id}`, {
    memberships: [
      { departmentId: t.departments.INF, role: 'clerk' },
      { departmentId: t.departments.TB, role: 'clerk' },
    ],
  });
  assert.equal(grant.status, 200);
  // The new membership waits for TB's head: until then it grants nothing.
  assert.deepEqual(grant.body.memberships.map((m: { state: string }) => m.state).sort(), ['active', 'pending']);
  assert.equal((await newcomer.get(`/api/persons/${person}`)).status, 404);
  const pending = (await tbHead.get('/api/approvals')).body.find((a: { userId: string }) => a.userId === newcomer.id);
  assert.equal((await tbHead.post(`/api/approvals/${pending.id}`, { decision: 'approve' })).status, 200);
  assert.equal((await newcomer.get(`/api/persons/${person}`)).status, 200);
  const granted = await dpo.get(`/api/audit?actorId=${t.adminId}&action=admin.user.update-access&outcome=allowed`);
  assert.equal(granted.body.length, 1);
});

test('a share lets the receiving department read, never edit, until it is revoked or runs out', async () => {
  const infPhysician = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'physician' }] });
  assert.equal(
    (
      await tbClerk.post(`/api/persons/${person}/shares`, {
        departmentId: t.departments.INF,
        purpose: 'Amtshilfe für das Ordnungsamt',
        until: '2030-01-01',
      })
    ).status,
    403,
  );
  const until = new Date(Date.now() + 7 * 86_400_000).toISOString();
  const bad = [
    [{ departmentId: MISSING, purpose: 'Kontaktpersonen ermitteln und informieren', until }, 'departmentId'],
    [
      { departmentId: t.departments.INF, purpose: 'Kontaktpersonen ermitteln und informieren', until: '2020-01-01' },
      'until',
    ],
    [{ departmentId: t.departments.TB, purpose: 'Kontaktpersonen ermitteln und informieren', until }, 'departmentId'],
  ] as const;
  for (const [body, field] of bad) {
    const r = await tbHead.post(`/api/persons/${person}/shares`, body);
    assert.equal(r.status, 422, JSON.stringify(body));
    assert.equal(r.body.field, field);
  }
  const share = await tbHead.post(`/api/persons/${person}/shares`, {
    departmentId: t.departments.INF,
    purpose: 'Kontaktpersonenermittlung',
    until,
  });
  assert.equal(share.status, 201);

  assert.equal((await infClerk.get(`/api/persons/${person}`)).body.familyName, 'Kowalczyk');
  assert.deepEqual(
    new Set((await infClerk.get(`/api/persons/${person}/records`)).body.map((r: any) => r.id)),
    new Set([normalRecord, restrictedRecord]),
  );
  assert.equal((await infClerk.get(`/api/records/${normalRecord}`)).body.content.text, 'Röntgen-Termin vereinbart');
  assert.equal((await infClerk.get(`/api/records/${restrictedRecord}`)).status, 403);
  assert.equal(
    (await infPhysician.get(`/api/records/${restrictedRecord}`)).body.content.text,
    'Psychiatrischer Befund, vertraulich',
  );
  assert.deepEqual(
    new Set((await infClerk.get('/api/persons?q=Kowalczyk')).body.map((p: any) => p.id)),
    new Set([person, infPerson]),
  );
  assert.equal((await infClerk.patch(`/api/persons/${person}`, { givenName: 'X', version: 1 })).status, 403);
  assert.equal(
    (await infClerk.put(`/api/records/${normalRecord}`, { content: { text: 'x' }, version: 1 })).status,
    403,
  );
  assert.equal(
    (
      await infClerk.post(`/api/persons/${person}/records`, {
        type: 'note',
        sensitivity: 'normal',
        content: { text: 'x' },
      })
    ).status,
    403,
  );
  assert.equal(
    (await infPhysician.put(`/api/records/${normalRecord}`, { content: { text: 'x' }, version: 1 })).status,
    403,
  );
  // A third department still sees nothing, not even the share; the receiver cannot end it.
  assert.equal((await spdiHead.get(`/api/persons/${person}`)).status, 404);
  const strangerDel = await spdiHead.del(`/api/shares/${share.body.id}`);
  const missingDel = await spdiHead.del(`/api/shares/${MISSING}`);
  assert.equal(strangerDel.status, 404);
  assert.equal(withoutIds(strangerDel.body), withoutIds(missingDel.body));
  assert.equal((await infHead.del(`/api/shares/${share.body.id}`)).status, 403);
  assert.equal((await infClerk.get(`/api/persons/${person}`)).status, 200);
  // The owning head sees the live share with its purpose; the receiver and a third department do not.
  const listed = await tbHead.get(`/api/persons/${person}/shares`);
  assert.deepEqual(
    listed.body.map((x: any) => [x.id, x.departmentId, x.purpose]),
    [[share.body.id, t.departments.INF, 'Kontaktpersonenermittlung']],
  );
  assert.equal((await infHead.get(`/api/persons/${person}/shares`)).status, 403);
  assert.equal((await spdiHead.get(`/api/persons/${person}/shares`)).status, 404);

  assert.equal((await tbHead.del(`/api/shares/${share.body.id}`)).status, 204);
  assert.deepEqual((await tbHead.get(`/api/persons/${person}/shares`)).body, [], 'a revoked share is no longer listed');
  assert.equal((await infClerk.get(`/api/persons/${person}`)).status, 404);
  assert.equal((await infClerk.get(`/api/records/${normalRecord}`)).status, 404);
  assert.deepEqual(
    (await infClerk.get('/api/persons?q=Kowalczyk')).body.map((p: any) => p.id),
    [infPerson],
  );

  const again = await tbHead.post(`/api/persons/${person}/shares`, {
    departmentId: t.departments.INF,
    purpose: 'Nachermittlung im Umfeld der Familie',
    until,
  });
  assert.equal((await infClerk.get(`/api/persons/${person}`)).status, 200);
  const [ran] = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .updateTable('shares')
      .set({ until: new Date(Date.now() - 1000).toISOString() })
      .where('id', '=', again.body.id)
      .execute(),
  );
  assert.equal(Number(ran!.numUpdatedRows), 1);
  assert.equal((await infClerk.get(`/api/persons/${person}`)).status, 404);
  assert.equal((await infClerk.get(`/api/records/${normalRecord}`)).status, 404);
  assert.deepEqual(
    (await infClerk.get('/api/persons?q=Kowalczyk')).body.map((p: any) => p.id),
    [infPerson],
  );
});

test('break the glass: a written reason, sixty minutes of reading, flagged for the right reviewers, reviewed once', async () => {
  const short = await spdiHead.post(`/api/persons/${person}/break-glass`, { reason: 'Notfall' });
  assert.equal(short.status, 422);
  assert.equal(short.body.field, 'reason');
  assert.equal((await spdiHead.get(`/api/persons/${person}`)).status, 404);
  // Pure admins and DPOs have no department from which to break the glass.
  assert.equal(
    (await dpo.post(`/api/persons/${person}/break-glass`, { reason: 'Akute Eigengefährdung, Klinik fragt an' })).status,
    404,
  );

  const reason = 'Akute Eigengefährdung, Klinik fragt nach Vorbefunden';
  const glass = await spdiHead.post(`/api/persons/${person}/break-glass`, { reason });
  assert.equal(glass.status, 200);
  const minutes = (Date.parse(glass.body.expiresAt) - Date.now()) / 60_000;
  assert.ok(minutes > 58 && minutes <= 60, String(minutes));
  assert.equal((await spdiHead.get(`/api/persons/${person}`)).body.familyName, 'Kowalczyk');
  assert.equal(
    (await spdiHead.get(`/api/records/${restrictedRecord}`)).body.content.text,
    'Psychiatrischer Befund, vertraulich',
  );
  // Reading only: no edits, no new records, and no other file opens with it.
  assert.equal(
    (await spdiHead.put(`/api/records/${normalRecord}`, { content: { text: 'x' }, version: 1 })).status,
    403,
  );
  assert.equal((await spdiHead.patch(`/api/persons/${person}`, { givenName: 'X', version: 1 })).status, 403);
  assert.equal(
    (
      await spdiHead.post(`/api/persons/${person}/records`, {
        type: 'note',
        sensitivity: 'normal',
        content: { text: 'x' },
      })
    ).status,
    403,
  );
  assert.equal((await spdiHead.get(`/api/persons/${infPerson}`)).status, 404);

  const forDpo = (await dpo.get('/api/reviews')).body.filter((r: any) => r.personId === person);
  const forOwner = (await tbHead.get('/api/reviews')).body.filter((r: any) => r.personId === person);
  const forOther = (await infHead.get('/api/reviews')).body.filter((r: any) => r.personId === person);
  assert.equal(forDpo.length, 1);
  assert.equal(forDpo[0].reason, reason);
  assert.deepEqual(
    forOwner.map((r: any) => r.id),
    [forDpo[0].id],
  );
  assert.deepEqual(forOther, []);
  const event = (await dpo.get(`/api/audit?personId=${person}&action=person.break-glass`)).body[0];
  assert.equal(event.reason, reason);

  const id = forDpo[0].id;
  assert.equal(
    (await infHead.post(`/api/reviews/${id}`, { decision: 'unjustified', comment: 'nicht zuständig' })).status,
    404,
  );
  assert.equal(
    (await spdiHead.post(`/api/reviews/${id}`, { decision: 'justified', comment: 'selbst geprüft' })).status,
    404,
  );
  const decided = await tbHead.post(`/api/reviews/${id}`, { decision: 'justified', comment: 'Rücksprache gehalten' });
  assert.equal(decided.status, 200);
  assert.equal((await dpo.post(`/api/reviews/${id}`, { decision: 'unjustified', comment: 'zweites Mal' })).status, 409);
  assert.deepEqual(
    (await dpo.get('/api/reviews')).body.filter((r: any) => r.id === id),
    [],
  );

  // A review does not end the grant; its expiry does.
  assert.equal((await spdiHead.get(`/api/persons/${person}`)).status, 200);
  const [ran] = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .updateTable('break_glass')
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .where('id', '=', id)
      .execute(),
  );
  assert.equal(Number(ran!.numUpdatedRows), 1);
  assert.equal((await spdiHead.get(`/api/persons/${person}`)).status, 404);
  assert.equal((await spdiHead.get(`/api/records/${restrictedRecord}`)).status, 404);
});

test('nobody reviews their own emergency access', async () => {
  const infDpoHead = await t.user({
    tenantRoles: ['dpo'],
    memberships: [{ departmentId: t.departments.INF!, role: 'head' }],
  });
  const glass = await infDpoHead.post(`/api/persons/${person}/break-glass`, {
    reason: 'Amtsärztliche Stellungnahme eilt heute',
  });
  assert.equal(glass.status, 200);
  const mine = (await infDpoHead.get('/api/reviews')).body.find((r: any) => r.userId === infDpoHead.id);
  const r = await infDpoHead.post(`/api/reviews/${mine.id}`, { decision: 'justified', comment: 'passt' });
  assert.equal(r.status, 403);
  // The refusal is about the reviewer, not the event: another DPO may decide it.
  assert.equal(
    (await dpo.post(`/api/reviews/${mine.id}`, { decision: 'unjustified', comment: 'keine Zuständigkeit' })).status,
    200,
  );
});

test("rows of another tenant stay out of sight, even when they point at this tenant's department and file", async () => {
  const store = h.services.store;
  const tenantB = randomUUID();
  const bPerson = randomUUID();
  const bRecord = randomUUID();
  const now = new Date().toISOString();
  // What the attacker copies: this tenant's search digests and ciphertexts for Kowalczyk.
  const [index, pv, rv] = await inTenantTransaction(
    store,
    t.tenantId,
    async (tx) =>
      [
        await tx.selectFrom('person_index').select(['kind', 'digest']).where('person_id', '=', person).execute(),
        await tx
          .selectFrom('person_versions')
          .select('data_enc')
          .where('person_id', '=', person)
          .executeTakeFirstOrThrow(),
        await tx
          .selectFrom('record_versions')
          .select('content_enc')
          .where('record_id', '=', normalRecord)
          .executeTakeFirstOrThrow(),
      ] as const,
  );
  // A second tenant's rows: a file in *this* tenant's TB department, and a record hung on this tenant's file.
  await inTenantTransaction(store, tenantB, async (tx) => {
    await tx.insertInto('tenants').values({ id: tenantB, name: 'Nachbaramt', created_at: now }).execute();
    const common = { tenant_id: tenantB, version: 1, created_at: now, created_by: tbPhysician.id, updated_at: now };
    await tx
      .insertInto('persons')
      .values({ ...common, id: bPerson, department_id: t.departments.TB! })
      .execute();
    await tx
      .insertInto('person_versions')
      .values({
        person_id: bPerson,
        version: 1,
        tenant_id: tenantB,
        data_enc: pv.data_enc,
        created_at: now,
        created_by: tbPhysician.id,
      })
      .execute();
    await tx
      .insertInto('person_index')
      .values(index.map((i) => ({ ...i, tenant_id: tenantB, person_id: bPerson })))
      .execute();
    await tx
      .insertInto('records')
      .values({
        ...common,
        id: bRecord,
        person_id: person,
        type: 'note',
        sensitivity: 'normal',
        deleted_at: null,
        deleted_by: null,
        delete_reason_enc: null,
        retain_until: null,
      })
      .execute();
    await tx
      .insertInto('record_versions')
      .values({
        record_id: bRecord,
        version: 1,
        tenant_id: tenantB,
        sensitivity: 'normal',
        content_enc: rv.content_enc,
        created_at: now,
        created_by: tbPhysician.id,
      })
      .execute();
  });

  // Through the API the other tenant's rows do not exist: same 404 as an unknown id, not a failed decryption.
  for (const url of [
    `/api/persons/${bPerson}`,
    `/api/persons/${bPerson}/records`,
    `/api/records/${bRecord}`,
    `/api/records/${bRecord}/versions`,
  ]) {
    const r = await tbPhysician.get(url);
    const missing = await tbPhysician.get(url.replace(bPerson, MISSING).replace(bRecord, MISSING));
    assert.equal(r.status, 404, url);
    assert.equal(withoutIds(r.body), withoutIds(missing.body), url);
  }
  assert.deepEqual(
    (await tbPhysician.get('/api/persons?q=Kowalczyk')).body.map((p: any) => p.id),
    [person],
  );
  assert.ok(!(await tbPhysician.get(`/api/persons/${person}/records`)).body.some((r: any) => r.id === bRecord));

  if (DIALECT === 'postgres') {
    // The row-level-security wall, under the application's own role: a query that
    // forgets the tenant condition still sees only the tenant of its transaction,
    // and one outside any tenant sees nothing.
    const count = (tenant: string | null, table: 'persons' | 'records') => {
      const q = (db: any) =>
        sql<{
          n: number;
        }>`select count(*)::int as n from ${sql.table(table)} where id in (${bPerson}, ${bRecord}, ${person})`.execute(
          db,
        );
      return (tenant ? inTenantTransaction(store, tenant, q) : q(store.db)).then((r: any) => r.rows[0].n as number);
    };
    assert.deepEqual(
      [await count(t.tenantId, 'persons'), await count(tenantB, 'persons'), await count(null, 'persons')],
      [1, 1, 0],
    );
    assert.deepEqual(
      [await count(t.tenantId, 'records'), await count(tenantB, 'records'), await count(null, 'records')],
      [0, 1, 0],
    );
  }
});

test('ciphertexts swapped or moved behind the back of the application never show another row', async () => {
  const { body: other } = await tbPhysician.post('/api/persons', samplePerson(t.departments.TB!, 'Nowak'));
  const { body: otherRec } = await tbPhysician.post(`/api/persons/${other.id}/records`, {
    type: 'note',
    sensitivity: 'normal',
    content: { text: 'Geheim B' },
  });
  const { body: ownRec } = await tbPhysician.post(`/api/persons/${other.id}/records`, {
    type: 'note',
    sensitivity: 'normal',
    content: { text: 'Geheim A' },
  });
  const store = h.services.store;
  const contentOf = (id: string) =>
    inTenantTransaction(store, t.tenantId, (tx) =>
      tx.selectFrom('record_versions').select('content_enc').where('record_id', '=', id).executeTakeFirstOrThrow(),
    );
  const a = await contentOf(ownRec.id);
  const b = await contentOf(otherRec.id);
  await inTenantTransaction(store, t.tenantId, async (tx) => {
    await tx
      .updateTable('record_versions')
      .set({ content_enc: b.content_enc })
      .where('record_id', '=', ownRec.id)
      .execute();
    await tx
      .updateTable('record_versions')
      .set({ content_enc: a.content_enc })
      .where('record_id', '=', otherRec.id)
      .execute();
  });
  for (const id of [ownRec.id, otherRec.id]) {
    const r = await tbPhysician.get(`/api/records/${id}`);
    assertOpaqueFailure(r, ['Geheim']);
  }
  // The failed reads are on the record as errors, naming the file.
  const errors = await dpo.get(`/api/audit?actorId=${tbPhysician.id}&action=record.read&outcome=error`);
  assert.deepEqual(
    errors.body.map((e: any) => e.personId),
    [other.id, other.id],
  );
  // Another person's identity copied onto this file does not decrypt either.
  const data = await inTenantTransaction(store, t.tenantId, (tx) =>
    tx.selectFrom('person_versions').select('data_enc').where('person_id', '=', person).executeTakeFirstOrThrow(),
  );
  await inTenantTransaction(store, t.tenantId, (tx) =>
    tx.updateTable('person_versions').set({ data_enc: data.data_enc }).where('person_id', '=', other.id).execute(),
  );
  assertOpaqueFailure(await tbPhysician.get(`/api/persons/${other.id}`), ['Kowalczyk', 'Lindenallee']);
  // Nor does search hand it out.
  assertOpaqueFailure(await tbPhysician.get('/api/persons?q=Nowak'), ['Kowalczyk', 'Lindenallee']);

  // Moving a TB record (restricted, marked normal on the way) into a file of the
  // attacker's own department: the attacker may now ask for it, but it opens under
  // the wrong person's key and reveals nothing.
  await inTenantTransaction(store, t.tenantId, (tx) =>
    tx
      .updateTable('records')
      .set({ person_id: infPerson, sensitivity: 'normal' })
      .where('id', '=', restrictedRecord)
      .execute(),
  );
  const listed = (await infClerk.get(`/api/persons/${infPerson}/records`)).body.find(
    (r: any) => r.id === restrictedRecord,
  );
  assert.equal(listed.title, null, 'listed, but its content does not open for a title either');
  const listing = (await dpo.get(`/api/audit?actorId=${infClerk.id}&action=record.list&limit=1`)).body[0];
  assert.equal(listing.detail.unreadable, 1, 'the row that did not open is on the record');
  assertOpaqueFailure(await infClerk.get(`/api/records/${restrictedRecord}`), ['Psychiatrisch']);
});

test('relabelling a restricted record as normal in the database opens nothing to a clerk', async () => {
  const { body: rec } = await tbPhysician.post(`/api/persons/${person}/records`, {
    type: 'note',
    sensitivity: 'restricted',
    content: { text: 'Kindeswohlgefährdung, Meldung vom Jugendamt' },
  });
  assert.equal((await tbClerk.get(`/api/records/${rec.id}`)).status, 403);
  await inTenantTransaction(h.services.store, t.tenantId, async (tx) => {
    await tx.updateTable('records').set({ sensitivity: 'normal' }).where('id', '=', rec.id).execute();
    await tx.updateTable('record_versions').set({ sensitivity: 'normal' }).where('record_id', '=', rec.id).execute();
  });
  // The policy now lets the clerk ask, but the label is bound into the ciphertext.
  assertOpaqueFailure(await tbClerk.get(`/api/records/${rec.id}`), ['Kindeswohl', 'Jugendamt']);
});

/** A tampered row answers a bare 5xx problem, with none of the plaintext we planted. */
function assertOpaqueFailure(r: { status: number; body: any; headers: Record<string, unknown> }, secrets: string[]) {
  assert.ok(r.status >= 500 && r.status < 600, `status ${r.status}: ${JSON.stringify(r.body)}`);
  assert.match(String(r.headers['content-type']), /^application\/problem\+json/);
  assert.equal(r.body.code, 'internal-error');
  for (const secret of secrets) assert.ok(!JSON.stringify(r.body).includes(secret), secret);
}

async function auditCount(): Promise<number> {
  const row = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .selectFrom('audit_events')
      .select((eb) => eb.fn.max('seq').as('seq'))
      .executeTakeFirstOrThrow(),
  );
  return Number(row.seq);
}
