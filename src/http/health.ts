// Health probes (issue 19), public and free of any data. `/healthz`: the process
// is alive and its event loop answers (nothing else is looked at: a full disk or a
// lost database must not get it restarted). `/readyz`: it may take traffic now —
// database, storage (not full), key directory and migrations (src/ops/readiness.ts);
// 503 with the same shape when not, each check only `ok`, `low`, `full` or `failed`.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Services } from '../services.ts';
import { ReadinessCheck } from '../ops/readiness.ts';
import { StorageSpace } from '../ops/storage-space.ts';

const result = z.enum(['ok', 'low', 'full', 'failed']);
const readiness = z.strictObject({
  status: z.enum(['ready', 'not-ready']),
  checks: z.strictObject({ database: result, storage: result, keys: result, migrations: result }),
});

export function healthRoutes(app: FastifyInstance, s: Services) {
  app.get(
    '/healthz',
    {
      config: { access: { public: 'liveness probe, no data' } },
      schema: { response: { 200: z.strictObject({ status: z.literal('ok') }) } },
    },
    async () => ({ status: 'ok' }),
  );
  // The server's own (src/server.ts); an app built without one (a test's) looks for itself.
  let check: ReadinessCheck | undefined;
  app.get(
    '/readyz',
    {
      config: { access: { public: 'readiness probe: ok/failed per check, no data' } },
      schema: { response: { 200: readiness, 503: readiness } },
    },
    async (_req, reply) => {
      check ??= s.ops?.readiness ?? new ReadinessCheck(s.store, new StorageSpace(s.config), s.config);
      const r = await check.check();
      reply.header('cache-control', 'no-store');
      return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not-ready', checks: r.checks });
    },
  );
}
