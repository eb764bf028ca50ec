// Tasks and deadlines (Wiedervorlage, issue 17): a task of a person's file or of a department, made by
// hand (here) or by a record type's rule (task-rules.ts). Title and note are sealed (the file's person
// key, the department's key); type, due date, assignee, state and link are plain. Every change names the
// version it builds on (409 otherwise). The department's worklist is tasks-worklist.ts; a merge moves a
// file's tasks (tasks-merge.ts).
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { decidedDepartment, decidedPerson, type GateContext } from '../access/gate.ts';
import type { Sensitivity } from '../access/policy.ts';
import { TASK_LINK_KINDS, TASK_STATES, TASK_TYPES, type FileTasks } from '../contract/tasks.ts';
import { fieldRefused, KarteiError } from '../errors.ts';
import { restrictedListing } from '../identity/departments.ts';
import { displayNames } from '../identity/users.ts';
import { lockFile, refuseMerged, stale } from '../records/persons.ts';
import type { Keyring } from '../vault/keyring.ts';
import {
  checkAssignee,
  checkLink,
  linkedSensitivity,
  openTask,
  sealTask,
  taskKey,
  today,
  viewOf,
  type TaskRow,
} from './tasks-shared.ts';

/** A title says what to do; longer text belongs in the note. */
const TITLE_MAX = 200;
const NOTE_MAX = 5_000;

const title = z.string().trim().min(1).max(TITLE_MAX);
const note = z.string().trim().max(NOTE_MAX).nullable().optional();
const userId = z.string().min(1).max(64);
const link = z.strictObject({ kind: z.enum(TASK_LINK_KINDS), id: z.string().trim().min(1).max(64) });

/** A new task of a file. */
export const fileTaskInput = z.strictObject({
  title,
  note,
  dueDate: z.iso.date(),
  type: z.enum(TASK_TYPES),
  /** Null or absent: the whole department. */
  assigneeId: userId.nullable().optional(),
  sensitivity: z.enum(['normal', 'restricted']).optional(),
  link: link.nullable().optional(),
});
/** A new task of the department itself: no file, so no record to point to and nothing restricted. */
export const departmentTaskInput = fileTaskInput.omit({ sensitivity: true });
/** A change on top of `version`: only what is given changes. */
export const taskUpdate = z.strictObject({
  version: z.number().int().positive(),
  title: title.optional(),
  note,
  dueDate: z.iso.date().optional(),
  type: z.enum(TASK_TYPES).optional(),
  assigneeId: userId.nullable().optional(),
  state: z.enum(TASK_STATES).optional(),
  sensitivity: z.enum(['normal', 'restricted']).optional(),
  link: link.nullable().optional(),
});
type FileTaskInput = z.infer<typeof fileTaskInput>;
type TaskUpdate = z.infer<typeof taskUpdate>;

const maxSensitivity = (a: Sensitivity, b: Sensitivity): Sensitivity =>
  a === 'restricted' || b === 'restricted' ? 'restricted' : 'normal';

export class Tasks {
  private readonly keyring: Keyring;
  constructor(keyring: Keyring) {
    this.keyring = keyring;
  }

  /** A task in the file the gate decided on (`task.create` on the person, at the task's sensitivity). */
  async createInFile(ctx: GateContext, input: FileTaskInput): Promise<{ id: string; version: number }> {
    const personId = decidedPerson(ctx);
    // A file merged into another takes nothing new, and a merge running now waits for this.
    await lockFile(ctx, personId);
    await refuseMerged(ctx, personId);
    return this.insert(ctx, ctx.target.departmentId!, personId, input);
  }

  /** A task of the department the gate decided on (`task.create` on the department). */
  async createInDepartment(ctx: GateContext, input: Omit<FileTaskInput, 'sensitivity'>) {
    return this.insert(ctx, decidedDepartment(ctx), null, input);
  }

  private async insert(ctx: GateContext, departmentId: string, personId: string | null, input: FileTaskInput) {
    const tenantId = ctx.principal.tenantId;
    await checkAssignee(ctx, departmentId, input.assigneeId);
    const linked = await checkLink(ctx, { departmentId, personId }, input.link);
    const sensitivity = maxSensitivity(input.sensitivity ?? 'normal', linked);
    // A restricted record's task is restricted: whoever may read that record may write such a task.
    if (sensitivity === 'restricted' && !ctx.may('task.create', 'restricted')) throw new KarteiError('forbidden');
    const id = randomUUID();
    const key = await taskKey(this.keyring, ctx, { department_id: departmentId, person_id: personId });
    await ctx.tx
      .insertInto('tasks')
      .values({
        id,
        tenant_id: tenantId,
        department_id: departmentId,
        person_id: personId,
        version: 1,
        type: input.type,
        sensitivity,
        ...sealTask(key, tenantId, id, input.title, input.note || null),
        due_date: input.dueDate,
        assignee_id: input.assigneeId ?? null,
        state: 'open',
        link_kind: input.link?.kind ?? null,
        link_id: input.link?.id ?? null,
        source: 'manual',
        rule_key: null,
        rule_due: null,
        rule_cancelled: 0,
        created_at: ctx.now,
        created_by: ctx.principal.userId,
        updated_at: ctx.now,
        updated_by: ctx.principal.userId,
        closed_at: null,
        closed_by: null,
      })
      .execute();
    ctx.audit.resourceId = id;
    ctx.audit.detail = {
      type: input.type,
      assigned: !!input.assigneeId,
      ...(input.link ? { link: input.link.kind } : {}),
    };
    return { id, version: 1 };
  }

  /**
   * The tasks of the file the gate decided on (`task.list`): open ones by due date, then closed ones,
   * newest first. Restricted ones like records: without title for whoever may not read them, or not
   * listed where the department hides such entries.
   */
  async listOfFile(ctx: GateContext): Promise<FileTasks> {
    const personId = decidedPerson(ctx);
    const tenantId = ctx.principal.tenantId;
    const readsRestricted = ctx.may('task.list', 'restricted');
    let q = ctx.tx
      .selectFrom('tasks')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('person_id', '=', personId)
      .where('department_id', '=', ctx.target.departmentId!);
    if (!readsRestricted && (await restrictedListing(ctx, ctx.target.departmentId!)) === 'hidden')
      q = q.where('sensitivity', '=', 'normal');
    const rows = (await q.orderBy('due_date').orderBy('id').limit(1_000).execute()) as TaskRow[];
    const open = rows.filter((r) => r.state === 'open');
    const closed = rows
      .filter((r) => r.state !== 'open')
      .sort((a, b) => (b.closed_at ?? '').localeCompare(a.closed_at ?? ''));
    const key = rows.length
      ? await taskKey(this.keyring, ctx, { department_id: ctx.target.departmentId!, person_id: personId })
      : null;
    const names = await displayNames(
      ctx,
      this.keyring,
      rows.flatMap((r) => [r.created_by, r.assignee_id, r.closed_by]),
    );
    const day = today(ctx);
    const items = [...open, ...closed].map((r) =>
      viewOf(r, r.sensitivity === 'normal' || readsRestricted ? openTask(key!, tenantId, r) : null, names, day),
    );
    ctx.audit.detail = { count: items.length, open: open.length };
    return {
      departmentId: ctx.target.departmentId!,
      items,
      create: ctx.may('task.create'),
      createRestricted: ctx.may('task.create', 'restricted'),
    };
  }

  /** Changes the task the gate decided on (`task.update`) on top of `version`; a stale one answers 409. */
  async update(ctx: GateContext, taskId: string, patch: TaskUpdate): Promise<{ id: string; version: number }> {
    const tenantId = ctx.principal.tenantId;
    if (ctx.target.personId) await lockFile(ctx, ctx.target.personId);
    const row = (await ctx.tx
      .selectFrom('tasks')
      .selectAll()
      .where('id', '=', taskId)
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst()) as TaskRow | undefined;
    if (!row) throw new KarteiError('not-found');
    // Moved to another file by a merge since the gate decided: sealed now, it would be sealed for the wrong file.
    if (row.version !== patch.version || row.person_id !== ctx.target.personId) throw stale(row.version);
    const linkGiven = patch.link !== undefined;
    const nextLink = linkGiven ? patch.link : row.link_kind ? { kind: row.link_kind, id: row.link_id! } : null;
    if (row.person_id === null && patch.sensitivity === 'restricted')
      throw fieldRefused('validation-failed', 'sensitivity', 'invalid', "a department's task is not restricted");
    await checkAssignee(ctx, row.department_id, patch.assigneeId);
    const linked = linkGiven
      ? await checkLink(ctx, { departmentId: row.department_id, personId: row.person_id }, patch.link)
      : await linkedSensitivity(ctx, row);
    const sensitivity = maxSensitivity(patch.sensitivity ?? (row.sensitivity as Sensitivity), linked);
    if (!ctx.may('task.update', sensitivity)) throw new KarteiError('forbidden');
    const key = await taskKey(this.keyring, ctx, row);
    const current = openTask(key, tenantId, row);
    const state = patch.state ?? row.state;
    const closing = state !== row.state;
    const next = patch.version + 1;
    const moved = await ctx.tx
      .updateTable('tasks')
      .set({
        version: next,
        type: patch.type ?? row.type,
        sensitivity,
        ...(patch.title !== undefined || patch.note !== undefined
          ? sealTask(
              key,
              tenantId,
              row.id,
              patch.title ?? current.title,
              patch.note === undefined ? current.note : patch.note || null,
            )
          : {}),
        due_date: patch.dueDate ?? row.due_date,
        assignee_id: patch.assigneeId === undefined ? row.assignee_id : patch.assigneeId,
        state,
        ...(closing ? { rule_cancelled: 0 } : {}),
        link_kind: nextLink?.kind ?? null,
        link_id: nextLink?.id ?? null,
        updated_at: ctx.now,
        updated_by: ctx.principal.userId,
        ...(closing
          ? state === 'open'
            ? { closed_at: null, closed_by: null }
            : { closed_at: ctx.now, closed_by: ctx.principal.userId }
          : {}),
      })
      .where('id', '=', row.id)
      .where('tenant_id', '=', tenantId)
      .where('version', '=', patch.version)
      .executeTakeFirst();
    if (Number(moved.numUpdatedRows) !== 1) throw stale(next);
    ctx.audit.detail = {
      version: next,
      ...(closing ? { state } : {}),
      changed: Object.keys(patch)
        .filter((k) => k !== 'version')
        .sort()
        .join(','),
    };
    return { id: row.id, version: next };
  }

  /** Who a task of the department the gate decided on may be assigned to: its active members, by name. */
  async assignees(ctx: GateContext) {
    const departmentId = decidedDepartment(ctx);
    const rows = await ctx.tx
      .selectFrom('memberships')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .select('memberships.user_id')
      .where('memberships.department_id', '=', departmentId)
      .where('users.tenant_id', '=', ctx.principal.tenantId)
      .where('users.active', '=', 1)
      .execute();
    const ids = [...new Set(rows.map((r) => r.user_id))];
    const names = await displayNames(ctx, this.keyring, ids);
    const items = ids
      .map((id) => ({ id, displayName: names.get(id) ?? id }))
      .sort((a, b) => a.displayName.localeCompare(b.displayName, 'de'));
    ctx.audit.detail = { count: items.length };
    return { items };
  }
}
