// What the policy needs to know about an approval that is still open: the
// grant, who asked, whom it is for, and whether the department concerned has
// a head (who then decides instead of the DPO). Read in the gate's transaction.
import type { Tx } from '../db/connect.ts';
import type { ApprovalFacts } from './policy.ts';

export interface ApprovalRow {
  id: string;
  kind: string;
  user_id: string;
  department_id: string | null;
  requested_by: string;
  state: string;
}

/** Facts for one open approval (pending, or the first DPO's flagged exemption); undefined when there is none. */
export async function approvalFacts(tx: Tx, tenantId: string, approvalId: string): Promise<ApprovalFacts | undefined> {
  const row = await tx
    .selectFrom('approvals')
    .select(['id', 'kind', 'user_id', 'department_id', 'requested_by', 'state'])
    .where('id', '=', approvalId)
    .where('tenant_id', '=', tenantId)
    .where('state', 'in', ['pending', 'exempt'])
    .executeTakeFirst();
  if (!row) return undefined;
  return (await factsOf(tx, tenantId, [row]))[0];
}

/** Facts for many approvals at once (the list of what a caller may decide). */
export async function factsOf(tx: Tx, tenantId: string, rows: ApprovalRow[]): Promise<ApprovalFacts[]> {
  if (rows.length === 0) return [];
  const members = await tx
    .selectFrom('memberships')
    .select(['user_id', 'department_id', 'role'])
    .where('tenant_id', '=', tenantId)
    .execute();
  const headed = new Set(members.filter((m) => m.role === 'head').map((m) => m.department_id));
  return rows.map((r) => ({
    kind: 'approval',
    grant: r.kind as ApprovalFacts['grant'],
    subjectId: r.user_id,
    requestedBy: r.requested_by,
    departmentId: r.department_id,
    departmentHasHead: r.department_id !== null && headed.has(r.department_id),
    subjectDepartments: members.filter((m) => m.user_id === r.user_id).map((m) => m.department_id),
    exempt: r.state === 'exempt',
  }));
}
