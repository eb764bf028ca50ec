// Persons' files: create, search, read, edit; and from a file, its records,
// shares, emergency access and access log.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import { personData } from '../../records/persons.ts';
import { fileHints } from '../../records/file-hints.ts';
import { RECORD_TYPES, recordTypeNames } from '../../records/record-types.ts';
import { MIN_REASON } from '../../records/reason-text.ts';
import { queryAudit } from '../../audit/audit-query.ts';
import { gated, gatedRead } from '../access.ts';
import { id, idParams, nameAndBirthDate, reasonText, sensitivity, version } from '../schemas.ts';
import { auditQuery } from './audit.ts';
import { answerPage, auditPage, linkNext } from '../paging.ts';
import { pageQuery } from '../../records/page-cursor.ts';
import { created } from '../../contract/common.ts';
import {
  breakGlassOpened,
  emergencySearchAnswer,
  hitOpened,
  person,
  personFileView,
  personListItem as listItem,
  recordListItem,
  share,
} from '../../contract/records.ts';
import { auditEntry } from '../../contract/audit.ts';

const SEARCH_LIMIT = 50;
const SEARCH_MAX = 200;

const personListItem = (p: {
  id: string;
  departmentId: string;
  familyName: string;
  givenName: string;
  birthDate: string;
}) => ({
  id: p.id,
  departmentId: p.departmentId,
  familyName: p.familyName,
  givenName: p.givenName,
  birthDate: p.birthDate,
});

/** Why the glass is broken: a reason a reviewer can judge. */
const breakGlassBody = z.strictObject({ reason: reasonText(MIN_REASON) });

export function personRoutes(app: FastifyInstance, s: Services) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    '/api/persons',
    {
      config: { access: { actions: ['person.create'], resource: 'department' } },
      schema: { body: personData.extend({ departmentId: id }), response: { 201: created } },
    },
    async (req, reply) => {
      const { departmentId, ...data } = req.body;
      const personId = await gated(s, req, 'person.create', { kind: 'department', departmentId }, (ctx) =>
        s.persons.create(ctx, departmentId, data),
      );
      return reply.code(201).send({ id: personId });
    },
  );

  r.get(
    '/api/persons',
    {
      config: { access: { actions: ['person.search'], resource: 'tenant' } },
      schema: {
        querystring: z.strictObject({
          q: z.string().trim().min(2).max(200),
          limit: z.coerce.number().int().min(1).max(SEARCH_MAX).default(SEARCH_LIMIT),
          after: id.optional(),
        }),
        response: { 200: z.array(listItem) },
        description:
          'Files the caller may see whose family name (exactly, a word of it, or as it sounds), given name or birth date (2026-04-12 or 12.04.2026) ' +
          'match every word of `q`. `limit` (1–200, default 50) per page; when more exist, `Link: <…>; rel="next"` names the next page (`after`).',
      },
    },
    async (req, reply) => {
      const { q, limit, after } = req.query;
      const found = await gatedRead(s, req, 'person.search', { kind: 'tenant' }, async (ctx) => {
        const rows = await s.persons.search(ctx, q, limit + 1, after);
        const page = rows.slice(0, limit);
        ctx.audit.detail = { results: page.length, ...(after ? { paged: true } : {}) };
        ctx.audit.hits = page.map((p) => ({ personId: p.id, departmentId: p.departmentId }));
        return { page, more: rows.length > limit };
      });
      linkNext(req, reply, found.more ? found.page[found.page.length - 1]!.id : null, 'after');
      return found.page.map(personListItem);
    },
  );

  // Before breaking the glass: a file of a department the caller is not in, by family name AND
  // full birth date, with the reason stated up front. An emergency access of its own (reviewed,
  // rate-limited); it answers opaque handles, not files (src/records/emergency-search.ts says why).
  r.post(
    '/api/persons/emergency-search',
    {
      config: { access: { actions: ['person.emergency-search'], resource: 'tenant' } },
      schema: {
        body: z.strictObject({
          ...nameAndBirthDate,
          reason: reasonText(MIN_REASON),
        }),
        response: { 200: emergencySearchAnswer },
      },
    },
    async (req) =>
      gated(s, req, 'person.emergency-search', { kind: 'tenant' }, (ctx) =>
        s.emergencySearch.search(ctx, req.body.familyName, req.body.birthDate, req.body.reason),
      ),
  );

  // Breaking the glass for a file an emergency search showed, by its handle: the caller's own, for a few minutes.
  r.post(
    '/api/emergency-hits/:id/break-glass',
    {
      config: { access: { actions: ['person.break-glass'], resource: 'emergency-hit' } },
      schema: {
        params: idParams,
        body: breakGlassBody,
        response: { 200: hitOpened },
      },
    },
    async (req) =>
      gated(s, req, 'person.break-glass', { kind: 'emergency-hit', hitId: req.params.id }, (ctx) =>
        s.breakGlass.openFromHit(ctx, req.params.id, req.body.reason),
      ),
  );

  r.get(
    '/api/persons/:id',
    {
      config: { access: { actions: ['person.read'], resource: 'person' } },
      schema: { params: idParams, response: { 200: personFileView } },
    },
    async (req) =>
      gatedRead(s, req, 'person.read', { kind: 'person', personId: req.params.id }, async (ctx) => ({
        ...(await s.persons.get(ctx, req.params.id)),
        permissions: {
          update: ctx.may('person.update'),
          createRecord: ctx.may('record.create'),
          createRestrictedRecord: ctx.may('record.create', 'restricted'),
          readRestricted: ctx.may('record.read', 'restricted'),
          share: ctx.may('file.share'),
          // The file's access report (its department's head): the link "Zugriffe" on the file.
          accessLog: ctx.may('person.access-log'),
        },
        ...(await fileHints(ctx, s.keyring, req.params.id)),
      })),
  );

  r.patch(
    '/api/persons/:id',
    {
      config: { access: { actions: ['person.update'], resource: 'person' } },
      schema: { params: idParams, body: personData.partial().extend({ version }), response: { 200: person } },
    },
    async (req) => {
      const { version: v, ...patch } = req.body;
      return gated(s, req, 'person.update', { kind: 'person', personId: req.params.id }, (ctx) =>
        s.persons.update(ctx, req.params.id, v, patch),
      );
    },
  );

  const recordBody = z.discriminatedUnion(
    'type',
    recordTypeNames.map((type) =>
      z.strictObject({ type: z.literal(type), sensitivity, content: RECORD_TYPES[type].content }),
    ) as unknown as [z.ZodObject, ...z.ZodObject[]],
  );

  r.post(
    '/api/persons/:id/records',
    {
      config: { access: { actions: ['record.create'], resource: 'person' } },
      schema: { params: idParams, body: recordBody, response: { 201: created } },
    },
    async (req, reply) => {
      const body = req.body as {
        type: (typeof recordTypeNames)[number];
        sensitivity: 'normal' | 'restricted';
        content: unknown;
      };
      const recordId = await gated(
        s,
        req,
        'record.create',
        { kind: 'person', personId: req.params.id, sensitivity: body.sensitivity },
        (ctx) => s.records.create(ctx, req.params.id, body),
      );
      return reply.code(201).send({ id: recordId });
    },
  );

  r.get(
    '/api/persons/:id/records',
    {
      config: { access: { actions: ['record.list'], resource: 'person' } },
      schema: {
        params: idParams,
        querystring: z.strictObject(pageQuery),
        response: { 200: z.array(recordListItem) },
        description:
          "A page of the file's records, newest first: [{id, type, sensitivity, version, createdAt, createdBy, createdByName, updatedAt, updatedBy, updatedByName, title}]. " +
          '`title` is the title or first line, null where the caller may not read the record. `limit` (1–200, default 50); ' +
          'when more exist, `Link: <…>; rel="next"` names the next page (`before`, an opaque cursor).',
      },
    },
    async (req, reply) => {
      const page = await gatedRead(s, req, 'record.list', { kind: 'person', personId: req.params.id }, (ctx) =>
        s.records.list(ctx, req.params.id, req.query),
      );
      return answerPage(req, reply, page);
    },
  );

  r.post(
    '/api/persons/:id/break-glass',
    {
      config: { access: { actions: ['person.break-glass'], resource: 'person' } },
      schema: {
        params: idParams,
        body: breakGlassBody,
        response: { 200: breakGlassOpened },
      },
    },
    async (req) =>
      gated(s, req, 'person.break-glass', { kind: 'person', personId: req.params.id }, (ctx) =>
        s.breakGlass.open(ctx, req.body.reason),
      ),
  );

  r.post(
    '/api/persons/:id/shares',
    {
      config: { access: { actions: ['file.share'], resource: 'person' } },
      schema: {
        params: idParams,
        // Whether the purpose is a reason, the end a date in the future and the department another
        // one is asked by Sharing.share, all three together.
        body: z.strictObject({ departmentId: id, purpose: z.string().trim().max(2_000), until: z.string().max(64) }),
        response: { 201: created },
      },
    },
    async (req, reply) => {
      const shareId = await gated(s, req, 'file.share', { kind: 'person', personId: req.params.id }, (ctx) =>
        s.sharing.share(ctx, req.params.id, req.body),
      );
      return reply.code(201).send({ id: shareId });
    },
  );

  r.get(
    '/api/persons/:id/shares',
    {
      config: { access: { actions: ['share.list'], resource: 'person' } },
      schema: { params: idParams, response: { 200: z.array(share) } },
    },
    async (req) =>
      gated(s, req, 'share.list', { kind: 'person', personId: req.params.id }, (ctx) =>
        s.sharing.list(ctx, req.params.id),
      ),
  );

  r.get(
    '/api/persons/:id/access-log',
    {
      config: { access: { actions: ['person.access-log'], resource: 'person' } },
      schema: {
        params: idParams,
        querystring: auditQuery.omit({ personId: true }),
        response: { 200: z.array(auditEntry) },
      },
    },
    async (req, reply) => {
      const rows = await gated(s, req, 'person.access-log', { kind: 'person', personId: req.params.id }, (ctx) =>
        // The gate allowed this file's log as a whole: its owning head or the DPO.
        queryAudit(ctx, s.audit, s.keyring, 'all', {
          ...req.query,
          personId: req.params.id,
        }),
      );
      return answerPage(req, reply, auditPage(rows, req.query.limit));
    },
  );
}
