// The DEMIS inbox of a department (issue 16): upload a bundle by hand, list and read notifications,
// their raw bundles, assign, suggest and link the person's file, accept into a case, close; and the
// quarantine of refused bundles. Each route parses, calls the use case inside the gate, and answers.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import { gated, principalOf } from '../access.ts';
import { id, idParams, reasonText, version } from '../schemas.ts';
import { answerPage } from '../paging.ts';
import { pageQuery } from '../../records/page-cursor.ts';
import { personData } from '../../records/persons.ts';
import { fieldsRefused } from '../../errors.ts';
import { noContent } from '../../contract/common.ts';
import {
  importAnswer,
  inboxMember,
  notificationChanged,
  notificationDetail,
  notificationListItem,
  personMatch,
  quarantineDetail,
  quarantineItem,
} from '../../contract/infection-inbox.ts';
import { importThroughGate } from '../../infection/notification-import.ts';
import {
  assignNotification,
  closeNotification,
  currentFacts,
  dismissQuarantine,
  inboxMembers,
  linkPerson,
  listNotifications,
  listQuarantine,
  notificationBundle,
  notificationDetail as detailOf,
  readQuarantine,
} from '../../infection/inbox.ts';
import { matchPerson } from '../../infection/person-matching.ts';
import { acceptNotification } from '../../infection/notification-accept.ts';

/** A DEMIS bundle is a few hundred kB; 10 MB is far above any real one (the codec refuses more, too). */
const UPLOAD_LIMIT = 10 * 1024 * 1024;
const BUNDLE_TYPES = ['application/fhir+json', 'application/json', 'application/fhir+xml', 'application/xml'];

const isoDay = z.iso.date();
const notificationRef = (notificationId: string) => ({ kind: 'notification' as const, notificationId });
const quarantineRef = (quarantineId: string) => ({ kind: 'quarantine' as const, quarantineId });
const departmentRef = (departmentId: string) => ({ kind: 'department' as const, departmentId });

export function inboxRoutes(app: FastifyInstance, s: Services) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  // The upload takes the bundle's bytes as they are (JSON or XML): its own parsers, in its own context.
  app.register(async (upload) => {
    upload.removeAllContentTypeParsers();
    upload.addContentTypeParser(BUNDLE_TYPES, { parseAs: 'buffer', bodyLimit: UPLOAD_LIMIT }, (_req, body, done) =>
      done(null, body),
    );
    upload.withTypeProvider<ZodTypeProvider>().post(
      '/api/departments/:id/notifications',
      {
        bodyLimit: UPLOAD_LIMIT,
        config: { access: { actions: ['notification.import'], resource: 'department' } },
        schema: {
          params: idParams,
          response: { 200: importAnswer, 201: importAnswer },
          description:
            'Upload a DEMIS notification bundle by hand (FHIR R4 JSON or XML: application/fhir+json, application/json, application/fhir+xml, ' +
            'application/xml; at most 10 MB). 201 {outcome: created|version, notificationId}: a new notification, or a new version of the one it ' +
            'corrects or cancels (Composition.relatesTo); 200 {outcome: duplicate}: this bundle (Bundle.identifier) was received before, nothing ' +
            'written. A bundle that is refused is kept in the quarantine and answered 422 validation-failed with every problem in `errors` ' +
            '(field: the element path, code bundle-element, params: {expected (English), problem (a stable code), and its params}) and `quarantineId`. Session only (no API token).',
        },
      },
      async (req, reply) => {
        const raw = req.body as unknown as Buffer;
        const result = await importThroughGate(
          s,
          principalOf(req),
          req.params.id,
          raw,
          req.headers['content-type'] ?? '',
        );
        if (result.outcome === 'quarantined') {
          throw fieldsRefused(
            'validation-failed',
            (result.problems ?? []).map((p) => ({
              field: p.path,
              code: 'bundle-element',
              message: `expected ${p.expected}`,
              // `problem` and its params: for the screens to word it (web/src/i18n: demis.problem.<problem>).
              params: { ...p.params, expected: p.expected, problem: p.code },
            })),
            { quarantineId: result.quarantineId },
          );
        }
        const { problems: _p, ...answer } = result;
        return reply.code(result.outcome === 'duplicate' ? 200 : 201).send(answer);
      },
    );
  });

  r.get(
    '/api/departments/:id/notifications',
    {
      config: { access: { actions: ['notification.list'], resource: 'department' } },
      schema: {
        params: idParams,
        querystring: z.strictObject({
          state: z.enum(['new', 'assigned', 'matched', 'closed']).optional(),
          disease: z.string().trim().min(1).max(64).optional(),
          from: isoDay.optional(),
          to: isoDay.optional(),
          assignee: id.optional(),
          ...pageQuery,
        }),
        response: { 200: z.array(notificationListItem) },
        description:
          "A page of the department's notifications, newest received first. Filters: `state`, `disease` (a DEMIS notification category " +
          'code, e.g. cvdp), `from`/`to` (notified on, ISO dates, inclusive, Europe/Berlin days), `assignee` (a user id). The person as notified is decrypted ' +
          'for the page only. `limit` (1–200, default 50); when more exist, `Link: <…>; rel="next"` names the next page (`before`).',
      },
    },
    async (req, reply) => {
      const { id: departmentId } = req.params;
      const page = await gated(s, req, 'notification.list', departmentRef(departmentId), (ctx) =>
        listNotifications(ctx, s, req.query),
      );
      return answerPage(req, reply, page);
    },
  );

  r.get(
    '/api/departments/:id/inbox-members',
    {
      config: { access: { actions: ['notification.list'], resource: 'department' } },
      schema: {
        params: idParams,
        response: { 200: z.array(inboxMember) },
        description: "The department's active members by name: whom a notification may be assigned to.",
      },
    },
    async (req) => gated(s, req, 'notification.list', departmentRef(req.params.id), (ctx) => inboxMembers(ctx, s)),
  );

  r.get(
    '/api/notifications/:id',
    {
      config: { access: { actions: ['notification.read'], resource: 'notification' } },
      schema: {
        params: idParams,
        response: { 200: notificationDetail },
        description:
          'One notification: its current facts (the newest version by Composition.date), every version with what it changed, the linked file and case.',
      },
    },
    async (req) =>
      gated(s, req, 'notification.read', notificationRef(req.params.id), (ctx) => detailOf(ctx, s, req.params.id)),
  );

  r.get(
    '/api/notifications/:id/bundle',
    {
      config: {
        access: { actions: ['notification.read'], resource: 'notification' },
        answers: { raw: 'the bundle as received: application/fhir+json or application/fhir+xml' },
      },
      schema: {
        params: idParams,
        querystring: z.strictObject({ version: z.coerce.number().int().min(1).max(100_000).optional() }),
        description: 'The raw bundle of a version (the current one unless `version` is named), for the expert.',
      },
    },
    async (req, reply) => {
      const b = await gated(s, req, 'notification.read', notificationRef(req.params.id), (ctx) =>
        notificationBundle(ctx, s, req.params.id, req.query.version),
      );
      const xml = b.mediaType.includes('xml');
      return reply
        .header('content-type', xml ? 'application/fhir+xml; charset=utf-8' : 'application/fhir+json; charset=utf-8')
        .header('content-disposition', `attachment; filename="notification-${req.params.id}.${xml ? 'xml' : 'json'}"`)
        .send(b.raw);
    },
  );

  r.put(
    '/api/notifications/:id/assignee',
    {
      config: { access: { actions: ['notification.assign'], resource: 'notification' } },
      schema: {
        params: idParams,
        body: z.strictObject({ assigneeId: id.nullable(), version }),
        response: { 200: notificationChanged },
        description: 'Assign to a member of the notification’s department (or to nobody: null).',
      },
    },
    async (req) =>
      gated(s, req, 'notification.assign', notificationRef(req.params.id), (ctx) =>
        assignNotification(ctx, req.params.id, req.body),
      ),
  );

  r.get(
    '/api/notifications/:id/matches',
    {
      config: { access: { actions: ['notification.read'], resource: 'notification' } },
      schema: {
        params: idParams,
        response: { 200: z.array(personMatch) },
        description:
          "Files of the notification's own department that may be its person, best first (at most 5): score, the parts that agreed " +
          '(link: transliterated full name and birth date; family; phonetic; given; birth), and the file’s name, birth date and address.',
      },
    },
    async (req) =>
      gated(s, req, 'notification.read', notificationRef(req.params.id), async (ctx) => {
        const { row, facts } = await currentFacts(ctx, s, req.params.id);
        return matchPerson(ctx, s, row.department_id, facts.person);
      }),
  );

  r.post(
    '/api/notifications/:id/person',
    {
      config: { access: { actions: ['notification.match'], resource: 'notification' } },
      schema: {
        params: idParams,
        body: z.union([z.strictObject({ personId: id, version }), z.strictObject({ create: personData, version })]),
        response: { 200: notificationChanged },
        description:
          'Link the notification to a file of its department ({personId, version}) or create the file ({create: person data, version}); a ' +
          'partial birth date as notified must be completed (create.birthDate).',
      },
    },
    async (req) =>
      gated(s, req, 'notification.match', notificationRef(req.params.id), (ctx) =>
        linkPerson(ctx, s, req.params.id, req.body),
      ),
  );

  r.post(
    '/api/notifications/:id/accept',
    {
      config: { access: { actions: ['notification.accept'], resource: 'notification' } },
      schema: {
        params: idParams,
        body: z.strictObject({
          status: z.enum(['suspected', 'probable', 'confirmed', 'not-a-case']),
          category: z.enum(['A', 'B', 'C', 'D', 'E']).optional(),
          version,
        }),
        response: { 200: notificationChanged.extend({ created: z.boolean() }) },
        description:
          "Accept into the linked person's IfSG case of the disease: creates it, or adds the notification to the existing one, filling " +
          'only its empty facts. Audited as notification.accept and as record.create/record.update of the case. A second accept answers 409.',
      },
    },
    async (req) =>
      // notification.accept through the route's gate; the case is then written under the file's own record action.
      acceptNotification(s, principalOf(req), req.params.id, req.body, (work) =>
        gated(s, req, 'notification.accept', notificationRef(req.params.id), work),
      ),
  );

  r.post(
    '/api/notifications/:id/close',
    {
      config: { access: { actions: ['notification.close'], resource: 'notification' } },
      schema: {
        params: idParams,
        body: z.strictObject({ reason: reasonText(5), version }),
        response: { 200: notificationChanged },
        description: 'Close without a case (e.g. the same finding notified by another laboratory), with a reason.',
      },
    },
    async (req) =>
      gated(s, req, 'notification.close', notificationRef(req.params.id), (ctx) =>
        closeNotification(ctx, s, req.params.id, req.body),
      ),
  );

  r.get(
    '/api/departments/:id/quarantine',
    {
      config: { access: { actions: ['quarantine.list'], resource: 'department' } },
      schema: {
        params: idParams,
        querystring: z.strictObject({ state: z.enum(['open', 'dismissed']).optional(), ...pageQuery }),
        response: { 200: z.array(quarantineItem) },
        description: "The department's refused bundles, newest first, paged like the inbox.",
      },
    },
    async (req, reply) => {
      const page = await gated(s, req, 'quarantine.list', departmentRef(req.params.id), (ctx) =>
        listQuarantine(ctx, req.query),
      );
      return answerPage(req, reply, page);
    },
  );

  r.get(
    '/api/quarantine/:id',
    {
      config: { access: { actions: ['quarantine.read'], resource: 'quarantine' } },
      schema: {
        params: idParams,
        response: { 200: quarantineDetail },
        description: 'A refused bundle: every problem (element path, what was expected) and the bytes as received.',
      },
    },
    async (req) =>
      gated(s, req, 'quarantine.read', quarantineRef(req.params.id), (ctx) => readQuarantine(ctx, s, req.params.id)),
  );

  r.post(
    '/api/quarantine/:id/dismiss',
    {
      config: { access: { actions: ['quarantine.dismiss'], resource: 'quarantine' } },
      schema: { params: idParams, body: z.strictObject({ reason: reasonText(5) }), response: { 204: noContent } },
    },
    async (req, reply) => {
      await gated(s, req, 'quarantine.dismiss', quarantineRef(req.params.id), (ctx) =>
        dismissQuarantine(ctx, s, req.params.id, req.body.reason),
      );
      return reply.code(204).send();
    },
  );
}
