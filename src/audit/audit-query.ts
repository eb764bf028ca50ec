// Reading the audit log: the DPO sees the tenant's whole log, a head the
// events about its own departments' files. Newest first, paged by sequence.
// Every read takes a GateContext: it runs after the gate has decided and will audit
// (`accessCountsQuery` only builds the query `accessCounts` runs, for a test of its plan).
import { sql } from 'kysely';
import type { GateContext } from '../access/gate.ts';
import { inTenantTransaction, type Db, type Store, type Tx } from '../db/connect.ts';
import { DEPLOYMENT_CHAIN } from '../db/schema.ts';
import type { Principal } from '../access/policy.ts';
import type { AuditLog } from './audit-log.ts';
import type { Keyring } from '../vault/keyring.ts';
import { displayNames } from '../identity/users.ts';
import { byDemis, type AccessCount, type AuditEntry } from '../contract/audit.ts';

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

/** The tenant's events the scope covers, with their actors' names, in the gate's transaction. */
export function queryAudit(
  ctx: GateContext,
  log: AuditLog,
  keyring: Keyring,
  scope: 'all' | string[],
  f: AuditFilter,
): Promise<AuditEntry[]> {
  return readEvents(ctx.tx, log, ctx.principal.tenantId, scope, f, (ids) => displayNames(ctx, keyring, ids));
}

/**
 * The installation's chain is read in a transaction of its own, after the gate's (its rows
 * are not the office's, which the gate's transaction is confined to): the reader is made
 * inside the gate, from its context, and used once that transaction has committed.
 */
export function installationChainReader(
  decided: GateContext,
  store: Store,
  log: AuditLog,
): (f: Omit<AuditFilter, 'personId'>) => Promise<AuditEntry[]> {
  if (decided.target.resource.kind !== 'installation')
    throw new Error("the installation's chain is read only where the gate allowed it on the installation");
  // Its events name no account (their actor is unknown), so there are no names to look up.
  return (f) =>
    inTenantTransaction(store, DEPLOYMENT_CHAIN, (tx) =>
      readEvents(tx, log, DEPLOYMENT_CHAIN, 'all', f, async () => new Map()),
    );
}

async function readEvents(
  tx: Tx,
  log: AuditLog,
  tenantId: string,
  scope: 'all' | string[],
  f: AuditFilter,
  namesOf: (ids: (string | null)[]) => Promise<Map<string, string>>,
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
  const names = await namesOf(rows.map((r) => r.actor_id));
  const out: AuditEntry[] = [];
  for (const r of rows) {
    out.push({
      seq: r.seq,
      at: r.at,
      actorId: r.actor_id,
      actorName: (r.actor_id && names.get(r.actor_id)) ?? null,
      ...(byDemis({ actorId: r.actor_id, action: r.action }) ? { actorService: 'demis' as const } : {}),
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

/**
 * The query behind `accessCounts`, built and not run (a test reads its plan): it reads only
 * the period's events (index on tenant and time).
 */
export function accessCountsQuery(db: Db, tenantId: string, scope: 'all' | string[], from: string, to: string) {
  let q = db
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
  ctx: GateContext,
  scope: 'all' | string[],
  from: string,
  to: string,
): Promise<AccessCount[]> {
  const rows = await accessCountsQuery(ctx.tx, ctx.principal.tenantId, scope, from, to).execute();
  return rows.map((r) => ({ day: r.day, departmentId: r.department_id, count: Number(r.n) }));
}
