// Loads what the policy needs to know about a resource, inside the gate's
// transaction, so the decision and the access see the same rows.
import type { Db, Tx } from '../db/connect.ts';
import { prepared } from '../db/prepared.ts';
import type { FileFacts, Principal, Resource, Sensitivity } from './policy.ts';
import { approvalFacts } from './approval-facts.ts';

export type ResourceRef =
  | { kind: 'person'; personId: string; sensitivity?: Sensitivity }
  | { kind: 'record'; recordId: string; sensitivity?: Sensitivity }
  | { kind: 'share'; shareId: string }
  | { kind: 'review'; reviewId: string }
  /** A file an emergency search showed the caller, named by the hit's opaque handle (the caller's own, unexpired). */
  | { kind: 'emergency-hit'; hitId: string }
  | { kind: 'department'; departmentId: string }
  | { kind: 'user'; userId: string }
  | { kind: 'approval'; approvalId: string }
  | { kind: 'device'; deviceId: string }
  /** A study of the image archive, named by its Study Instance UID. */
  | { kind: 'study'; studyUid: string }
  | { kind: 'tenant' }
  /** The installation itself (its own audit chain): how many offices it serves decides who may see it. */
  | { kind: 'installation' }
  // Issue 16: inbox
  /** A notification of a department's DEMIS inbox, decided as its department. */
  | { kind: 'notification'; notificationId: string }
  /** A refused bundle in a department's quarantine, decided as its department. */
  | { kind: 'quarantine'; quarantineId: string }
  // Issue 16: outbreaks
  /** An outbreak, decided as its department (hidden from others). */
  | { kind: 'outbreak'; outbreakId: string }
  // Issue 16: person merge
  /** A merge of two files, decided as its surviving file (the absorbed one is decided inside the work). */
  | { kind: 'person-merge'; mergeId: string }
  // Issue 16: transmission — a §11 transmission, decided as its department.
  | { kind: 'transmission'; transmissionId: string }
  // Issue 17: documents
  /** A document in a file, decided as that file at the document's sensitivity (a mail-room scan is not one). */
  | { kind: 'document'; documentId: string; sensitivity?: Sensitivity }
  /** A scan in a department's mail-room (in no file yet), decided as its department. */
  | { kind: 'mailroom-item'; documentId: string }
  // Issue 17: tasks — a task, decided as its file (at the task's sensitivity) or, a department's own task, as its department.
  | { kind: 'task'; taskId: string }
  // Issue 17: letters
  /** A letter template of the office (any department's too), decided as the office; another office's does not exist. */
  | { kind: 'letter-template'; templateId: string }
  /** A bulk letter run, decided as its department (hidden from others). */
  | { kind: 'letter-run'; runId: string }
  // Issue 17: import — an import job, decided as its department.
  | { kind: 'import'; importId: string };

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

/**
 * Files with their live shares and the caller's unexpired break-glass grant,
 * in one round trip: one row per (file × share × grant), at least one per file.
 */
const filesWithReach = (db: Db, now: string, userId: string) =>
  db
    .selectFrom('persons')
    .leftJoin('shares', (j) =>
      j.onRef('shares.person_id', '=', 'persons.id').on('shares.revoked_at', 'is', null).on('shares.until', '>', now),
    )
    .leftJoin('break_glass', (j) =>
      j
        .onRef('break_glass.person_id', '=', 'persons.id')
        .on('break_glass.user_id', '=', userId)
        .on('break_glass.expires_at', '>', now),
    );

const personFile = prepared((db, personId: string, tenantId: string, now: string, userId: string) =>
  filesWithReach(db, now, userId)
    .select([
      'persons.id as person_id',
      'persons.department_id',
      'shares.to_department_id',
      'break_glass.id as grant_id',
    ])
    .where('persons.id', '=', personId)
    .where('persons.tenant_id', '=', tenantId),
);

const recordFile = prepared((db, recordId: string, tenantId: string, now: string, userId: string) =>
  // The same plan as from `records` (SQLite and PostgreSQL reorder inner joins; the outer ones hang on `persons` only).
  filesWithReach(db, now, userId)
    .innerJoin('records', 'records.person_id', 'persons.id')
    .innerJoin('departments', 'departments.id', 'persons.department_id')
    .select([
      'records.person_id',
      'records.sensitivity',
      'persons.department_id',
      'departments.restricted_listing',
      'shares.to_department_id',
      'break_glass.id as grant_id',
    ])
    .where('records.id', '=', recordId)
    .where('records.tenant_id', '=', tenantId)
    .where('records.deleted_at', 'is', null),
);

// Issue 17: documents
const documentFile = prepared((db, documentId: string, tenantId: string, now: string, userId: string) =>
  filesWithReach(db, now, userId)
    .innerJoin('documents', 'documents.person_id', 'persons.id')
    .innerJoin('departments', 'departments.id', 'persons.department_id')
    .select([
      'persons.id as person_id',
      'documents.sensitivity',
      'persons.department_id',
      'departments.restricted_listing',
      'shares.to_department_id',
      'break_glass.id as grant_id',
    ])
    .where('documents.id', '=', documentId)
    .where('documents.tenant_id', '=', tenantId)
    .where('documents.deleted_at', 'is', null),
);

/** Returns null when the resource does not exist in the caller's tenant. */
export async function resolve(tx: Tx, p: Principal, ref: ResourceRef, now: string): Promise<Resolved | null> {
  /** A file named by a row that points to it (a share, an emergency search's hit), decided as the file. */
  const fileOfPerson = async (personId: string, resourceId: string) =>
    fileOf(await personFile(tx, personId, p.tenantId, now, p.userId), resourceId, 'normal');
  switch (ref.kind) {
    case 'person':
      return fileOf(
        await personFile(tx, ref.personId, p.tenantId, now, p.userId),
        ref.personId,
        ref.sensitivity ?? 'normal',
      );
    case 'record': {
      const rows = await recordFile(tx, ref.recordId, p.tenantId, now, p.userId);
      const resolved = fileOf(rows, ref.recordId, maxSensitivity(rows[0]?.sensitivity as Sensitivity, ref.sensitivity));
      // Where the department hides restricted entries from those who may not read them, such an entry is not there for them.
      if (resolved && rows[0]!.sensitivity === 'restricted' && rows[0]!.restricted_listing === 'hidden')
        (resolved.resource as FileFacts).hiddenUnlessReadable = true;
      return resolved;
    }
    case 'share': {
      const share = await tx
        .selectFrom('shares')
        .select('person_id')
        .where('id', '=', ref.shareId)
        .where('tenant_id', '=', p.tenantId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return share ? fileOfPerson(share.person_id, ref.shareId) : null;
    }
    case 'review': {
      const bg = await tx
        .selectFrom('break_glass')
        .select(['person_id', 'department_id'])
        .where('id', '=', ref.reviewId)
        .where('tenant_id', '=', p.tenantId)
        .executeTakeFirst();
      if (bg)
        return resolvedAs(
          { kind: 'review', departmentId: bg.department_id },
          ref.reviewId,
          bg.person_id,
          bg.department_id,
        );
      // An emergency search: of no department and no one file (the files it showed are in its own audit events).
      const search = await tx
        .selectFrom('emergency_searches')
        .select('id')
        .where('id', '=', ref.reviewId)
        .where('tenant_id', '=', p.tenantId)
        .executeTakeFirst();
      return search ? resolvedAs({ kind: 'review', departmentId: null }, ref.reviewId) : null;
    }
    case 'emergency-hit': {
      const hit = await tx
        .selectFrom('emergency_hits')
        .select('person_id')
        .where('id', '=', ref.hitId)
        .where('tenant_id', '=', p.tenantId)
        .where('user_id', '=', p.userId)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return hit ? fileOfPerson(hit.person_id, ref.hitId) : null;
    }
    case 'department':
      return resolvedAs(ref, ref.departmentId, null, ref.departmentId);
    case 'user': {
      const user = await tx
        .selectFrom('users')
        .select('id')
        .where('id', '=', ref.userId)
        .where('tenant_id', '=', p.tenantId)
        .executeTakeFirst();
      return user ? resolvedAs(ref, ref.userId) : null;
    }
    case 'approval': {
      const approval = await approvalFacts(tx, p.tenantId, ref.approvalId);
      return approval ? resolvedAs(approval, ref.approvalId, null, approval.departmentId) : null;
    }
    case 'device': {
      const device = await tx
        .selectFrom('devices')
        .select('department_id')
        .where('id', '=', ref.deviceId)
        .where('tenant_id', '=', p.tenantId)
        .executeTakeFirst();
      // Administered by the tenant's admins, whatever department it serves.
      return device ? resolvedAs({ kind: 'tenant' }, ref.deviceId, null, device.department_id) : null;
    }
    case 'study':
      return studyOf(tx, p, ref.studyUid, now);
    case 'tenant':
      return resolvedAs(ref, null);
    // Issue 16: outbreaks
    case 'outbreak':
      return ofDepartment(tx, 'outbreaks', ref.outbreakId, p.tenantId);
    // Issue 16: person merge
    case 'person-merge': {
      const merge = await tx
        .selectFrom('person_merges')
        .select('survivor_id')
        .where('id', '=', ref.mergeId)
        .where('tenant_id', '=', p.tenantId)
        .executeTakeFirst();
      return merge ? fileOfPerson(merge.survivor_id, ref.mergeId) : null;
    }
    // Issue 16: transmission
    case 'transmission':
      return ofDepartment(tx, 'transmissions', ref.transmissionId, p.tenantId);
    // Issue 17: documents
    case 'document': {
      const rows = await documentFile(tx, ref.documentId, p.tenantId, now, p.userId);
      const resolved = fileOf(
        rows,
        ref.documentId,
        maxSensitivity(rows[0]?.sensitivity as Sensitivity, ref.sensitivity),
      );
      // Like a record: where the department hides restricted entries from those who may not read them.
      if (resolved && rows[0]!.sensitivity === 'restricted' && rows[0]!.restricted_listing === 'hidden')
        (resolved.resource as FileFacts).hiddenUnlessReadable = true;
      return resolved;
    }
    case 'mailroom-item': {
      const d = await tx
        .selectFrom('documents')
        .select('department_id')
        .where('id', '=', ref.documentId)
        .where('tenant_id', '=', p.tenantId)
        .where('person_id', 'is', null)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      return d
        ? resolvedAs({ kind: 'department', departmentId: d.department_id }, ref.documentId, null, d.department_id)
        : null;
    }
    // Issue 17: tasks
    case 'task': {
      const t = await tx
        .selectFrom('tasks')
        .innerJoin('departments', 'departments.id', 'tasks.department_id')
        .select(['tasks.person_id', 'tasks.department_id', 'tasks.sensitivity', 'departments.restricted_listing'])
        .where('tasks.id', '=', ref.taskId)
        .where('tasks.tenant_id', '=', p.tenantId)
        .executeTakeFirst();
      if (!t) return null;
      if (t.person_id === null)
        return resolvedAs({ kind: 'department', departmentId: t.department_id }, ref.taskId, null, t.department_id);
      const resolved = fileOf(
        await personFile(tx, t.person_id, p.tenantId, now, p.userId),
        ref.taskId,
        t.sensitivity as Sensitivity,
      );
      // Like a record: where the department hides restricted entries from those who may not read them, not there.
      if (resolved && t.sensitivity === 'restricted' && t.restricted_listing === 'hidden')
        (resolved.resource as FileFacts).hiddenUnlessReadable = true;
      return resolved;
    }
    // Issue 17: letters
    case 'letter-template': {
      const t = await tx
        .selectFrom('letter_templates')
        .select('department_id')
        .where('id', '=', ref.templateId)
        .where('tenant_id', '=', p.tenantId)
        .executeTakeFirst();
      return t ? resolvedAs({ kind: 'tenant' }, ref.templateId, null, t.department_id) : null;
    }
    case 'letter-run':
      return ofDepartment(tx, 'letter_runs', ref.runId, p.tenantId);
    // Issue 17: import
    case 'import':
      return ofDepartment(tx, 'import_jobs', ref.importId, p.tenantId);
    case 'installation': {
      const row = await tx
        .selectFrom('tenants')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .executeTakeFirst();
      return resolvedAs({ kind: 'installation', offices: Number(row?.n ?? 0) }, null);
    }
    // Issue 16: inbox
    case 'notification': {
      const n = await tx
        .selectFrom('demis_notifications')
        .select(['department_id', 'person_id'])
        .where('id', '=', ref.notificationId)
        .where('tenant_id', '=', p.tenantId)
        .executeTakeFirst();
      return n
        ? resolvedAs(
            { kind: 'department', departmentId: n.department_id },
            ref.notificationId,
            n.person_id,
            n.department_id,
          )
        : null;
    }
    case 'quarantine':
      return ofDepartment(tx, 'demis_quarantine', ref.quarantineId, p.tenantId);
  }
}

/**
 * A study is decided as the file it is linked to; an unlinked one as a file
 * of its department that is shared with no one. The same UID may have
 * arrived in several departments: the copy meant is the one in a department
 * of the caller's, else one the caller reaches through a share or a grant.
 */
async function studyOf(tx: Tx, p: Principal, studyUid: string, now: string): Promise<Resolved | null> {
  const copies = await tx
    .selectFrom('studies')
    .select(['id', 'department_id', 'person_id'])
    .where('tenant_id', '=', p.tenantId)
    .where('study_uid', '=', studyUid)
    .orderBy('id')
    .execute();
  const resolved = await Promise.all(
    copies.map(async (c): Promise<Resolved | null> => {
      // Linked only ever to a file of the study's own department (instance-index.ts, routes/studies.ts).
      if (c.person_id) return fileOf(await personFile(tx, c.person_id, p.tenantId, now, p.userId), c.id, 'normal');
      const facts: FileFacts = {
        kind: 'file',
        departmentId: c.department_id,
        sharedWith: [],
        breakGlass: false,
        sensitivity: 'normal',
      };
      return resolvedAs(facts, c.id, null, c.department_id);
    }),
  );
  const mine = new Set(p.memberships.map((m) => m.departmentId));
  const reached = (r: Resolved) =>
    r.resource.kind === 'file' && (r.resource.breakGlass || r.resource.sharedWith.some((d) => mine.has(d)));
  const found = resolved.filter((r): r is Resolved => r !== null);
  return found.find((r) => mine.has(r.departmentId!)) ?? found.find(reached) ?? found[0] ?? null;
}

/** Tables of things a department owns, each decided as its department (another department's: hidden). */
type DepartmentOwned = 'outbreaks' | 'transmissions' | 'demis_quarantine' | 'letter_runs' | 'import_jobs';

/** A row of a department-owned table named by its id, resolved to its department; null when not in the tenant. */
async function ofDepartment(tx: Tx, table: DepartmentOwned, id: string, tenantId: string): Promise<Resolved | null> {
  const row = await tx
    .selectFrom(table)
    .select('department_id')
    .where('id', '=', id)
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
  return row ? resolvedAs({ kind: 'department', departmentId: row.department_id }, id, null, row.department_id) : null;
}

/** What the policy decides on, and what the audit event records about it. */
const resolvedAs = (
  resource: Resource,
  resourceId: string | null,
  personId: string | null = null,
  departmentId: string | null = null,
): Resolved => ({ resource, resourceId, personId, departmentId });

/** The file's facts from its (share × grant) rows; null when there are none, i.e. no such file. */
function fileOf(
  rows: { person_id: string; department_id: string; to_department_id: string | null; grant_id: string | null }[],
  resourceId: string,
  sensitivity: Sensitivity,
): Resolved | null {
  const file = rows[0];
  if (!file) return null;
  const facts: FileFacts = {
    kind: 'file',
    departmentId: file.department_id,
    sharedWith: [...new Set(rows.flatMap((r) => (r.to_department_id ? [r.to_department_id] : [])))],
    breakGlass: rows.some((r) => r.grant_id !== null),
    sensitivity,
  };
  return resolvedAs(facts, resourceId, file.person_id, file.department_id);
}
