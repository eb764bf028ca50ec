// Staff accounts. Login names and display names are personal data of staff,
// so they are stored encrypted, with a blind index to find a login name.
import { randomUUID } from 'node:crypto';
import type { Tx } from '../db/connect.ts';
import { KarteiError, fieldRefused } from '../errors.ts';
import type { Keyring } from '../vault/keyring.ts';
import { openField, sealField } from '../vault/keyring.ts';
import type { DepartmentRole, Membership, TenantRole } from '../access/policy.ts';
import { assertStrongPassword, hashPassword } from './passwords.ts';

export interface NewUser {
  username: string;
  displayName: string;
  /**
   * Only at first-run setup, where the person chooses it. Every other account
   * is created without one and enrolled by a one-time link (enrolment.ts).
   */
  password?: string;
}

/** Who chose an account's password: the person, an administrator (accounts from before enrolment links), or nobody yet. */
type PasswordOrigin = 'self' | 'admin' | 'none';

export interface UserView {
  id: string;
  username: string;
  displayName: string;
  active: boolean;
  mfaEnrolled: boolean;
  passwordOrigin: PasswordOrigin;
  tenantRoles: TenantRole[];
  memberships: Membership[];
}

export const userBinding = (tenantId: string, userId: string, field: string) => ({
  tenantId,
  table: 'users',
  rowId: userId,
  field,
});

export async function createUser(
  tx: Tx,
  keyring: Keyring,
  tenantId: string,
  u: NewUser,
  officeName: string,
): Promise<string> {
  if (u.password !== undefined) assertStrongPassword(u.password, [u.username, u.displayName, officeName]);
  const usernameIndex = keyring.globalIndex('username', u.username);
  const taken = await tx
    .selectFrom('users')
    .select('id')
    .where('username_index', '=', usernameIndex)
    .executeTakeFirst();
  if (taken) throw fieldRefused('conflict', 'username', 'taken', 'already taken');
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
      // No password until the person sets one: an empty hash matches nothing (login.ts).
      password_hash: u.password !== undefined ? await hashPassword(u.password) : '',
      password_origin: u.password !== undefined ? 'self' : 'none',
      credentials_reset_at: null,
      reset_notice: 0,
      totp_secret_enc: null,
      totp_last_step: 0,
      active: 1,
      created_at: now,
      updated_at: now,
    })
    .execute();
  return id;
}

export async function listUsers(tx: Tx, keyring: Keyring, tenantId: string, ids?: string[]): Promise<UserView[]> {
  let q = tx.selectFrom('users').selectAll().where('tenant_id', '=', tenantId).orderBy('created_at');
  if (ids) q = q.where('id', 'in', ids.length ? ids : ['']);
  const users = await q.execute();
  const [roles, memberships] = await Promise.all([
    tx.selectFrom('tenant_roles').select(['user_id', 'role']).where('tenant_id', '=', tenantId).execute(),
    tx
      .selectFrom('memberships')
      .select(['user_id', 'department_id', 'role'])
      .where('tenant_id', '=', tenantId)
      .execute(),
  ]);
  const key = await keyring.tenantKey(tx, tenantId);
  return users.map((u) => ({
    id: u.id,
    username: openField<string>(key, userBinding(tenantId, u.id, 'username'), u.username_enc),
    displayName: openField<string>(key, userBinding(tenantId, u.id, 'display_name'), u.display_name_enc),
    active: u.active === 1,
    mfaEnrolled: u.totp_secret_enc !== null,
    passwordOrigin: u.password_origin as PasswordOrigin,
    tenantRoles: roles.filter((r) => r.user_id === u.id).map((r) => r.role as TenantRole),
    memberships: memberships
      .filter((m) => m.user_id === u.id)
      .map((m) => ({ departmentId: m.department_id, role: m.role as DepartmentRole })),
  }));
}

/** Display names by user id, for showing who did what (audit log, reviews). */
export async function displayNames(
  tx: Tx,
  keyring: Keyring,
  tenantId: string,
  ids: (string | null)[],
): Promise<Map<string, string>> {
  const unique = [...new Set(ids.filter((x): x is string => !!x))];
  if (unique.length === 0) return new Map();
  // Only the names: a file's list asks on every opening, so no roles or memberships are read.
  const rows = await tx
    .selectFrom('users')
    .select(['id', 'display_name_enc'])
    .where('tenant_id', '=', tenantId)
    .where('id', 'in', unique)
    .execute();
  const key = await keyring.tenantKey(tx, tenantId);
  return new Map(
    rows.map((u) => [u.id, openField<string>(key, userBinding(tenantId, u.id, 'display_name'), u.display_name_enc)]),
  );
}

export async function getUser(tx: Tx, keyring: Keyring, tenantId: string, id: string): Promise<UserView> {
  const [user] = await listUsers(tx, keyring, tenantId, [id]);
  if (!user) throw new KarteiError('not-found');
  return user;
}
