// Access reports (Art. 15 GDPR) in plain words. The DPO finds a person's files in
// every department by family name and birth date (audited as a search: the count
// and each file shown, never what was typed; the answer only what identifies the
// files) and reads one report over the files chosen (one person's: their birth dates
// agree), on screen or as a PDF letter.
// A department's head reads the report of one file of the department from the
// file (`person.access-report`). Reading a report is audited on every file it covers.
// Both name the person, so neither is read with an API token (an id from the audit
// log would turn into a name): in a session only.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import { accessReport } from '../../audit/access-report.ts';
import { accessReportPdf, type ReportLang } from '../../audit/access-report-pdf.ts';
import type { AccessReportAnswer, DisclosureHit } from '../../contract/audit.ts';
import { KarteiError, fieldRefused } from '../../errors.ts';
import { gated } from '../access.ts';
import { id, idParams, nameAndBirthDate } from '../schemas.ts';
import { accessReportAnswer, disclosureHit } from '../../contract/audit.ts';

/** The letter of an access report: PDF bytes made in memory. */
const PDF = { raw: 'application/pdf: the access report as a letter' };

/** A name and a birth date rarely fit more files than this; the DPO narrows by given name on screen. */
const DISCLOSURE_LIMIT = 20;
const MAX_FILES = 20;

const lang = z.enum(['de', 'en']).default('de');
const filesQuery = z.strictObject({
  persons: z
    .string()
    .max(MAX_FILES * 65)
    .transform((v) => [...new Set(v.split(',').filter(Boolean))])
    .pipe(z.array(id).min(1).max(MAX_FILES)),
  lang,
});

export function accessReportRoutes(app: FastifyInstance, s: Services) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  // POST, so that the name and birth date stay out of addresses and access logs.
  r.post(
    '/api/access-reports/person-search',
    {
      config: { access: { actions: ['audit.person-search'], resource: 'tenant' } },
      schema: {
        body: z.strictObject({
          ...nameAndBirthDate,
        }),
        response: { 200: z.array(disclosureHit) },
      },
    },
    async (req) =>
      gated(s, req, 'audit.person-search', { kind: 'tenant' }, async (ctx): Promise<DisclosureHit[]> => {
        const found = await s.persons.findForDisclosure(ctx, req.body.familyName, req.body.birthDate, DISCLOSURE_LIMIT);
        const departments = await ctx.tx
          .selectFrom('departments')
          .select(['id', 'name'])
          .where('tenant_id', '=', ctx.principal.tenantId)
          .execute();
        const name = new Map(departments.map((d) => [d.id, d.name]));
        ctx.audit.detail = { results: found.length };
        ctx.audit.hits = found.map((p) => ({ personId: p.id, departmentId: p.departmentId }));
        return found.map((p) => ({
          id: p.id,
          familyName: p.familyName,
          givenName: p.givenName,
          birthDate: p.birthDate,
          departmentId: p.departmentId,
          departmentName: name.get(p.departmentId) ?? '',
        }));
      }),
  );

  /** The DPO's report over the files chosen: the decision is the DPO's, each file gets its event. */
  const overFiles = (req: Parameters<typeof gated>[1], personIds: string[], format: string) =>
    gated(s, req, 'audit.access-report', { kind: 'tenant' }, async (ctx) => {
      const files = await ctx.tx
        .selectFrom('persons')
        .select(['id', 'department_id'])
        .where('tenant_id', '=', ctx.principal.tenantId)
        .where('id', 'in', personIds)
        .execute();
      if (files.length !== personIds.length) throw new KarteiError('not-found', 'no such file');
      ctx.audit.detail = { files: files.length, format };
      ctx.audit.hits = files.map((f) => ({ personId: f.id, departmentId: f.department_id }));
      const report = await accessReport(ctx, s.keyring, s.persons, personIds);
      // One letter answers one person: files of another birth date would tell them who read someone else's file.
      if (new Set(report.persons.map((p) => p.birthDate)).size > 1) {
        throw fieldRefused(
          'validation-failed',
          'querystring.persons',
          'different-persons',
          "the files are not one person's: their birth dates differ",
        );
      }
      return report;
    });

  r.get(
    '/api/access-reports',
    {
      config: { access: { actions: ['audit.access-report'], resource: 'tenant' } },
      schema: { querystring: filesQuery, response: { 200: accessReportAnswer } },
    },
    async (req) => overFiles(req, req.query.persons, 'screen'),
  );

  r.get(
    '/api/access-reports/letter.pdf',
    {
      config: { access: { actions: ['audit.access-report'], resource: 'tenant' }, answers: PDF },
      schema: { querystring: filesQuery },
    },
    async (req, reply) => sendPdf(reply, await overFiles(req, req.query.persons, 'pdf'), req.query.lang),
  );

  /** One file's report, for its department's head (and the DPO): the same as its access log, in words (in a session). */
  const overFile = (req: Parameters<typeof gated>[1], personId: string, format: string) =>
    gated(s, req, 'person.access-report', { kind: 'person', personId }, (ctx) => {
      ctx.audit.detail = { format };
      return accessReport(ctx, s.keyring, s.persons, [personId]);
    });

  r.get(
    '/api/persons/:id/access-report',
    {
      config: { access: { actions: ['person.access-report'], resource: 'person' } },
      schema: { params: idParams, response: { 200: accessReportAnswer } },
    },
    async (req) => overFile(req, req.params.id, 'screen'),
  );

  r.get(
    '/api/persons/:id/access-report.pdf',
    {
      config: { access: { actions: ['person.access-report'], resource: 'person' }, answers: PDF },
      schema: { params: idParams, querystring: z.strictObject({ lang }) },
    },
    async (req, reply) => sendPdf(reply, await overFile(req, req.params.id, 'pdf'), req.query.lang),
  );
}

/** Made in memory after the request is on the record; never cached, never on disk. */
async function sendPdf(reply: FastifyReply, report: AccessReportAnswer, lang: ReportLang) {
  const bytes = await accessReportPdf(report, lang);
  const name = lang === 'de' ? 'Auskunft-Zugriffe.pdf' : 'access-report.pdf';
  return reply
    .header('cache-control', 'no-store')
    .header('content-disposition', `attachment; filename="${name}"`)
    .type('application/pdf')
    .send(bytes);
}
