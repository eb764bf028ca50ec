// Answers about tasks and deadlines (Wiedervorlage, issue 17): a file's tasks, a department's worklist
// (overdue, due today, upcoming), a task as written. zod schemas the server checks its answers against;
// the browser reads their types and the closed sets below. Imports only zod.
import { z } from 'zod';

/** What a task is about: a closed set, filterable in the worklist; a record type's rules use the same. */
export const TASK_TYPES = ['follow-up-exam', 'expert-opinion', 'letter', 'call', 'other'] as const;
export const TASK_STATES = ['open', 'done', 'cancelled'] as const;
/** What a task may point to: a record of its file, a DEMIS notification or a study of its department. */
export const TASK_LINK_KINDS = ['record', 'notification', 'study', 'document'] as const;
/** The worklist's sections, by the office's calendar day (Europe/Berlin). */
export const TASK_SECTIONS = ['overdue', 'today', 'upcoming'] as const;

export type TaskType = (typeof TASK_TYPES)[number];
export type TaskSection = (typeof TASK_SECTIONS)[number];

const link = z.strictObject({ kind: z.enum(TASK_LINK_KINDS), id: z.string() });

const task = z.strictObject({
  id: z.string(),
  departmentId: z.string(),
  /** The file the task belongs to; null for a task of the department itself. */
  personId: z.string().nullable(),
  type: z.enum(TASK_TYPES),
  sensitivity: z.enum(['normal', 'restricted']),
  /** Null where the caller may not read it (a restricted task, for a clerk). */
  title: z.string().nullable(),
  note: z.string().nullable(),
  /** ISO date. */
  dueDate: z.string(),
  /** Null: the whole department. */
  assigneeId: z.string().nullable(),
  assigneeName: z.string().nullable(),
  state: z.enum(TASK_STATES),
  link: link.nullable(),
  /** `manual`, or `rule:<recordType>:<ruleId>` for a task a record type's rule made. */
  source: z.string(),
  version: z.number(),
  createdAt: z.string(),
  createdBy: z.string(),
  createdByName: z.string().nullable(),
  closedAt: z.string().nullable(),
  closedBy: z.string().nullable(),
  closedByName: z.string().nullable(),
  /** Where it stands on the office's calendar today (an open task's; a closed one's too, by its due date). */
  section: z.enum(TASK_SECTIONS),
});

/** A file's tasks, open ones first by due date, then closed ones newest first. */
export const fileTasks = z.strictObject({
  /** The file's department: whose members a task can be assigned to. */
  departmentId: z.string(),
  items: z.array(task),
  /** Whether the caller may add a task to this file (and restricted ones). */
  create: z.boolean(),
  createRestricted: z.boolean(),
});

const worklistRow = task.extend({
  /** The file's person, unsealed for this page's rows only; null for a department's task (or one not shown). */
  person: z.strictObject({ familyName: z.string(), givenName: z.string(), birthDate: z.string() }).nullable(),
});

/** One page of a department's open tasks, by due date, with the counts per section for the same filter. */
export const worklist = z.strictObject({
  items: z.array(worklistRow),
  next: z.string().nullable(),
  counts: z.strictObject({ overdue: z.number(), today: z.number(), upcoming: z.number() }),
  /** The office's day the sections are counted from. */
  today: z.string(),
  /** Whether the caller sees every task of the department (its head) or only theirs and the department's. */
  all: z.boolean(),
});

/** A department's members a task can be assigned to. */
export const taskAssignees = z.strictObject({
  items: z.array(z.strictObject({ id: z.string(), displayName: z.string() })),
});

export const taskWritten = z.strictObject({ id: z.string(), version: z.number() });

export type Task = z.infer<typeof task>;
export type FileTasks = z.infer<typeof fileTasks>;
export type Worklist = z.infer<typeof worklist>;
export type WorklistRow = z.infer<typeof worklistRow>;
export type TaskAssignees = z.infer<typeof taskAssignees>;
