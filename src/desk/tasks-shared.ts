// What the task modules share (issue 17): the sealed fields' bindings and keys (a file's task under its
// person key, a department's under the department key), a row as the API answers it, the office's day
// and its sections, and the checks of an assignee (an active member of the department) and of a link
// (a record of the file the caller may read, a notification or a study of the department).
import type { GateContext } from '../access/gate.ts';
import type { Sensitivity } from '../access/policy.ts';
import type { TASK_LINK_KINDS, Task, TaskSection } from '../contract/tasks.ts';
import type { TasksTable } from '../db/schema.ts';
import { fieldRefused } from '../errors.ts';
import { officeDay } from '../infection/incubation.ts';
import { openField, sealField, type Keyring } from '../vault/keyring.ts';

/** A task's row as stored (migration 029). */
export type TaskRow = TasksTable;

/** A task's sealed field, bound to the task (not to its file: a merge re-seals it under the other key, same binding). */
const taskBinding = (tenantId: string, taskId: string, field: 'title' | 'note') => ({
  tenantId,
  table: 'tasks',
  rowId: taskId,
  field,
});

/** The key a task's title and note are sealed with: its file's person key, or its department's key. */
export function taskKey(
  keyring: Keyring,
  ctx: GateContext,
  t: { department_id: string; person_id: string | null },
): Promise<Buffer> {
  const tenantId = ctx.principal.tenantId;
  return t.person_id === null
    ? keyring.departmentKey(ctx.tx, tenantId, t.department_id)
    : keyring.personKey(ctx.tx, tenantId, t.department_id, t.person_id);
}

export const sealTask = (key: Buffer, tenantId: string, taskId: string, title: string, note: string | null) => ({
  title_enc: sealField(key, taskBinding(tenantId, taskId, 'title'), title),
  note_enc: note === null ? null : sealField(key, taskBinding(tenantId, taskId, 'note'), note),
});

export const openTask = (key: Buffer, tenantId: string, t: Pick<TaskRow, 'id' | 'title_enc' | 'note_enc'>) => ({
  title: openField<string>(key, taskBinding(tenantId, t.id, 'title'), t.title_enc),
  note: t.note_enc ? openField<string>(key, taskBinding(tenantId, t.id, 'note'), t.note_enc) : null,
});

/** The office's calendar day now (Europe/Berlin). */
export const today = (ctx: GateContext) => officeDay(ctx.now);

const sectionOf = (dueDate: string, day: string): TaskSection =>
  dueDate < day ? 'overdue' : dueDate === day ? 'today' : 'upcoming';

/** A row as the API answers it; `opened` null where the caller may not read the task's title. */
export function viewOf(
  t: TaskRow,
  opened: { title: string; note: string | null } | null,
  names: Map<string, string>,
  day: string,
): Task {
  return {
    id: t.id,
    departmentId: t.department_id,
    personId: t.person_id,
    type: t.type as Task['type'],
    sensitivity: t.sensitivity as Sensitivity,
    title: opened?.title ?? null,
    note: opened?.note ?? null,
    dueDate: t.due_date,
    assigneeId: t.assignee_id,
    assigneeName: t.assignee_id ? (names.get(t.assignee_id) ?? null) : null,
    state: t.state as Task['state'],
    link: t.link_kind && t.link_id ? { kind: t.link_kind as LinkKind, id: t.link_id } : null,
    source: t.source,
    version: t.version,
    createdAt: t.created_at,
    createdBy: t.created_by,
    createdByName: names.get(t.created_by) ?? null,
    closedAt: t.closed_at,
    closedBy: t.closed_by,
    closedByName: t.closed_by ? (names.get(t.closed_by) ?? null) : null,
    section: sectionOf(t.due_date, day),
  };
}

/** Refuses an assignee who is not an active member of the department (field `assigneeId`). */
export async function checkAssignee(ctx: GateContext, departmentId: string, assigneeId: string | null | undefined) {
  if (!assigneeId) return;
  const member = await ctx.tx
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select('memberships.user_id')
    .where('memberships.user_id', '=', assigneeId)
    .where('memberships.department_id', '=', departmentId)
    .where('users.tenant_id', '=', ctx.principal.tenantId)
    .where('users.active', '=', 1)
    .executeTakeFirst();
  if (!member)
    throw fieldRefused(
      'validation-failed',
      'assigneeId',
      'not-member',
      "must be an active member of the task's department",
    );
}

type LinkKind = (typeof TASK_LINK_KINDS)[number];

/**
 * Checks what a task points to and answers the sensitivity it brings: a live record of the task's file
 * that the caller may read (a restricted record makes the task restricted), a notification or a study of
 * the task's department. Anything else — none, another file's, another department's, one the caller may
 * not read — is the same refusal (field `link.id`), so nothing is learnt about it.
 */
export async function checkLink(
  ctx: GateContext,
  task: { departmentId: string; personId: string | null },
  link: { kind: LinkKind; id: string } | null | undefined,
): Promise<Sensitivity> {
  if (!link) return 'normal';
  const tenantId = ctx.principal.tenantId;
  const unknown = () =>
    fieldRefused(
      'validation-failed',
      'link.id',
      'link-unknown',
      'no such record, notification, study or document here',
    );
  switch (link.kind) {
    case 'record': {
      if (task.personId === null) throw unknown();
      const r = await ctx.tx
        .selectFrom('records')
        .select(['person_id', 'sensitivity'])
        .where('id', '=', link.id)
        .where('tenant_id', '=', tenantId)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      if (!r || r.person_id !== task.personId || !ctx.may('record.read', r.sensitivity as Sensitivity)) throw unknown();
      return r.sensitivity as Sensitivity;
    }
    case 'notification': {
      const n = await ctx.tx
        .selectFrom('demis_notifications')
        .select('department_id')
        .where('id', '=', link.id)
        .where('tenant_id', '=', tenantId)
        .executeTakeFirst();
      if (!n || n.department_id !== task.departmentId) throw unknown();
      return 'normal';
    }
    case 'study': {
      const st = await ctx.tx
        .selectFrom('studies')
        .select('person_id')
        .where('study_uid', '=', link.id)
        .where('tenant_id', '=', tenantId)
        .where('department_id', '=', task.departmentId)
        .executeTakeFirst();
      if (!st || (task.personId !== null && st.person_id !== null && st.person_id !== task.personId)) throw unknown();
      return 'normal';
    }
    // Issue 17: walk — a document of the task's file the caller may read (a letter to send, a reply to check).
    case 'document': {
      if (task.personId === null) throw unknown();
      const d = await ctx.tx
        .selectFrom('documents')
        .select(['person_id', 'sensitivity'])
        .where('id', '=', link.id)
        .where('tenant_id', '=', tenantId)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      if (!d || d.person_id !== task.personId || !ctx.may('document.read', d.sensitivity as Sensitivity))
        throw unknown();
      return d.sensitivity as Sensitivity;
    }
  }
}

/**
 * The sensitivity the task's current link brings (a record's or a document's, a deleted one's too): a change that
 * does not name a new link keeps it, so a task of a restricted record is not made normal by asking.
 */
export async function linkedSensitivity(
  ctx: GateContext,
  task: { link_kind: string | null; link_id: string | null },
): Promise<Sensitivity> {
  const { link_kind: kind, link_id: id } = task;
  if (!id || (kind !== 'record' && kind !== 'document')) return 'normal';
  const tenantId = ctx.principal.tenantId;
  const r =
    kind === 'record'
      ? await ctx.tx
          .selectFrom('records')
          .select('sensitivity')
          .where('id', '=', id)
          .where('tenant_id', '=', tenantId)
          .executeTakeFirst()
      : await ctx.tx
          .selectFrom('documents')
          .select('sensitivity')
          .where('id', '=', id)
          .where('tenant_id', '=', tenantId)
          .executeTakeFirst();
  return (r?.sensitivity as Sensitivity | undefined) ?? 'normal';
}
