// Personal API tokens for scripts, the CLI and DICOMweb clients: a bearer
// secret shown once, stored only as its hash, acting with its owner's current
// roles, expiring, revocable, and dead with a deactivated account or a reset
// second factor. Minted only from an interactive (MFA) session.
import { randomUUID } from 'node:crypto';
import type { Db, Tx } from '../db/connect.ts';
import { prepared } from '../db/prepared.ts';
import { newToken, tokenHash } from './tokens.ts';
import { toPrincipal, type Authenticated } from './sessions.ts';
import type { ApiToken } from '../http/answers.ts';

export const TOKEN_PREFIX = 'kt_';
export const MAX_TOKEN_DAYS = 365;
const TOUCH_MS = 60_000;

export async function createApiToken(tx: Tx, tenantId: string, userId: string, name: string, expiresInDays: number, now: Date): Promise<{ id: string; token: string; expiresAt: string }> {
  const token = TOKEN_PREFIX + newToken();
  const id = randomUUID();
  const expiresAt = new Date(now.getTime() + expiresInDays * 86_400_000).toISOString();
  await tx
    .insertInto('api_tokens')
    .values({ id, tenant_id: tenantId, user_id: userId, name, token_hash: tokenHash(token), created_at: now.toISOString(), expires_at: expiresAt, last_used_at: null, revoked_at: null })
    .execute();
  return { id, token, expiresAt };
}

/** The caller's own live tokens, without their secrets. */
export async function listApiTokens(tx: Tx, userId: string, now: Date): Promise<ApiToken[]> {
  const rows = await tx
    .selectFrom('api_tokens')
    .select(['id', 'name', 'created_at', 'expires_at', 'last_used_at'])
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now.toISOString())
    .orderBy('created_at')
    .execute();
  return rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at, expiresAt: r.expires_at, lastUsedAt: r.last_used_at }));
}

/** Revokes one of the caller's own tokens; false if it has none by that id. */
export async function revokeApiToken(tx: Tx, userId: string, id: string, now: Date): Promise<boolean> {
  const r = await tx.updateTable('api_tokens').set({ revoked_at: now.toISOString() }).where('id', '=', id).where('user_id', '=', userId).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function revokeUserApiTokens(tx: Tx | Db, userId: string, now = new Date()): Promise<void> {
  await tx.updateTable('api_tokens').set({ revoked_at: now.toISOString() }).where('user_id', '=', userId).where('revoked_at', 'is', null).execute();
}

/** A live token of an active user with its roles and memberships: one row per (role × membership). */
const tokenByHash = prepared((db, hash: string) =>
  db
    .selectFrom('api_tokens')
    .innerJoin('users', 'users.id', 'api_tokens.user_id')
    .leftJoin('tenant_roles', 'tenant_roles.user_id', 'api_tokens.user_id')
    .leftJoin('memberships', 'memberships.user_id', 'api_tokens.user_id')
    .select([
      'api_tokens.tenant_id',
      'api_tokens.user_id',
      'api_tokens.expires_at',
      'api_tokens.last_used_at',
      'tenant_roles.role as tenant_role',
      'memberships.department_id',
      'memberships.role as department_role',
    ])
    .where('api_tokens.token_hash', '=', hash)
    .where('api_tokens.revoked_at', 'is', null)
    .where('users.active', '=', 1)
    .where('users.totp_secret_enc', 'is not', null),
);

/** The principal behind a bearer token, or null. A bearer header is no ambient credential, so it needs no CSRF token. */
export async function authenticateApiToken(db: Db, token: string, now = new Date()): Promise<Authenticated | null> {
  if (!token.startsWith(TOKEN_PREFIX)) return null;
  const hash = tokenHash(token);
  const rows = await tokenByHash(db, hash);
  const row = rows[0];
  if (!row || Date.parse(row.expires_at) <= now.getTime()) return null;
  if (!row.last_used_at || Date.parse(row.last_used_at) + TOUCH_MS <= now.getTime()) {
    await db.updateTable('api_tokens').set({ last_used_at: now.toISOString() }).where('token_hash', '=', hash).execute();
  }
  return { principal: toPrincipal(row.tenant_id, row.user_id, rows), tokenHash: hash, csrfHash: null };
}
