// A person changes their own password: the current password and a current
// second-factor code are both required, so a session left open on a shared
// screen is not enough. Failures count against the account like failed logins
// (so the current password cannot be guessed through this route either); the
// other sessions and all API tokens of the account end, the session in use stays.
import { inTenantTransaction } from '../db/connect.ts';
import { fieldRefused } from '../errors.ts';
import { openField } from '../vault/keyring.ts';
import { assertStrongPassword, hashPassword, verifyPassword } from './passwords.ts';
import { succeeded } from './throttle.ts';
import { userBinding } from './users.ts';
import { revokeUserLive } from './sessions.ts';
import { cancelOpenResets } from './enrolment.ts';
import { IdentityUseCase, spendStep } from './identity-use-case.ts';

export interface PasswordChange {
  currentPassword: string;
  newPassword: string;
  code: string;
}

export class OwnPassword extends IdentityUseCase {
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
    const { own, key } = await this.ownCode(tenantId, userId, input.code, address, user);
    const passwordOk = user.password_hash !== '' && (await verifyPassword(user.password_hash, input.currentPassword));
    const step = own.step;
    if (!passwordOk || step === null) {
      await this.refuseOwn(tenantId, userId, 'auth.password-change');
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
    await inTenantTransaction(this.store, tenantId, async (tx) => {
      const at = new Date().toISOString();
      // Conditional on the code's time step, so the same code cannot serve twice.
      if (
        !(await spendStep(tx, userId, step, { password_hash: passwordHash, password_origin: 'self', updated_at: at }))
      )
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
      await revokeUserLive(tx, 'api_tokens', userId);
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
      await succeeded(tx, own.counters, own.subjects, own.at);
    });
  }
}
