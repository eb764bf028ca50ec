// Personal API tokens for scripts, the CLI and DICOMweb clients: a bearer
// secret shown once, stored only as its hash, acting with its owner's current
// roles and only within its scopes, expiring, revocable, and dead with a
// deactivated account or a reset second factor. Minted only from an
// interactive (MFA) session; an `admin`-scoped one only with a fresh code of
// the second factor, which is then used up like a login's.
import { randomUUID } from 'node:crypto';
import { inTenantTransaction, type Db, type Tx } from '../db/connect.ts';
import { prepared } from '../db/prepared.ts';
import { KarteiError, fieldRefused, fieldsRefused, type FieldProblem } from '../errors.ts';
import { TOKEN_SCOPES, type TokenScope } from '../access/policy.ts';
import { newToken, tokenHash } from './tokens.ts';
import { activeUsersWithRoles, revokeUserLive, toPrincipal, type Authenticated } from './sessions.ts';
import { principalOf, type PrincipalCache } from './principal-cache.ts';
import { succeeded } from './throttle.ts';
import { IdentityUseCase, spendStep, type OwnCode } from './identity-use-case.ts';
import type { ApiToken } from '../contract/identity.ts';

const TOKEN_PREFIX = 'kt_';
/** A token lives 30 days unless asked otherwise; at most a year, an `admin`-scoped one at most 30 days. */
export const DEFAULT_TOKEN_DAYS = 30;
export const MAX_TOKEN_DAYS = 365;
const MAX_ADMIN_TOKEN_DAYS = 30;
const TOUCH_MS = 60_000;

export interface NewApiToken {
  name: string;
  scopes: TokenScope[];
  expiresInDays: number;
  /** A current TOTP code: required for the `admin` scope. */
  code?: string;
}

export interface CreatedApiToken {
  id: string;
  token: string;
  expiresAt: string;
  scopes: TokenScope[];
}

async function createApiToken(
  tx: Tx,
  tenantId: string,
  userId: string,
  name: string,
  scopes: readonly TokenScope[],
  expiresInDays: number,
  now: Date,
): Promise<CreatedApiToken> {
  const token = TOKEN_PREFIX + newToken();
  const id = randomUUID();
  const expiresAt = new Date(now.getTime() + expiresInDays * 86_400_000).toISOString();
  const ordered = TOKEN_SCOPES.filter((x) => scopes.includes(x));
  await tx
    .insertInto('api_tokens')
    .values({
      id,
      tenant_id: tenantId,
      user_id: userId,
      name,
      token_hash: tokenHash(token),
      created_at: now.toISOString(),
      expires_at: expiresAt,
      last_used_at: null,
      revoked_at: null,
      scopes: ordered.join(' '),
      legacy: 0,
    })
    .execute();
  return { id, token, expiresAt, scopes: ordered };
}

const parseScopes = (stored: string): TokenScope[] =>
  stored.split(' ').filter((x): x is TokenScope => (TOKEN_SCOPES as readonly string[]).includes(x));

export class ApiTokens extends IdentityUseCase {
  /**
   * Mints a token for the caller (from a session; the route checks that). The `admin` scope
   * needs a current TOTP code: a session left open, or a stolen cookie, does not yield a
   * lasting administrator's credential. The code is counted before it is checked, against the
   * account like a login's, and used up (the account's last time step moves forward
   * conditionally), so it serves neither twice nor for a login.
   */
  async create(tenantId: string, userId: string, input: NewApiToken, address: string): Promise<CreatedApiToken> {
    const admin = input.scopes.includes('admin');
    const detail = {
      expiresInDays: input.expiresInDays,
      scopes: TOKEN_SCOPES.filter((x) => input.scopes.includes(x)).join(' '),
    };
    let proof: (OwnCode & { step: number }) | undefined;
    if (admin) {
      // Both told at once: a lifetime too long for the admin scope and a missing code.
      const problems: FieldProblem[] = [];
      if (input.expiresInDays > MAX_ADMIN_TOKEN_DAYS) {
        problems.push({
          field: 'expiresInDays',
          code: 'admin-token-days',
          message: `a token with the admin scope lives at most ${MAX_ADMIN_TOKEN_DAYS} days`,
          params: { max: MAX_ADMIN_TOKEN_DAYS },
        });
      }
      if (!input.code)
        problems.push({
          field: 'code',
          code: 'code-required',
          message: 'a token with the admin scope needs a current code of your second factor',
        });
      if (problems.length > 0) throw fieldsRefused('validation-failed', problems);
      const { own } = await this.ownCode(tenantId, userId, input.code!, address);
      if (own.step === null) {
        await this.refuse(tenantId, userId, detail);
        throw wrongCode();
      }
      proof = { ...own, step: own.step };
    }
    try {
      return await inTenantTransaction(this.store, tenantId, async (tx) => {
        if (proof) {
          // Conditional on the code's time step: of two requests with one code, one wins.
          if (!(await spendStep(tx, userId, proof.step))) throw wrongCode();
          await succeeded(tx, proof.counters, proof.subjects, proof.at);
        }
        const t = await createApiToken(tx, tenantId, userId, input.name, input.scopes, input.expiresInDays, new Date());
        await this.audit.append(tx, {
          tenantId,
          actorId: userId,
          action: 'auth.token-create',
          resourceType: 'api-token',
          resourceId: t.id,
          outcome: 'allowed',
          detail: { ...detail, ...(proof ? { secondFactor: true } : {}) },
        });
        return t;
      });
    } catch (e) {
      if (e instanceof KarteiError && e.code === 'validation-failed' && proof)
        await this.refuse(tenantId, userId, detail);
      throw e;
    }
  }

  /** The caller's own live tokens, without their secrets. */
  list(tenantId: string, userId: string): Promise<ApiToken[]> {
    return inTenantTransaction(this.store, tenantId, async (tx) => {
      const rows = await tx
        .selectFrom('api_tokens')
        .select(['id', 'name', 'created_at', 'expires_at', 'last_used_at', 'scopes', 'legacy'])
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', new Date().toISOString())
        .orderBy('created_at')
        .execute();
      return rows.map((r) => ({
        id: r.id,
        name: r.name,
        createdAt: r.created_at,
        expiresAt: r.expires_at,
        lastUsedAt: r.last_used_at,
        scopes: parseScopes(r.scopes),
        legacy: r.legacy === 1,
      }));
    });
  }

  /** Revokes one of the caller's own tokens, audited; another's, a revoked one or none is not found. */
  async revoke(tenantId: string, userId: string, id: string): Promise<void> {
    const revoked = await inTenantTransaction(this.store, tenantId, async (tx) => {
      const r = await tx
        .updateTable('api_tokens')
        .set({ revoked_at: new Date().toISOString() })
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return false;
      await this.audit.append(tx, {
        tenantId,
        actorId: userId,
        action: 'auth.token-revoke',
        resourceType: 'api-token',
        resourceId: id,
        outcome: 'allowed',
      });
      return true;
    });
    if (!revoked) throw new KarteiError('not-found');
  }

  private refuse(tenantId: string, userId: string, detail: Record<string, string | number>) {
    return inTenantTransaction(this.store, tenantId, (tx) =>
      this.audit.append(tx, {
        tenantId,
        actorId: userId,
        action: 'auth.token-create',
        resourceType: 'api-token',
        outcome: 'denied',
        detail: { ...detail, code: 'second-factor' },
      }),
    );
  }
}

const wrongCode = () =>
  fieldRefused(
    'validation-failed',
    'code',
    'code-wrong',
    'the code is wrong or has been used already; wait for the next one',
  );

/** Ends every way an account is signed in, its sessions and its API tokens: at deactivation and at a credentials reset. */
export async function signOutEverywhere(tx: Tx, userId: string): Promise<void> {
  await revokeUserLive(tx, 'sessions', userId);
  await revokeUserLive(tx, 'api_tokens', userId);
}

/** A live token of an active user with a second factor, with its roles and memberships. */
const tokenByHash = prepared((db, hash: string) =>
  activeUsersWithRoles(db)
    .innerJoin('api_tokens', 'api_tokens.user_id', 'users.id')
    .select([
      'api_tokens.id',
      'api_tokens.scopes',
      'api_tokens.tenant_id',
      'api_tokens.user_id',
      'api_tokens.expires_at',
      'api_tokens.last_used_at',
    ])
    .where('api_tokens.token_hash', '=', hash)
    .where('api_tokens.revoked_at', 'is', null)
    .where('users.totp_secret_enc', 'is not', null),
);

/**
 * The principal behind a bearer token, or null. A bearer header is no ambient credential, so it needs no CSRF token.
 * With `cache` (SQLite) the lookup's result is kept until anything a principal is made of changes (`principal-cache.ts`).
 */
export async function authenticateApiToken(
  db: Db,
  token: string,
  now = new Date(),
  cache?: PrincipalCache,
): Promise<Authenticated | null> {
  if (!token.startsWith(TOKEN_PREFIX)) return null;
  const hash = tokenHash(token);
  // Kept apart from sessions' entries: a session's cookie that begins like a token is no bearer token.
  const key = `api-token:${hash}`;
  const e = await principalOf(cache, key, async () => {
    const rows = await tokenByHash(db, hash);
    const row = rows[0];
    if (!row) return null;
    return {
      principal: toPrincipal(row.tenant_id, row.user_id, rows, { tokenId: row.id, scopes: parseScopes(row.scopes) }),
      csrfHash: null,
      expiresAt: Date.parse(row.expires_at),
      touchedAt: row.last_used_at ? Date.parse(row.last_used_at) : 0,
    };
  });
  if (!e) return null;
  if (e.expiresAt <= now.getTime()) {
    cache?.forget(key);
    return null;
  }
  if (e.touchedAt + TOUCH_MS <= now.getTime()) {
    await db
      .updateTable('api_tokens')
      .set({ last_used_at: now.toISOString() })
      .where('token_hash', '=', hash)
      .execute();
    e.touchedAt = now.getTime();
  }
  return { principal: e.principal, tokenHash: hash, csrfHash: null };
}
