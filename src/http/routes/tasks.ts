// Tasks and deadlines (issue 17): a file's tasks (list, new), a department's own task, a change on top of a
// task's version (done, cancelled, reopened, edited), the department's worklist and whom a task may be
// assigned to. The work is src/desk/tasks.ts's and tasks-worklist.ts's.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import { gated } from '../access.ts';
import { id, idParams } from '../schemas.ts';
import { TASK_SECTIONS, TASK_TYPES, fileTasks, taskAssignees, taskWritten, worklist } from '../../contract/tasks.ts';
import { departmentTaskInput, fileTaskInput, taskUpdate } from '../../desk/tasks.ts';

const worklistQuery = z.strictObject({
  type: z.enum(TASK_TYPES).optional(),
  assignee: id.optional(),
  section: z.enum(TASK_SECTIONS).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  after: z.string().max(200).optional(),
});

export function taskRoutes(app: FastifyInstance, s: Services) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const department = (departmentId: string) => ({ kind: 'department' as const, departmentId });

  r.get(
    '/api/persons/:id/tasks',
    {
      config: { access: { actions: ['task.list'], resource: 'person' } },
      schema: {
        params: idParams,
        response: { 200: fileTasks },
        description: "The file's tasks: open ones by due date, then closed ones (newest first).",
      },
    },
    async (req) =>
      gated(s, req, 'task.list', { kind: 'person', personId: req.params.id }, (ctx) => s.tasks.listOfFile(ctx)),
  );

  r.post(
    '/api/persons/:id/tasks',
    {
      config: { access: { actions: ['task.create'], resource: 'person' } },
      schema: {
        params: idParams,
        body: fileTaskInput,
        response: { 201: taskWritten },
        description:
          'A new task in the file: title (at most 200 characters) and note sealed with the file; assigned to a member of ' +
          'the department or (no `assigneeId`) to the whole department; optionally linked to a record of the file, a ' +
          "notification or a study of the department. A restricted record's task is restricted.",
      },
    },
    async (req, reply) => {
      const ref = { kind: 'person' as const, personId: req.params.id, sensitivity: req.body.sensitivity ?? 'normal' };
      const made = await gated(s, req, 'task.create', ref, (ctx) => s.tasks.createInFile(ctx, req.body));
      return reply.code(201).send(made);
    },
  );

  r.post(
    '/api/departments/:id/tasks',
    {
      config: { access: { actions: ['task.create'], resource: 'department' } },
      schema: {
        params: idParams,
        body: departmentTaskInput,
        response: { 201: taskWritten },
        description: "A task of the department itself (no file): sealed with the department's key.",
      },
    },
    async (req, reply) => {
      const made = await gated(s, req, 'task.create', department(req.params.id), (ctx) =>
        s.tasks.createInDepartment(ctx, req.body),
      );
      return reply.code(201).send(made);
    },
  );

  r.get(
    '/api/departments/:id/tasks',
    {
      config: { access: { actions: ['task.worklist'], resource: 'department' } },
      schema: {
        params: idParams,
        querystring: worklistQuery,
        response: { 200: worklist },
        description:
          "The department's open tasks by due date (the caller's own and the whole department's; a head's: all, " +
          '`assignee` = `me`, `department` or a member id), with counts per section (overdue, today, upcoming, by the ' +
          "office's day in Europe/Berlin); `next` is the cursor (`after`) of the following page.",
      },
    },
    async (req) =>
      gated(s, req, 'task.worklist', department(req.params.id), (ctx) => s.taskWorklist.page(ctx, req.query)),
  );

  r.get(
    '/api/departments/:id/task-assignees',
    {
      config: { access: { actions: ['task.worklist'], resource: 'department' } },
      schema: {
        params: idParams,
        response: { 200: taskAssignees },
        description: "The department's active members by name: whom a task may be assigned to.",
      },
    },
    async (req) => gated(s, req, 'task.worklist', department(req.params.id), (ctx) => s.tasks.assignees(ctx)),
  );

  r.patch(
    '/api/tasks/:id',
    {
      config: { access: { actions: ['task.update'], resource: 'task' } },
      schema: {
        params: idParams,
        body: taskUpdate,
        response: { 200: taskWritten },
        description:
          'Changes a task on top of `version` (409 `stale-version` with the current one otherwise): only the fields ' +
          'given. `state` `done` or `cancelled` closes it (who and when are kept), `open` reopens it.',
      },
    },
    async (req) =>
      gated(s, req, 'task.update', { kind: 'task', taskId: req.params.id }, (ctx) =>
        s.tasks.update(ctx, req.params.id, req.body),
      ),
  );
}
