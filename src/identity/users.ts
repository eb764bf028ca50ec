// Staff accounts. Login names and display names are personal data of staff,
// so they are stored encrypted, with a blind index to find a login name.
// Every function that reads or writes them takes a GateContext, but two:
// `insertUser`, for first-run setup, before any principal exists, and
// `ownAccount`, for the own-account routes, which reach only the caller's own
// identity; neither returns anyone else's data.
import { randomUUID } from 'node:crypto';
import type { GateContext } from '../access/gate.ts';
import type { Tx } from '../db/connect.ts';
import { KarteiError, fieldRefused } from '../errors.ts';
import type { Keyring } from '../vault/keyring.ts';
import { openField, sealField } from '../vault/keyring.ts';
import type { DepartmentRole, Membership, Principal, TenantRole } from '../access/policy.ts';
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

/**
 * Issue 19: offices. The blind index of a login name. Unique per office: an office with its own
 * address (offices.ts) digests the name together with the office, so one name may exist in several
 * offices and their login throttles count apart; the offices without an address keep the plain
 * digest they always had (names unique among them), so existing accounts are found unchanged.
 */
export function usernameIndexOf(keyring: Keyring, office: { id: string; host: string | null }, username: string) {
  return office.host === null
    ? keyring.globalIndex('username', username)
    : keyring.globalIndex('username', `office ${office.id}\n${username}`);
}

/** A new account of the caller's office (an administrator's, through the gate); its id. */
export function createUser(ctx: GateContext, keyring: Keyring, u: NewUser, officeName: string): Promise<string> {
  return insertUser(ctx.tx, keyring, ctx.principal.tenantId, u, officeName);
}

/**
 * Writes a new account and answers its id only. Outside the gate for first-run
 * setup alone (setup.ts), where the office and its first administrator are made
 * together and no principal exists yet; everything else calls `createUser`.
 */
export async function insertUser(
  tx: Tx,
  keyring: Keyring,
  tenantId: string,
  u: NewUser,
  officeName: string,
): Promise<string> {
  if (u.password !== undefined) assertStrongPassword(u.password, [u.username, u.displayName, officeName]);
  const office = await tx.selectFrom('tenants').select('host').where('id', '=', tenantId).executeTakeFirst();
  const usernameIndex = usernameIndexOf(keyring, { id: tenantId, host: office?.host ?? null }, u.username);
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

/** The office's accounts (or those of `ids`), oldest first. */
export function listUsers(ctx: GateContext, keyring: Keyring, ids?: string[]): Promise<UserView[]> {
  return readUsers(ctx.tx, keyring, ctx.principal.tenantId, ids);
}

/**
 * The caller's own account, for the own-account routes (`self` in http/access.ts): an
 * authenticated principal reaches its own identity without the gate, and nobody else's.
 */
export async function ownAccount(tx: Tx, keyring: Keyring, p: Principal): Promise<UserView> {
  const [me] = await readUsers(tx, keyring, p.tenantId, [p.userId]);
  if (!me) throw new KarteiError('not-found');
  return me;
}

async function readUsers(tx: Tx, keyring: Keyring, tenantId: string, ids?: string[]): Promise<UserView[]> {
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
  ctx: GateContext,
  keyring: Keyring,
  ids: (string | null)[],
): Promise<Map<string, string>> {
  const { tx } = ctx;
  const tenantId = ctx.principal.tenantId;
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

export async function getUser(ctx: GateContext, keyring: Keyring, id: string): Promise<UserView> {
  const [user] = await listUsers(ctx, keyring, [id]);
  if (!user) throw new KarteiError('not-found');
  return user;
}
