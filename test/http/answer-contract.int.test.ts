// One API contract, checked (issue 15): every route declares what it answers (a zod
// response schema from src/contract, or a raw answer saying why it is not JSON); the
// server refuses to start otherwise; an answer with a member its schema does not name
// (a leaked field) or without one it requires is a bare, logged 500, never sent; and
// /api/openapi.json describes the answers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { buildApp } from '../../src/http/app.ts';
import { assertAnswerDeclared, UndeclaredAnswerError } from '../../src/http/answer-contract.ts';
import { startHarness, setUpTenant, Client, type Harness, type Tenant } from '../helpers/harness.ts';

/** What each route reached declared as its answer (filled by an onResponse hook). */
const seen = new Map<string, { response: string[]; raw: string | undefined; schemas: unknown[] }>();

let h: Harness;
let t: Tenant;

before(async () => {
  h = await startHarness({
    extraRoutes: (app) => {
      app.addHook('onResponse', async (req: FastifyRequest) => {
        if (!req.routeOptions.url) return;
        const response = (req.routeOptions.schema?.response ?? {}) as Record<string, unknown>;
        seen.set(`${req.method} ${req.routeOptions.url}`, {
          response: Object.keys(response),
          raw: req.routeOptions.config?.answers?.raw,
          schemas: Object.values(response),
        });
      });
    },
  });
  t = await setUpTenant(h, ['INF']);
});
after(() => h.close());

/** Every route and method of an app, from Fastify's route tree. */
function registeredRoutes(app: FastifyInstance): { method: string; url: string }[] {
  const out: { method: string; url: string }[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│ ]*)(?:├── |└── )(\S+)(?: \(([^)]+)\))?$/.exec(line);
    if (!m) continue;
    stack.length = m[1]!.length / 4;
    stack.push(m[2]!);
    for (const method of (m[3] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean))
      out.push({ method, url: stack.join('') });
  }
  return out;
}

/** The zod objects within a schema that admit (or strip) members they do not name, by their members. */
function looseObjects(schema: unknown, seenSchemas = new Set<unknown>()): string[] {
  if (!schema || typeof schema !== 'object' || seenSchemas.has(schema)) return [];
  seenSchemas.add(schema);
  const def = (schema as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
  if (!def) return [];
  const out: string[] = [];
  const catchall = def.catchall as { _zod?: { def?: { type?: string } } } | undefined;
  if (def.type === 'object' && catchall?._zod?.def?.type !== 'never')
    out.push(Object.keys(def.shape as object).join(','));
  for (const v of Object.values(def)) {
    const inner = Array.isArray(v) ? v : v && typeof v === 'object' && !('_zod' in v) ? Object.values(v) : [v];
    for (const x of inner) out.push(...looseObjects(x, seenSchemas));
  }
  return out;
}

/** The routes that answer no JSON of Kartei's own: DICOMweb, PDF letters, the web application, redirects, the OpenAPI document. */
// Issue 16: inbox — a notification's raw DEMIS bundle (FHIR JSON or XML as received) is bytes, not an answer schema.
// Issue 17: documents — a document's or scan's bytes (download and preview).
// Issue 17: letters — a template's preview is a PDF.
// Issue 17: import — an import's report is a CSV file.
const RAW =
  /^(GET|HEAD|POST) (\/dicom-web\/|\/api\/access-reports\/letter\.pdf$|\/api\/persons\/:id\/access-report\.pdf$|\/assets\/|\/$|\/\*$|\/api\/auth\/sso\/(start|callback)$|\/api\/openapi\.json$|\/api\/notifications\/:id\/bundle$|\/api\/(documents|mailroom)\/:id\/(content|preview)$|\/api\/admin\/templates\/preview$|\/api\/imports\/:id\/report$)/;

test('every route of the real app declares its answer: a strict response schema for a success status, raw only for bytes that are no JSON', async () => {
  const routes = registeredRoutes(h.app).filter((r) => r.method !== 'OPTIONS');
  assert.ok(routes.length > 80, `found only ${routes.length} routes`);
  seen.clear();
  const anon = new Client(h);
  for (const { method, url } of routes) await anon.call(method, url.replace(/:(\w+)/g, 'no-such-$1').replace('*', 'x'));
  let schemas = 0;
  for (const { method, url } of routes) {
    const key = `${method} ${url}`;
    const d = seen.get(key);
    assert.ok(d, `${key} was not reached`);
    if (RAW.test(key)) {
      assert.ok(d.raw && d.raw.length > 0, `${key}: a raw answer says what it sends`);
      continue;
    }
    assert.equal(d.raw, undefined, `${key} answers JSON, so it declares a schema, not a raw answer`);
    assert.ok(
      d.response.some((s) => /^2\d\d$/.test(s)),
      `${key} has no response schema for a success status (has ${d.response.join(',') || 'none'})`,
    );
    // Every object in it is strict: a member the contract does not name is an error, never passed on (nor silently dropped).
    for (const schema of d.schemas) assert.deepEqual(looseObjects(schema), [], `${key}: objects that are not strict`);
    schemas++;
  }
  assert.ok(schemas > 60, `only ${schemas} routes with a response schema`);
});

test('a route that declares no answer stops the app from being built; a raw answer needs a reason', async () => {
  const access = { public: 'test route, no data' };
  const refused: [string, (app: FastifyInstance) => void][] = [
    ['no schema', (app) => app.get('/api/test/answer', { config: { access } }, async () => ({ secret: true }))],
    [
      'only an error status',
      (app) =>
        app.get(
          '/api/test/answer',
          { config: { access }, schema: { response: { 404: z.strictObject({}) } } },
          async () => ({}),
        ),
    ],
    [
      'raw without a reason',
      (app) => app.get('/api/test/answer', { config: { access, answers: { raw: '' } } }, async () => ({})),
    ],
  ];
  for (const [what, extraRoutes] of refused) {
    await assert.rejects(buildApp(h.services, { logger: false, extraRoutes }), UndeclaredAnswerError, what);
  }
  assert.throws(
    () => assertAnswerDeclared({ method: 'GET', url: '/x', handler: async () => ({}) }),
    /declares no response schema/,
  );
  // Declared, the same route is accepted, so the refusals are about the declaration.
  const ok = await buildApp(h.services, {
    logger: false,
    extraRoutes: (app) =>
      app.get(
        '/api/test/answer',
        { config: { access }, schema: { response: { 200: z.strictObject({ ok: z.boolean() }) } } },
        async () => ({ ok: true }),
      ),
  });
  const r = await ok.inject({ url: '/api/test/answer' });
  assert.equal(r.statusCode, 200);
  assert.deepEqual(JSON.parse(r.body), { ok: true });
  await ok.close();
});

test('an answer with a member its schema does not name, or without one it requires, is a bare 500 that never sends the data', async () => {
  const logged: unknown[] = [];
  const access = { public: 'test route, no data' };
  const person = z.strictObject({ id: z.string(), familyName: z.string() });
  const app = await buildApp(h.services, {
    logger: false,
    extraRoutes: (a) => {
      a.addHook('onError', async (_req, _reply, err) => {
        logged.push(err);
      });
      // What a careless handler might do: answer the row with a member the contract does not name.
      a.get('/api/test/leak', { config: { access }, schema: { response: { 200: person } } }, async () => ({
        id: 'p1',
        familyName: 'Musterfrau',
        birthDateEnc: 'GEHEIM-1960',
      }));
      a.get(
        '/api/test/leak-nested',
        {
          config: { access },
          schema: { response: { 200: z.array(z.strictObject({ id: z.string(), owner: person })) } },
        },
        async () => [{ id: 'r1', owner: { id: 'p1', familyName: 'Musterfrau', insurance: 'GEHEIM-AOK' } }],
      );
      a.post(
        '/api/test/created',
        { config: { access }, schema: { response: { 201: z.strictObject({ id: z.string() }) } } },
        async (_req, reply) => reply.code(201).send({ id: 'n1', secret: 'GEHEIM-201' }),
      );
      a.get('/api/test/missing', { config: { access }, schema: { response: { 200: person } } }, async () => ({
        id: 'p1',
      }));
      a.get('/api/test/wrong-type', { config: { access }, schema: { response: { 200: person } } }, async () => ({
        id: 'p1',
        familyName: new Date(0),
      }));
      a.get('/api/test/fine', { config: { access }, schema: { response: { 200: person } } }, async () => ({
        id: 'p1',
        familyName: 'Musterfrau',
      }));
    },
  });
  try {
    for (const [method, url] of [
      ['GET', '/api/test/leak'],
      ['GET', '/api/test/leak-nested'],
      ['POST', '/api/test/created'],
      ['GET', '/api/test/missing'],
      ['GET', '/api/test/wrong-type'],
    ] as const) {
      const r = await app.inject({ method, url });
      assert.equal(r.statusCode, 500, url);
      assert.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8', url);
      assert.deepEqual(
        JSON.parse(r.body),
        {
          type: 'https://kartei.invalid/problems/internal-error',
          title: 'Internal error',
          status: 500,
          detail: 'Internal error',
          code: 'internal-error',
        },
        url,
      );
      assert.ok(!r.body.includes('GEHEIM') && !r.body.includes('Musterfrau'), `${url} sent the data`);
    }
    // Each was raised as an error (and so logged by the error handler), the schema's complaint its cause.
    assert.equal(logged.length, 5);
    for (const e of logged) assert.equal((e as { code?: string }).code, 'FST_ERR_RESPONSE_SERIALIZATION');
    // The same schema lets an answer it names through, unchanged.
    const fine = await app.inject({ url: '/api/test/fine' });
    assert.equal(fine.statusCode, 200);
    assert.deepEqual(JSON.parse(fine.body), { id: 'p1', familyName: 'Musterfrau' });
  } finally {
    await app.close();
  }
});

test('the real routes answer through their schemas: a record read is whole, a created file is its id', async () => {
  const physician = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'physician' }] });
  const p = await physician.post('/api/persons', {
    departmentId: t.departments.INF!,
    familyName: 'Vertragstreu',
    givenName: 'Jana',
    birthDate: '1980-04-12',
  });
  assert.equal(p.status, 201);
  assert.deepEqual(Object.keys(p.body), ['id']);
  const me = await physician.get('/api/me');
  assert.equal(me.status, 200);
  assert.deepEqual(Object.keys(me.body).sort(), [
    'departments',
    'displayName',
    'id',
    'memberships',
    'tenantRoles',
    'username',
  ]);
  const file = await physician.get(`/api/persons/${p.body.id}`);
  assert.equal(file.status, 200);
  assert.equal(file.body.familyName, 'Vertragstreu');
  assert.equal(file.body.permissions.createRecord, true);
});

test('a real route whose domain function hands back a member the contract does not name answers 500 and sends none of it', async () => {
  const physician = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'physician' }] });
  const p = await physician.post('/api/persons', {
    departmentId: t.departments.INF!,
    familyName: 'Leckfrei',
    givenName: 'Ole',
    birthDate: '1975-01-02',
  });
  assert.equal((await physician.get(`/api/persons/${p.body.id}`)).status, 200);
  const persons = h.services.persons;
  const get = persons.get.bind(persons);
  // A careless change to the domain: the file answers with a sealed column's plain text next to the data.
  persons.get = async (ctx, id) =>
    ({ ...(await get(ctx, id)), insuranceNumber: 'GEHEIM-A123456789' }) as Awaited<ReturnType<typeof get>>;
  try {
    const r = await physician.get(`/api/persons/${p.body.id}`);
    assert.equal(r.status, 500);
    assert.equal(r.body.code, 'internal-error');
    assert.ok(!JSON.stringify(r.body).includes('GEHEIM') && !JSON.stringify(r.body).includes('Leckfrei'));
  } finally {
    persons.get = get;
  }
  assert.equal((await physician.get(`/api/persons/${p.body.id}`)).status, 200);
});

test('/api/openapi.json describes the answers: a schema for every JSON route, 204 without one', async () => {
  const r = await new Client(h).get('/api/openapi.json');
  assert.equal(r.status, 200);
  const paths = r.body.paths as Record<
    string,
    Record<string, { responses?: Record<string, { content?: Record<string, { schema?: Record<string, unknown> }> }> }>
  >;
  let described = 0;
  for (const [path, methods] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const key = `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`;
      if (RAW.test(key)) continue;
      const success = Object.entries(op.responses ?? {}).filter(([s]) => /^2\d\d$/.test(s));
      assert.ok(success.length > 0, `${key}: no success response described`);
      const [status, res] = success[0]!;
      if (status === '204') continue;
      assert.ok(res.content?.['application/json']?.schema, `${key}: ${status} has no schema`);
      described++;
    }
  }
  assert.ok(described > 50, `only ${described} answers described`);
  const record = paths['/api/records/{id}']!.get!.responses!['200']!.content!['application/json']!.schema as {
    properties: Record<string, unknown>;
    additionalProperties: unknown;
  };
  assert.ok('content' in record.properties && 'permissions' in record.properties);
  assert.equal(record.additionalProperties, false);
  const created = paths['/api/persons']!.post!.responses!['201']!.content!['application/json']!.schema as {
    properties: Record<string, unknown>;
  };
  assert.deepEqual(Object.keys(created.properties), ['id']);
});
