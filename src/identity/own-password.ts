// A person changes their own password: the current password and a current
// second-factor code are both required, so a session left open on a shared
// screen is not enough. Failures count against the account like failed logins
// (so the current password cannot be guessed through this route either); the
// other sessions and all API tokens of the account end, the session in use stays.
import { inTenant, type Store } from '../db/connect.ts';
import { fieldRefused } from '../errors.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Keyring } from '../vault/keyring.ts';
import { openField } from '../vault/keyring.ts';
import { assertStrongPassword, hashPassword, verifyPassword } from './passwords.ts';
import { matchTotp } from './totp.ts';
import { reserveOwnAttempt, succeeded } from './throttle.ts';
import { userBinding } from './users.ts';
import { revokeUserApiTokens } from './api-tokens.ts';
import { cancelOpenResets } from './enrolment.ts';

export interface PasswordChange {
  currentPassword: string;
  newPassword: string;
  code: string;
}

export class OwnPassword {
  private readonly store: Store;
  private readonly keyring: Keyring;
  private readonly audit: AuditLog;
  private readonly clock: () => number;
  constructor(store: Store, keyring: Keyring, audit: AuditLog, clock: () => number = Date.now) {
    this.store = store;
    this.keyring = keyring;
    this.audit = audit;
    this.clock = clock;
  }

  async change(
    tenantId: string,
    userId: string,
    sessionHash: string,
    input: PasswordChange,
    address: string,
  ): Promise<void> {
    const user = await this.store.db
      .selectFrom('users')
      .innerJoin('tenants', 'tenants.id', 'users.tenant_id')
      .select([
        'users.username_index',
        'users.username_enc',
        'users.display_name_enc',
        'users.password_hash',
        'users.totp_secret_enc',
        'users.totp_last_step',
        'tenants.name as office',
      ])
      .where('users.id', '=', userId)
      .executeTakeFirstOrThrow();
    // Counted before checked, against the account (or the account at this address) like a login.
    const now = this.clock();
    const { counters, subjects } = await reserveOwnAttempt(
      this.store.db,
      this.keyring,
      user.username_index,
      address,
      now,
    );
    const passwordOk = user.password_hash !== '' && (await verifyPassword(user.password_hash, input.currentPassword));
    const key = await inTenant(this.store, tenantId, (tx) => this.keyring.tenantKey(tx, tenantId));
    const secret = user.totp_secret_enc
      ? openField<string>(key, userBinding(tenantId, userId, 'totp_secret'), user.totp_secret_enc)
      : null;
    const step = secret ? matchTotp(secret, input.code, this.clock()) : null;
    if (!passwordOk || step === null || step <= user.totp_last_step) {
      await inTenant(this.store, tenantId, (tx) =>
        this.audit.append(tx, {
          tenantId,
          actorId: userId,
          action: 'auth.password-change',
          resourceType: 'user',
          resourceId: userId,
          outcome: 'denied',
        }),
      );
      // One answer for either being wrong: a session alone does not tell which.
      throw fieldRefused(
        'validation-failed',
        'currentPassword',
        'current-password-wrong',
        'the current password or the code is wrong',
      );
    }
    const username = openField<string>(key, userBinding(tenantId, userId, 'username'), user.username_enc);
    const displayName = openField<string>(key, userBinding(tenantId, userId, 'display_name'), user.display_name_enc);
    assertStrongPassword(input.newPassword, [username, displayName, user.office], 'newPassword');
    if (input.newPassword === input.currentPassword) {
      throw fieldRefused('validation-failed', 'newPassword', 'password-same', 'must differ from the current password');
    }
    const passwordHash = await hashPassword(input.newPassword);
    await inTenant(this.store, tenantId, async (tx) => {
      const at = new Date().toISOString();
      // Conditional on the code's time step, so the same code cannot serve twice.
      const stepped = await tx
        .updateTable('users')
        .set({ password_hash: passwordHash, password_origin: 'self', totp_last_step: step, updated_at: at })
        .where('id', '=', userId)
        .where('totp_last_step', '<', step)
        .executeTakeFirst();
      if (Number(stepped.numUpdatedRows) !== 1)
        throw fieldRefused(
          'validation-failed',
          'code',
          'code-used',
          'this code has been used already; wait for the next one',
        );
      await tx
        .updateTable('sessions')
        .set({ revoked_at: at })
        .where('user_id', '=', userId)
        .where('token_hash', '!=', sessionHash)
        .where('revoked_at', 'is', null)
        .execute();
      // A token minted with a stolen session must not outlive the password change that answers the theft.
      await revokeUserApiTokens(tx, userId);
      await cancelOpenResets(tx, userId, at);
      await this.audit.append(tx, {
        tenantId,
        actorId: userId,
        action: 'auth.password-change',
        resourceType: 'user',
        resourceId: userId,
        outcome: 'allowed',
      });
      // Both proven, like a completed login: the streak of failures ends.
      await succeeded(tx, counters, subjects, now);
    });
  }
}
