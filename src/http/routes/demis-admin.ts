// The office's DEMIS connection for its admins: see it (endpoints, client id, the certificate's
// subject and expiry, where fetching stands — never a secret or the key), set it (certificate and
// key as PEM, checked to belong together, RSA, valid now; https endpoints only; every problem
// named by its field), and poll now. src/demis/connection/ does the work.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import { KarteiError } from '../../errors.ts';
import { readDemisSettings, writeDemisSettings } from '../../demis/connection/connection-settings.ts';
import { gated, principalOf } from '../access.ts';
import { id, NO_NUL } from '../schemas.ts';
import { demisPollResult, demisSettings } from '../../contract/demis.ts';

const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(...NO_NUL);
const pem = z
  .string()
  .min(1)
  .max(64 * 1024)
  .regex(...NO_NUL);

export function demisAdminRoutes(app: FastifyInstance, s: Services) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tenant = { kind: 'tenant' } as const;

  r.get(
    '/api/admin/demis',
    {
      config: { access: { actions: ['admin.demis.read'], resource: 'tenant' } },
      schema: { response: { 200: demisSettings } },
    },
    async (req) => gated(s, req, 'admin.demis.read', tenant, (ctx) => readDemisSettings(ctx, s.keyring)),
  );

  r.put(
    '/api/admin/demis',
    {
      config: { access: { actions: ['admin.demis.update'], resource: 'tenant' } },
      schema: {
        body: z.strictObject({
          tokenUrl: text(500),
          clearingUrl: text(500),
          clientId: text(200),
          clientSecret: z
            .string()
            .min(1)
            .max(500)
            .regex(...NO_NUL)
            .optional(),
          username: text(100),
          /** Empty: no password (the client-credentials grant). */
          password: z
            .string()
            .max(500)
            .regex(...NO_NUL)
            .optional(),
          certificate: pem.optional(),
          privateKey: pem.optional(),
          keyPassphrase: z
            .string()
            .max(500)
            .regex(...NO_NUL)
            .optional(),
          /** Instead of certificate and key: the PKCS#12 file (.p12), base64. */
          pkcs12: z
            .string()
            .min(1)
            .max(96 * 1024)
            .regex(/^[A-Za-z0-9+/=\s]+$/, 'base64')
            .optional(),
          pkcs12Password: z
            .string()
            .max(500)
            .regex(...NO_NUL)
            .optional(),
          departmentId: id,
          pollIntervalMinutes: z.number().int().min(1).max(1440).default(5),
          enabled: z.boolean().default(true),
        }),
        response: { 200: demisSettings },
      },
    },
    async (req) => gated(s, req, 'admin.demis.update', tenant, (ctx) => writeDemisSettings(ctx, s.keyring, req.body)),
  );

  r.post(
    '/api/admin/demis/poll',
    {
      config: { access: { actions: ['demis.poll'], resource: 'tenant' } },
      schema: { response: { 200: demisPollResult } },
    },
    async (req) => {
      const p = principalOf(req);
      const configured = await gated(s, req, 'demis.poll', tenant, async (ctx) => {
        const row = await ctx.tx
          .selectFrom('demis_connections')
          .select('tenant_id')
          .where('tenant_id', '=', p.tenantId)
          .executeTakeFirst();
        return !!row;
      });
      if (!configured) throw new KarteiError('not-found', 'This office has no DEMIS connection configured');
      if (!s.demisPoller)
        throw new KarteiError('not-found', 'No DEMIS poller runs in this installation: it has no inbox import yet');
      return s.demisPoller.poll(p.tenantId, p.userId);
    },
  );
}
