// The audit log for the DPO (whole tenant) and heads (their departments' files).
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import { accessCounts, auditScope, installationChainReader, queryAudit } from '../../audit/audit-query.ts';
import { chainStatusReader } from '../../audit/chain-status.ts';
import { DEPLOYMENT_CHAIN } from '../../db/schema.ts';
import { gated } from '../access.ts';
import { id, NO_NUL } from '../schemas.ts';
import { answerPage, auditPage } from '../paging.ts';
import { accessCount, auditEntry, auditStatus } from '../../contract/audit.ts';

export const auditQuery = z.strictObject({
  personId: id.optional(),
  actorId: id.optional(),
  action: z
    .string()
    .max(64)
    .regex(...NO_NUL)
    .optional(),
  outcome: z.enum(['allowed', 'denied', 'error']).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  before: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(1_000).default(100),
});

/** The installation's chain names no persons: the same filters but `personId`. */
const installationAuditQuery = auditQuery.omit({ personId: true });

export function auditRoutes(app: FastifyInstance, s: Services) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  // The installation's own chain: failed logins with unknown names, wrong setup tokens, refused DICOM
  // callers and TLS handshakes. The DPO and admin of a single-office installation only; with several
  // offices it belongs to none of them (the operator reads it with `kartei audit verify` and the database).
  r.get(
    '/api/audit/installation',
    {
      config: { access: { actions: ['audit.read-installation'], resource: 'installation' } },
      schema: {
        querystring: installationAuditQuery,
        response: { 200: z.array(auditEntry) },
        description:
          "The installation's own audit chain, newest first, in the shape of GET /api/audit. For the DPO and admin of a " +
          'single-office installation; 403 where several offices share the installation.',
      },
    },
    async (req) => {
      // On the record first (in the office's chain); the installation's chain is read in a transaction of its own.
      const read = await gated(s, req, 'audit.read-installation', { kind: 'installation' }, async (ctx) => {
        ctx.audit.detail = { chain: DEPLOYMENT_CHAIN };
        return installationChainReader(ctx, s.store, s.audit);
      });
      return read(req.query);
    },
  );

  // Accesses to files per day and department, for the DPO's chart (heads: their departments).
  r.get(
    '/api/audit/stats',
    {
      config: { access: { actions: ['audit.read'], resource: 'tenant' } },
      schema: {
        querystring: z.strictObject({ from: z.iso.datetime({ offset: true }), to: z.iso.datetime({ offset: true }) }),
        response: { 200: z.array(accessCount) },
      },
    },
    async (req) =>
      gated(s, req, 'audit.read', { kind: 'tenant' }, async (ctx) => {
        const rows = await accessCounts(ctx, auditScope(ctx.principal), req.query.from, req.query.to);
        ctx.audit.detail = { stats: true, rows: rows.length };
        return rows;
      }),
  );

  // The chain of the caller's office, checked now (after the request is on the record: the
  // check reads the whole chain and must not run inside the request's transaction), and its
  // last signed checkpoint.
  r.get(
    '/api/audit/status',
    {
      config: { access: { actions: ['audit.status'], resource: 'tenant' } },
      schema: { response: { 200: auditStatus } },
    },
    async (req) => {
      const status = await gated(s, req, 'audit.status', { kind: 'tenant' }, async (ctx) =>
        chainStatusReader(ctx, s.store, s.signer),
      );
      return status();
    },
  );
  r.get(
    '/api/audit',
    {
      config: { access: { actions: ['audit.read'], resource: 'tenant' } },
      schema: {
        querystring: auditQuery,
        response: { 200: z.array(auditEntry) },
        description:
          'The audit log, newest first: [{seq, at, actorId, actorName, actorService?, action, resourceType, resourceId, personId, outcome, reason, detail}]. ' +
          'A full page (`limit`, default 100) carries `Link: <…>; rel="next"` with `before` = its last `seq`. ' +
          '`detail` holds the non-personal facts of an event (ids, role names, counts, codes), e.g. the roles and memberships a grant gave or revoked, or null.',
      },
    },
    async (req, reply) => {
      const rows = await gated(s, req, 'audit.read', { kind: 'tenant' }, async (ctx) => {
        const found = await queryAudit(ctx, s.audit, s.keyring, auditScope(ctx.principal), req.query);
        ctx.audit.detail = { count: found.length };
        return found;
      });
      return answerPage(req, reply, auditPage(rows, req.query.limit));
    },
  );
}
