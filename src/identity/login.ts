// Login in two steps: password, then a TOTP code (enrolled at the first login).
// Unknown names and wrong passwords look the same and take the same time.
// Every attempt is counted before it is checked (throttle.ts says against what);
// a refused one answers 429 with Retry-After and is audited.
import { inTenant, type Store } from '../db/connect.ts';
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
  type Subjects,
} from './throttle.ts';
import { userBinding } from './users.ts';
import { newRecoveryCodes, RECOVERY_CODE, spendRecoveryCode } from './recovery-codes.ts';

const CHALLENGE_MS = 5 * 60_000;
const PRUNE_EVERY_MS = 60_000;
export const TOTP_ISSUER = 'Kartei';

export type LoginStep =
  | { mfa: 'totp'; challenge: string }
  | { mfa: 'enroll'; challenge: string; totp: { secret: string; uri: string } };

export interface LoggedIn extends Session {
  user: { id: string; username: string; displayName: string };
  /** Shown once, when the second factor has just been enrolled. */
  recoveryCodes?: string[];
  /** Set at the first login after the credentials were replaced through a reset link. */
  credentialsReset?: { at: string };
}

type Who = { tenantId: string; userId: string };
type Stage = 'password' | 'mfa';

const challengeBinding = (tenantId: string, hash: string) => ({ tenantId, table: 'login_challenges', rowId: hash, field: 'secret' });

export class Login {
  constructor(
    private readonly store: Store,
    private readonly keyring: Keyring,
    private readonly audit: AuditLog,
    /** Milliseconds since the epoch; replaceable so tests can move through TOTP time steps and throttle waits. */
    private readonly clock: () => number = Date.now,
  ) {}

  private prunedAt = 0;

  private subjects(usernameIndex: string, address: string): Subjects {
    return subjectsOf(this.keyring, usernameIndex, address);
  }

  async password(username: string, password: string, address: string): Promise<LoginStep> {
    const db = this.store.db;
    const now = this.clock();
    const usernameIndex = this.keyring.globalIndex('username', username);
    const subjects = this.subjects(usernameIndex, address);
    const [user, counters] = await Promise.all([
      db
        .selectFrom('users')
        .select(['id', 'tenant_id', 'password_hash', 'active', 'totp_secret_enc'])
        .where('username_index', '=', usernameIndex)
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
    await credit(db, counters.filter((c) => c.kind === 'window'));
    const challenge = newToken();
    const hash = tokenHash(challenge);
    const secret = user.totp_secret_enc ? null : newTotpSecret();
    await inTenant(this.store, user.tenant_id, async (tx) => {
      const key = await this.keyring.tenantKey(tx, user.tenant_id);
      await tx
        .insertInto('login_challenges')
        .values({
          token_hash: hash,
          tenant_id: user.tenant_id,
          user_id: user.id,
          kind: secret ? 'enroll' : 'totp',
          secret_enc: secret ? sealField(key, challengeBinding(user.tenant_id, hash), secret) : null,
          expires_at: new Date(Date.now() + CHALLENGE_MS).toISOString(),
          used_at: null,
          via: null,
        })
        .execute();
    });
    if (!secret) return { mfa: 'totp', challenge };
    return { mfa: 'enroll', challenge, totp: { secret, uri: totpUri(secret, username, TOTP_ISSUER) } };
  }

  async secondFactor(challenge: string, code: string, address: string): Promise<LoggedIn> {
    const hash = tokenHash(challenge);
    const row = await this.store.db
      .selectFrom('login_challenges')
      .innerJoin('users', 'users.id', 'login_challenges.user_id')
      .select([
        'login_challenges.tenant_id',
        'login_challenges.user_id',
        'login_challenges.kind',
        'login_challenges.secret_enc',
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
    if (!row || row.used_at || Date.parse(row.expires_at) <= Date.now() || row.active !== 1) {
      throw new KarteiError('invalid-mfa-code', 'The login challenge is unknown, used or expired; log in again');
    }
    const { tenant_id: tenantId, user_id: userId } = row;
    const who = { tenantId, userId };
    const now = this.clock();
    const subjects = this.subjects(row.username_index, address);
    const attempt = await countChallengeCode(this.store.db, hash);
    if (attempt === null) {
      await this.throttled(who, 'mfa', address);
      throw new KarteiError('rate-limited', 'Too many wrong codes for this login; log in again');
    }
    // The first code spends the password step's reservation; every further one is reserved like a password.
    const counters = (await countersFor(this.store.db, subjects, now)).filter((c) => c.kind === 'streak');
    if (attempt > 1) {
      const reserved = await reserve(this.store.db, counters, now);
      if (!reserved.ok) {
        await uncountChallengeCode(this.store.db, hash);
        await this.throttled(who, 'mfa', address);
        throw rateLimited(reserved.retryAfterMs);
      }
    }
    const result = await inTenant(this.store, tenantId, async (tx) => {
      const key = await this.keyring.tenantKey(tx, tenantId);
      const at = new Date().toISOString();
      // A challenge issued before the second factor was reset has nothing to check against.
      if (row.kind === 'totp' && row.totp_secret_enc === null) return null;
      // Both updates are conditional so that a concurrent replay of the same code or challenge loses.
      const useChallenge = async () =>
        Number((await tx.updateTable('login_challenges').set({ used_at: at }).where('token_hash', '=', hash).where('used_at', 'is', null).executeTakeFirst()).numUpdatedRows) === 1;
      let mfa: string;
      if (row.kind === 'totp' && RECOVERY_CODE.test(code.trim().toLowerCase())) {
        // A recovery code given at enrolment stands in for the TOTP code, once.
        if (!(await spendRecoveryCode(tx, userId, code, at)) || !(await useChallenge())) return null;
        mfa = 'recovery-code';
      } else {
        const secret =
          row.kind === 'enroll'
            ? openField<string>(key, challengeBinding(tenantId, hash), row.secret_enc!)
            : openField<string>(key, userBinding(tenantId, userId, 'totp_secret'), row.totp_secret_enc!);
        const step = matchTotp(secret, code, this.clock());
        if (step === null || step <= row.totp_last_step) return null;
        const used = await useChallenge();
        const stepped = await tx
          .updateTable('users')
          .set({
            totp_last_step: step,
            ...(row.kind === 'enroll' ? { totp_secret_enc: sealField(key, userBinding(tenantId, userId, 'totp_secret'), secret) } : {}),
            updated_at: at,
          })
          .where('id', '=', userId)
          .where('totp_last_step', '<', step)
          .executeTakeFirst();
        if (!used || Number(stepped.numUpdatedRows) !== 1) return null;
        mfa = row.kind === 'enroll' ? 'enrolled' : 'totp';
      }
      await succeeded(tx, counters, subjects, now);
      const recoveryCodes = row.kind === 'enroll' ? await newRecoveryCodes(tx, tenantId, userId, at) : undefined;
      const credentialsReset = row.reset_notice === 1 && row.credentials_reset_at ? { at: row.credentials_reset_at } : undefined;
      if (credentialsReset) await tx.updateTable('users').set({ reset_notice: 0 }).where('id', '=', userId).execute();
      const session = await createSession(tx, tenantId, userId);
      await this.audit.append(tx, {
        tenantId,
        actorId: userId,
        action: 'auth.login',
        resourceType: 'session',
        outcome: 'allowed',
        // After a single sign-on whose provider proved no second factor, Kartei's code was it.
        detail: row.via ? { mfa, via: row.via } : { mfa },
      });
      const username = openField<string>(key, userBinding(tenantId, userId, 'username'), row.username_enc);
      const displayName = openField<string>(key, userBinding(tenantId, userId, 'display_name'), row.display_name_enc);
      return { session, user: { id: userId, username, displayName }, recoveryCodes, credentialsReset };
    });
    if (!result) {
      await this.fail(who, 'mfa', address);
      throw new KarteiError('invalid-mfa-code');
    }
    return { ...result.session, user: result.user, ...(result.recoveryCodes ? { recoveryCodes: result.recoveryCodes } : {}), ...(result.credentialsReset ? { credentialsReset: result.credentialsReset } : {}) };
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
      { tenantId: who?.tenantId ?? DEPLOYMENT_CHAIN, actorId: who?.userId ?? null, action, resourceType: 'session', outcome: 'denied', detail: { stage } },
      address,
      stage,
    );
  }
}
