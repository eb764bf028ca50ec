// Reading the audit log: the DPO sees the tenant's whole log, a head the
// events about its own departments' files. Newest first, paged by sequence.
import { sql } from 'kysely';
import type { Tx } from '../db/connect.ts';
import type { Principal } from '../access/policy.ts';
import type { AuditLog } from './audit-log.ts';
import type { Keyring } from '../vault/keyring.ts';
import { displayNames } from '../identity/users.ts';
import type { AccessCount, AuditEntry } from '../contract/audit.ts';

export interface AuditFilter {
  personId?: string;
  actorId?: string;
  action?: string;
  outcome?: 'allowed' | 'denied' | 'error';
  from?: string;
  to?: string;
  before?: number;
  limit: number;
}

/** What a principal may read of the log: everything (DPO) or its headed departments' files. */
export function auditScope(p: Principal): 'all' | string[] {
  return p.tenantRoles.includes('dpo')
    ? 'all'
    : p.memberships.filter((m) => m.role === 'head').map((m) => m.departmentId);
}

export async function queryAudit(
  tx: Tx,
  log: AuditLog,
  keyring: Keyring,
  tenantId: string,
  scope: 'all' | string[],
  f: AuditFilter,
): Promise<AuditEntry[]> {
  let q = tx.selectFrom('audit_events').selectAll().where('tenant_id', '=', tenantId);
  if (scope !== 'all')
    q = q.where('department_id', 'in', scope.length ? scope : ['']).where('person_id', 'is not', null);
  if (f.personId) q = q.where('person_id', '=', f.personId);
  if (f.actorId) q = q.where('actor_id', '=', f.actorId);
  if (f.action) q = q.where('action', '=', f.action);
  if (f.outcome) q = q.where('outcome', '=', f.outcome);
  // `at` is stored as toISOString(); compare instants in that form, not the caller's offset or precision.
  if (f.from) q = q.where('at', '>=', new Date(f.from).toISOString());
  if (f.to) q = q.where('at', '<=', new Date(f.to).toISOString());
  if (f.before) q = q.where('seq', '<', f.before);
  const rows = await q.orderBy('seq', 'desc').limit(f.limit).execute();
  const names = await displayNames(
    tx,
    keyring,
    tenantId,
    rows.map((r) => r.actor_id),
  );
  const out: AuditEntry[] = [];
  for (const r of rows) {
    out.push({
      seq: r.seq,
      at: r.at,
      actorId: r.actor_id,
      actorName: (r.actor_id && names.get(r.actor_id)) ?? null,
      action: r.action,
      resourceType: r.resource_type,
      resourceId: r.resource_id,
      personId: r.person_id,
      outcome: r.outcome as AuditEntry['outcome'],
      reason: await log.decryptReason(tx, tenantId, r.seq, r.reason_enc),
      detail: r.detail ? (JSON.parse(r.detail) as AuditEntry['detail']) : null,
    });
  }
  return out;
}

const day = sql<string>`substr(at, 1, 10)`;

/** The query behind `accessCounts`: it reads only the period's events (index on tenant and time). */
export function accessCountsQuery(tx: Tx, tenantId: string, scope: 'all' | string[], from: string, to: string) {
  let q = tx
    .selectFrom('audit_events')
    .select([day.as('day'), 'department_id', sql<number | string>`count(*)`.as('n')])
    .where('tenant_id', '=', tenantId)
    .where('person_id', 'is not', null)
    .where('at', '>=', new Date(from).toISOString())
    .where('at', '<=', new Date(to).toISOString());
  if (scope !== 'all') q = q.where('department_id', 'in', scope.length ? scope : ['']);
  return q.groupBy([day, 'department_id']).orderBy(day);
}

/** Events about persons' files per UTC day and owning department, within the caller's scope. */
export async function accessCounts(
  tx: Tx,
  tenantId: string,
  scope: 'all' | string[],
  from: string,
  to: string,
): Promise<AccessCount[]> {
  const rows = await accessCountsQuery(tx, tenantId, scope, from, to).execute();
  return rows.map((r) => ({ day: r.day, departmentId: r.department_id, count: Number(r.n) }));
}
