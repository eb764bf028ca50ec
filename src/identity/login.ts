// Login in two steps: password, then a TOTP code (enrolled at the first login).
// Unknown names and wrong passwords look the same and take the same time;
// every failure counts against the account and the client address.
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
import { assertNotThrottled, clearAccountFailures, recordFailure, type Subjects } from './throttle.ts';
import { userBinding } from './users.ts';

const CHALLENGE_MS = 5 * 60_000;
export const TOTP_ISSUER = 'Kartei';

export type LoginStep =
  | { mfa: 'totp'; challenge: string }
  | { mfa: 'enroll'; challenge: string; totp: { secret: string; uri: string } };

export interface LoggedIn extends Session {
  user: { id: string; username: string; displayName: string };
}

const challengeBinding = (tenantId: string, hash: string) => ({ tenantId, table: 'login_challenges', rowId: hash, field: 'secret' });

export class Login {
  constructor(
    private readonly store: Store,
    private readonly keyring: Keyring,
    private readonly audit: AuditLog,
    /** Milliseconds since the epoch; replaceable so tests can move through TOTP time steps. */
    private readonly clock: () => number = Date.now,
  ) {}

  private subjects(usernameIndex: string, address: string): Subjects {
    return { account: `account:${usernameIndex}`, address: `address:${this.keyring.globalIndex('address', address)}` };
  }

  async password(username: string, password: string, address: string): Promise<LoginStep> {
    const db = this.store.db;
    const usernameIndex = this.keyring.globalIndex('username', username);
    const subjects = this.subjects(usernameIndex, address);
    await assertNotThrottled(db, subjects);
    const user = await db
      .selectFrom('users')
      .select(['id', 'tenant_id', 'password_hash', 'active', 'totp_secret_enc'])
      .where('username_index', '=', usernameIndex)
      .executeTakeFirst();
    const ok = await verifyPassword(user?.password_hash ?? (await decoyHash()), password);
    if (!user || !ok || user.active !== 1) {
      await this.fail(subjects, user ? { tenantId: user.tenant_id, userId: user.id } : undefined, 'password', address);
      throw new KarteiError('invalid-credentials');
    }
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
        'users.totp_secret_enc',
        'users.totp_last_step',
        'users.username_index',
        'users.username_enc',
        'users.display_name_enc',
        'users.active',
      ])
      .where('login_challenges.token_hash', '=', hash)
      .executeTakeFirst();
    if (!row || row.used_at || Date.parse(row.expires_at) <= Date.now() || row.active !== 1) {
      throw new KarteiError('invalid-mfa-code', 'The login challenge is unknown, used or expired; log in again');
    }
    const { tenant_id: tenantId, user_id: userId } = row;
    const subjects = this.subjects(row.username_index, address);
    await assertNotThrottled(this.store.db, subjects);
    const result = await inTenant(this.store, tenantId, async (tx) => {
      const key = await this.keyring.tenantKey(tx, tenantId);
      const secret =
        row.kind === 'enroll'
          ? openField<string>(key, challengeBinding(tenantId, hash), row.secret_enc!)
          : openField<string>(key, userBinding(tenantId, userId, 'totp_secret'), row.totp_secret_enc!);
      const step = matchTotp(secret, code, this.clock());
      if (step === null || step <= row.totp_last_step) return null;
      // Both updates are conditional so that a concurrent replay of the same code or challenge loses.
      const used = await tx
        .updateTable('login_challenges')
        .set({ used_at: new Date().toISOString() })
        .where('token_hash', '=', hash)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      const stepped = await tx
        .updateTable('users')
        .set({
          totp_last_step: step,
          ...(row.kind === 'enroll' ? { totp_secret_enc: sealField(key, userBinding(tenantId, userId, 'totp_secret'), secret) } : {}),
          updated_at: new Date().toISOString(),
        })
        .where('id', '=', userId)
        .where('totp_last_step', '<', step)
        .executeTakeFirst();
      if (Number(used.numUpdatedRows) !== 1 || Number(stepped.numUpdatedRows) !== 1) return null;
      const session = await createSession(tx, tenantId, userId);
      await this.audit.append(tx, {
        tenantId,
        actorId: userId,
        action: 'auth.login',
        resourceType: 'session',
        outcome: 'allowed',
        detail: row.kind === 'enroll' ? { mfa: 'enrolled' } : { mfa: 'totp' },
      });
      const username = openField<string>(key, userBinding(tenantId, userId, 'username'), row.username_enc);
      const displayName = openField<string>(key, userBinding(tenantId, userId, 'display_name'), row.display_name_enc);
      return { session, user: { id: userId, username, displayName } };
    });
    if (!result) {
      await this.fail(subjects, { tenantId, userId }, 'mfa', address);
      throw new KarteiError('invalid-mfa-code');
    }
    await clearAccountFailures(this.store.db, subjects);
    return { ...result.session, user: result.user };
  }

  /** Counts the failure for the throttle and puts it on the record, aggregated per address and minute. */
  private async fail(subjects: Subjects, who: { tenantId: string; userId: string } | undefined, stage: string, address: string) {
    await recordFailure(this.store.db, subjects);
    await this.audit.attempts.record(
      {
        tenantId: who?.tenantId ?? DEPLOYMENT_CHAIN,
        actorId: who?.userId ?? null,
        action: 'auth.login-failed',
        resourceType: 'session',
        outcome: 'denied',
        detail: { stage },
      },
      address,
      stage,
    );
  }
}
