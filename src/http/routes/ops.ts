// The API description: public, and free of any data. (Health probes: src/http/health.ts.)
import type { FastifyInstance } from 'fastify';

export function opsRoutes(app: FastifyInstance) {
  app.get(
    '/api/openapi.json',
    {
      config: { access: { public: 'API description, no data' }, answers: { raw: 'the OpenAPI document itself' } },
      schema: { hide: true },
    },
    async () => app.swagger(),
  );
}
