// What the identity use cases (login, enrolment, the own password, passkeys, single sign-on,
// API tokens) share: the store, the keyring, the audit log and the login clock, held once; a
// signed-in person's own second-factor code, counted before it is checked like a login's; and
// a refusal of the person's own request, audited in a transaction of its own.
import { inTenant, type Store, type Tx } from '../db/connect.ts';
import type { UsersTable } from '../db/schema.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { openField, type Keyring } from '../vault/keyring.ts';
import { matchTotp } from './totp.ts';
import { reserveOwnAttempt } from './throttle.ts';
import { userBinding } from './users.ts';

/** An own code checked: its time step (null when wrong or used already) and the reservation that counted it. */
export type OwnCode = { step: number | null; at: number } & Awaited<ReturnType<typeof reserveOwnAttempt>>;

/** The columns of an account the check of its own code reads. */
type OwnAccount = Pick<UsersTable, 'username_index' | 'totp_secret_enc' | 'totp_last_step'>;

export abstract class IdentityUseCase {
  protected readonly store: Store;
  protected readonly keyring: Keyring;
  protected readonly audit: AuditLog;
  /** Milliseconds since the epoch; replaceable so tests can move through TOTP time steps and throttle waits. */
  protected readonly clock: () => number;
  constructor(store: Store, keyring: Keyring, audit: AuditLog, clock: () => number = Date.now) {
    this.store = store;
    this.keyring = keyring;
    this.audit = audit;
    this.clock = clock;
  }

  /**
   * The account's current second-factor code: the attempt is reserved against the account (or the
   * account at this address) before the code is checked, so a session thief cannot guess it here
   * either (429 when the account must wait). A step at or below the last one used counts as wrong.
   * A caller that has read the account's row already hands it in.
   */
  protected async ownCode(tenantId: string, userId: string, code: string, address: string, account?: OwnAccount) {
    const user =
      account ??
      (await this.store.db
        .selectFrom('users')
        .select(['username_index', 'totp_secret_enc', 'totp_last_step'])
        .where('id', '=', userId)
        .executeTakeFirstOrThrow());
    const at = this.clock();
    const reserved = await reserveOwnAttempt(this.store.db, this.keyring, user.username_index, address, at);
    const key = await inTenant(this.store, tenantId, (tx) => this.keyring.tenantKey(tx, tenantId));
    const secret = user.totp_secret_enc
      ? openField<string>(key, userBinding(tenantId, userId, 'totp_secret'), user.totp_secret_enc)
      : null;
    const step = secret ? matchTotp(secret, code, this.clock()) : null;
    const own: OwnCode = { ...reserved, at, step: step !== null && step > user.totp_last_step ? step : null };
    return { own, key };
  }

  /** A refusal of the person's own request about their account, audited in a transaction of its own. */
  protected refuseOwn(tenantId: string, userId: string, action: string, detail?: Record<string, string>) {
    return inTenant(this.store, tenantId, (tx) =>
      this.audit.append(tx, {
        tenantId,
        actorId: userId,
        action,
        resourceType: 'user',
        resourceId: userId,
        outcome: 'denied',
        ...(detail ? { detail } : {}),
      }),
    );
  }
}

/**
 * Uses up an own code's time step: conditional on it, so of two requests with one code one wins.
 * `set` writes further columns of the account in the same statement. False when the step was taken.
 */
export async function spendStep(
  tx: Tx,
  userId: string,
  step: number,
  set: { password_hash?: string; password_origin?: 'self'; updated_at?: string } = {},
): Promise<boolean> {
  const stepped = await tx
    .updateTable('users')
    .set({ ...set, totp_last_step: step })
    .where('id', '=', userId)
    .where('totp_last_step', '<', step)
    .executeTakeFirst();
  return Number(stepped.numUpdatedRows) === 1;
}
