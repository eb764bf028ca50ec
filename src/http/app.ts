// The HTTP server: Fastify with zod validation at the edge, security headers,
// one error renderer, and the access declarations enforced on every route.
import type { DestinationStream } from 'pino';
import { servedOverHttps } from '../config/config.ts';
import Fastify, { type FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Services } from '../services.ts';
import { isStorageFull, KarteiError } from '../errors.ts';
import { createLogger } from './logger.ts';
import { errorHandler, sendProblem, toKarteiError } from './problem.ts';
import { auditRefusedRequest, refusedInput } from './refused-requests.ts';
import { registerAccess } from './access.ts';
import { assertAnswerDeclared } from './answer-contract.ts';
import { registerSecurityHeaders } from './security-headers.ts';
import { guardSlowBodies, REQUEST_CEILING_MS, type BodyRate } from './slow-bodies.ts';
import { opsRoutes } from './routes/ops.ts';
import { authRoutes } from './routes/auth.ts';
import { adminRoutes } from './routes/admin.ts';
import { accountRoutes } from './routes/accounts.ts';
import { departmentSettingsRoutes } from './routes/department-settings.ts';
import { ssoRoutes } from './routes/sso.ts';
import { demisAdminRoutes } from './routes/demis-admin.ts';
import { passkeyRoutes } from './routes/passkeys.ts';
import { personRoutes } from './routes/persons.ts';
import { recordRoutes } from './routes/records.ts';
import { sharingRoutes } from './routes/sharing.ts';
import { accessReportRoutes } from './routes/access-reports.ts';
import { auditRoutes } from './routes/audit.ts';
import { deviceRoutes } from './routes/devices.ts';
import { apiTokenRoutes } from './routes/api-tokens.ts';
import { studyRoutes } from './routes/studies.ts';
import { qidoRoutes } from './routes/dicomweb-qido.ts';
import { wadoRoutes } from './routes/dicomweb-wado.ts';
import { stowRoutes } from './routes/dicomweb-stow.ts';
import { webAppRoutes } from './web-app.ts';
import { securityReportRoutes } from './routes/security-report.ts';
// Issue 16: outbreaks
import { outbreakRoutes } from './routes/infection-outbreaks.ts';
// Issue 16: person merge
import { personMergeRoutes } from './routes/person-merge.ts';
// Issue 16: transmission
import { transmissionRoutes } from './routes/infection-transmission.ts';
// Issue 16: cases & contacts
import { infectionCaseRoutes } from './routes/infection-cases.ts';
import { httpsMaterial } from '../config/tls-start.ts'; // Issue 19: s25-start-files
import type { SecureContextOptions } from 'node:tls';
// Issue 16: inbox
import { inboxRoutes } from './routes/infection-inbox.ts';
// Issue 17: documents
import { documentRoutes } from './routes/documents.ts';
// Issue 17: tasks
import { taskRoutes } from './routes/tasks.ts';
// Issue 17: letters
import { letterRoutes } from './routes/letters.ts';
// Issue 17: import
import { importRoutes } from './routes/import.ts';
// Issue 19: ops
import { healthRoutes } from './health.ts';

export const BODY_LIMIT = 256 * 1024;

export interface AppOptions {
  /** Extra routes, e.g. the benchmark's; they must declare their access like any other. */
  extraRoutes?: (app: FastifyInstance) => void;
  logger?: boolean;
  /** Where the log lines go instead of stdout (tests read them). */
  logDestination?: DestinationStream;
  /** The slow-body rule (src/http/slow-bodies.ts); tests shorten its window. */
  bodyRate?: BodyRate;
  /**
   * Issue 19: s25-start-files — the HTTPS certificate and key as the start checked them (tls-start.ts):
   * not read again here. Without them (config.tls set): read and checked the same way.
   */
  tls?: SecureContextOptions;
}

export async function buildApp(services: Services, opts: AppOptions = {}): Promise<FastifyInstance> {
  const { config } = services;
  const app = Fastify({
    loggerInstance: opts.logger === false ? undefined : createLogger(config.logLevel, opts.logDestination),
    bodyLimit: BODY_LIMIT,
    // A request (headers and body) must arrive within this ceiling; slow bodies are cut off sooner (slow-bodies.ts).
    requestTimeout: REQUEST_CEILING_MS,
    // DICOMweb frame lists (`/frames/1,2,3,…`) are path parameters; the schema bounds them.
    routerOptions: { maxParamLength: 1_024 },
    // X-Forwarded-For counts only when the connection comes from a configured proxy (the login throttle's address).
    trustProxy: config.trustedProxies.length > 0 ? config.trustedProxies : false,
    https: config.tls ? (opts.tls ?? httpsMaterial(config.tls).options) : null,
  }) as unknown as FastifyInstance; // routes add the zod type provider themselves
  // JSON in and out: Fastify's default text/plain parser would let a plain-text body reach validation.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(async (err, req, reply) => {
    // Issue 19: ops — a write found no space (the data, a file, or a read's audit event): 503 for reads and writes
    // alike, undone like any failed transaction; the storage watcher logs the state once, not once per request.
    const storageFull = () => {
      services.ops?.storage.noteFull();
      return sendProblem(reply, new KarteiError('storage-full', undefined, undefined, { 'retry-after': '60' }));
    };
    if (isStorageFull(err)) return storageFull();
    // Input a data route refused before its handler ran is on the record; if it cannot be, the answer says so.
    if (refusedInput(err) && req.auth) {
      try {
        await auditRefusedRequest(services, req, toKarteiError(err).code);
      } catch (e) {
        return isStorageFull(e) ? storageFull() : sendProblem(reply, toKarteiError(e));
      }
    }
    return errorHandler(err, req, reply);
  });
  app.setNotFoundHandler((_req, reply) => sendProblem(reply, new KarteiError('not-found')));

  registerSecurityHeaders(app, servedOverHttps(config));
  guardSlowBodies(app, opts.bodyRate);
  await app.register(cookie);
  await app.register(swagger, {
    openapi: {
      info: { title: 'Kartei', version: '0.1.0', description: 'Records and image archive of a public health office' },
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: 'kartei_session' },
          apiToken: { type: 'http', scheme: 'bearer' },
        },
      },
    },
    transform: jsonSchemaTransform,
  });
  registerAccess(app, services);
  app.addHook('onRoute', (route) => assertAnswerDeclared(route));
  // Issue 19: ops — each answer's latency by route pattern (never the URL) and status, when metrics are on.
  const metrics = services.ops?.metrics;
  if (metrics)
    app.addHook('onResponse', (req, reply, done) => {
      // A callback hook, not an async one: no promise per request.
      metrics.observeHttp(req.method, req.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000);
      done();
    });

  opsRoutes(app);
  // Issue 19: ops
  healthRoutes(app, services);
  authRoutes(app, services);
  adminRoutes(app, services);
  accountRoutes(app, services);
  departmentSettingsRoutes(app, services);
  ssoRoutes(app, services);
  demisAdminRoutes(app, services);
  passkeyRoutes(app, services);
  personRoutes(app, services);
  recordRoutes(app, services);
  sharingRoutes(app, services);
  auditRoutes(app, services);
  accessReportRoutes(app, services);
  deviceRoutes(app, services);
  apiTokenRoutes(app, services);
  studyRoutes(app, services);
  qidoRoutes(app, services);
  wadoRoutes(app, services);
  stowRoutes(app, services);
  securityReportRoutes(app, services);
  // Issue 16: inbox
  inboxRoutes(app, services);
  // Issue 16: outbreaks
  outbreakRoutes(app, services);
  // Issue 16: person merge
  personMergeRoutes(app, services);
  // Issue 16: transmission
  transmissionRoutes(app, services);
  // Issue 16: cases & contacts
  infectionCaseRoutes(app, services);
  // Issue 17: documents
  documentRoutes(app, services);
  // Issue 17: tasks
  taskRoutes(app, services);
  // Issue 17: letters
  letterRoutes(app, services);
  // Issue 17: import
  importRoutes(app, services);
  webAppRoutes(app);
  opts.extraRoutes?.(app);
  await app.ready();
  return app;
}
