// Health and the API description: public, and free of any data.
import type { FastifyInstance } from 'fastify';

export function opsRoutes(app: FastifyInstance) {
  app.get('/healthz', { config: { access: { public: 'liveness probe, no data' } } }, async () => ({ status: 'ok' }));
  app.get('/api/openapi.json', { config: { access: { public: 'API description, no data' } }, schema: { hide: true } }, async () => app.swagger());
}
