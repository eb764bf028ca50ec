// What to retrieve: the one use case C-GET, C-MOVE and WADO-RS call inside
// the gate's transaction. It finds the instances a query names in one
// department (studies through blind indexes, then series and instances),
// fetches the department's key, and puts the instance count and the persons'
// files they belong to on the record; the caller reads the sealed files
// (stored-instance.ts) after the transaction, as the retrieval was decided.
import type { GateContext } from '../access/gate.ts';
import type { Keyring } from '../vault/keyring.ts';
import type { InstanceStore } from './instance-store.ts';
import type { SealedInstance } from './stored-instance.ts';
import { findInstances, findSeries, findStudies, type StudyQuery } from './study-query.ts';

export interface Retrieval {
  departmentId: string;
  query: StudyQuery;
  /** Studies looked at, at most. */
  maxStudies: number;
  /** What the audit event says besides the instance count (level, destination…). */
  detail: Record<string, string | number>;
  /**
   * An event per person's file the instances belong to: for C-GET and C-MOVE, whose
   * resource is the device's department; WADO-RS's resource is the study, whose file the gate records.
   */
  auditFiles: boolean;
}

export async function retrieveInstances(
  ctx: GateContext,
  keyring: Keyring,
  images: InstanceStore,
  r: Retrieval,
): Promise<SealedInstance[]> {
  const tenantId = ctx.principal.tenantId;
  const studies = await findStudies(ctx, keyring, r.departmentId, r.query, r.maxStudies);
  const instances = await findInstances(ctx, await findSeries(ctx, keyring, r.departmentId, studies, r.query), r.query);
  const key = instances.length > 0 ? await keyring.departmentKey(ctx.tx, tenantId, r.departmentId) : Buffer.alloc(0);
  ctx.audit.detail = { ...r.detail, instances: instances.length };
  if (r.auditFiles)
    ctx.audit.hits = [...new Set(studies.flatMap((s) => (s.personId ? [s.personId] : [])))].map((personId) => ({
      personId,
      departmentId: r.departmentId,
    }));
  return instances.map((instance) => ({ images, tenantId, key, instance }));
}
