// Ending a share, and the review queue of emergency accesses (deciding them, ending a running one).
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import { gated } from '../access.ts';
import { idParams } from '../schemas.ts';
import { answerPage } from '../paging.ts';
import { pageQuery } from '../../records/page-cursor.ts';
import { noContent } from '../../contract/common.ts';
import { reviewDecided, reviewItem } from '../../contract/records.ts';

export function sharingRoutes(app: FastifyInstance, s: Services) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.delete(
    '/api/shares/:id',
    {
      config: { access: { actions: ['share.revoke'], resource: 'share' } },
      schema: { params: idParams, response: { 204: noContent } },
    },
    async (req, reply) => {
      await gated(s, req, 'share.revoke', { kind: 'share', shareId: req.params.id }, (ctx) =>
        s.sharing.revoke(ctx, req.params.id),
      );
      return reply.code(204).send();
    },
  );

  r.get(
    '/api/reviews',
    {
      config: { access: { actions: ['review.list'], resource: 'tenant' } },
      schema: {
        querystring: z.strictObject({ state: z.enum(['open', 'decided']).default('open'), ...pageQuery }),
        response: { 200: z.array(reviewItem) },
        description:
          'Emergency accesses to review (`state=open`, the default: all open ones, oldest first) or the decided history (`state=decided`: ' +
          'most recently decided first, with decision, reviewedBy, reviewedByName, reviewedAt, comment; `limit` 1–200, default 50; ' +
          'when more exist, `Link: <…>; rel="next"` names the next page).',
      },
    },
    async (req, reply) => {
      const { state, ...page } = req.query;
      const found = await gated(s, req, 'review.list', { kind: 'tenant' }, async (ctx) => {
        const result =
          state === 'decided'
            ? await s.breakGlass.decidedReviews(ctx.tx, ctx.principal, page)
            : { items: await s.breakGlass.openReviews(ctx.tx, ctx.principal), next: null };
        ctx.audit.detail = { count: result.items.length, ...(state === 'decided' ? { state } : {}) };
        return result;
      });
      return answerPage(req, reply, found);
    },
  );

  r.post(
    '/api/reviews/:id',
    {
      config: { access: { actions: ['review.decide'], resource: 'review' } },
      schema: {
        params: idParams,
        body: z.strictObject({ decision: z.enum(['justified', 'unjustified']), comment: z.string().trim().max(2_000) }),
        response: { 200: reviewDecided },
      },
    },
    async (req) =>
      gated(s, req, 'review.decide', { kind: 'review', reviewId: req.params.id }, (ctx) =>
        s.breakGlass.decide(ctx, req.params.id, req.body.decision, req.body.comment),
      ),
  );

  // Ends a running emergency access now: the owning department's head or the DPO. The grantee's next
  // read of the file is 404 (a search's handles open nothing more); the review stays open.
  r.delete(
    '/api/break-glass/:id',
    {
      config: { access: { actions: ['break-glass.revoke'], resource: 'review' } },
      schema: { params: idParams, response: { 204: noContent } },
    },
    async (req, reply) => {
      await gated(s, req, 'break-glass.revoke', { kind: 'review', reviewId: req.params.id }, (ctx) =>
        s.breakGlass.revoke(ctx, req.params.id),
      );
      return reply.code(204).send();
    },
  );
}
