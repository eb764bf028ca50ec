// Server-side sessions. The cookie carries a random token; the database holds
// only its hash. Sessions end when idle for 30 minutes, 12 hours after login,
// at logout, and when the account is deactivated.
import type { Db, Tx } from '../db/connect.ts';
import { prepared } from '../db/prepared.ts';
import type { DepartmentRole, Principal, TenantRole, TokenUse } from '../access/policy.ts';
import { newToken, sameHash, tokenHash } from './tokens.ts';
import { principalOf, type PrincipalCache } from './principal-cache.ts';

const IDLE_MS = 30 * 60_000;
export const ABSOLUTE_MS = 12 * 3_600_000;
/** last_seen_at is refreshed at most this often, to keep reads from writing. */
const TOUCH_MS = 30_000;

export interface Session {
  token: string;
  csrfToken: string;
}

export async function createSession(tx: Tx | Db, tenantId: string, userId: string, now = new Date()): Promise<Session> {
  const token = newToken();
  const csrfToken = newToken();
  await tx
    .insertInto('sessions')
    .values({
      token_hash: tokenHash(token),
      tenant_id: tenantId,
      user_id: userId,
      csrf_hash: tokenHash(csrfToken),
      created_at: now.toISOString(),
      last_seen_at: now.toISOString(),
      expires_at: new Date(now.getTime() + ABSOLUTE_MS).toISOString(),
      revoked_at: null,
    })
    .execute();
  return { token, csrfToken };
}

export interface Authenticated {
  principal: Principal;
  tokenHash: string;
  /** Null for an API token: a bearer header is not sent by the browser on its own, so there is nothing to forge. */
  csrfHash: string | null;
}

/**
 * Active users with their roles and memberships, one row per (role × membership): the rows
 * `toPrincipal` reads. A session's or a token's lookup joins its own table to it.
 */
export const activeUsersWithRoles = (db: Db) =>
  db
    .selectFrom('users')
    .leftJoin('tenant_roles', 'tenant_roles.user_id', 'users.id')
    .leftJoin('memberships', 'memberships.user_id', 'users.id')
    .select(['tenant_roles.role as tenant_role', 'memberships.department_id', 'memberships.role as department_role'])
    .where('users.active', '=', 1);

/** A live session of an active user with its roles and memberships (the same plan as from `sessions`). */
const sessionByHash = prepared((db, hash: string) =>
  activeUsersWithRoles(db)
    .innerJoin('sessions', 'sessions.user_id', 'users.id')
    .select([
      'sessions.tenant_id',
      'sessions.user_id',
      'sessions.csrf_hash',
      'sessions.last_seen_at',
      'sessions.expires_at',
    ])
    .where('sessions.token_hash', '=', hash)
    .where('sessions.revoked_at', 'is', null),
);

/**
 * The principal behind a session token, or null if the session is unknown, ended or its user inactive. With
 * `cache` (SQLite) the lookup's result is kept until anything a principal is made of changes (`principal-cache.ts`);
 * expiry, idle time and the touch are checked on every request either way.
 */
export async function authenticate(
  db: Db,
  token: string,
  now = new Date(),
  cache?: PrincipalCache,
): Promise<Authenticated | null> {
  const hash = tokenHash(token);
  const t = now.getTime();
  // Kept apart from API tokens' entries: an API token sent as the cookie is no session (nor free of the CSRF check).
  const key = `session:${hash}`;
  const e = await principalOf(cache, key, async () => {
    const rows = await sessionByHash(db, hash);
    const row = rows[0];
    if (!row) return null;
    return {
      principal: toPrincipal(row.tenant_id, row.user_id, rows),
      csrfHash: row.csrf_hash,
      expiresAt: Date.parse(row.expires_at),
      touchedAt: Date.parse(row.last_seen_at),
    };
  });
  if (!e) return null;
  if (e.expiresAt <= t || e.touchedAt + IDLE_MS <= t) {
    cache?.forget(key);
    return null;
  }
  if (e.touchedAt + TOUCH_MS <= t) {
    await db.updateTable('sessions').set({ last_seen_at: now.toISOString() }).where('token_hash', '=', hash).execute();
    e.touchedAt = t;
  }
  return { principal: e.principal, tokenHash: hash, csrfHash: e.csrfHash };
}

export const csrfMatches = (a: Authenticated, header: string | undefined) =>
  a.csrfHash === null || (!!header && sameHash(header, a.csrfHash));

/**
 * Builds a principal from the (role × membership) rows of a session or token query, which
 * repeat and hold nulls. With `token` (the one place a token's principal is made) it acts only
 * within the token's scopes, and the gate records each of its accesses as the token's.
 */
export function toPrincipal(
  tenantId: string,
  userId: string,
  rows: { tenant_role: string | null; department_id: string | null; department_role: string | null }[],
  token?: TokenUse,
): Principal {
  const byDept = new Map<string, DepartmentRole>();
  for (const r of rows) if (r.department_id) byDept.set(r.department_id, r.department_role as DepartmentRole);
  return {
    userId,
    tenantId,
    tenantRoles: [...new Set(rows.flatMap((r) => (r.tenant_role ? [r.tenant_role as TenantRole] : [])))],
    memberships: [...byDept].map(([departmentId, role]) => ({ departmentId, role })),
    ...(token ? { token } : {}),
  };
}

/** A session as its owner sees it: an id derived one way from the stored hash (neither is the cookie). */
export interface OwnSession {
  id: string;
  createdAt: string;
  lastSeenAt: string;
  current: boolean;
}

/** The public id of a session: a truncated hash of its token's hash, so the stored hash is never shown either. */
const sessionId = (hash: string) => tokenHash(`kartei-session-id:${hash}`).slice(0, 32);

/** The caller's live sessions (not ended, not idle past 30 minutes, not past 12 hours), oldest first. */
async function liveSessions(tx: Tx | Db, userId: string, now: Date) {
  return tx
    .selectFrom('sessions')
    .select(['token_hash', 'created_at', 'last_seen_at'])
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now.toISOString())
    .where('last_seen_at', '>', new Date(now.getTime() - IDLE_MS).toISOString())
    .orderBy('created_at')
    .execute();
}

export async function listOwnSessions(
  tx: Tx | Db,
  userId: string,
  currentHash: string,
  now = new Date(),
): Promise<OwnSession[]> {
  return (await liveSessions(tx, userId, now)).map((r) => ({
    id: sessionId(r.token_hash),
    createdAt: r.created_at,
    lastSeenAt: r.last_seen_at,
    current: r.token_hash === currentHash,
  }));
}

/** Ends one of the caller's own live sessions by its public id; null if the caller has none by that id. */
export async function endOwnSession(
  tx: Tx | Db,
  userId: string,
  id: string,
  currentHash: string,
  now = new Date(),
): Promise<{ current: boolean } | null> {
  const hit = (await liveSessions(tx, userId, now)).find((r) => sameHash(sessionId(r.token_hash), tokenHash(id)));
  if (!hit) return null;
  const r = await tx
    .updateTable('sessions')
    .set({ revoked_at: now.toISOString() })
    .where('token_hash', '=', hit.token_hash)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) return null;
  return { current: hit.token_hash === currentHash };
}

export async function revokeSession(db: Db | Tx, hash: string, now = new Date()): Promise<void> {
  await db.updateTable('sessions').set({ revoked_at: now.toISOString() }).where('token_hash', '=', hash).execute();
}

/** Ends a user's live sessions, or live API tokens: a row of either ends when `revoked_at` is set. */
export async function revokeUserLive(
  db: Db | Tx,
  table: 'sessions' | 'api_tokens',
  userId: string,
  now = new Date(),
): Promise<void> {
  await db
    .updateTable(table)
    .set({ revoked_at: now.toISOString() })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .execute();
}
