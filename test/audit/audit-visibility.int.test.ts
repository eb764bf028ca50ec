// What the office's DPO sees of the log beyond reads and writes of files: the
// details of every grant, revocation and second-factor reset, refused requests
// (CSRF, bodies) on data routes, and the installation's own chain (failed
// logins with unknown names, refused DICOM associations) in a single-office
// installation. And what never reaches the log in clear: input that is not an id.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { Client, startHarness, setUpTenant, type Harness, type Tenant } from '../helpers/harness.ts';

let h: Harness;
let t: Tenant;
type User = Client & { id: string };
let dpo: User, clerk: User;

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h, ['INF', 'TB']);
  dpo = await t.user({ tenantRoles: ['dpo'] });
  clerk = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'clerk' }] });
});
after(() => h.close());

/** Every stored event of a chain, as the database holds it. */
const storedEvents = (chain: string) =>
  inTenantTransaction(h.services.store, chain, (tx) =>
    tx.selectFrom('audit_events').selectAll().where('tenant_id', '=', chain).orderBy('seq').execute(),
  );

test('the DPO sees what each grant, approval, revocation and reset request gave or took', async () => {
  const { INF, TB } = t.departments as Record<string, string>;
  const created = await t.admin.post('/api/admin/users', {
    username: 'grantee',
    displayName: 'Gerd Grant',
    tenantRoles: [],
    memberships: [{ departmentId: INF, role: 'clerk' }],
  });
  assert.equal(created.status, 201);
  const id = created.body.id as string;
  // INF has no head yet: a DPO approves.
  const [approvalId] = created.body.pendingApprovals as string[];
  assert.equal((await dpo.post(`/api/approvals/${approvalId}`, { decision: 'approve' })).status, 200);
  assert.equal(
    (await t.admin.patch(`/api/admin/users/${id}`, { memberships: [{ departmentId: TB, role: 'head' }] })).status,
    200,
  );
  const reset = await t.admin.post(`/api/admin/users/${id}/enrolment`);
  assert.equal(reset.status, 201);

  const log = await dpo.get(`/api/audit?limit=20`);
  assert.equal(log.status, 200);
  const about = (action: string) => log.body.find((e: any) => e.action === action && e.resourceId === id);
  assert.deepEqual(about('admin.user.create').detail, {
    tenantRoles: '',
    memberships: `${INF}:clerk`,
    pendingApprovals: 1,
  });
  assert.deepEqual(log.body.find((e: any) => e.action === 'approval.decide' && e.resourceId === approvalId).detail, {
    kind: 'membership',
    decision: 'approved',
    userId: id,
    departmentId: INF,
    role: 'clerk',
  });
  // Taken away at once; the new membership waits for approval and is granted only then.
  assert.deepEqual(about('admin.user.update-access').detail, {
    memberships: `${TB}:head`,
    pendingApprovals: 1,
    revokedMemberships: `${INF}:clerk`,
  });
  assert.deepEqual(about('admin.user.enrolment-request').detail, { approvalId: reset.body.approvalId });
  // Every entry carries the field; events without facts say null.
  assert.ok(log.body.every((e: any) => 'detail' in e));
});

/** The same session as `u`, in a client that does not send the CSRF header (what a forged cross-site request carries). */
function withoutCsrf(u: Client): Client {
  const c = new Client(h);
  c.cookie = u.cookie;
  return c;
}

test('a state-changing request without the CSRF token is refused and on the record, with the caller and the route', async () => {
  const { INF } = t.departments as Record<string, string>;
  const forged = withoutCsrf(clerk);
  const r = await forged.post('/api/persons', {
    departmentId: INF,
    familyName: 'Quastenberg',
    givenName: 'Hannelore',
    birthDate: '1961-04-17',
  });
  assert.equal(r.status, 403);
  const log = await dpo.get('/api/audit?action=request.refused&limit=5');
  const e = log.body.find((x: any) => x.actorId === clerk.id && x.detail?.code === 'csrf-missing');
  assert.ok(e, JSON.stringify(log.body));
  assert.equal(e.outcome, 'denied');
  assert.deepEqual(e.detail, { code: 'csrf-missing', method: 'POST', route: '/api/persons' });
  // Nothing was created.
  assert.equal((await clerk.get('/api/persons?q=Quastenberg')).body.length, 0);
});

test('bodies a data route refuses (invalid, malformed, too large) are on the record, without their content', async () => {
  const { INF } = t.departments as Record<string, string>;
  const invalid = await clerk.post('/api/persons', {
    departmentId: INF,
    familyName: 'Quastenberg',
    givenName: 'Hannelore',
    birthDate: 'gestern',
  });
  assert.equal(invalid.status, 422);
  const malformed = await clerk.call('POST', '/api/persons', '{"familyName": "Quastenberg",');
  assert.equal(malformed.status, 400);
  const large = await clerk.post('/api/persons', {
    departmentId: INF,
    familyName: 'Quastenberg'.repeat(30_000),
    givenName: 'H',
    birthDate: '1961-04-17',
  });
  assert.equal(large.status, 413);
  const log = await dpo.get('/api/audit?action=request.refused&limit=20');
  const codes = log.body.filter((x: any) => x.actorId === clerk.id).map((x: any) => x.detail.code);
  for (const code of ['validation-failed', 'malformed-json', 'payload-too-large'])
    assert.ok(codes.includes(code), `${code} in ${codes}`);
  const events = await storedEvents(t.tenantId);
  assert.ok(!JSON.stringify(events).includes('Quastenberg'), 'no refused content in the log');
});

test('text in the place of an id reaches the log only as a keyed hash', async () => {
  const typed = 'Mustermann-Erika-1964';
  assert.equal((await clerk.get(`/api/persons/${typed}`)).status, 404);
  assert.equal((await clerk.get(`/api/records/${typed}`)).status, 404);
  assert.equal(
    (
      await clerk.post('/api/persons', {
        departmentId: typed,
        familyName: 'Muster',
        givenName: 'Erika',
        birthDate: '1964-08-12',
      })
    ).status,
    403,
  );
  // A DICOMweb study "UID" that is none.
  const study = await clerk.get(`/dicom-web/studies/${typed}/metadata`);
  assert.ok(study.status === 404 || study.status === 422 || study.status === 400, String(study.status));
  const again = await clerk.get(`/api/persons/${typed}`);
  assert.equal(again.status, 404);
  const events = await storedEvents(t.tenantId);
  assert.ok(!JSON.stringify(events).includes('Mustermann'), 'the typed text is nowhere in the stored events');
  const denials = events.filter((e) => e.action === 'person.read' && e.outcome === 'denied' && e.actor_id === clerk.id);
  assert.equal(denials.length, 2);
  // The same text gives the same hash, so the DPO can follow repeated attempts.
  assert.match(denials[0]!.resource_id!, /^hmac:[0-9a-f]{32}$/);
  assert.equal(denials[1]!.resource_id, denials[0]!.resource_id);
  const created = events.find((e) => e.action === 'person.create' && e.actor_id === clerk.id && e.outcome === 'denied');
  assert.match(created?.department_id ?? '', /^hmac:/);
  // A well-formed id stays readable.
  const unknown = '6f1c1f4e-8a43-4b6e-9c59-0b7f0d5c2a11';
  assert.equal((await clerk.get(`/api/persons/${unknown}`)).status, 404);
  assert.equal((await storedEvents(t.tenantId)).at(-1)!.resource_id, unknown);
});

test("a failed login with an unknown name is visible to the office's DPO and admin of a single-office installation, not to staff", async () => {
  const anon = new Client(h);
  const r = await anon.post('/api/auth/login', { username: 'niemand-hier', password: 'Nicht-das-Passwort-42' });
  assert.equal(r.status, 401);
  for (const reader of [dpo, t.admin]) {
    const log = await reader.get('/api/audit/installation?action=auth.login-failed');
    assert.equal(log.status, 200, JSON.stringify(log.body));
    const e = log.body[0];
    assert.equal(e.outcome, 'denied');
    assert.equal(e.actorId, null);
    assert.equal(e.detail.stage, 'password');
    assert.match(e.detail.source, /^[0-9a-f]{32}$/, 'the address as a keyed hash');
    assert.ok(!JSON.stringify(log.body).includes('niemand-hier'), 'the name typed is not on the record');
  }
  assert.equal((await clerk.get('/api/audit/installation')).status, 403);
  // The reading itself is on the office's record.
  const mine = await dpo.get('/api/audit?action=audit.read-installation');
  assert.ok(mine.body.some((e: any) => e.actorId === dpo.id && e.outcome === 'allowed'));
});

test("once several offices share the installation, its chain is no office's to read", async () => {
  const other = 'tenant-zwei';
  await inTenantTransaction(h.services.store, other, async (tx) => {
    await tx
      .insertInto('tenants')
      .values({ id: other, name: 'Nachbaramt', created_at: new Date().toISOString() })
      .execute();
    await h.services.audit.startChain(tx, other);
  });
  for (const reader of [dpo, t.admin]) assert.equal((await reader.get('/api/audit/installation')).status, 403);
  const denied = await dpo.get('/api/audit?action=audit.read-installation&outcome=denied');
  assert.ok(denied.body.some((e: any) => e.actorId === dpo.id));
});
