// Staff accounts. Login names and display names are personal data of staff,
// so they are stored encrypted, with a blind index to find a login name.
import { randomUUID } from 'node:crypto';
import type { Tx } from '../db/connect.ts';
import { KarteiError } from '../errors.ts';
import type { Keyring } from '../vault/keyring.ts';
import { openField, sealField } from '../vault/keyring.ts';
import type { DepartmentRole, Membership, TenantRole } from '../access/policy.ts';
import { assertStrongPassword, hashPassword } from './passwords.ts';

export interface NewUser {
  username: string;
  displayName: string;
  password: string;
  tenantRoles: TenantRole[];
  memberships: Membership[];
}

export interface UserView {
  id: string;
  username: string;
  displayName: string;
  active: boolean;
  mfaEnrolled: boolean;
  tenantRoles: TenantRole[];
  memberships: Membership[];
}

export const userBinding = (tenantId: string, userId: string, field: string) => ({ tenantId, table: 'users', rowId: userId, field });

export async function createUser(tx: Tx, keyring: Keyring, tenantId: string, u: NewUser, officeName: string): Promise<string> {
  assertStrongPassword(u.password, [u.username, u.displayName, officeName]);
  const usernameIndex = keyring.globalIndex('username', u.username);
  const taken = await tx.selectFrom('users').select('id').where('username_index', '=', usernameIndex).executeTakeFirst();
  if (taken) throw new KarteiError('conflict', 'username: already taken', { field: 'username' });
  await assertDepartments(tx, tenantId, u.memberships);
  const id = randomUUID();
  const key = await keyring.tenantKey(tx, tenantId);
  const now = new Date().toISOString();
  await tx
    .insertInto('users')
    .values({
      id,
      tenant_id: tenantId,
      username_index: usernameIndex,
      username_enc: sealField(key, userBinding(tenantId, id, 'username'), u.username),
      display_name_enc: sealField(key, userBinding(tenantId, id, 'display_name'), u.displayName),
      password_hash: await hashPassword(u.password),
      totp_secret_enc: null,
      totp_last_step: 0,
      active: 1,
      created_at: now,
      updated_at: now,
    })
    .execute();
  await setAccess(tx, tenantId, id, u.tenantRoles, u.memberships);
  return id;
}

export async function setAccess(tx: Tx, tenantId: string, userId: string, roles?: TenantRole[], memberships?: Membership[]) {
  if (roles) {
    await tx.deleteFrom('tenant_roles').where('user_id', '=', userId).execute();
    for (const role of new Set(roles)) {
      await tx.insertInto('tenant_roles').values({ user_id: userId, tenant_id: tenantId, role }).execute();
    }
  }
  if (memberships) {
    await assertDepartments(tx, tenantId, memberships);
    await tx.deleteFrom('memberships').where('user_id', '=', userId).execute();
    const byDept = new Map(memberships.map((m) => [m.departmentId, m.role]));
    for (const [departmentId, role] of byDept) {
      await tx.insertInto('memberships').values({ user_id: userId, tenant_id: tenantId, department_id: departmentId, role }).execute();
    }
  }
}

async function assertDepartments(tx: Tx, tenantId: string, memberships: Membership[]) {
  for (const [i, m] of memberships.entries()) {
    const dept = await tx
      .selectFrom('departments')
      .select('id')
      .where('id', '=', m.departmentId)
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    if (!dept) throw new KarteiError('validation-failed', `memberships.${i}.departmentId: no such department`, { field: `memberships.${i}.departmentId` });
  }
}

export async function listUsers(tx: Tx, keyring: Keyring, tenantId: string, ids?: string[]): Promise<UserView[]> {
  let q = tx.selectFrom('users').selectAll().where('tenant_id', '=', tenantId).orderBy('created_at');
  if (ids) q = q.where('id', 'in', ids.length ? ids : ['']);
  const users = await q.execute();
  const [roles, memberships] = await Promise.all([
    tx.selectFrom('tenant_roles').select(['user_id', 'role']).where('tenant_id', '=', tenantId).execute(),
    tx.selectFrom('memberships').select(['user_id', 'department_id', 'role']).where('tenant_id', '=', tenantId).execute(),
  ]);
  const key = await keyring.tenantKey(tx, tenantId);
  return users.map((u) => ({
    id: u.id,
    username: openField<string>(key, userBinding(tenantId, u.id, 'username'), u.username_enc),
    displayName: openField<string>(key, userBinding(tenantId, u.id, 'display_name'), u.display_name_enc),
    active: u.active === 1,
    mfaEnrolled: u.totp_secret_enc !== null,
    tenantRoles: roles.filter((r) => r.user_id === u.id).map((r) => r.role as TenantRole),
    memberships: memberships
      .filter((m) => m.user_id === u.id)
      .map((m) => ({ departmentId: m.department_id, role: m.role as DepartmentRole })),
  }));
}

/** Display names by user id, for showing who did what (audit log, reviews). */
export async function displayNames(tx: Tx, keyring: Keyring, tenantId: string, ids: (string | null)[]): Promise<Map<string, string>> {
  const unique = [...new Set(ids.filter((x): x is string => !!x))];
  if (unique.length === 0) return new Map();
  return new Map((await listUsers(tx, keyring, tenantId, unique)).map((u) => [u.id, u.displayName]));
}

export async function getUser(tx: Tx, keyring: Keyring, tenantId: string, id: string): Promise<UserView> {
  const [user] = await listUsers(tx, keyring, tenantId, [id]);
  if (!user) throw new KarteiError('not-found');
  return user;
}
