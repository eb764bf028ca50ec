// Issue 15's refactor attacked from outside, where a refactor typically breaks:
// work moved from routes into the domain (account administration, department
// settings, study links, the chain status) keeps its gate, its audit event (once,
// in the request's transaction) and its hiding; deactivating an account still ends
// its sessions and its API tokens; the identity use cases' shared base spends one
// second-factor code once across use cases (the own password, an admin token).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { startHarness, setUpTenant, nextCode, login, type Harness, type Tenant } from '../helpers/harness.ts';

let h: Harness;
let t: Tenant;
let INF: string, TB: string;

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h, ['INF', 'TB']);
  INF = t.departments.INF!;
  TB = t.departments.TB!;
});
after(() => h.close());

async function events(action: string, resourceId?: string) {
  const rows = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .selectFrom('audit_events')
      .selectAll()
      .where('tenant_id', '=', t.tenantId)
      .where('action', '=', action)
      .orderBy('seq')
      .execute(),
  );
  return resourceId ? rows.filter((e) => e.resource_id === resourceId) : rows;
}

test('deactivating an account (account-admin.ts) ends its sessions and its API tokens, on the record once', async () => {
  const victim = await t.user({ memberships: [{ departmentId: INF, role: 'clerk' }] });
  const created = await victim.post('/api/auth/tokens', { name: 'skript', scopes: ['records:read'] });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const bearer = { authorization: `Bearer ${created.body.token}` };
  assert.equal((await victim.call('GET', '/api/me', undefined, bearer)).status, 200);

  const off = await t.admin.patch(`/api/admin/users/${victim.id}`, { active: false });
  assert.equal(off.status, 200, JSON.stringify(off.body));
  assert.equal((await victim.get('/api/me')).status, 401, 'the session ended');
  assert.equal((await victim.call('GET', '/api/me', undefined, bearer)).status, 401, 'the token ended');
  const [deactivated, ...more] = await events('admin.user.update-access', victim.id);
  assert.equal(more.length, 0, 'one event');
  assert.equal(deactivated!.outcome, 'allowed');

  // Active again: neither the old session nor the old token comes back.
  assert.equal((await t.admin.patch(`/api/admin/users/${victim.id}`, { active: true })).status, 200);
  assert.equal((await victim.get('/api/me')).status, 401);
  assert.equal((await victim.call('GET', '/api/me', undefined, bearer)).status, 401);
});

test('an office admin cannot change an account that is not there, and nothing is written for it', async () => {
  const ghost = '00000000-0000-4000-8000-000000000015';
  const r = await t.admin.patch(`/api/admin/users/${ghost}`, { active: false });
  assert.equal(r.status, 404, JSON.stringify(r.body));
  assert.equal((await t.admin.patch(`/api/admin/users/${ghost}`, { displayName: 'X' })).status, 404);
});

test('one second-factor code serves one use case: spent on the own password, refused for an admin token', async () => {
  const admin2 = await t.account({ tenantRoles: ['admin'] });
  const c = await login(h, admin2.username, admin2.password);
  const code = nextCode(h, admin2.username);
  const newPassword = `${admin2.password}-neu`;
  const changed = await c.post('/api/me/password', { currentPassword: admin2.password, newPassword, code });
  assert.equal(changed.status, 204, JSON.stringify(changed.body));
  const again = await login(h, admin2.username, newPassword);
  const replay = await again.post('/api/auth/tokens', { name: 'Betrieb', scopes: ['admin'], code });
  assert.equal(replay.status, 422, JSON.stringify(replay.body));
  assert.equal(replay.body.field, 'code');
});

test("a department's settings and unassigned studies stay with its own members (departments.ts, study-links.ts)", async () => {
  const infHead = await t.user({ memberships: [{ departmentId: INF, role: 'head' }] });
  const tbHead = await t.user({ memberships: [{ departmentId: TB, role: 'head' }] });
  const tbPhysician = await t.user({ memberships: [{ departmentId: TB, role: 'physician' }] });
  const set = await tbHead.put(`/api/departments/${INF}/settings`, { restrictedListing: 'hidden' });
  assert.ok(set.status === 403 || set.status === 404, `another department's head: ${set.status}`);
  const read = await infHead.get(`/api/departments/${INF}/settings`);
  assert.equal(read.status, 200, JSON.stringify(read.body));
  assert.equal(read.body.restrictedListing, 'shown', 'unchanged');
  const unassigned = await tbPhysician.get(`/api/departments/${INF}/unassigned-studies`);
  assert.ok(unassigned.status === 403 || unassigned.status === 404, `another department: ${unassigned.status}`);
  assert.equal((await t.admin.get(`/api/departments/${INF}/unassigned-studies`)).status, 404, 'a pure admin: hidden');
});

test('the chain status (chain-status.ts): only the DPO, each asking on the record once', async () => {
  const clerk = await t.user({ memberships: [{ departmentId: INF, role: 'clerk' }] });
  const dpo = await t.user({ tenantRoles: ['dpo'] });
  const before = (await events('audit.status')).length;
  assert.equal((await clerk.get('/api/audit/status')).status, 403);
  const ok = await dpo.get('/api/audit/status');
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.ok, true);
  const after = await events('audit.status');
  assert.deepEqual(
    after.slice(before).map((e) => e.outcome),
    ['denied', 'allowed'],
  );
});
