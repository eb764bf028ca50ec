// Loads what the policy needs to know about a resource, inside the gate's
// transaction, so the decision and the access see the same rows.
import { sql } from 'kysely';
import type { Tx } from '../db/connect.ts';
import { prepared } from '../db/prepared.ts';
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

const personFile = prepared((db, personId: string, tenantId: string) =>
  db.selectFrom('persons').select(['id as person_id', 'department_id']).where('id', '=', personId).where('tenant_id', '=', tenantId),
);

const recordFile = prepared((db, recordId: string, tenantId: string) =>
  db
    .selectFrom('records')
    .innerJoin('persons', 'persons.id', 'records.person_id')
    .select(['records.person_id', 'records.sensitivity', 'persons.department_id'])
    .where('records.id', '=', recordId)
    .where('records.tenant_id', '=', tenantId)
    .where('records.deleted_at', 'is', null),
);

/** Live shares of a file, and the caller's unexpired break-glass grant, in one round trip. */
const grantsOf = prepared((db, personId: string, now: string, userId: string) =>
  db
    .selectFrom('shares')
    .select(['to_department_id as department_id', sql<number>`0`.as('break_glass')])
    .where('person_id', '=', personId)
    .where('revoked_at', 'is', null)
    .where('until', '>', now)
    .unionAll(
      db
        .selectFrom('break_glass')
        .select(['department_id', sql<number>`1`.as('break_glass')])
        .where('person_id', '=', personId)
        .where('user_id', '=', userId)
        .where('expires_at', '>', now),
    ),
);

/** Returns null when the resource does not exist in the caller's tenant. */
export async function resolve(tx: Tx, p: Principal, ref: ResourceRef, now: string): Promise<Resolved | null> {
  switch (ref.kind) {
    case 'person': {
      const [person] = await personFile(tx, ref.personId, p.tenantId);
      return person ? fileOf(tx, p, person, ref.personId, now, ref.sensitivity ?? 'normal') : null;
    }
    case 'record': {
      const [rec] = await recordFile(tx, ref.recordId, p.tenantId);
      if (!rec) return null;
      return fileOf(tx, p, rec, ref.recordId, now, maxSensitivity(rec.sensitivity as Sensitivity, ref.sensitivity));
    }
    case 'share': {
      const share = await tx
        .selectFrom('shares')
        .innerJoin('persons', 'persons.id', 'shares.person_id')
        .select(['shares.person_id', 'persons.department_id'])
        .where('shares.id', '=', ref.shareId)
        .where('shares.tenant_id', '=', p.tenantId)
        .where('shares.revoked_at', 'is', null)
        .executeTakeFirst();
      return share ? fileOf(tx, p, share, ref.shareId, now, 'normal') : null;
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

/** Completes a file's facts: the departments it is shared with now, and the caller's break-glass grant. */
async function fileOf(
  tx: Tx,
  p: Principal,
  file: { person_id: string; department_id: string },
  resourceId: string,
  now: string,
  sensitivity: Sensitivity,
): Promise<Resolved> {
  const grants = await grantsOf(tx, file.person_id, now, p.userId);
  const facts: FileFacts = {
    kind: 'file',
    departmentId: file.department_id,
    sharedWith: grants.filter((g) => Number(g.break_glass) === 0).map((g) => g.department_id),
    breakGlass: grants.some((g) => Number(g.break_glass) === 1),
    sensitivity,
  };
  return { resource: facts, resourceId, personId: file.person_id, departmentId: file.department_id };
}
