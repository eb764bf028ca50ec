// Single sign-on with the district's OpenID provider (issue 13): the
// authorization code flow with PKCE (S256), state and nonce, through
// openid-client, configured per office.
//
// What the provider decides: that the person at the browser is `sub` (or the
// configured stable claim) at that issuer, and — only if the office trusts it
// for that — that a second factor was used (`acr` / `amr`). What Kartei
// decides: everything else. An identity counts only once an enrolled Kartei
// account has linked it (while signed in, with a current code); an unknown
// identity gets no account. Roles and memberships come from Kartei alone.
//
// A started sign-on (`sso_logins`) is found by the hash of its `state`, used
// once, within 10 minutes, and only from the browser that started it: the
// `kartei_sso` cookie (SameSite=Lax, since the provider's redirect back is a
// cross-site navigation) is hashed into the row, and the PKCE verifier and the
// nonce are sealed under a key derived from that cookie.
//
// After the callback the browser gets the session cookie and is sent to the web
// application at `/sso`; the CSRF token is never put in an address: the
// application fetches it once with the new session (`GET /api/auth/sso/session`).
// Without the provider's proof of a second factor, no session is made: the
// browser is sent to `/sso#challenge=…` and completes Kartei's own TOTP step
// (`POST /api/auth/mfa`), exactly like a password login.
//
// Issue 19: offices. An office with an address of its own signs on there: a
// start at an address offers only the offices served at it, the redirect URI
// is the public URL with the office's host (what its admins register at their
// provider), the callback is taken only at that address (a flow of another
// office's is refused, its state left unspent for the right address), and the
// browser is sent back into the web application at that address. The host-less
// offices keep the installation's address, exactly as before.
import { hkdfSync } from 'node:crypto';
import * as oidc from 'openid-client';
import { inTenantTransaction, type Store, type Tx } from '../db/connect.ts';
import { DEPLOYMENT_CHAIN, type Database, type SsoConfigsTable } from '../db/schema.ts';
import type { ExpressionBuilder } from 'kysely';
import { KarteiError, fieldRefused } from '../errors.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { GateContext } from '../access/gate.ts';
import type { Keyring } from '../vault/keyring.ts';
import { openField, sealField } from '../vault/keyring.ts';
import { newToken, tokenHash } from './tokens.ts';
import { createSession } from './sessions.ts';
import { StartLimit } from './start-limit.ts';
import { succeeded } from './throttle.ts';
import { IdentityUseCase, spendStep } from './identity-use-case.ts';
import { addressUrl, hostAt, officeAddresses, type OfficeAddress } from './office-address.ts';

export const SSO_COOKIE = 'kartei_sso';
export const SSO_COOKIE_PATH = '/api/auth/sso';
export const SSO_FLOW_MS = 10 * 60_000;
/** Sign-on starts one address may make in SSO_FLOW_MS; a person needs a few. */
const SSO_STARTS_PER_ADDRESS = 30;
/** Open sign-on flows an office may have at once, whatever the addresses. */
const SSO_OPEN_FLOWS_PER_OFFICE = 5_000;
const HANDOVER_MS = 2 * 60_000;
const CHALLENGE_MS = 5 * 60_000;
const METADATA_MS = 10 * 60_000;

/** Claims that name a person or can be reassigned: never a stable subject. */
const NOT_A_SUBJECT = new Set([
  'name',
  'given_name',
  'family_name',
  'middle_name',
  'nickname',
  'preferred_username',
  'email',
  'phone_number',
  'profile',
  'website',
]);

export interface SsoSettingsInput {
  issuer: string;
  clientId: string;
  clientSecret?: string;
  subjectClaim: string;
  acrValues: string[];
  amrValues: string[];
  enabled: boolean;
}

export interface SsoSettingsView {
  configured: boolean;
  /** What the office registers at its provider as the redirect URI. */
  redirectUri: string;
  issuer?: string;
  clientId?: string;
  hasClientSecret?: boolean;
  subjectClaim?: string;
  acrValues?: string[];
  amrValues?: string[];
  enabled?: boolean;
  updatedAt?: string;
}

export type SsoOutcome =
  | { kind: 'session'; tenantId: string; userId: string; token: string }
  | { kind: 'challenge'; challenge: string }
  | { kind: 'linked' };

const secretBinding = (tenantId: string) => ({
  tenantId,
  table: 'sso_configs',
  rowId: tenantId,
  field: 'client_secret',
});
const flowBinding = (tenantId: string, stateHash: string, field: string) => ({
  tenantId,
  table: 'sso_logins',
  rowId: stateHash,
  field,
});

/** The key that seals a flow's verifier and nonce: only the browser holding the cookie has it. */
const browserKey = (browserToken: string) =>
  Buffer.from(hkdfSync('sha256', Buffer.from(browserToken, 'utf8'), Buffer.alloc(0), 'kartei/sso-flow', 32));

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** An issuer Kartei may talk to: HTTPS, or plain HTTP to this machine only (a provider on loopback). */
/** Why a setting is refused: its field code and the English phrase of the problem detail. */
export interface SettingProblem {
  code:
    | 'issuer-not-url'
    | 'issuer-has-extras'
    | 'issuer-not-https'
    | 'claim-chars'
    | 'claim-not-stable'
    | 'claim-not-subject';
  message: string;
  params?: { options: string };
}

export function issuerProblem(issuer: string): SettingProblem | null {
  let u: URL;
  try {
    u = new URL(issuer);
  } catch {
    return { code: 'issuer-not-url', message: 'not a URL' };
  }
  if (u.search || u.hash || u.username || u.password)
    return { code: 'issuer-has-extras', message: 'no query, fragment or credentials' };
  if (u.protocol === 'https:') return null;
  if (u.protocol === 'http:' && LOOPBACK.has(u.hostname)) return null;
  return { code: 'issuer-not-https', message: 'must be https:// (plain http only on loopback)' };
}

/**
 * Only claims that name one person stably and alone: `sub` (OpenID Connect's subject) and `oid`
 * (Entra ID's object id). A block-list let through claims every identity shares (`iss`, `aud`,
 * `azp`, `acr`): the first person to link would own that value for the whole office.
 */
const SUBJECT_CLAIMS = ['sub', 'oid'] as const;

export function subjectClaimProblem(claim: string): SettingProblem | null {
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(claim)) return { code: 'claim-chars', message: 'letters, digits, _ . : - only' };
  if (NOT_A_SUBJECT.has(claim))
    return { code: 'claim-not-stable', message: 'a name, e-mail or other changeable claim is not a stable subject' };
  if (!(SUBJECT_CLAIMS as readonly string[]).includes(claim))
    return {
      code: 'claim-not-subject',
      message: `must be one of ${SUBJECT_CLAIMS.join(', ')}: a claim that names one person alone`,
      params: { options: SUBJECT_CLAIMS.join(', ') },
    };
  return null;
}

type ConfigRow = Pick<
  SsoConfigsTable,
  'tenant_id' | 'issuer' | 'client_id' | 'client_secret_enc' | 'subject_claim' | 'acr_values' | 'amr_values'
>;

export class Sso extends IdentityUseCase {
  /** Discovered provider metadata and its keys, per issuer, for a few minutes. */
  private readonly metadata = new Map<
    string,
    { at: number; server: oidc.ServerMetadata; jwks?: oidc.ExportedJWKSCache }
  >();
  private prunedAt = 0;
  /** Sign-on starts per address: each writes a row that lives ten minutes. */
  private readonly starts = new StartLimit(SSO_STARTS_PER_ADDRESS, SSO_FLOW_MS);

  private readonly publicUrl: string;
  /** `clock` is the login clock: tests move it (an ID token's expiry is judged against it). */
  constructor(store: Store, keyring: Keyring, audit: AuditLog, publicUrl: string, clock: () => number = Date.now) {
    super(store, keyring, audit, clock);
    this.publicUrl = publicUrl;
  }

  /** The redirect URI of the offices without an address of their own (the installation's). */
  get redirectUri(): string {
    return this.redirectUriAt(null);
  }

  /** The redirect URI at an office's host (null: the installation's address). */
  redirectUriAt(host: string | null): string {
    return `${addressUrl(this.publicUrl, host)}/api/auth/sso/callback`;
  }

  /** The redirect URI an office registers at its provider: at its own address, if it has one. */
  async redirectUriOf(tenantId: string): Promise<string> {
    return `${await officeAddresses(this.store).publicUrl(tenantId, this.publicUrl)}/api/auth/sso/callback`;
  }

  /**
   * Whether an office served at this address offers single sign-on (all the login screen learns).
   * `at` left out: any office of the installation.
   */
  async available(at?: OfficeAddress): Promise<boolean> {
    let q = this.store.db.selectFrom('sso_configs').select('tenant_id').where('enabled', '=', 1);
    if (at) q = q.where(servedAt(at));
    const row = await q.limit(1).executeTakeFirst();
    return !!row;
  }

  /**
   * Starts a sign-on for `office` (a tenant id; may be left out where exactly one office offers it),
   * or a link of the signed-in `link` user's identity. Answers where to send the browser and the binding cookie's value.
   */
  async start(
    office: string | undefined,
    address: string,
    link?: { tenantId: string; userId: string; sessionHash: string },
    at?: OfficeAddress,
  ): Promise<{ location: string; browserToken: string }> {
    const db = this.store.db;
    this.starts.claim(address, Date.now());
    let q = db
      .selectFrom('sso_configs')
      .innerJoin('tenants', 'tenants.id', 'sso_configs.tenant_id')
      .selectAll('sso_configs')
      .select('tenants.host')
      .where('enabled', '=', 1);
    const tenant = link?.tenantId ?? office;
    if (tenant) q = q.where('tenant_id', '=', tenant);
    // Issue 19: offices — only an office served at the address the start came to (another's is not found).
    if (at) q = q.where(servedAt(at));
    const rows = await q.limit(2).execute();
    if (rows.length !== 1)
      throw new KarteiError('not-found', tenant ? 'No single sign-on for this office' : 'Name the office (office=…)');
    const cfg = rows[0]!;
    const tenantId = cfg.tenant_id;
    const redirectUri = this.redirectUriAt(cfg.host);
    const config = await this.client(cfg);
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const verifier = oidc.randomPKCECodeVerifier();
    const browserToken = newToken();
    const stateHash = tokenHash(state);
    const now = Date.now();
    await this.prune(now);
    const open = await db
      .selectFrom('sso_logins')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .where('used_at', 'is', null)
      .where('expires_at', '>', new Date(now).toISOString())
      .executeTakeFirstOrThrow();
    if (Number(open.n) >= SSO_OPEN_FLOWS_PER_OFFICE)
      throw new KarteiError(
        'rate-limited',
        'Too many sign-ons under way; try again in a few minutes',
        { retryAfter: 60 },
        { 'retry-after': '60' },
      );
    await db
      .insertInto('sso_logins')
      .values({
        state_hash: stateHash,
        tenant_id: tenantId,
        browser_hash: tokenHash(browserToken),
        secrets_enc: sealField(browserKey(browserToken), flowBinding(tenantId, stateHash, 'secrets'), {
          nonce,
          verifier,
        }),
        link_user_id: link?.userId ?? null,
        link_session_hash: link?.sessionHash ?? null,
        created_at: new Date(now).toISOString(),
        expires_at: new Date(now + SSO_FLOW_MS).toISOString(),
        used_at: null,
        session_hash: null,
        handover_enc: null,
        handed_over_at: null,
      })
      .execute();
    const acr = JSON.parse(cfg.acr_values) as string[];
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid',
      state,
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      ...(acr.length ? { acr_values: acr.join(' ') } : {}),
      // Linking proves who is at the browser now, not who signed in at the provider an hour ago.
      ...(link ? { prompt: 'login' } : {}),
    });
    return { location: url.href, browserToken };
  }

  /**
   * The provider sent the browser back. `query` is the callback's query string; `at`, the address
   * it came to (left out: wherever the flow's office is served).
   */
  async callback(
    query: URLSearchParams,
    browserToken: string | undefined,
    address: string,
    at?: OfficeAddress,
  ): Promise<SsoOutcome> {
    const state = query.get('state');
    if (!state) return this.refuse(DEPLOYMENT_CHAIN, 'state', address);
    const stateHash = tokenHash(state);
    const row = await this.store.db
      .selectFrom('sso_logins')
      .innerJoin('tenants', 'tenants.id', 'sso_logins.tenant_id')
      .selectAll('sso_logins')
      .select('tenants.host')
      .where('state_hash', '=', stateHash)
      .executeTakeFirst();
    if (!row) return this.refuse(DEPLOYMENT_CHAIN, 'state', address);
    const tenantId = row.tenant_id;
    if (row.used_at || Date.parse(row.expires_at) <= Date.now()) return this.refuse(tenantId, 'state', address);
    // Issue 19: offices — a flow is finished only at its office's address (the state stays unspent for it).
    if (at && hostAt(at) !== row.host) return this.refuse(tenantId, 'address', address);
    const redirectUri = this.redirectUriAt(row.host);
    if (!browserToken || tokenHash(browserToken) !== row.browser_hash) return this.refuse(tenantId, 'browser', address);
    // Spent before anything else is tried: a replayed callback, even a concurrent one, finds it used.
    const spent = await this.store.db
      .updateTable('sso_logins')
      .set({ used_at: new Date().toISOString() })
      .where('state_hash', '=', stateHash)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    if (Number(spent.numUpdatedRows) !== 1) return this.refuse(tenantId, 'state', address);
    const { nonce, verifier } = openField<{ nonce: string; verifier: string }>(
      browserKey(browserToken),
      flowBinding(tenantId, stateHash, 'secrets'),
      row.secrets_enc,
    );
    const cfg = await this.store.db
      .selectFrom('sso_configs')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('enabled', '=', 1)
      .executeTakeFirst();
    if (!cfg) return this.refuse(tenantId, 'disabled', address);

    let claims: oidc.IDToken;
    try {
      const config = await this.client(cfg);
      const current = new URL(redirectUri);
      current.search = query.toString();
      // openid-client checks the state, the `iss` of the response (RFC 9207), exchanges the code with the
      // PKCE verifier, and checks the ID token's signature, issuer, audience, nonce, expiry and issue time.
      const tokens = await oidc.authorizationCodeGrant(
        config,
        current,
        { pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state, idTokenExpected: true },
        { redirect_uri: redirectUri },
      );
      this.keepKeys(cfg.issuer, config);
      claims = tokens.claims()!;
      if (!claims) throw new Error('no ID token');
    } catch (e) {
      return this.refuse(tenantId, failureKind(e), address);
    }
    const value = claims[cfg.subject_claim];
    if (typeof value !== 'string' || value.length === 0 || value.length > 255)
      return this.refuse(tenantId, 'subject', address);
    // A value every identity of the provider shares names nobody (a configuration from before the allow-list, or a provider's mistake).
    const shared = [claims.iss, ...(Array.isArray(claims.aud) ? claims.aud : [claims.aud]), claims.azp, cfg.client_id];
    if (subjectClaimProblem(cfg.subject_claim) || shared.includes(value))
      return this.refuse(tenantId, 'subject', address);
    const subjectIndex = this.keyring.ssoSubjectIndex(tenantId, cfg.issuer, cfg.subject_claim, value);
    if (row.link_user_id) return this.link(tenantId, row.link_user_id, row.link_session_hash, subjectIndex, address);

    const acr = JSON.parse(cfg.acr_values) as string[];
    const amr = JSON.parse(cfg.amr_values) as string[];
    const idpFactor =
      (acr.length > 0 && typeof claims.acr === 'string' && acr.includes(claims.acr)) ||
      (amr.length > 0 && Array.isArray(claims.amr) && claims.amr.some((m) => typeof m === 'string' && amr.includes(m)));

    const result = await inTenantTransaction(this.store, tenantId, async (tx) => {
      const user = await tx
        .selectFrom('sso_identities')
        .innerJoin('users', 'users.id', 'sso_identities.user_id')
        .select(['users.id', 'users.totp_secret_enc'])
        .where('sso_identities.subject_index', '=', subjectIndex)
        .where('sso_identities.tenant_id', '=', tenantId)
        .where('users.tenant_id', '=', tenantId)
        .where('users.active', '=', 1)
        .executeTakeFirst();
      if (!user) return null;
      if (idpFactor) {
        const session = await createSession(tx, tenantId, user.id);
        const key = await this.keyring.tenantKey(tx, tenantId);
        await tx
          .updateTable('sso_logins')
          .set({
            session_hash: tokenHash(session.token),
            handover_enc: sealField(key, flowBinding(tenantId, stateHash, 'handover'), session.csrfToken),
          })
          .where('state_hash', '=', stateHash)
          .execute();
        await this.audit.append(tx, {
          tenantId,
          actorId: user.id,
          action: 'auth.login',
          resourceType: 'session',
          outcome: 'allowed',
          detail: { mfa: 'idp', via: 'sso' },
        });
        return { kind: 'session' as const, tenantId, userId: user.id, token: session.token };
      }
      // No proof of a second factor from the provider: Kartei's own, as after a password.
      if (!user.totp_secret_enc) return { kind: 'no-factor' as const };
      const challenge = newToken();
      await tx
        .insertInto('login_challenges')
        .values({
          token_hash: tokenHash(challenge),
          tenant_id: tenantId,
          user_id: user.id,
          kind: 'totp',
          secret_enc: null,
          expires_at: new Date(Date.now() + CHALLENGE_MS).toISOString(),
          used_at: null,
          via: 'sso',
        })
        .execute();
      return { kind: 'challenge' as const, challenge };
    });
    if (!result) {
      await this.deny(tenantId, 'unlinked', address);
      throw new KarteiError(
        'sso-not-linked',
        'No Kartei account of this office is linked to this identity; sign in with your password and link it under "Mein Konto"',
      );
    }
    if (result.kind === 'no-factor')
      return this.refuse(
        tenantId,
        'no-second-factor',
        address,
        'Sign in with your password once to set up the second factor',
      );
    return result;
  }

  /** The CSRF token of a session a sign-on just made, once, to that session only. */
  async handover(sessionHash: string): Promise<{ csrfToken: string }> {
    const row = await this.store.db
      .selectFrom('sso_logins')
      .select(['state_hash', 'tenant_id', 'handover_enc', 'used_at'])
      .where('session_hash', '=', sessionHash)
      .where('handed_over_at', 'is', null)
      .executeTakeFirst();
    if (!row?.handover_enc || !row.used_at || Date.parse(row.used_at) + HANDOVER_MS <= Date.now())
      throw new KarteiError('not-found');
    return inTenantTransaction(this.store, row.tenant_id, async (tx) => {
      const taken = await tx
        .updateTable('sso_logins')
        .set({ handed_over_at: new Date().toISOString(), handover_enc: null })
        .where('state_hash', '=', row.state_hash)
        .where('handed_over_at', 'is', null)
        .executeTakeFirst();
      if (Number(taken.numUpdatedRows) !== 1) throw new KarteiError('not-found');
      const key = await this.keyring.tenantKey(tx, row.tenant_id);
      return {
        csrfToken: openField<string>(key, flowBinding(row.tenant_id, row.state_hash, 'handover'), row.handover_enc!),
      };
    });
  }

  /**
   * A signed-in user asks to link their identity at the office's provider: a current
   * second-factor code is required (a stolen session alone must not add a lasting way in),
   * counted like a login's.
   */
  async startLink(
    tenantId: string,
    userId: string,
    sessionHash: string,
    code: string,
    address: string,
    at?: OfficeAddress,
  ): Promise<{ location: string; browserToken: string }> {
    const { own } = await this.ownCode(tenantId, userId, code, address);
    const step = own.step;
    const ok =
      step !== null &&
      (await inTenantTransaction(this.store, tenantId, async (tx) => {
        if (!(await spendStep(tx, userId, step))) return false;
        await succeeded(tx, own.counters, own.subjects, own.at);
        return true;
      }));
    if (!ok) {
      await this.refuseOwn(tenantId, userId, 'auth.sso-link', { stage: 'code' });
      throw fieldRefused('validation-failed', 'code', 'code-wrong', 'the code is wrong or used already');
    }
    return this.start(undefined, address, { tenantId, userId, sessionHash }, at);
  }

  /** Ends the caller's link (audited). */
  async unlink(tenantId: string, userId: string): Promise<void> {
    await inTenantTransaction(this.store, tenantId, async (tx) => {
      const gone = await tx.deleteFrom('sso_identities').where('user_id', '=', userId).executeTakeFirst();
      if (Number(gone.numDeletedRows) !== 1) throw new KarteiError('not-found');
      await this.audit.append(tx, {
        tenantId,
        actorId: userId,
        action: 'auth.sso-unlink',
        resourceType: 'user',
        resourceId: userId,
        outcome: 'allowed',
      });
    });
  }

  /** Whether the caller has a linked identity (for "Mein Konto"). */
  async linked(tenantId: string, userId: string): Promise<{ linked: boolean; linkedAt?: string; available: boolean }> {
    return inTenantTransaction(this.store, tenantId, async (tx) => {
      const [row, cfg] = await Promise.all([
        tx.selectFrom('sso_identities').select('linked_at').where('user_id', '=', userId).executeTakeFirst(),
        tx.selectFrom('sso_configs').select('enabled').where('tenant_id', '=', tenantId).executeTakeFirst(),
      ]);
      return { linked: !!row, ...(row ? { linkedAt: row.linked_at } : {}), available: cfg?.enabled === 1 };
    });
  }

  private async link(
    tenantId: string,
    userId: string,
    sessionHash: string | null,
    subjectIndex: string,
    address: string,
  ): Promise<SsoOutcome> {
    const outcome = await inTenantTransaction(this.store, tenantId, async (tx) => {
      // The session that asked must still be live, its user active: a link outlives no logout.
      const session = await tx
        .selectFrom('sessions')
        .innerJoin('users', 'users.id', 'sessions.user_id')
        .select(['sessions.expires_at'])
        .where('sessions.token_hash', '=', sessionHash ?? '')
        .where('sessions.user_id', '=', userId)
        .where('sessions.revoked_at', 'is', null)
        .where('users.active', '=', 1)
        .executeTakeFirst();
      if (!session || Date.parse(session.expires_at) <= Date.now()) return 'session' as const;
      const other = await tx
        .selectFrom('sso_identities')
        .select('user_id')
        .where('subject_index', '=', subjectIndex)
        .executeTakeFirst();
      if (other && other.user_id !== userId) return 'taken' as const;
      const at = new Date().toISOString();
      await tx.deleteFrom('sso_identities').where('user_id', '=', userId).execute();
      await tx
        .insertInto('sso_identities')
        .values({ user_id: userId, tenant_id: tenantId, subject_index: subjectIndex, linked_at: at })
        .execute();
      await this.audit.append(tx, {
        tenantId,
        actorId: userId,
        action: 'auth.sso-link',
        resourceType: 'user',
        resourceId: userId,
        outcome: 'allowed',
        detail: { via: 'sso' },
      });
      return 'linked' as const;
    });
    if (outcome === 'linked') return { kind: 'linked' };
    if (outcome === 'taken') {
      await this.refuseOwn(tenantId, userId, 'auth.sso-link', { stage: 'taken' });
      throw fieldRefused(
        'conflict',
        'identity',
        'identity-linked-elsewhere',
        'This identity is linked to another account of this office',
      );
    }
    return this.refuse(tenantId, 'link-session', address);
  }

  /** A client configuration for the office: discovered metadata (cached), its secret, the login clock. */
  private async client(cfg: ConfigRow): Promise<oidc.Configuration> {
    const secret = await inTenantTransaction(this.store, cfg.tenant_id, async (tx) =>
      openField<string>(
        await this.keyring.tenantKey(tx, cfg.tenant_id),
        secretBinding(cfg.tenant_id),
        cfg.client_secret_enc,
      ),
    );
    const insecure = new URL(cfg.issuer).protocol === 'http:';
    let cached = this.metadata.get(cfg.issuer);
    if (!cached || Date.now() - cached.at > METADATA_MS) {
      const discovered = await oidc.discovery(new URL(cfg.issuer), cfg.client_id, undefined, undefined, {
        execute: insecure ? [oidc.allowInsecureRequests] : [],
        timeout: 10,
      });
      cached = { at: Date.now(), server: discovered.serverMetadata() };
      this.metadata.set(cfg.issuer, cached);
    }
    const skew = Math.round((this.clock() - Date.now()) / 1000);
    const config = new oidc.Configuration(
      cached.server,
      cfg.client_id,
      { client_secret: secret, ...(skew ? { [oidc.clockSkew]: skew } : {}) },
      oidc.ClientSecretPost(secret),
    );
    if (insecure) oidc.allowInsecureRequests(config);
    if (cached.jwks) oidc.setJwksCache(config, cached.jwks);
    return config;
  }

  /** Keeps the provider's keys a configuration fetched, for the next sign-on. */
  private keepKeys(issuer: string, config: oidc.Configuration) {
    const cached = this.metadata.get(issuer);
    const jwks = oidc.getJwksCache(config);
    if (cached && jwks) cached.jwks = jwks;
  }

  private async prune(now: number) {
    if (now - this.prunedAt < 60_000) return;
    this.prunedAt = now;
    // A flow is worth nothing after its 10 minutes (a late callback is refused as unknown).
    await this.store.db.deleteFrom('sso_logins').where('expires_at', '<', new Date(now).toISOString()).execute();
  }

  /** A callback that cannot be trusted: audited (aggregated per source and minute) and refused with one answer. */
  private async refuse(tenantId: string, reason: string, address: string, detail?: string): Promise<never> {
    await this.deny(tenantId, reason, address);
    throw new KarteiError('sso-failed', detail ?? 'Single sign-on failed; start again');
  }

  private deny(tenantId: string, reason: string, address: string) {
    return this.audit.attempts.record(
      {
        tenantId,
        actorId: null,
        action: 'auth.login-failed',
        resourceType: 'session',
        outcome: 'denied',
        detail: { stage: 'sso', reason },
      },
      address,
      `sso:${reason}`,
    );
  }
}

/** Issue 19: offices — the configurations of the offices served at an address (an office's own, or the host-less ones). */
function servedAt(at: OfficeAddress) {
  return (eb: ExpressionBuilder<Database, 'sso_configs'>) =>
    at.kind === 'office'
      ? eb('sso_configs.tenant_id', '=', at.id)
      : eb(
          'sso_configs.tenant_id',
          'in',
          eb.selectFrom('tenants').select('tenants.id').where('tenants.host', 'is', null),
        );
}

/** A closed set of reasons for the audit log, from openid-client's error codes (never its message). */
function failureKind(e: unknown): string {
  const err = e as { code?: string; error?: string; name?: string };
  if (err?.error) return 'provider-error';
  switch (err?.code) {
    case 'OAUTH_JWT_CLAIM_COMPARISON_FAILED':
      return 'claim';
    case 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED':
      return 'expired';
    case 'OAUTH_INVALID_RESPONSE':
      return 'invalid-response';
    case 'OAUTH_RESPONSE_IS_NOT_CONFORM':
      return 'not-conform';
    default:
      return typeof err?.code === 'string' && /^[A-Z_]{1,64}$/.test(err.code) ? err.code.toLowerCase() : 'token';
  }
}

/** The office's configuration as the admin screen shows it: never the secret. */
export async function readSsoSettings(ctx: GateContext, redirectUri: string): Promise<SsoSettingsView> {
  const row = await ctx.tx
    .selectFrom('sso_configs')
    .selectAll()
    .where('tenant_id', '=', ctx.principal.tenantId)
    .executeTakeFirst();
  if (!row) return { configured: false, redirectUri };
  return {
    configured: true,
    redirectUri,
    issuer: row.issuer,
    clientId: row.client_id,
    hasClientSecret: true,
    subjectClaim: row.subject_claim,
    acrValues: JSON.parse(row.acr_values),
    amrValues: JSON.parse(row.amr_values),
    enabled: row.enabled === 1,
    updatedAt: row.updated_at,
  };
}

/**
 * Sets the office's configuration. A new issuer or client id needs the secret again: the stored
 * one is never sent to another provider. Audited with what changed (never the secret).
 */
export async function writeSsoSettings(
  ctx: GateContext,
  keyring: Keyring,
  input: SsoSettingsInput,
  redirectUri: string,
): Promise<SsoSettingsView> {
  const tenantId = ctx.principal.tenantId;
  const tx: Tx = ctx.tx;
  const issuer = input.issuer.replace(/\/+$/, '') || input.issuer;
  const before = await tx.selectFrom('sso_configs').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
  const moved = !before || before.issuer !== issuer || before.client_id !== input.clientId;
  if (moved && !input.clientSecret)
    throw fieldRefused(
      'validation-failed',
      'clientSecret',
      'client-secret-required',
      'required for a new issuer or client id',
    );
  const key = await keyring.tenantKey(tx, tenantId);
  const values = {
    issuer,
    client_id: input.clientId,
    client_secret_enc: input.clientSecret
      ? sealField(key, secretBinding(tenantId), input.clientSecret)
      : before!.client_secret_enc,
    subject_claim: input.subjectClaim,
    acr_values: JSON.stringify(input.acrValues),
    amr_values: JSON.stringify(input.amrValues),
    enabled: input.enabled ? 1 : 0,
    updated_at: ctx.now,
    updated_by: ctx.principal.userId,
  };
  if (before) await tx.updateTable('sso_configs').set(values).where('tenant_id', '=', tenantId).execute();
  else
    await tx
      .insertInto('sso_configs')
      .values({ tenant_id: tenantId, ...values })
      .execute();
  ctx.audit.detail = {
    issuer,
    clientId: input.clientId,
    subjectClaim: input.subjectClaim,
    acrValues: input.acrValues.join(' '),
    amrValues: input.amrValues.join(' '),
    enabled: input.enabled,
    secretChanged: !!input.clientSecret,
    ...(before && before.issuer !== issuer ? { issuerChanged: true } : {}),
    ...(before && before.subject_claim !== input.subjectClaim ? { subjectClaimChanged: true } : {}),
  };
  return readSsoSettings(ctx, redirectUri);
}
