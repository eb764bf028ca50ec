// A department's outbreaks and numbers (issue 16): list, create, read, change on top of a version,
// the timeline, putting a case into an outbreak or taking it out (an update of the case's record,
// decided and audited as such), and cases per disease, reporting week, status and outbreak.
// The work is src/infection/outbreaks.ts's and numbers.ts's.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import { gated } from '../access.ts';
import { id, idParams, version } from '../schemas.ts';
import { created } from '../../contract/common.ts';
import {
  departmentNumbers as numbersAnswer,
  outbreakCaseChanged,
  outbreakList,
  outbreakView,
} from '../../contract/infection-outbreaks.ts';
import { outbreakInput, outbreakUpdate, timelineInput } from '../../infection/outbreaks.ts';
import { departmentNumbers, MAX_WEEKS, weekMonday } from '../../infection/numbers.ts';

const isoWeek = z
  .string()
  .max(8)
  .refine((w) => weekMonday(w) !== null, {
    message: 'an ISO week such as 2026-W49',
    params: { code: 'invalid-format' },
  });

/** `from` and `to` as ISO weeks, `from` ≤ `to`, at most two years apart; each problem names its field. */
const weekRange = z.strictObject({ from: isoWeek, to: isoWeek }).superRefine((q, ctx) => {
  const from = weekMonday(q.from);
  const to = weekMonday(q.to);
  if (!from || !to) return;
  if (to < from)
    ctx.addIssue({
      code: 'custom',
      path: ['to'],
      message: 'must not lie before `from`',
      params: { code: 'date-order' },
    });
  else if ((to.getTime() - from.getTime()) / (7 * 86_400_000) + 1 > MAX_WEEKS)
    ctx.addIssue({
      code: 'custom',
      path: ['to'],
      message: `at most ${MAX_WEEKS} weeks after \`from\``,
      params: { code: 'too-big', max: MAX_WEEKS },
    });
});

export function outbreakRoutes(app: FastifyInstance, s: Services) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const outbreak = (outbreakId: string) => ({ kind: 'outbreak' as const, outbreakId });
  const department = (departmentId: string) => ({ kind: 'department' as const, departmentId });
  const caseRecord = (recordId: string) => ({ kind: 'record' as const, recordId });

  r.get(
    '/api/departments/:id/outbreaks',
    {
      config: { access: { actions: ['outbreak.list'], resource: 'department' } },
      schema: { params: idParams, response: { 200: outbreakList } },
    },
    async (req) =>
      gated(s, req, 'outbreak.list', department(req.params.id), async (ctx) => ({
        items: await s.outbreaks.list(ctx),
      })),
  );

  r.post(
    '/api/departments/:id/outbreaks',
    {
      config: { access: { actions: ['outbreak.create'], resource: 'department' } },
      schema: { params: idParams, body: outbreakInput, response: { 201: created } },
    },
    async (req, reply) => {
      const outbreakId = await gated(s, req, 'outbreak.create', department(req.params.id), (ctx) =>
        s.outbreaks.create(ctx, req.body),
      );
      return reply.code(201).send({ id: outbreakId });
    },
  );

  r.get(
    '/api/outbreaks/:id',
    {
      config: { access: { actions: ['outbreak.read'], resource: 'outbreak' } },
      schema: { params: idParams, response: { 200: outbreakView } },
    },
    async (req) => gated(s, req, 'outbreak.read', outbreak(req.params.id), (ctx) => s.outbreaks.read(ctx, s.records)),
  );

  r.put(
    '/api/outbreaks/:id',
    {
      config: { access: { actions: ['outbreak.update'], resource: 'outbreak' } },
      schema: {
        params: idParams,
        body: outbreakUpdate,
        response: { 200: z.strictObject({ id: z.string(), version: z.number() }) },
      },
    },
    async (req) => {
      const { version: v, ...input } = req.body;
      return gated(s, req, 'outbreak.update', outbreak(req.params.id), (ctx) => s.outbreaks.update(ctx, v, input));
    },
  );

  r.post(
    '/api/outbreaks/:id/timeline',
    {
      config: { access: { actions: ['outbreak.timeline'], resource: 'outbreak' } },
      schema: { params: idParams, body: timelineInput, response: { 201: created } },
    },
    async (req, reply) => {
      const entryId = await gated(s, req, 'outbreak.timeline', outbreak(req.params.id), (ctx) =>
        s.outbreaks.addEntry(ctx, req.body),
      );
      return reply.code(201).send({ id: entryId });
    },
  );

  // A case joins an outbreak by an update of its record: decided as `record.update` on the case
  // (restricted cases: physicians and heads), audited with the outbreak's id, versioned.
  r.post(
    '/api/outbreaks/:id/cases',
    {
      config: { access: { actions: ['record.update'], resource: 'record' } },
      schema: {
        params: idParams,
        body: z.strictObject({ caseId: id, caseVersion: version }),
        response: { 200: outbreakCaseChanged },
      },
    },
    async (req) =>
      gated(s, req, 'record.update', caseRecord(req.body.caseId), (ctx) =>
        s.outbreaks.addCase(ctx, s.records, req.params.id, req.body.caseVersion),
      ),
  );

  r.delete(
    '/api/outbreaks/:id/cases/:caseId',
    {
      config: { access: { actions: ['record.update'], resource: 'record' } },
      schema: {
        params: z.strictObject({ id, caseId: id }),
        querystring: z.strictObject({ caseVersion: z.coerce.number().int().positive().optional() }),
        response: { 200: outbreakCaseChanged },
      },
    },
    async (req) =>
      gated(s, req, 'record.update', caseRecord(req.params.caseId), (ctx) =>
        s.outbreaks.removeCase(ctx, s.records, req.params.id, req.query.caseVersion),
      ),
  );

  r.get(
    '/api/departments/:id/numbers',
    {
      config: { access: { actions: ['numbers.read'], resource: 'department' } },
      schema: {
        params: idParams,
        querystring: weekRange,
        response: { 200: numbersAnswer },
        description:
          'Cases per disease per reporting week (ISO week) from `from` to `to` (e.g. 2026-W40, at most 104 weeks), ' +
          'per status and per outbreak. Deleted cases are not counted; "not-a-case" is counted apart; restricted cases are counted.',
      },
    },
    async (req) =>
      gated(s, req, 'numbers.read', department(req.params.id), (ctx) =>
        departmentNumbers(ctx, s, req.query.from, req.query.to),
      ),
  );
}
