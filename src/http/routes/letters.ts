// Issue 17: letters — the office's letter templates (admins: list, create, change on top of a version, the
// starting templates, a preview as PDF with sample data), the templates a department makes letters from,
// making a letter in a person's file (stored as its document), and bulk runs over a selection of a
// department's files with their progress. The work is src/desk/templates.ts's, letters.ts's and letter-runs.ts's.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import { gated, principalOf } from '../access.ts';
import { id, idParams, version } from '../schemas.ts';
import { created } from '../../contract/common.ts';
import {
  LETTER_TEMPLATE_KINDS,
  letterMade,
  runList,
  runView,
  templateCatalogue,
  templateContent,
  templateList,
  templateSaved,
  templateView,
  usableTemplates,
} from '../../contract/letters.ts';
import { MAX_RUN_FILES } from '../../desk/letter-runs.ts';
import { previewPdf } from '../../desk/letters.ts';
import { catalogueOf, kindRecord } from '../../desk/templates.ts';
import { displayNames } from '../../identity/users.ts';

const PDF = { raw: 'application/pdf: a template filled with sample data, made in memory' };

const runSelection = z.union([
  z.strictObject({ templateId: id, personIds: z.array(id).min(1).max(MAX_RUN_FILES) }),
  z.strictObject({ templateId: id, outbreakId: id }),
]);

export function letterRoutes(app: FastifyInstance, s: Services) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tenant = { kind: 'tenant' as const };
  const template = (templateId: string) => ({ kind: 'letter-template' as const, templateId });
  const department = (departmentId: string) => ({ kind: 'department' as const, departmentId });

  r.get(
    '/api/admin/templates',
    {
      config: { access: { actions: ['admin.template.list'], resource: 'tenant' } },
      schema: { response: { 200: templateList } },
    },
    async (req) =>
      gated(s, req, 'admin.template.list', tenant, async (ctx) => ({ items: await s.templates.list(ctx) })),
  );

  r.get(
    '/api/admin/templates/catalogue',
    {
      config: { access: { actions: ['admin.template.list'], resource: 'tenant' } },
      schema: {
        response: { 200: templateCatalogue },
        description: 'Per template kind: the record type its letters are made for and the fields a template may name.',
      },
    },
    async (req) =>
      gated(s, req, 'admin.template.list', tenant, async () => ({
        kinds: LETTER_TEMPLATE_KINDS.map((kind) => ({ kind, ...kindRecord(kind), fields: catalogueOf(kind) })),
      })),
  );

  r.post(
    '/api/admin/templates',
    {
      config: { access: { actions: ['admin.template.create'], resource: 'tenant' } },
      schema: {
        body: z.strictObject({
          departmentId: id.nullable(),
          kind: z.enum(LETTER_TEMPLATE_KINDS),
          content: templateContent,
        }),
        response: { 201: templateSaved },
      },
    },
    async (req, reply) => {
      const saved = await gated(s, req, 'admin.template.create', tenant, (ctx) => s.templates.create(ctx, req.body));
      return reply.code(201).send(saved);
    },
  );

  r.post(
    '/api/admin/templates/starters',
    {
      config: { access: { actions: ['admin.template.create'], resource: 'tenant' } },
      schema: {
        response: { 200: z.strictObject({ created: z.number() }) },
        description:
          'Creates the starting templates (invitation, §36 certificate, §30 isolation order, expert opinion cover letter) ' +
          'as office templates, for each kind the office has none of yet.',
      },
    },
    async (req) =>
      gated(s, req, 'admin.template.create', tenant, async (ctx) => ({
        created: await s.templates.createStarters(ctx),
      })),
  );

  r.post(
    '/api/admin/templates/preview',
    {
      config: { access: { actions: ['admin.template.preview'], resource: 'tenant' }, answers: PDF },
      schema: { body: z.strictObject({ kind: z.enum(LETTER_TEMPLATE_KINDS), content: templateContent }) },
    },
    async (req, reply) => {
      const bytes = await gated(s, req, 'admin.template.preview', tenant, async (ctx) => {
        const names = await displayNames(ctx, s.keyring, [ctx.principal.userId]);
        ctx.audit.detail = { kind: req.body.kind };
        return previewPdf(req.body.kind, req.body.content, ctx.now, names.get(ctx.principal.userId) ?? '');
      });
      return reply
        .header('cache-control', 'no-store')
        .header('content-disposition', 'inline; filename="Vorschau.pdf"')
        .type('application/pdf')
        .send(bytes);
    },
  );

  r.get(
    '/api/admin/templates/:id',
    {
      config: { access: { actions: ['admin.template.read'], resource: 'letter-template' } },
      schema: { params: idParams, response: { 200: templateView } },
    },
    async (req) =>
      gated(s, req, 'admin.template.read', template(req.params.id), (ctx) => s.templates.read(ctx, req.params.id)),
  );

  r.get(
    '/api/admin/templates/:id/versions/:version',
    {
      config: { access: { actions: ['admin.template.read'], resource: 'letter-template' } },
      schema: {
        params: z.strictObject({ id, version: z.coerce.number().int().positive() }),
        response: { 200: z.strictObject({ id: z.string(), version: z.number(), content: templateContent }) },
      },
    },
    async (req) =>
      gated(s, req, 'admin.template.read', template(req.params.id), async (ctx) => {
        const t = await s.templates.version(ctx, req.params.id, req.params.version);
        return { id: t.id, version: t.version, content: t.content };
      }),
  );

  r.put(
    '/api/admin/templates/:id',
    {
      config: { access: { actions: ['admin.template.update'], resource: 'letter-template' } },
      schema: {
        params: idParams,
        body: z.strictObject({ version, content: templateContent, active: z.boolean().optional() }),
        response: { 200: templateSaved },
      },
    },
    async (req) =>
      gated(s, req, 'admin.template.update', template(req.params.id), (ctx) =>
        s.templates.update(ctx, req.params.id, req.body),
      ),
  );

  r.get(
    '/api/departments/:id/letter-templates',
    {
      config: { access: { actions: ['letter.templates'], resource: 'department' } },
      schema: { params: idParams, response: { 200: usableTemplates } },
    },
    async (req) =>
      gated(s, req, 'letter.templates', department(req.params.id), async (ctx) => ({
        items: await s.templates.usable(ctx, req.params.id),
      })),
  );

  r.post(
    '/api/persons/:id/letters',
    {
      config: { access: { actions: ['letter.generate'], resource: 'person' } },
      schema: {
        params: idParams,
        body: z.strictObject({ templateId: id, recordId: id.optional(), requestKey: z.uuid() }),
        response: { 201: letterMade, 200: letterMade },
        description:
          'Makes a letter from a template in the file and stores it as its document (PDF/A-2b). `requestKey` (a UUID the ' +
          'client makes once per letter) makes a repeat answer 200 with the letter made before instead of a second one.',
      },
    },
    async (req, reply) => {
      const made = await gated(s, req, 'letter.generate', { kind: 'person', personId: req.params.id }, (ctx) =>
        s.letters.generate(ctx, req.body),
      );
      return reply.code(made.created ? 201 : 200).send(made);
    },
  );

  r.post(
    '/api/departments/:id/letter-runs',
    {
      config: { access: { actions: ['letter.bulk'], resource: 'department' } },
      schema: {
        params: idParams,
        body: runSelection,
        response: { 201: created },
        description: `One template for a selection of the department's files (at most ${MAX_RUN_FILES}), made in the background.`,
      },
    },
    async (req, reply) => {
      const runId = await gated(s, req, 'letter.bulk', department(req.params.id), (ctx) =>
        s.letterRuns.start(ctx, req.body),
      );
      s.letterRunner.kick(principalOf(req).tenantId, runId);
      return reply.code(201).send({ id: runId });
    },
  );

  r.get(
    '/api/departments/:id/letter-runs',
    {
      config: { access: { actions: ['letter.runs'], resource: 'department' } },
      schema: { params: idParams, response: { 200: runList } },
    },
    async (req) =>
      gated(s, req, 'letter.runs', department(req.params.id), async (ctx) => ({ items: await s.letterRuns.list(ctx) })),
  );

  r.get(
    '/api/letter-runs/:id',
    {
      config: { access: { actions: ['letter.run'], resource: 'letter-run' } },
      schema: { params: idParams, response: { 200: runView } },
    },
    async (req) =>
      gated(s, req, 'letter.run', { kind: 'letter-run', runId: req.params.id }, (ctx) =>
        s.letterRuns.read(ctx, req.params.id),
      ),
  );
}
