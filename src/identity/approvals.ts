// Grants wait for a second account. An administrator asks for a membership or
// a tenant role; it grants nothing until the department's head (a DPO while
// the department has none) or, for a role, another admin or a DPO approves it.
// Taking access away needs no approval. The office's first DPO is the one
// exception: granted at once, and flagged to every DPO after it.
import { randomUUID } from 'node:crypto';
import type { GateContext } from '../access/gate.ts';
import { decide, DEPARTMENT_ROLES, type DepartmentRole, type Membership, type TenantRole } from '../access/policy.ts';
import { factsOf } from '../access/approval-facts.ts';
import { serialise, type Tx } from '../db/connect.ts';
import { fieldRefused, fieldsRefused, type FieldProblem } from '../errors.ts';
import { displayNames, type UserView } from './users.ts';
import { unknownDepartment } from './departments.ts';
import type { ApprovalView } from '../contract/identity.ts';
import { cancelOpenResets } from './enrolment.ts';
import type { Keyring } from '../vault/keyring.ts';

export type ApprovalKind = ApprovalView['kind'];

/** What an administrator asked for, for the audit event and the answer. */
export interface GrantRequest {
  /** Approval ids of the grants now waiting. */
  pending: string[];
  /** Granted at once: only the office's first DPO. */
  applied: Record<string, string>;
}

/**
 * Brings a user's access towards what the administrator asked for: what is
 * taken away goes at once; what is added or raised waits for approval. A
 * request replaces any earlier open request for the same role or department.
 */
export async function requestAccess(
  ctx: GateContext,
  userId: string,
  roles: TenantRole[] | undefined,
  memberships: Membership[] | undefined,
): Promise<GrantRequest> {
  const { tx } = ctx;
  const tenantId = ctx.principal.tenantId;
  const out: GrantRequest = { pending: [], applied: {} };
  if (roles) {
    const wanted = new Set(roles);
    const held = new Set(
      (await tx.selectFrom('tenant_roles').select('role').where('user_id', '=', userId).execute()).map((r) => r.role),
    );
    for (const role of held) {
      if (!wanted.has(role as TenantRole)) {
        // The office's oversight cannot be taken away by one admin: another DPO must be there first.
        if (role === 'dpo') await assertNotLastDpo(tx, tenantId, userId);
        await tx.deleteFrom('tenant_roles').where('user_id', '=', userId).where('role', '=', role).execute();
      }
    }
    await withdraw(tx, tenantId, userId, 'role', (r) => !wanted.has(r.role as TenantRole) || held.has(r.role!));
    for (const role of wanted) {
      if (held.has(role) || (await openRequest(tx, tenantId, userId, 'role', null, role))) continue;
      if (role === 'dpo' && !(await officeEverHadDpo(tx, tenantId))) {
        await tx.insertInto('tenant_roles').values({ user_id: userId, tenant_id: tenantId, role }).execute();
        await insertApproval(ctx, 'role', userId, null, role, 'exempt');
        out.applied.firstDpo = userId;
        continue;
      }
      out.pending.push(await insertApproval(ctx, 'role', userId, null, role, 'pending'));
    }
  }
  if (memberships) {
    await assertDepartments(tx, tenantId, memberships);
    const wanted = new Map(memberships.map((m) => [m.departmentId, m.role]));
    const held = new Map(
      (
        await tx.selectFrom('memberships').select(['department_id', 'role']).where('user_id', '=', userId).execute()
      ).map((m) => [m.department_id, m.role as DepartmentRole]),
    );
    for (const [departmentId, role] of held) {
      const lower = wanted.get(departmentId);
      if (lower === undefined) {
        await tx
          .deleteFrom('memberships')
          .where('user_id', '=', userId)
          .where('department_id', '=', departmentId)
          .execute();
      } else if (DEPARTMENT_ROLES.indexOf(lower) < DEPARTMENT_ROLES.indexOf(role)) {
        // A lower role takes access away: at once, like a removal (a raise waits for approval).
        await tx
          .updateTable('memberships')
          .set({ role: lower })
          .where('user_id', '=', userId)
          .where('department_id', '=', departmentId)
          .execute();
        held.set(departmentId, lower);
      }
    }
    await withdraw(
      tx,
      tenantId,
      userId,
      'membership',
      (r) => wanted.get(r.department_id!) !== r.role || held.get(r.department_id!) === r.role,
    );
    for (const [departmentId, role] of wanted) {
      if (
        held.get(departmentId) === role ||
        (await openRequest(tx, tenantId, userId, 'membership', departmentId, role))
      )
        continue;
      out.pending.push(await insertApproval(ctx, 'membership', userId, departmentId, role, 'pending'));
    }
  }
  return out;
}

/** A reset link for lost credentials waits for approval like a grant. */
export async function requestEnrolmentApproval(ctx: GateContext, userId: string): Promise<string> {
  await withdraw(ctx.tx, ctx.principal.tenantId, userId, 'enrolment', () => true);
  return insertApproval(ctx, 'enrolment', userId, null, null, 'pending');
}

/** The open approvals the caller may decide, oldest first. */
export async function listDecidable(ctx: GateContext, keyring: Keyring): Promise<ApprovalView[]> {
  const rows = await ctx.tx
    .selectFrom('approvals')
    .select(['id', 'kind', 'user_id', 'department_id', 'role', 'requested_by', 'requested_at', 'state'])
    .where('tenant_id', '=', ctx.principal.tenantId)
    .where('state', 'in', ['pending', 'exempt'])
    .orderBy('requested_at')
    .execute();
  const facts = await factsOf(ctx.tx, ctx.principal.tenantId, rows);
  const mine = rows.filter((_, i) => decide(ctx.principal, 'approval.decide', facts[i]!) === 'allow');
  const names = await displayNames(
    ctx,
    keyring,
    mine.flatMap((r) => [r.user_id, r.requested_by]),
  );
  return mine.map((r) => ({
    id: r.id,
    kind: r.kind as ApprovalKind,
    userId: r.user_id,
    ...(r.department_id ? { departmentId: r.department_id } : {}),
    role: r.role,
    requestedBy: r.requested_by,
    requestedAt: r.requested_at,
    state: r.state as ApprovalView['state'],
    userName: names.get(r.user_id) ?? '—',
    requestedByName: names.get(r.requested_by) ?? '—',
  }));
}

/** Pending grants of these users, shown beside their access and granting nothing. */
async function pendingGrants(tx: Tx, tenantId: string) {
  return tx
    .selectFrom('approvals')
    .select(['id', 'kind', 'user_id', 'department_id', 'role'])
    .where('tenant_id', '=', tenantId)
    .where('state', '=', 'pending')
    .execute();
}

/**
 * Approves or rejects an open approval; the gate has decided the caller may.
 * Exactly one decision wins: a second, also a concurrent one, answers 409.
 */
export async function decideApproval(
  ctx: GateContext,
  approvalId: string,
  decision: 'approve' | 'reject',
): Promise<{ kind: ApprovalKind; userId: string; state: string }> {
  const { tx } = ctx;
  const row = await tx
    .selectFrom('approvals')
    .select(['kind', 'user_id', 'department_id', 'role', 'state'])
    .where('id', '=', approvalId)
    .where('tenant_id', '=', ctx.principal.tenantId)
    .executeTakeFirstOrThrow();
  const state = decision === 'approve' ? 'approved' : 'rejected';
  // Only an open approval is decided: a parallel decision that committed after the gate's
  // check but before this read must not be decided again.
  if (row.state !== 'pending' && row.state !== 'exempt')
    throw fieldRefused('conflict', 'decision', 'already-decided', 'this approval has already been decided');
  const done = await tx
    .updateTable('approvals')
    .set({ state, decided_by: ctx.principal.userId, decided_at: ctx.now })
    .where('id', '=', approvalId)
    .where('state', '=', row.state)
    .executeTakeFirst();
  if (Number(done.numUpdatedRows) !== 1)
    throw fieldRefused('conflict', 'decision', 'already-decided', 'this approval has already been decided');
  const userId = row.user_id;
  // A reset link approved for the account as it was does not carry over to its new access.
  if (decision === 'approve' && row.kind !== 'enrolment') await cancelOpenResets(tx, userId, ctx.now);
  if (row.kind === 'membership' && decision === 'approve') {
    await tx
      .deleteFrom('memberships')
      .where('user_id', '=', userId)
      .where('department_id', '=', row.department_id!)
      .execute();
    await tx
      .insertInto('memberships')
      .values({
        user_id: userId,
        tenant_id: ctx.principal.tenantId,
        department_id: row.department_id!,
        role: row.role!,
      })
      .execute();
  }
  if (row.kind === 'role' && decision === 'approve' && row.state === 'pending') {
    await tx.deleteFrom('tenant_roles').where('user_id', '=', userId).where('role', '=', row.role!).execute();
    await tx
      .insertInto('tenant_roles')
      .values({ user_id: userId, tenant_id: ctx.principal.tenantId, role: row.role! })
      .execute();
  }
  // The first DPO's role, granted without approval, goes when a later DPO rejects it.
  if (row.kind === 'role' && decision === 'reject' && row.state === 'exempt') {
    await tx.deleteFrom('tenant_roles').where('user_id', '=', userId).where('role', '=', row.role!).execute();
  }
  ctx.audit.resourceId = approvalId;
  ctx.audit.detail = {
    kind: row.kind,
    decision: state,
    userId,
    ...(row.department_id ? { departmentId: row.department_id } : {}),
    ...(row.role ? { role: row.role } : {}),
  };
  return { kind: row.kind as ApprovalKind, userId, state };
}

async function insertApproval(
  ctx: GateContext,
  kind: ApprovalKind,
  userId: string,
  departmentId: string | null,
  role: string | null,
  state: 'pending' | 'exempt',
) {
  const id = randomUUID();
  await ctx.tx
    .insertInto('approvals')
    .values({
      id,
      tenant_id: ctx.principal.tenantId,
      kind,
      user_id: userId,
      department_id: departmentId,
      role,
      requested_by: ctx.principal.userId,
      requested_at: ctx.now,
      state,
      decided_by: null,
      decided_at: null,
    })
    .execute();
  return id;
}

async function openRequest(
  tx: Tx,
  tenantId: string,
  userId: string,
  kind: ApprovalKind,
  departmentId: string | null,
  role: string,
) {
  let q = tx
    .selectFrom('approvals')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('user_id', '=', userId)
    .where('kind', '=', kind)
    .where('state', '=', 'pending')
    .where('role', '=', role);
  q = departmentId === null ? q.where('department_id', 'is', null) : q.where('department_id', '=', departmentId);
  return (await q.executeTakeFirst()) !== undefined;
}

/** Withdraws the user's open requests of this kind that `stale` says no longer stand. */
async function withdraw(
  tx: Tx,
  tenantId: string,
  userId: string,
  kind: ApprovalKind,
  stale: (r: { department_id: string | null; role: string | null }) => boolean,
) {
  const open = await tx
    .selectFrom('approvals')
    .select(['id', 'department_id', 'role'])
    .where('tenant_id', '=', tenantId)
    .where('user_id', '=', userId)
    .where('kind', '=', kind)
    .where('state', '=', 'pending')
    .execute();
  const ids = open.filter(stale).map((r) => r.id);
  if (ids.length) await tx.updateTable('approvals').set({ state: 'withdrawn' }).where('id', 'in', ids).execute();
}

/**
 * Whether the office has ever had a DPO: the exemption is for the very first one only. Asking
 * "has one now" would let an admin remove the DPO and then appoint one of their own at once.
 */
async function officeEverHadDpo(tx: Tx, tenantId: string) {
  // Two first DPOs asked for at once: only one may be granted without approval.
  await serialise(tx, `kartei.dpos:${tenantId}`);
  const now = await tx
    .selectFrom('tenant_roles')
    .select('user_id')
    .where('tenant_id', '=', tenantId)
    .where('role', '=', 'dpo')
    .executeTakeFirst();
  if (now) return true;
  const before = await tx
    .selectFrom('approvals')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('kind', '=', 'role')
    .where('role', '=', 'dpo')
    .where('state', 'in', ['approved', 'exempt', 'rejected'])
    .executeTakeFirst();
  return before !== undefined;
}

/** Refuses to leave the office without an active DPO (by removing the role, or deactivating its holder). */
export async function assertNotLastDpo(tx: Tx, tenantId: string, userId: string) {
  // Two admins taking two DPOs away at once must not both see "another remains".
  await serialise(tx, `kartei.dpos:${tenantId}`);
  const others = await tx
    .selectFrom('tenant_roles')
    .innerJoin('users', 'users.id', 'tenant_roles.user_id')
    .select('users.id')
    .where('tenant_roles.tenant_id', '=', tenantId)
    .where('tenant_roles.role', '=', 'dpo')
    .where('users.active', '=', 1)
    .where('users.id', '!=', userId)
    .executeTakeFirst();
  const isDpo = await tx
    .selectFrom('tenant_roles')
    .select('user_id')
    .where('user_id', '=', userId)
    .where('role', '=', 'dpo')
    .executeTakeFirst();
  if (isDpo && !others)
    throw fieldRefused(
      'conflict',
      'tenantRoles',
      'last-dpo',
      "the office's last data-protection officer keeps the role; appoint another first",
    );
}

async function assertDepartments(tx: Tx, tenantId: string, memberships: Membership[]) {
  const unknown: FieldProblem[] = [];
  for (const [i, m] of memberships.entries()) {
    const problem = await unknownDepartment(tx, tenantId, m.departmentId, `memberships.${i}.departmentId`);
    if (problem) unknown.push(problem);
  }
  if (unknown.length > 0) throw fieldsRefused('validation-failed', unknown);
}

/** A user as administrators see it: memberships and roles waiting for approval are listed with `state: 'pending'` and grant nothing. */
export type UserWithPending = Omit<UserView, 'memberships'> & {
  memberships: (Membership & { state: 'active' | 'pending' })[];
  pendingRoles: { role: TenantRole; state: 'pending' }[];
};

export async function withPending<T extends UserView | UserView[]>(
  tx: Tx,
  tenantId: string,
  users: T,
): Promise<T extends UserView[] ? UserWithPending[] : UserWithPending> {
  const pending = await pendingGrants(tx, tenantId);
  const one = (u: UserView): UserWithPending => {
    const mine = pending.filter((p) => p.user_id === u.id);
    return {
      ...u,
      memberships: [
        ...u.memberships.map((m) => ({ ...m, state: 'active' as const })),
        ...mine
          .filter((p) => p.kind === 'membership')
          .map((p) => ({ departmentId: p.department_id!, role: p.role as DepartmentRole, state: 'pending' as const })),
      ],
      pendingRoles: mine
        .filter((p) => p.kind === 'role')
        .map((p) => ({ role: p.role as TenantRole, state: 'pending' as const })),
    };
  };
  return (Array.isArray(users) ? users.map(one) : one(users as UserView)) as never;
}
