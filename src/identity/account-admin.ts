// Tenant administration of staff accounts, through the gate: creating one
// (without a password: the person sets it with the enrolment link issued here),
// changing its display name, activity, roles and memberships, asking for a reset
// link, and listing the office's accounts with what waits for approval. Nobody changes their own roles
// (the policy), and what is granted waits for a second account (approvals.ts);
// what is taken away goes at once. Each function fills in its audit event.
import type { GateContext } from '../access/gate.ts';
import { tokenCovers, type Membership, type TenantRole } from '../access/policy.ts';
import { KarteiError } from '../errors.ts';
import { sealField, type Keyring } from '../vault/keyring.ts';
import { signOutEverywhere } from './api-tokens.ts';
import {
  assertNotLastDpo,
  requestAccess,
  requestEnrolmentApproval,
  withPending,
  type GrantRequest,
} from './approvals.ts';
import { issueLink, startEnrolment } from './enrolment.ts';
import { createUser, getUser, listUsers, userBinding, type UserView } from './users.ts';

interface NewAccount {
  username: string;
  displayName: string;
  tenantRoles: TenantRole[];
  memberships: Membership[];
}

interface AccountChange {
  displayName?: string;
  active?: boolean;
  tenantRoles?: TenantRole[];
  memberships?: Membership[];
}

/** Whether a change touches access (roles, memberships, activity): the action `admin.user.update-access`. */
export const changesAccess = (c: AccountChange): boolean =>
  c.tenantRoles !== undefined || c.memberships !== undefined || c.active !== undefined;

/** A new account with its enrolment link; the roles and memberships asked for wait for approval. */
export async function createAccount(ctx: GateContext, keyring: Keyring, a: NewAccount, publicUrl: string) {
  const tenantId = ctx.principal.tenantId;
  // Asking for grants is a person's decision in a session (admin.user.update-access), never a token's.
  if (
    !tokenCovers(ctx.principal, 'admin.user.update-access') &&
    (a.tenantRoles.length > 0 || a.memberships.length > 0)
  ) {
    throw new KarteiError(
      'token-scope',
      'tenantRoles: roles and memberships are asked for in a signed-in session, not with an API token',
      { field: 'tenantRoles' },
    );
  }
  const office = await ctx.tx.selectFrom('tenants').select('name').where('id', '=', tenantId).executeTakeFirstOrThrow();
  const userId = await createUser(ctx, keyring, a, office.name);
  const grants = await requestAccess(ctx, userId, a.tenantRoles, a.memberships);
  const enrolmentId = await startEnrolment(ctx.tx, tenantId, userId, ctx.principal.userId, 'initial', null, ctx.now);
  const enrolment = await issueLink(ctx.tx, enrolmentId, publicUrl);
  ctx.audit.resourceId = userId;
  ctx.audit.detail = { ...accessSummary(a), ...grantSummary(grants) };
  return { id: userId, enrolment, pendingApprovals: grants.pending };
}

/**
 * A reset link for lost credentials: it waits for a second account's approval, and the
 * enrolment it will lead to is started now. The approval's id.
 */
export async function requestReset(ctx: GateContext, userId: string): Promise<string> {
  const approvalId = await requestEnrolmentApproval(ctx, userId);
  await startEnrolment(ctx.tx, ctx.principal.tenantId, userId, ctx.principal.userId, 'reset', approvalId, ctx.now);
  ctx.audit.detail = { approvalId };
  return approvalId;
}

/** The office's accounts with the grants waiting for approval. */
export async function listAccounts(ctx: GateContext, keyring: Keyring) {
  return withPending(ctx.tx, ctx.principal.tenantId, await listUsers(ctx, keyring));
}

/**
 * Changes an account: the display name sealed anew; deactivating it (never the office's
 * last DPO) ends its sessions and tokens; roles and memberships taken away go at once,
 * added ones wait for approval. Answers the account as it is now, with what waits.
 */
export async function updateAccount(ctx: GateContext, keyring: Keyring, userId: string, c: AccountChange) {
  const tenantId = ctx.principal.tenantId;
  const set: { updated_at: string; display_name_enc?: Buffer; active?: number } = { updated_at: ctx.now };
  if (c.displayName !== undefined) {
    set.display_name_enc = sealField(
      await keyring.tenantKey(ctx.tx, tenantId),
      userBinding(tenantId, userId, 'display_name'),
      c.displayName,
    );
  }
  if (c.active === false) await assertNotLastDpo(ctx.tx, tenantId, userId);
  if (c.active !== undefined) set.active = c.active ? 1 : 0;
  const before = changesAccess(c) ? await getUser(ctx, keyring, userId) : undefined;
  await ctx.tx.updateTable('users').set(set).where('id', '=', userId).execute();
  // What is taken away goes at once; what is added waits for a second account's approval.
  const grants = await requestAccess(ctx, userId, c.tenantRoles, c.memberships);
  if (c.active === false) await signOutEverywhere(ctx.tx, userId);
  const after = await getUser(ctx, keyring, userId);
  ctx.audit.detail = {
    ...accessSummary(c),
    ...grantSummary(grants),
    ...(c.active !== undefined ? { active: c.active } : {}),
    ...(before ? accessChange(before, after) : {}),
  };
  return withPending(ctx.tx, tenantId, after);
}

/** What an access change granted and revoked, compared with before (ids and role names only), for the DPO. */
function accessChange(before: UserView, after: UserView) {
  const m = (u: UserView) => u.memberships.map((x) => `${x.departmentId}:${x.role}`);
  const diff = (a: string[], b: string[]) => a.filter((x) => !b.includes(x)).join(',');
  const out: Record<string, string> = {};
  const granted = { tenantRoles: diff(after.tenantRoles, before.tenantRoles), memberships: diff(m(after), m(before)) };
  const revoked = { tenantRoles: diff(before.tenantRoles, after.tenantRoles), memberships: diff(m(before), m(after)) };
  if (granted.tenantRoles) out.grantedRoles = granted.tenantRoles;
  if (granted.memberships) out.grantedMemberships = granted.memberships;
  if (revoked.tenantRoles) out.revokedRoles = revoked.tenantRoles;
  if (revoked.memberships) out.revokedMemberships = revoked.memberships;
  return out;
}

/** Which roles and memberships were granted, for the audit event (ids only). */
function accessSummary(b: { tenantRoles?: string[]; memberships?: { departmentId: string; role: string }[] }) {
  const out: Record<string, string> = {};
  if (b.tenantRoles) out.tenantRoles = b.tenantRoles.join(',');
  if (b.memberships) out.memberships = b.memberships.map((m) => `${m.departmentId}:${m.role}`).join(',');
  return out;
}

/** What waits for approval and what took effect at once, for the audit event. */
function grantSummary(g: GrantRequest) {
  return { pendingApprovals: g.pending.length, ...g.applied };
}
