// Login in two steps: password, then a TOTP code (enrolled at the first login).
// Unknown names and wrong passwords look the same and take the same time.
// Every attempt is counted before it is checked (throttle.ts says against what);
// a refused one answers 429 with Retry-After and is audited.
import { inTenantTransaction, type Store, type Tx } from '../db/connect.ts';
import { DEPLOYMENT_CHAIN } from '../db/schema.ts';
import { KarteiError } from '../errors.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Keyring } from '../vault/keyring.ts';
import { openField, sealField } from '../vault/keyring.ts';
import { decoyHash, verifyPassword } from './passwords.ts';
import { matchTotp, newTotpSecret, totpUri } from './totp.ts';
import { newToken, tokenHash } from './tokens.ts';
import { createSession, type Session } from './sessions.ts';
import {
  countChallengeCode,
  countersFor,
  subjectsOf,
  credit,
  prune,
  rateLimited,
  reserve,
  succeeded,
  uncountChallengeCode,
  type Counter,
  type Subjects,
} from './throttle.ts';
import type { AuthenticationResponseJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import {
  checkAssertion,
  findCredential,
  loginOptions,
  recordAssertion,
  relyingParty,
  type RelyingParty,
} from './passkeys.ts';
import { userBinding, usernameIndexOf } from './users.ts';
import { hostAt, type OfficeAddress } from './office-address.ts';
import { IdentityUseCase } from './identity-use-case.ts';
import { newRecoveryCodes, RECOVERY_CODE, spendRecoveryCode } from './recovery-codes.ts';

const CHALLENGE_MS = 5 * 60_000;
const PRUNE_EVERY_MS = 60_000;
const TOTP_ISSUER = 'Kartei';

export type LoginStep =
  // `webauthn`: the user has passkeys; an assertion goes to /api/auth/webauthn, a TOTP or recovery code still to /api/auth/mfa.
  | { mfa: 'totp'; challenge: string; webauthn?: PublicKeyCredentialRequestOptionsJSON }
  // An account whose second factors are passkeys only: an assertion, or a recovery code at /api/auth/mfa.
  | { mfa: 'webauthn'; challenge: string; webauthn: PublicKeyCredentialRequestOptionsJSON }
  | { mfa: 'enroll'; challenge: string; totp: { secret: string; uri: string } };

export interface LoggedIn extends Session {
  user: { id: string; username: string; displayName: string };
  /** Shown once, when the second factor has just been enrolled. */
  recoveryCodes?: string[];
  /** Set at the first login after the credentials were replaced through a reset link. */
  credentialsReset?: { at: string };
}

type Who = { tenantId: string; userId: string };

interface ChallengeRow {
  tenant_id: string;
  user_id: string;
  kind: string;
  secret_enc: Buffer | null;
  webauthn_challenge: string | null;
  /** `sso` after a single sign-on whose provider proved no second factor. */
  via: string | null;
  totp_secret_enc: Buffer | null;
  totp_last_step: number;
  username_enc: Buffer;
  display_name_enc: Buffer;
  reset_notice: number;
  credentials_reset_at: string | null;
  /** Issue 19: offices — the host of the challenge's office (null: the host-less offices' address). */
  host: string | null;
}

/** A second-step attempt, counted and (after the first) reserved. */
interface Attempt {
  hash: string;
  row: ChallengeRow;
  who: Who;
  now: number;
  subjects: Subjects;
  counters: Counter[];
  address: string;
}

interface Completed {
  session: Session;
  user: LoggedIn['user'];
  recoveryCodes?: string[];
  credentialsReset?: { at: string };
}
type Stage = 'password' | 'mfa';

const challengeBinding = (tenantId: string, hash: string) => ({
  tenantId,
  table: 'login_challenges',
  rowId: hash,
  field: 'secret',
});

export class Login extends IdentityUseCase {
  constructor(
    store: Store,
    keyring: Keyring,
    audit: AuditLog,
    clock: () => number = Date.now,
    /** The installation's public address: the passkeys' origin and RP ID (at an office's host: that host). */
    publicUrl = 'http://localhost:8080',
  ) {
    super(store, keyring, audit, clock);
    this.publicUrl = publicUrl;
  }

  private readonly publicUrl: string;

  /** Issue 19: offices — the passkeys' relying party at the office's own address, if it has one. */
  private rp(host: string | null): RelyingParty {
    return relyingParty(this.publicUrl, host);
  }

  private prunedAt = 0;

  private subjects(usernameIndex: string, address: string): Subjects {
    return subjectsOf(this.keyring, usernameIndex, address);
  }

  /**
   * The password step at an address (issue 19: offices): at an office's own address only that
   * office's accounts are found, elsewhere only those of the offices without an address; an
   * account of another office is answered like an unknown name.
   */
  async password(
    username: string,
    password: string,
    address: string,
    at: OfficeAddress = { kind: 'unaddressed' },
  ): Promise<LoginStep> {
    const db = this.store.db;
    const now = this.clock();
    const usernameIndex =
      at.kind === 'office'
        ? usernameIndexOf(this.keyring, at, username)
        : usernameIndexOf(this.keyring, { id: '', host: null }, username);
    const subjects = this.subjects(usernameIndex, address);
    const [user, counters] = await Promise.all([
      db
        .selectFrom('users')
        .select(['id', 'tenant_id', 'password_hash', 'active', 'totp_secret_enc'])
        .where('username_index', '=', usernameIndex)
        .where((w) =>
          at.kind === 'office'
            ? w('tenant_id', '=', at.id)
            : w('tenant_id', 'in', w.selectFrom('tenants').select('id').where('host', 'is', null)),
        )
        .executeTakeFirst(),
      countersFor(db, subjects, now),
    ]);
    const who = user ? { tenantId: user.tenant_id, userId: user.id } : undefined;
    const reserved = await reserve(db, counters, now);
    if (!reserved.ok) {
      await this.throttled(who, 'password', address);
      throw rateLimited(reserved.retryAfterMs);
    }
    if (now - this.prunedAt >= PRUNE_EVERY_MS) {
      this.prunedAt = now;
      await prune(db, now);
    }
    // An account not enrolled yet has no password (an empty hash): it is verified against the decoy, and fails.
    const ok = (await verifyPassword(user?.password_hash || (await decoyHash()), password)) && !!user?.password_hash;
    if (!user || !ok || user.active !== 1) {
      await this.fail(who, 'password', address);
      throw new KarteiError('invalid-credentials');
    }
    // The address counts failures only; the account's reservation stays, for the first code.
    await credit(
      db,
      counters.filter((c) => c.kind === 'window'),
    );
    const challenge = newToken();
    const hash = tokenHash(challenge);
    const { secret, webauthn } = await inTenantTransaction(this.store, user.tenant_id, async (tx) => {
      const key = await this.keyring.tenantKey(tx, user.tenant_id);
      // Passkeys are offered beside the TOTP code; a reset link deleted them with the TOTP secret.
      const webauthn = await loginOptions(tx, user.id, this.rp(hostAt(at)));
      const secret = user.totp_secret_enc || webauthn ? null : newTotpSecret();
      await tx
        .insertInto('login_challenges')
        .values({
          token_hash: hash,
          tenant_id: user.tenant_id,
          user_id: user.id,
          kind: secret ? 'enroll' : user.totp_secret_enc ? 'totp' : 'webauthn',
          secret_enc: secret ? sealField(key, challengeBinding(user.tenant_id, hash), secret) : null,
          expires_at: new Date(Date.now() + CHALLENGE_MS).toISOString(),
          used_at: null,
          via: null,
          webauthn_challenge: webauthn?.challenge ?? null,
        })
        .execute();
      return { secret, webauthn };
    });
    if (secret) return { mfa: 'enroll', challenge, totp: { secret, uri: totpUri(secret, username, TOTP_ISSUER) } };
    if (!webauthn) return { mfa: 'totp', challenge };
    // The contract's `mfa: "totp"` stays for an account that has TOTP; `webauthn` is the extension.
    return user.totp_secret_enc ? { mfa: 'totp', challenge, webauthn } : { mfa: 'webauthn', challenge, webauthn };
  }

  /**
   * The common start of a second step: the challenge is live and its user
   * active, the attempt is counted against the challenge (5 at most) and,
   * after the first, reserved against the account like a password.
   */
  private async begin(challenge: string, address: string, at?: OfficeAddress): Promise<Attempt> {
    const hash = tokenHash(challenge);
    const row = await this.store.db
      .selectFrom('login_challenges')
      .innerJoin('users', 'users.id', 'login_challenges.user_id')
      // Issue 19: offices — where the challenge's office is served.
      .innerJoin('tenants', 'tenants.id', 'login_challenges.tenant_id')
      .select('tenants.host')
      .select([
        'login_challenges.tenant_id',
        'login_challenges.user_id',
        'login_challenges.kind',
        'login_challenges.secret_enc',
        'login_challenges.webauthn_challenge',
        'login_challenges.expires_at',
        'login_challenges.used_at',
        'login_challenges.via',
        'users.totp_secret_enc',
        'users.totp_last_step',
        'users.username_index',
        'users.username_enc',
        'users.display_name_enc',
        'users.active',
        'users.reset_notice',
        'users.credentials_reset_at',
      ])
      .where('login_challenges.token_hash', '=', hash)
      .executeTakeFirst();
    // Issue 19: offices — a login started at one office's address is finished there, not at another's.
    const elsewhere = at !== undefined && (at.kind === 'office' ? at.id !== row?.tenant_id : row?.host !== null);
    if (!row || elsewhere || row.used_at || Date.parse(row.expires_at) <= Date.now() || row.active !== 1) {
      throw new KarteiError('invalid-mfa-code', 'The login challenge is unknown, used or expired; log in again');
    }
    const who = { tenantId: row.tenant_id, userId: row.user_id };
    const now = this.clock();
    const subjects = this.subjects(row.username_index, address);
    const attempt = await countChallengeCode(this.store.db, hash);
    if (attempt === null) {
      await this.throttled(who, 'mfa', address);
      throw new KarteiError('rate-limited', 'Too many wrong codes for this login; log in again');
    }
    // The first code spends the password step's reservation; every further one is reserved like a password.
    // After a single sign-on there was no password step here, so the first code is reserved too.
    const counters = (await countersFor(this.store.db, subjects, now)).filter((c) => c.kind === 'streak');
    if (attempt > 1 || row.via === 'sso') {
      const reserved = await reserve(this.store.db, counters, now);
      if (!reserved.ok) {
        await uncountChallengeCode(this.store.db, hash);
        await this.throttled(who, 'mfa', address);
        throw rateLimited(reserved.retryAfterMs);
      }
    }
    return { hash, row, who, now, subjects, counters, address };
  }

  /** Spends the challenge; conditional, so that a concurrent replay of it loses. */
  private async spendChallenge(tx: Tx, a: Attempt, at: string): Promise<boolean> {
    const r = await tx
      .updateTable('login_challenges')
      .set({ used_at: at })
      .where('token_hash', '=', a.hash)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** The second factor held: the streak ends, the session starts, the login goes on the record. */
  private async complete(tx: Tx, key: Buffer, a: Attempt, mfa: string, at: string): Promise<Completed> {
    const { tenant_id: tenantId, user_id: userId } = a.row;
    await succeeded(tx, a.counters, a.subjects, a.now);
    const recoveryCodes = a.row.kind === 'enroll' ? await newRecoveryCodes(tx, tenantId, userId, at) : undefined;
    const credentialsReset =
      a.row.reset_notice === 1 && a.row.credentials_reset_at ? { at: a.row.credentials_reset_at } : undefined;
    if (credentialsReset) await tx.updateTable('users').set({ reset_notice: 0 }).where('id', '=', userId).execute();
    const session = await createSession(tx, tenantId, userId);
    await this.audit.append(tx, {
      tenantId,
      actorId: userId,
      action: 'auth.login',
      resourceType: 'session',
      outcome: 'allowed',
      // After a single sign-on whose provider proved no second factor, Kartei's own step was it.
      detail: a.row.via ? { mfa, via: a.row.via } : { mfa },
    });
    const username = openField<string>(key, userBinding(tenantId, userId, 'username'), a.row.username_enc);
    const displayName = openField<string>(key, userBinding(tenantId, userId, 'display_name'), a.row.display_name_enc);
    return { session, user: { id: userId, username, displayName }, recoveryCodes, credentialsReset };
  }

  private async finish(a: Attempt, result: Completed | null): Promise<LoggedIn> {
    if (!result) {
      await this.fail(a.who, 'mfa', a.address);
      throw new KarteiError('invalid-mfa-code');
    }
    return {
      ...result.session,
      user: result.user,
      ...(result.recoveryCodes ? { recoveryCodes: result.recoveryCodes } : {}),
      ...(result.credentialsReset ? { credentialsReset: result.credentialsReset } : {}),
    };
  }

  async secondFactor(challenge: string, code: string, address: string, at?: OfficeAddress): Promise<LoggedIn> {
    const a = await this.begin(challenge, address, at);
    const { row } = a;
    const { tenant_id: tenantId, user_id: userId } = row;
    const result = await inTenantTransaction(this.store, tenantId, async (tx) => {
      const key = await this.keyring.tenantKey(tx, tenantId);
      const at = new Date().toISOString();
      // A challenge issued before the second factor was reset has nothing to check against.
      if (row.kind === 'totp' && row.totp_secret_enc === null) return null;
      let mfa: string;
      if ((row.kind === 'totp' || row.kind === 'webauthn') && RECOVERY_CODE.test(code.trim().toLowerCase())) {
        // A recovery code given at enrolment stands in for the TOTP code, once.
        if (!(await spendRecoveryCode(tx, userId, code, at)) || !(await this.spendChallenge(tx, a, at))) return null;
        mfa = 'recovery-code';
      } else {
        // An account with passkeys only has no TOTP secret to check a code against.
        if (row.kind === 'webauthn') return null;
        const secret =
          row.kind === 'enroll'
            ? openField<string>(key, challengeBinding(tenantId, a.hash), row.secret_enc!)
            : openField<string>(key, userBinding(tenantId, userId, 'totp_secret'), row.totp_secret_enc!);
        const step = matchTotp(secret, code, this.clock());
        if (step === null || step <= row.totp_last_step) return null;
        // Both updates are conditional so that a concurrent replay of the same code or challenge loses.
        const used = await this.spendChallenge(tx, a, at);
        const stepped = await tx
          .updateTable('users')
          .set({
            totp_last_step: step,
            ...(row.kind === 'enroll'
              ? { totp_secret_enc: sealField(key, userBinding(tenantId, userId, 'totp_secret'), secret) }
              : {}),
            updated_at: at,
          })
          .where('id', '=', userId)
          .where('totp_last_step', '<', step)
          .executeTakeFirst();
        if (!used || Number(stepped.numUpdatedRows) !== 1) return null;
        mfa = row.kind === 'enroll' ? 'enrolled' : 'totp';
      }
      return this.complete(tx, key, a, mfa, at);
    });
    return this.finish(a, result);
  }

  /**
   * The second step with a passkey: an assertion for the WebAuthn challenge
   * offered with this login challenge, by one of this user's own credentials.
   * Counted like a code; the challenge is spent by a conditional update and the
   * credential's counter moves only forward, so a replayed assertion (or a
   * parallel second use of the challenge) fails.
   */
  async passkey(
    challenge: string,
    response: AuthenticationResponseJSON,
    address: string,
    at?: OfficeAddress,
  ): Promise<LoggedIn> {
    const a = await this.begin(challenge, address, at);
    const { row } = a;
    const { tenant_id: tenantId, user_id: userId } = row;
    const expected = row.webauthn_challenge;
    // Read, then verified outside any transaction (the signature check is asynchronous); the writes below are conditional.
    const credential = expected
      ? await inTenantTransaction(this.store, tenantId, (tx) => findCredential(tx, userId, response.id))
      : undefined;
    // The address the login is finished at (begin() refuses any but the challenge's office's).
    const rp = this.rp(at ? hostAt(at) : row.host);
    const checked = credential && expected ? await checkAssertion(credential, expected, response, rp) : null;
    const result = !checked
      ? null
      : await inTenantTransaction(this.store, tenantId, async (tx) => {
          const at = new Date().toISOString();
          if (!(await this.spendChallenge(tx, a, at)) || !(await recordAssertion(tx, checked, at))) return null;
          const key = await this.keyring.tenantKey(tx, tenantId);
          return this.complete(tx, key, a, 'webauthn', at);
        });
    return this.finish(a, result);
  }

  /** A checked attempt that failed (already counted when it was reserved). */
  private fail(who: Who | undefined, stage: Stage, address: string) {
    return this.deny(who, 'auth.login-failed', stage, address);
  }

  /** An attempt refused unchecked, before the 429 leaves. */
  private throttled(who: Who | undefined, stage: Stage, address: string) {
    return this.deny(who, 'auth.login-throttled', stage, address);
  }

  /** On the record, aggregated per address and minute (audit/attempts), so a flood cannot fill the disk. */
  private async deny(who: Who | undefined, action: string, stage: Stage, address: string) {
    await this.audit.attempts.record(
      {
        tenantId: who?.tenantId ?? DEPLOYMENT_CHAIN,
        actorId: who?.userId ?? null,
        action,
        resourceType: 'session',
        outcome: 'denied',
        detail: { stage },
      },
      address,
      stage,
    );
  }
}
