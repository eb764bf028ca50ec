// Issue 17: import — a department's imports of existing data from CSV and XLSX: upload (the file's bytes as
// the body, held in memory and sealed at once), the job with its columns and first rows, the dry run with
// the mapping, the rows' outcomes, start (or resume), the report, discard. For the department's head, in a
// signed-in session. The work is src/desk/import-jobs.ts's.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import {
  IMPORT_OUTCOMES,
  IMPORT_REASONS,
  importJob,
  importJobDetail,
  importJobList,
  importMapping,
  importRowList,
} from '../../contract/import.ts';
import { DELIMITERS, ENCODINGS } from '../../desk/import-parse.ts';
import { decideBeforeUpload } from '../../desk/attachments.ts';
import { KarteiError } from '../../errors.ts';
import { gated, principalOf } from '../access.ts';
import { idParams, version } from '../schemas.ts';

/** An upload at most this large: 100,000 rows of a CSV are about 10 MB, of an XLSX less. */
const IMPORT_UPLOAD_LIMIT = 32 * 1024 * 1024;
const UPLOAD_TYPES = [
  'text/csv',
  'text/plain',
  'application/csv',
  'application/vnd.ms-excel',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/octet-stream',
];

const department = (departmentId: string) => ({ kind: 'department' as const, departmentId });
const job = (importId: string) => ({ kind: 'import' as const, importId });

export function importRoutes(app: FastifyInstance, s: Services) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  // The upload takes the file's bytes as they are: its own parsers, in its own context.
  app.register(async (upload) => {
    upload.removeAllContentTypeParsers();
    upload.addContentTypeParser(
      UPLOAD_TYPES,
      { parseAs: 'buffer', bodyLimit: IMPORT_UPLOAD_LIMIT },
      (_req, body, done) => done(null, body),
    );
    upload.withTypeProvider<ZodTypeProvider>().post(
      '/api/departments/:id/imports',
      {
        bodyLimit: IMPORT_UPLOAD_LIMIT,
        config: { access: { actions: ['import.create'], resource: 'department' } },
        schema: {
          params: idParams,
          response: { 201: importJobDetail },
          description:
            'Upload a CSV or XLSX file to import (the body is the file: text/csv, application/vnd.ms-excel, ' +
            'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet or application/octet-stream; at most 32 MiB, ' +
            '200,000 rows). It is sealed with the department key at once; the answer names the detected format, encoding ' +
            '(UTF-8 or Windows-1252) and delimiter, the columns and the first rows. A file that cannot be read is 422 ' +
            '(field `file`, code import-unreadable, import-empty or import-too-many-rows). Department head, session only.',
        },
      },
      async (req, reply) => {
        const bytes = req.body as unknown as Buffer;
        const ref = department(req.params.id);
        // Decided before the file is parsed, and parsed outside the gate's transaction (a large XLSX takes seconds:
        // on SQLite inside it every other request waited). The gate decides again, audits, and stores.
        const { decision } = await decideBeforeUpload(s.store, principalOf(req), 'import.create', ref);
        if (decision !== 'allow')
          return gated(s, req, 'import.create', ref, async () => {
            throw new KarteiError('forbidden');
          });
        const read = await s.imports.read(bytes).then(
          (r) => ({ ok: true as const, r }),
          (error: unknown) => ({ ok: false as const, error }),
        );
        const made = await gated(s, req, 'import.create', ref, (ctx) => {
          // An unreadable file is refused inside the gate, so the refusal is audited as before.
          if (!read.ok) throw read.error;
          return s.imports.upload(ctx, bytes, read.r);
        });
        return reply.code(201).send(made);
      },
    );
  });

  r.get(
    '/api/departments/:id/imports',
    {
      config: { access: { actions: ['import.list'], resource: 'department' } },
      schema: {
        params: idParams,
        response: { 200: importJobList },
        description: "The department's import jobs, newest first (at most 100): state, counts, position.",
      },
    },
    async (req) =>
      gated(s, req, 'import.list', department(req.params.id), async (ctx) => ({ items: await s.imports.list(ctx) })),
  );

  r.get(
    '/api/imports/:id',
    {
      config: { access: { actions: ['import.read'], resource: 'import' } },
      schema: {
        params: idParams,
        response: { 200: importJobDetail },
        description:
          'An import job; while its upload is kept (until it is imported or discarded), its columns, first rows and mapping.',
      },
    },
    async (req) => {
      // The file read as a table outside the detail's transaction (import-jobs.ts `warm`).
      await s.imports.warm(s.gate, principalOf(req), 'import.read', req.params.id);
      return gated(s, req, 'import.read', job(req.params.id), (ctx) => s.imports.detail(ctx, req.params.id));
    },
  );

  r.post(
    '/api/imports/:id/dry-run',
    {
      config: { access: { actions: ['import.update'], resource: 'import' } },
      schema: {
        params: idParams,
        body: z.strictObject({
          version,
          encoding: z.enum(ENCODINGS).optional(),
          delimiter: z.enum(DELIMITERS).optional(),
          mapping: importMapping,
        }),
        response: { 200: importJobDetail },
        description:
          'The dry run: reads the file (in `encoding` and with `delimiter` if given, else as detected), plans every row under ' +
          '`mapping` — created, matched (a file of the department with the same names and birth date, or DICOM Patient ID; or an ' +
          "earlier row of the file) or refused with a reason — and keeps each row's outcome (GET …/rows). Nothing else is written. " +
          'A column the file does not have is 422 (column-unknown); a stale `version` 409.',
      },
    },
    async (req) => {
      // The file read as a table in the chosen encoding outside the dry run's transaction (import-jobs.ts `warm`).
      await s.imports.warm(s.gate, principalOf(req), 'import.update', req.params.id, req.body);
      return gated(s, req, 'import.update', job(req.params.id), (ctx) =>
        s.imports.dryRun(ctx, req.params.id, req.body),
      );
    },
  );

  r.get(
    '/api/imports/:id/rows',
    {
      config: { access: { actions: ['import.read'], resource: 'import' } },
      schema: {
        params: idParams,
        querystring: z.strictObject({
          outcome: z.enum(IMPORT_OUTCOMES).optional(),
          reason: z.enum(IMPORT_REASONS).optional(),
          after: z.coerce.number().int().min(0).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(100),
        }),
        response: { 200: importRowList },
        description:
          "The rows' outcomes by row number (after the dry run: planned; after the import: what it did), filtered by " +
          '`outcome` and `reason`; `after` a row number, `limit` 1–500. `total` counts the filtered rows. No values, ids only.',
      },
    },
    async (req) =>
      gated(s, req, 'import.read', job(req.params.id), (ctx) => s.imports.rows(ctx, req.params.id, req.query)),
  );

  r.post(
    '/api/imports/:id/start',
    {
      config: { access: { actions: ['import.run'], resource: 'import' } },
      schema: {
        params: idParams,
        body: z.strictObject({ version }),
        response: { 202: importJob },
        description:
          'Starts the import after a dry run, or resumes an interrupted one (state running, `active` false) after its last ' +
          'committed batch. It runs in batches in the background; GET /api/imports/:id shows its position. A start while it ' +
          'runs, or before a dry run, is 409 (import-running, import-not-checked).',
      },
    },
    async (req, reply) => {
      const claim = { claimed: false };
      const principal = principalOf(req);
      try {
        const started = await gated(s, req, 'import.run', job(req.params.id), (ctx) =>
          s.imports.start(ctx, req.params.id, req.body.version, claim),
        );
        s.imports.launch(s.gate, principal, req.params.id).catch((e: unknown) => {
          // No values in the log: the error's code or kind only.
          req.log.warn({ importId: req.params.id, code: (e as { code?: string }).code ?? 'error' }, 'import stopped');
        });
        return reply.code(202).send(started);
      } catch (e) {
        if (claim.claimed) s.imports.release(req.params.id);
        throw e;
      }
    },
  );

  r.get(
    '/api/imports/:id/report',
    {
      config: {
        access: { actions: ['import.read'], resource: 'import' },
        answers: { raw: 'a CSV file: row number, outcome, reason code, person id, record id' },
      },
      schema: {
        params: idParams,
        description:
          'The report as CSV (UTF-8 with BOM, `;`): Zeile, Ergebnis (created, matched, refused; before the import ' +
          "`geplant:` and the dry run's), Grund (the reason code), Person-ID, Eintrag-ID. No names, no values.",
      },
    },
    async (req, reply) => {
      const csv = await gated(s, req, 'import.read', job(req.params.id), (ctx) => s.imports.report(ctx, req.params.id));
      return reply
        .header('cache-control', 'no-store')
        .header('content-disposition', `attachment; filename="import-${req.params.id}.csv"`)
        .type('text/csv; charset=utf-8')
        .send(csv);
    },
  );

  r.post(
    '/api/imports/:id/discard',
    {
      config: { access: { actions: ['import.update'], resource: 'import' } },
      schema: {
        params: idParams,
        body: z.strictObject({ version }),
        response: { 200: importJob },
        description:
          'Discards a job that is not importing: its sealed upload and mapping are removed; rows imported before stay. ' +
          '409 while it runs or once it has ended.',
      },
    },
    async (req) =>
      gated(s, req, 'import.update', job(req.params.id), (ctx) =>
        s.imports.discard(ctx, req.params.id, req.body.version),
      ),
  );
}
