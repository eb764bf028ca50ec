// Enrolment links: the only way an account gets a password. A new account
// gets a one-time link at once; a lost password or second factor gets one
// only after a second account approved it (approvals.ts). The person opens
// the link and chooses the password; the second factor follows at the first
// login. Using a reset link ends the old password, second factors (TOTP and passkeys), recovery
// codes, sessions and API tokens. Only the link's hash is stored, and a link
// is issued afresh (the earlier one void) each time it is fetched.
import type { OfficeAddress } from './office-address.ts';
import { randomUUID } from 'node:crypto';
import { inTenantTransaction, type Tx } from '../db/connect.ts';
import { KarteiError } from '../errors.ts';
import type { GateContext } from '../access/gate.ts';
import { openField } from '../vault/keyring.ts';
import { assertStrongPassword, hashPassword } from './passwords.ts';
import { newToken, tokenHash } from './tokens.ts';
import { signOutEverywhere } from './api-tokens.ts';
import { userBinding } from './users.ts';
import type { EnrolmentLink } from '../contract/identity.ts';
import { deleteUserPasskeys } from './passkeys.ts';
import { IdentityUseCase } from './identity-use-case.ts';

const ENROLMENT_TTL_MS = 72 * 3_600_000;
/** An approved reset link must be fetched within this time of its approval, or it is asked for anew. */
const RESET_APPROVAL_TTL_MS = 72 * 3_600_000;

export type EnrolmentPurpose = 'initial' | 'reset';

/** Starts an enrolment for the user; any earlier one that is still open is void. */
export async function startEnrolment(
  tx: Tx,
  tenantId: string,
  userId: string,
  requestedBy: string,
  purpose: EnrolmentPurpose,
  approvalId: string | null,
  now: string,
): Promise<string> {
  await cancelOpen(tx, userId, now);
  const id = randomUUID();
  await tx
    .insertInto('enrolments')
    .values({
      id,
      tenant_id: tenantId,
      user_id: userId,
      purpose,
      requested_by: requestedBy,
      requested_at: now,
      approval_id: approvalId,
      token_hash: null,
      expires_at: null,
      used_at: null,
      cancelled_at: null,
    })
    .execute();
  return id;
}

/** A fresh link for this enrolment; a link issued before for it stops working. */
export async function issueLink(
  tx: Tx,
  enrolmentId: string,
  publicUrl: string,
  now = Date.now(),
): Promise<EnrolmentLink> {
  const token = newToken();
  const expiresAt = new Date(now + ENROLMENT_TTL_MS).toISOString();
  await tx
    .updateTable('enrolments')
    .set({ token_hash: tokenHash(token), expires_at: expiresAt })
    .where('id', '=', enrolmentId)
    .execute();
  return { token, url: `${publicUrl}/enrol#token=${token}`, expiresAt };
}

/**
 * The reset link the calling administrator asked for, once a second account
 * approved it: 404 when there is none of theirs, 409 while it waits.
 */
export async function issueApprovedLink(ctx: GateContext, userId: string, publicUrl: string): Promise<EnrolmentLink> {
  const row = await ctx.tx
    .selectFrom('enrolments')
    .leftJoin('approvals', 'approvals.id', 'enrolments.approval_id')
    .select(['enrolments.id', 'approvals.state', 'approvals.decided_at'])
    .where('enrolments.user_id', '=', userId)
    .where('enrolments.tenant_id', '=', ctx.principal.tenantId)
    .where('enrolments.purpose', '=', 'reset')
    .where('enrolments.requested_by', '=', ctx.principal.userId)
    .where('enrolments.used_at', 'is', null)
    .where('enrolments.cancelled_at', 'is', null)
    .executeTakeFirst();
  if (!row || row.state === 'rejected' || row.state === 'withdrawn') throw new KarteiError('not-found');
  if (row.state !== 'approved')
    throw new KarteiError('approval-pending', "The reset link is waiting for a second person's approval");
  // An approval is for the account as it was then: it goes stale.
  if (Date.parse(row.decided_at!) + RESET_APPROVAL_TTL_MS <= Date.now()) throw new KarteiError('not-found');
  ctx.audit.detail = { purpose: 'reset' };
  return issueLink(ctx.tx, row.id, publicUrl);
}

/**
 * Voids a reset link that is asked for, approved or issued but not used: when the account
 * gains access (the approval was for the account as it was), or its owner proves to hold
 * the credentials after all (changes the password).
 */
export async function cancelOpenResets(tx: Tx, userId: string, now: string) {
  await tx
    .updateTable('enrolments')
    .set({ cancelled_at: now })
    .where('user_id', '=', userId)
    .where('purpose', '=', 'reset')
    .where('used_at', 'is', null)
    .where('cancelled_at', 'is', null)
    .execute();
}

async function cancelOpen(tx: Tx, userId: string, now: string) {
  await tx
    .updateTable('enrolments')
    .set({ cancelled_at: now })
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .where('cancelled_at', 'is', null)
    .execute();
}

/** Redeeming a link: the person sets their password. Public, guarded by the link's 256-bit token. */
export class Enrolment extends IdentityUseCase {
  /** Issue 19: offices — `at`, where the link was opened: only the link's own office's address redeems it. */
  async redeem(token: string, password: string, at?: OfficeAddress): Promise<void> {
    const hash = tokenHash(token);
    const row = await this.store.db
      .selectFrom('enrolments')
      .innerJoin('users', 'users.id', 'enrolments.user_id')
      .innerJoin('tenants', 'tenants.id', 'enrolments.tenant_id')
      .select([
        'enrolments.id',
        'enrolments.tenant_id',
        'enrolments.user_id',
        'enrolments.purpose',
        'enrolments.expires_at',
        'enrolments.used_at',
        'enrolments.cancelled_at',
        'users.active',
        'users.username_enc',
        'users.display_name_enc',
        'tenants.name as office',
        'tenants.host',
      ])
      .where('enrolments.token_hash', '=', hash)
      .executeTakeFirst();
    const elsewhere = at !== undefined && (at.kind === 'office' ? at.id !== row?.tenant_id : row?.host !== null);
    if (
      !row ||
      elsewhere ||
      row.used_at ||
      row.cancelled_at ||
      !row.expires_at ||
      Date.parse(row.expires_at) <= Date.now() ||
      row.active !== 1
    ) {
      throw new KarteiError('invalid-enrolment-link');
    }
    const { tenant_id: tenantId, user_id: userId } = row;
    const words = await inTenantTransaction(this.store, tenantId, async (tx) => {
      const key = await this.keyring.tenantKey(tx, tenantId);
      return [
        openField<string>(key, userBinding(tenantId, userId, 'username'), row.username_enc),
        openField<string>(key, userBinding(tenantId, userId, 'display_name'), row.display_name_enc),
      ];
    });
    // Checked before anything is written, so a weak password leaves the link valid.
    assertStrongPassword(password, [...words, row.office]);
    const passwordHash = await hashPassword(password);
    await inTenantTransaction(this.store, tenantId, async (tx) => {
      const now = new Date().toISOString();
      const spent = await tx
        .updateTable('enrolments')
        .set({ used_at: now })
        .where('id', '=', row.id)
        .where('token_hash', '=', hash)
        .where('used_at', 'is', null)
        .where('cancelled_at', 'is', null)
        .executeTakeFirst();
      if (Number(spent.numUpdatedRows) !== 1) throw new KarteiError('invalid-enrolment-link');
      const reset = row.purpose === 'reset';
      await tx
        .updateTable('users')
        .set({
          password_hash: passwordHash,
          password_origin: 'self',
          // The second factor is enrolled anew at the next login.
          totp_secret_enc: null,
          updated_at: now,
          ...(reset ? { credentials_reset_at: now, reset_notice: 1 } : {}),
        })
        .where('id', '=', userId)
        .execute();
      await tx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
      await deleteUserPasskeys(tx, userId);
      await tx.deleteFrom('login_challenges').where('user_id', '=', userId).execute();
      // A linked single sign-on identity is a credential too: linked again after signing in.
      await tx.deleteFrom('sso_identities').where('user_id', '=', userId).execute();
      await signOutEverywhere(tx, userId);
      await this.audit.append(tx, {
        tenantId,
        actorId: userId,
        action: 'auth.enrol',
        resourceType: 'user',
        resourceId: userId,
        outcome: 'allowed',
        detail: { purpose: row.purpose },
      });
    });
  }
}
