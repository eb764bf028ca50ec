// Health and the API description: public, and free of any data.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';

export function opsRoutes(app: FastifyInstance) {
  app.get(
    '/healthz',
    {
      config: { access: { public: 'liveness probe, no data' } },
      schema: { response: { 200: z.strictObject({ status: z.literal('ok') }) } },
    },
    async () => ({ status: 'ok' }),
  );
  app.get(
    '/api/openapi.json',
    {
      config: { access: { public: 'API description, no data' }, answers: { raw: 'the OpenAPI document itself' } },
      schema: { hide: true },
    },
    async () => app.swagger(),
  );
}
