// Loads what the policy needs to know about a resource, inside the gate's
// transaction, so the decision and the access see the same rows.
import type { Tx } from '../db/connect.ts';
import type { FileFacts, Principal, Resource, Sensitivity } from './policy.ts';

export type ResourceRef =
  | { kind: 'person'; personId: string; sensitivity?: Sensitivity }
  | { kind: 'record'; recordId: string; sensitivity?: Sensitivity }
  | { kind: 'share'; shareId: string }
  | { kind: 'review'; reviewId: string }
  | { kind: 'department'; departmentId: string }
  | { kind: 'user'; userId: string }
  | { kind: 'tenant' };

export type ResourceKind = ResourceRef['kind'];

/** The resolved resource, plus what the audit event records about it. */
export interface Resolved {
  resource: Resource;
  resourceId: string | null;
  personId: string | null;
  departmentId: string | null;
}

const maxSensitivity = (...s: (Sensitivity | undefined)[]): Sensitivity =>
  s.includes('restricted') ? 'restricted' : 'normal';

/** Returns null when the resource does not exist in the caller's tenant. */
export async function resolve(tx: Tx, p: Principal, ref: ResourceRef, now: string): Promise<Resolved | null> {
  switch (ref.kind) {
    case 'person':
      return fileOf(tx, p, ref.personId, ref.personId, now, ref.sensitivity ?? 'normal');
    case 'record': {
      const rec = await tx
        .selectFrom('records')
        .select(['person_id', 'sensitivity'])
        .where('id', '=', ref.recordId)
        .where('tenant_id', '=', p.tenantId)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      if (!rec) return null;
      const s = maxSensitivity(rec.sensitivity as Sensitivity, ref.sensitivity);
      return fileOf(tx, p, rec.person_id, ref.recordId, now, s);
    }
    case 'share': {
      const share = await tx
        .selectFrom('shares')
        .select('person_id')
        .where('id', '=', ref.shareId)
        .where('tenant_id', '=', p.tenantId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return share ? fileOf(tx, p, share.person_id, ref.shareId, now, 'normal') : null;
    }
    case 'review': {
      const bg = await tx
        .selectFrom('break_glass')
        .select(['person_id', 'department_id'])
        .where('id', '=', ref.reviewId)
        .where('tenant_id', '=', p.tenantId)
        .executeTakeFirst();
      if (!bg) return null;
      return {
        resource: { kind: 'review', departmentId: bg.department_id },
        resourceId: ref.reviewId,
        personId: bg.person_id,
        departmentId: bg.department_id,
      };
    }
    case 'department':
      return { resource: ref, resourceId: ref.departmentId, personId: null, departmentId: ref.departmentId };
    case 'user': {
      const user = await tx
        .selectFrom('users')
        .select('id')
        .where('id', '=', ref.userId)
        .where('tenant_id', '=', p.tenantId)
        .executeTakeFirst();
      return user ? { resource: ref, resourceId: ref.userId, personId: null, departmentId: null } : null;
    }
    case 'tenant':
      return { resource: ref, resourceId: null, personId: null, departmentId: null };
  }
}

async function fileOf(
  tx: Tx,
  p: Principal,
  personId: string,
  resourceId: string,
  now: string,
  sensitivity: Sensitivity,
): Promise<Resolved | null> {
  const person = await tx
    .selectFrom('persons')
    .select('department_id')
    .where('id', '=', personId)
    .where('tenant_id', '=', p.tenantId)
    .executeTakeFirst();
  if (!person) return null;
  const shares = await tx
    .selectFrom('shares')
    .select('to_department_id')
    .where('person_id', '=', personId)
    .where('revoked_at', 'is', null)
    .where('until', '>', now)
    .execute();
  const grant = await tx
    .selectFrom('break_glass')
    .select('id')
    .where('person_id', '=', personId)
    .where('user_id', '=', p.userId)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  const facts: FileFacts = {
    kind: 'file',
    departmentId: person.department_id,
    sharedWith: shares.map((s) => s.to_department_id),
    breakGlass: grant !== undefined,
    sensitivity,
  };
  return { resource: facts, resourceId, personId, departmentId: person.department_id };
}
