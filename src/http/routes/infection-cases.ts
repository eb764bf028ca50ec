// IfSG cases and their contacts (issue 16): a department's case list, a case's contacts (adding,
// listing), a contact's daily follow-up (recording, its entries), the department's follow-up
// worklist, and turning a contact into a case. Each parses, calls the domain inside the gate, answers.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import { gated } from '../access.ts';
import { answerPage } from '../paging.ts';
import { id, idParams, sensitivity } from '../schemas.ts';
import { pageQuery } from '../../records/page-cursor.ts';
import { personData } from '../../records/persons.ts';
import { CONTACT_CATEGORIES, CONTACT_SETTINGS } from '../../records/record-types.ts';
import {
  caseContacts,
  caseListItem,
  contactConverted,
  contactCreated,
  followUpDue,
  followUpEntry,
  followUpRecorded,
} from '../../contract/infection-cases.ts';

const date = z.iso.date();
const text = (max: number) => z.string().trim().min(1).max(max);

const newContact = z
  .strictObject({
    personId: id.optional(),
    person: personData.optional(),
    sensitivity: sensitivity.optional(),
    category: z.enum(CONTACT_CATEGORIES),
    setting: z.enum(CONTACT_SETTINGS).optional(),
    lastExposure: date,
    followUpUntil: date.optional(),
    measure: z
      .strictObject({ kind: z.enum(['quarantine', 'observation']), until: date.optional(), legalBasis: text(200) })
      .optional(),
    notes: text(20_000).optional(),
  })
  .refine((b) => !b.followUpUntil || b.followUpUntil >= b.lastExposure, {
    message: 'must not lie before `lastExposure`',
    path: ['followUpUntil'],
    params: { code: 'date-order' },
  })
  .refine((b) => !(b.personId && b.person), {
    message: 'name a file or a new person, not both',
    path: ['person'],
    params: { code: 'invalid' },
  });

const followUpBody = z.strictObject({
  day: date.optional(),
  symptoms: z.boolean(),
  which: text(1_000).optional(),
  reached: z.enum(['phone', 'in-person', 'message']),
  note: text(2_000).optional(),
});

export function infectionCaseRoutes(app: FastifyInstance, s: Services) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const record = (recordId: string) => ({ kind: 'record' as const, recordId });

  r.get(
    '/api/departments/:id/cases',
    {
      config: { access: { actions: ['case.list'], resource: 'department' } },
      schema: {
        params: idParams,
        querystring: z.strictObject({
          status: z.enum(['suspected', 'probable', 'confirmed', 'not-a-case']).optional(),
          disease: z.string().trim().min(1).max(64).optional(),
          week: z
            .string()
            .regex(/^\d{4}-W\d{2}$/, 'a reporting week like 2026-W49')
            .optional(),
          outbreak: id.optional(),
          q: z.string().trim().min(2).max(200).optional(),
          ...pageQuery,
        }),
        response: { 200: z.array(caseListItem) },
        description:
          "The department's IfSG cases, newest first, filtered by `status`, `disease` (notification category code), " +
          '`week` (reporting week, 2026-W49), `outbreak` (id) and `q` (words of the name or a birth date). Names and ' +
          'the disease are unsealed for the page only; restricted cases are left out for whoever may not read them. ' +
          'Paged: `limit`, `before` from the `Link: rel="next"` header.',
      },
    },
    async (req, reply) => {
      const { limit, before, ...filter } = req.query;
      const page = await gated(s, req, 'case.list', { kind: 'department', departmentId: req.params.id }, (ctx) =>
        s.caseList.list(ctx, { ...filter, limit, before }),
      );
      return answerPage(req, reply, page);
    },
  );

  r.get(
    '/api/cases/:id/contacts',
    {
      config: { access: { actions: ['contact.list'], resource: 'record' } },
      schema: {
        params: idParams,
        response: { 200: caseContacts },
        description:
          "A case's contact persons (names unsealed for them only; restricted ones left out for whoever may not read them), " +
          "and `followUpDays`: the follow-up period the case's disease implies (what a new contact's end is prefilled with).",
      },
    },
    async (req) =>
      gated(s, req, 'contact.list', record(req.params.id), async (ctx) => ({
        followUpDays: await s.contacts.followUpDaysOf(ctx, req.params.id),
        contacts: await s.contacts.list(ctx, req.params.id),
      })),
  );

  r.post(
    '/api/cases/:id/contacts',
    {
      config: { access: { actions: ['contact.create'], resource: 'record' } },
      schema: {
        params: idParams,
        body: newContact,
        response: { 201: contactCreated },
        description:
          "Adds a contact person to the case: `personId` (a file of the case's department) or `person` (a new file, created " +
          'in the same transaction); `category` close|other, `setting`, `lastExposure`, `followUpUntil` (default: the last ' +
          "exposure plus the disease's longest incubation period), `measure`. A second contact of the same person is a 409 naming `personId` (a new `person` with the name and birth date of one: naming `person`).",
      },
    },
    async (req, reply) => {
      const made = await gated(s, req, 'contact.create', record(req.params.id), (ctx) =>
        s.contacts.create(ctx, req.params.id, req.body),
      );
      return reply.code(201).send(made);
    },
  );

  r.post(
    '/api/contacts/:id/convert',
    {
      config: { access: { actions: ['contact.convert'], resource: 'record' } },
      schema: {
        params: idParams,
        response: { 200: contactConverted },
        description:
          "Turns the contact into a case in the contact's file (the index case's disease, status suspected) and marks it " +
          'converted; once only: a second request is a 409 naming `state` (with `caseRecordId`).',
      },
    },
    async (req) =>
      gated(s, req, 'contact.convert', record(req.params.id), (ctx) => s.contacts.convert(ctx, req.params.id)),
  );

  r.post(
    '/api/contacts/:id/follow-ups',
    {
      config: { access: { actions: ['follow-up.record'], resource: 'record' } },
      schema: {
        params: idParams,
        body: followUpBody,
        response: { 201: followUpRecorded },
        description:
          "A day's follow-up of an active contact: `day` (default today), `symptoms`, `which`, `reached` phone|in-person|message, " +
          '`note`. One per contact and day: a second is a 409 naming `day`. Entries are never changed afterwards.',
      },
    },
    async (req, reply) => {
      const made = await gated(s, req, 'follow-up.record', record(req.params.id), (ctx) =>
        s.followUps.record(ctx, req.params.id, req.body),
      );
      return reply.code(201).send(made);
    },
  );

  r.get(
    '/api/contacts/:id/follow-ups',
    {
      config: { access: { actions: ['record.read'], resource: 'record' } },
      schema: {
        params: idParams,
        response: { 200: z.array(followUpEntry) },
        description: "A contact's follow-up entries, newest day first (a read of the contact's record).",
      },
    },
    async (req) =>
      gated(s, req, 'record.read', record(req.params.id), (ctx) => s.followUps.entries(ctx, req.params.id)),
  );

  r.get(
    '/api/departments/:id/follow-ups',
    {
      config: { access: { actions: ['follow-up.list'], resource: 'department' } },
      schema: {
        params: idParams,
        querystring: z.strictObject({
          when: z.enum(['today', 'overdue']).default('today'),
          on: date.optional(),
          limit: z.coerce.number().int().min(1).max(500).default(200),
        }),
        response: { 200: z.array(followUpDue) },
        description:
          "The department's follow-up worklist: `when=today` active contacts whose period covers the day (`on`, default " +
          'today) without an entry that day; `when=overdue` those with days of their period up to yesterday without an ' +
          'entry since the latest (`daysMissed`), the most urgent first. Names unsealed for the listed rows only.',
      },
    },
    async (req) =>
      gated(s, req, 'follow-up.list', { kind: 'department', departmentId: req.params.id }, (ctx) =>
        s.followUps.worklist(ctx, req.query.when, { on: req.query.on, limit: req.query.limit }),
      ),
  );
}
