// The caller's own API tokens. Minted only from an interactive session (a
// token cannot extend itself), shown once, listed without secrets, revocable.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import { inTenant } from '../../db/connect.ts';
import { KarteiError } from '../../errors.ts';
import { createApiToken, listApiTokens, MAX_TOKEN_DAYS, revokeApiToken } from '../../identity/api-tokens.ts';
import { principalOf } from '../access.ts';
import { idParams, NO_NUL } from '../schemas.ts';

export function apiTokenRoutes(app: FastifyInstance, s: Services) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    '/api/auth/tokens',
    {
      config: { access: { self: 'mints a token for the own account' } },
      schema: { body: z.strictObject({ name: z.string().trim().min(1).max(100).regex(...NO_NUL), expiresInDays: z.number().int().min(1).max(MAX_TOKEN_DAYS) }) },
    },
    async (req, reply) => {
      const p = principalOf(req);
      if (req.auth!.csrfHash === null) throw new KarteiError('forbidden', 'API tokens are created from a login session, not with another token');
      const created = await inTenant(s.store, p.tenantId, async (tx) => {
        const t = await createApiToken(tx, p.tenantId, p.userId, req.body.name, req.body.expiresInDays, new Date());
        await s.audit.append(tx, { tenantId: p.tenantId, actorId: p.userId, action: 'auth.token-create', resourceType: 'api-token', resourceId: t.id, outcome: 'allowed', detail: { expiresInDays: req.body.expiresInDays } });
        return t;
      });
      return reply.code(201).send(created);
    },
  );

  r.get('/api/auth/tokens', { config: { access: { self: 'lists the own tokens, without secrets' } } }, async (req) => {
    const p = principalOf(req);
    return inTenant(s.store, p.tenantId, (tx) => listApiTokens(tx, p.userId, new Date()));
  });

  r.delete('/api/auth/tokens/:id', { config: { access: { self: 'revokes an own token' } }, schema: { params: idParams } }, async (req, reply) => {
    const p = principalOf(req);
    const revoked = await inTenant(s.store, p.tenantId, async (tx) => {
      const ok = await revokeApiToken(tx, p.userId, req.params.id, new Date());
      if (ok) await s.audit.append(tx, { tenantId: p.tenantId, actorId: p.userId, action: 'auth.token-revoke', resourceType: 'api-token', resourceId: req.params.id, outcome: 'allowed' });
      return ok;
    });
    if (!revoked) throw new KarteiError('not-found');
    return reply.code(204).send();
  });
}
