// The caller's own passkeys under "Mein Konto": a registration ceremony in two
// steps (options after the current password, then the authenticator's answer),
// the list, and removal (never of the last second factor). Only from a login
// session: an API token neither adds nor removes a second factor.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import { KarteiError } from '../../errors.ts';
import { principalOf } from '../access.ts';
import { idParams, NO_NUL } from '../schemas.ts';
import { registrationResponse } from '../webauthn-schemas.ts';
import { noContent } from '../../contract/common.ts';
import { passkey, passkeyOptions } from '../../contract/identity.ts';
import { officeAddresses } from '../../identity/office-address.ts';

function interactive(req: FastifyRequest) {
  if (req.auth!.csrfHash === null)
    throw new KarteiError('forbidden', 'Passkeys are managed in a signed-in session, not with an API token');
}

export function passkeyRoutes(app: FastifyInstance, s: Services) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    '/api/me/passkeys',
    {
      config: { access: { self: 'lists the own passkeys: name, created, last used' } },
      schema: { response: { 200: z.array(passkey) } },
    },
    async (req) => {
      const p = principalOf(req);
      return s.passkeys.list(p.tenantId, p.userId);
    },
  );

  r.post(
    '/api/me/passkeys/options',
    {
      config: { access: { self: 'starts adding a passkey to the own account, with the current password' } },
      schema: {
        body: z.strictObject({ currentPassword: z.string().min(1).max(1024) }),
        response: { 200: passkeyOptions },
      },
    },
    async (req) => {
      interactive(req);
      const p = principalOf(req);
      // The relying party is the office at the request's address (the only one its session is admitted at).
      const at = await officeAddresses(s.store).at(req.hostname);
      return s.passkeys.start(p.tenantId, p.userId, req.auth!.tokenHash, req.body.currentPassword, req.ip, at);
    },
  );

  r.post(
    '/api/me/passkeys',
    {
      config: { access: { self: 'finishes adding a passkey to the own account (the ceremony this session started)' } },
      schema: {
        body: z.strictObject({
          name: z
            .string()
            .trim()
            .min(1)
            .max(60)
            .regex(...NO_NUL),
          response: registrationResponse,
        }),
        response: { 201: passkey },
      },
    },
    async (req, reply) => {
      interactive(req);
      const p = principalOf(req);
      const at = await officeAddresses(s.store).at(req.hostname);
      return reply
        .code(201)
        .send(await s.passkeys.finish(p.tenantId, p.userId, req.auth!.tokenHash, req.body.name, req.body.response, at));
    },
  );

  r.delete(
    '/api/me/passkeys/:id',
    {
      config: { access: { self: 'removes an own passkey, never the last second factor' } },
      schema: { params: idParams, response: { 204: noContent } },
    },
    async (req, reply) => {
      interactive(req);
      const p = principalOf(req);
      await s.passkeys.remove(p.tenantId, p.userId, req.params.id);
      return reply.code(204).send();
    },
  );
}
