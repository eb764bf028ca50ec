// The audit log for the DPO (whole tenant) and heads (their departments' files).
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import { auditScope, queryAudit } from '../../audit/audit-query.ts';
import { gated } from '../access.ts';
import { id, NO_NUL } from '../schemas.ts';

export const auditQuery = z.strictObject({
  personId: id.optional(),
  actorId: id.optional(),
  action: z.string().max(64).regex(...NO_NUL).optional(),
  outcome: z.enum(['allowed', 'denied', 'error']).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  before: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(1_000).default(100),
});

export function auditRoutes(app: FastifyInstance, s: Services) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/api/audit', { config: { access: { actions: ['audit.read'], resource: 'tenant' } }, schema: { querystring: auditQuery } }, async (req) =>
    gated(s, req, 'audit.read', { kind: 'tenant' }, async (ctx) => {
      const rows = await queryAudit(ctx.tx, s.audit, s.keyring, ctx.principal.tenantId, auditScope(ctx.principal), req.query);
      ctx.audit.detail = { count: rows.length };
      return rows;
    }),
  );
}
