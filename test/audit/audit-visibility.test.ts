// What the office's DPO sees of the log beyond reads and writes of files: the
// details of every grant, revocation and second-factor reset, refused requests
// (CSRF, bodies) on data routes, and the installation's own chain (failed
// logins with unknown names, refused DICOM associations) in a single-office
// installation. And what never reaches the log in clear: input that is not an id.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { inTenant } from '../../src/db/connect.ts';
import { DEPLOYMENT_CHAIN } from '../../src/db/schema.ts';
import { Client, startHarness, setUpTenant, strongPassword, type Harness, type Tenant } from '../helpers/harness.ts';

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
  inTenant(h.services.store, chain, (tx) => tx.selectFrom('audit_events').selectAll().where('tenant_id', '=', chain).orderBy('seq').execute());

test('the DPO sees what each grant, revocation and second-factor reset gave or took', async () => {
  const { INF, TB } = t.departments as Record<string, string>;
  const created = await t.admin.post('/api/admin/users', { username: 'grantee', displayName: 'Gerd Grant', password: strongPassword(), tenantRoles: [], memberships: [{ departmentId: INF, role: 'clerk' }] });
  assert.equal(created.status, 201);
  const id = created.body.id as string;
  assert.equal((await t.admin.patch(`/api/admin/users/${id}`, { memberships: [{ departmentId: TB, role: 'head' }] })).status, 200);
  assert.equal((await t.admin.post(`/api/admin/users/${id}/reset-mfa`)).status, 204);

  const log = await dpo.get(`/api/audit?limit=20`);
  assert.equal(log.status, 200);
  const about = (action: string) => log.body.find((e: any) => e.action === action && e.resourceId === id);
  assert.deepEqual(about('admin.user.create').detail, { tenantRoles: '', memberships: `${INF}:clerk` });
  assert.deepEqual(about('admin.user.update-access').detail, { memberships: `${TB}:head`, grantedMemberships: `${TB}:head`, revokedMemberships: `${INF}:clerk` });
  assert.deepEqual(about('admin.user.reset-mfa').detail, { mfa: 'reset', sessionsEnded: true, apiTokensRevoked: true });
  // Every entry carries the field; events without facts say null.
  assert.ok(log.body.every((e: any) => 'detail' in e));
});
