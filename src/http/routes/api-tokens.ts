// The caller's own API tokens. Minted only from an interactive session (a
// token cannot extend itself), with the scopes it is for (`admin` only with a
// fresh second-factor code), shown once, listed without secrets, revocable.
// A token cannot manage tokens: these routes are for sessions (access.ts).
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import { KarteiError } from '../../errors.ts';
import { DEFAULT_TOKEN_DAYS, MAX_TOKEN_DAYS } from '../../identity/api-tokens.ts';
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
      return s.apiTokens.list(p.tenantId, p.userId);
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
      await s.apiTokens.revoke(p.tenantId, p.userId, req.params.id);
      return reply.code(204).send();
    },
  );
}
