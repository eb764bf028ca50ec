// The caller's own API tokens. Minted only from an interactive session (a
// token cannot extend itself), with the scopes it is for (`admin` only with a
// fresh second-factor code), shown once, listed without secrets, revocable.
// A token cannot manage tokens: these routes are for sessions (access.ts).
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import { inTenant } from '../../db/connect.ts';
import { KarteiError } from '../../errors.ts';
import { DEFAULT_TOKEN_DAYS, listApiTokens, MAX_TOKEN_DAYS, revokeApiToken } from '../../identity/api-tokens.ts';
import { TOKEN_SCOPES } from '../../access/policy.ts';
import { principalOf } from '../access.ts';
import { idParams, NO_NUL } from '../schemas.ts';
import { noContent } from '../../contract/common.ts';
import { apiToken, createdApiToken } from '../../contract/identity.ts';

export function apiTokenRoutes(app: FastifyInstance, s: Services) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    '/api/auth/tokens',
    {
      config: { access: { self: 'mints a token for the own account' } },
      schema: {
        body: z.strictObject({
          name: z
            .string()
            .trim()
            .min(1)
            .max(100)
            .regex(...NO_NUL),
          // What the token is for: at least one of the closed set, each once.
          scopes: z
            .array(z.enum(TOKEN_SCOPES))
            .min(1)
            .max(TOKEN_SCOPES.length)
            .refine((x) => new Set(x).size === x.length, { message: 'each scope once', params: { code: 'duplicate' } }),
          expiresInDays: z.number().int().min(1).max(MAX_TOKEN_DAYS).default(DEFAULT_TOKEN_DAYS),
          // A current TOTP code, required with the admin scope.
          code: z.string().min(1).max(12).optional(),
        }),
        response: { 201: createdApiToken },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      if (req.auth!.csrfHash === null)
        throw new KarteiError('forbidden', 'API tokens are created from a login session, not with another token');
      const created = await s.apiTokens.create(
        p.tenantId,
        p.userId,
        { ...req.body, code: req.body.code?.replace(/\s/g, '') },
        req.ip,
      );
      return reply.code(201).send(created);
    },
  );

  r.get(
    '/api/auth/tokens',
    {
      config: { access: { self: 'lists the own tokens, without secrets' } },
      schema: { response: { 200: z.array(apiToken) } },
    },
    async (req) => {
      const p = principalOf(req);
      return inTenant(s.store, p.tenantId, (tx) => listApiTokens(tx, p.userId, new Date()));
    },
  );

  r.delete(
    '/api/auth/tokens/:id',
    {
      config: { access: { self: 'revokes an own token' } },
      schema: { params: idParams, response: { 204: noContent } },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const revoked = await inTenant(s.store, p.tenantId, async (tx) => {
        const ok = await revokeApiToken(tx, p.userId, req.params.id, new Date());
        if (ok)
          await s.audit.append(tx, {
            tenantId: p.tenantId,
            actorId: p.userId,
            action: 'auth.token-revoke',
            resourceType: 'api-token',
            resourceId: req.params.id,
            outcome: 'allowed',
          });
        return ok;
      });
      if (!revoked) throw new KarteiError('not-found');
      return reply.code(204).send();
    },
  );
}
