// The gate's declarations: a route that does not say what it does cannot be
// started; a handler cannot reach the gate with an action it did not declare;
// every real route is declared, documented in the OpenAPI description and
// answered with the security headers; health needs no session.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { buildApp } from '../../src/http/app.ts';
import { assertDeclared, gated, UndeclaredRouteError, type AccessDeclaration } from '../../src/http/access.ts';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { TOKEN_SCOPES } from '../../src/access/policy.ts';
import {
  startHarness,
  setUpTenant,
  samplePerson,
  Client,
  type Harness,
  type Tenant,
  type Reply,
} from '../helpers/harness.ts';

/** What each request was routed to and which declaration it carried (filled by an onResponse hook). */
const seen = new Map<string, AccessDeclaration | undefined>();

let h: Harness;
let t: Tenant;

before(async () => {
  h = await startHarness({
    extraRoutes: (app) => {
      // Hooks added here still apply to the routes registered before.
      app.addHook('onResponse', async (req) => {
        if (req.routeOptions.url) seen.set(`${req.method} ${req.routeOptions.url}`, req.routeOptions.config?.access);
      });
    },
  });
  t = await setUpTenant(h, ['INF']);
});
after(() => h.close());

/** The contract's routes (shared/API.md), in OpenAPI path syntax. */
const CONTRACT: [string, string][] = [
  ['post', '/api/setup'],
  ['post', '/api/auth/login'],
  ['post', '/api/auth/mfa'],
  ['post', '/api/auth/logout'],
  ['get', '/api/me'],
  ['post', '/api/admin/departments'],
  ['get', '/api/admin/departments'],
  ['post', '/api/admin/users'],
  ['get', '/api/admin/users'],
  ['patch', '/api/admin/users/{id}'],
  ['post', '/api/auth/enrol'],
  ['post', '/api/admin/users/{id}/enrolment'],
  ['get', '/api/admin/users/{id}/enrolment'],
  ['post', '/api/me/password'],
  ['get', '/api/approvals'],
  ['post', '/api/approvals/{id}'],
  ['post', '/api/persons'],
  ['get', '/api/persons'],
  ['get', '/api/persons/{id}'],
  ['patch', '/api/persons/{id}'],
  ['post', '/api/persons/{id}/records'],
  ['get', '/api/persons/{id}/records'],
  ['get', '/api/records/{id}'],
  ['put', '/api/records/{id}'],
  ['get', '/api/records/{id}/versions'],
  ['delete', '/api/records/{id}'],
  ['post', '/api/persons/{id}/break-glass'],
  ['post', '/api/persons/{id}/shares'],
  ['delete', '/api/shares/{id}'],
  ['get', '/api/reviews'],
  ['post', '/api/reviews/{id}'],
  ['get', '/api/audit'],
  ['get', '/api/persons/{id}/access-log'],
  ['get', '/healthz'],
];

/** The routes no session guards: exactly these, each for a stated reason. */
const PUBLIC = [
  'GET /healthz',
  // Issue 19: ops — readiness for probes: ok/failed per check, no data.
  'GET /readyz',
  'GET /api/openapi.json',
  'POST /api/setup',
  'POST /api/auth/login',
  'POST /api/auth/mfa',
  // The second login step with a passkey (issue 13), guarded by the login challenge like /api/auth/mfa.
  'POST /api/auth/webauthn',
  // Sets the own password with a one-time enrolment link (its 256-bit token is the guard).
  'POST /api/auth/enrol',
  // Single sign-on: whether it exists (one boolean), its start (a single-use, browser-bound flow) and the
  // provider's redirect back (guarded by the state, the browser cookie, PKCE and the ID token).
  'GET /api/auth/sso',
  'GET /api/auth/sso/start',
  'GET /api/auth/sso/callback',
  // The web application's page and code: the same bytes for everyone, no data.
  'GET /',
  'GET /*',
  'GET /assets/*',
];

/** Every (method, url) of an app, read from Fastify's own route tree. */
function registeredRoutes(app: FastifyInstance): { method: string; url: string }[] {
  const out: { method: string; url: string }[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│ ]*)(?:├── |└── )(\S+)(?: \(([^)]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    stack.push(m[2]!);
    for (const method of (m[3] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean))
      out.push({ method, url: stack.join('') });
  }
  return out;
}

test('an extra route without config.access stops the app from being built', async () => {
  const undeclared: [string, (app: FastifyInstance) => void][] = [
    ['no config', (app) => app.get('/api/test/undeclared', async () => ({ secret: true }))],
    ['config without access', (app) => app.post('/api/test/undeclared', { config: {} }, async () => ({}))],
    [
      'empty action list',
      (app) =>
        app.get('/api/test/undeclared', { config: { access: { actions: [], resource: 'person' } } }, async () => ({})),
    ],
    [
      'actions without resource',
      (app) =>
        app.get(
          '/api/test/undeclared',
          { config: { access: { actions: ['person.read'] } as never } },
          async () => ({}),
        ),
    ],
    [
      'public without a reason',
      (app) => app.get('/api/test/undeclared', { config: { access: { public: '' } } }, async () => ({})),
    ],
    [
      'self without a reason',
      (app) => app.get('/api/test/undeclared', { config: { access: { self: '' } } }, async () => ({})),
    ],
    [
      'inside a plugin',
      (app) => void app.register(async (child) => child.get('/api/test/undeclared', async () => ({}))),
    ],
  ];
  for (const [what, extraRoutes] of undeclared) {
    // buildApp on the harness's services: a failed startHarness would leave its store open.
    await assert.rejects(buildApp(h.services, { logger: false, extraRoutes }), UndeclaredRouteError, what);
  }
  // The same route declared is accepted, so the refusals above are about the declaration.
  const ok = await buildApp(h.services, {
    logger: false,
    extraRoutes: (app) =>
      app.get(
        '/api/test/declared',
        {
          config: { access: { public: 'test route, no data' } },
          schema: { response: { 200: z.strictObject({ ok: z.boolean() }) } },
        },
        async () => ({ ok: true }),
      ),
  });
  assert.equal((await ok.inject({ url: '/api/test/declared' })).statusCode, 200);
  await ok.close();
});

test('a handler that calls gated() with an action or resource it did not declare fails with a bare 500', async () => {
  const clerk = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'clerk' }] });
  const { body: p } = await clerk.post('/api/persons', samplePerson(t.departments.INF!, 'Deklarationsfall'));
  const ran: string[] = [];
  const app = await buildApp(h.services, {
    logger: false,
    extraRoutes: (a) => {
      const s = h.services;
      const named = z.strictObject({ familyName: z.string() });
      const work = (name: string) => async () => {
        ran.push(name);
        return { familyName: 'Deklarationsfall' };
      };
      a.get<{ Params: { id: string } }>(
        '/api/test/right/:id',
        { config: { access: { actions: ['person.read'], resource: 'person' } }, schema: { response: { 200: named } } },
        (req) => gated(s, req, 'person.read', { kind: 'person', personId: req.params.id }, work('right')),
      );
      a.get<{ Params: { id: string } }>(
        '/api/test/wrong-action/:id',
        { config: { access: { actions: ['person.read'], resource: 'person' } }, schema: { response: { 200: named } } },
        (req) => gated(s, req, 'person.update', { kind: 'person', personId: req.params.id }, work('wrong-action')),
      );
      a.get<{ Params: { id: string } }>(
        '/api/test/wrong-kind/:id',
        { config: { access: { actions: ['person.read'], resource: 'record' } }, schema: { response: { 200: named } } },
        (req) => gated(s, req, 'person.read', { kind: 'person', personId: req.params.id }, work('wrong-kind')),
      );
      a.get<{ Params: { id: string } }>(
        '/api/test/self/:id',
        { config: { access: { self: 'claims to touch only the caller' } }, schema: { response: { 200: named } } },
        (req) => gated(s, req, 'person.read', { kind: 'person', personId: req.params.id }, work('self')),
      );
    },
  });
  try {
    const call = async (url: string): Promise<Reply> => {
      const r = await app.inject({ url, headers: { cookie: `kartei_session=${clerk.cookie}` } });
      return { status: r.statusCode, body: JSON.parse(r.body), headers: r.headers, raw: r.rawPayload };
    };
    const auditCount = () =>
      inTenantTransaction(h.services.store, t.tenantId, async (tx) =>
        Number(
          (
            await tx
              .selectFrom('audit_events')
              .select((eb) => eb.fn.countAll<number>().as('n'))
              .where('person_id', '=', p.id)
              .executeTakeFirstOrThrow()
          ).n,
        ),
      );

    const right = await call(`/api/test/right/${p.id}`);
    assert.equal(right.status, 200);
    assert.deepEqual(ran, ['right']);

    const auditedBefore = await auditCount();
    for (const name of ['wrong-action', 'wrong-kind', 'self']) {
      const r = await call(`/api/test/${name}/${p.id}`);
      assert.equal(r.status, 500, name);
      assert.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8');
      assert.deepEqual(r.body, {
        type: 'https://kartei.invalid/problems/internal-error',
        title: 'Internal error',
        status: 500,
        detail: 'Internal error',
        code: 'internal-error',
      });
    }
    // The work never ran, and the gate was never entered (so nothing was audited as allowed).
    assert.deepEqual(ran, ['right']);
    assert.equal(await auditCount(), auditedBefore);
  } finally {
    await app.close();
  }
});

test('every route of the real app carries a valid declaration; only the known ones are public', async () => {
  const routes = registeredRoutes(h.app);
  assert.ok(routes.length >= CONTRACT.length, `found only ${routes.length} routes`);
  seen.clear();
  const anon = new Client(h);
  for (const { method, url } of routes) {
    const r = await anon.call(method, url.replace(/:id\b/g, 'no-such-id'));
    const key = `${method} ${url}`;
    assert.ok(seen.has(key), `${key} was not reached (status ${r.status})`);
    const access = seen.get(key);
    assert.doesNotThrow(() => assertDeclared({ method, url, config: { access } } as unknown as RouteOptions), key);
    const isPublic = !!access && 'public' in access;
    assert.equal(isPublic, PUBLIC.includes(key.replace(/^HEAD /, 'GET ')), `${key} public=${isPublic}`);
    // Without a session every non-public route answers 401, before any handler runs.
    if (!isPublic) assert.equal(r.status, 401, key);
  }
  // Every route the contract names is among them.
  for (const [method, path] of CONTRACT) {
    const key = `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`;
    assert.ok(seen.has(key), `${key} is not registered`);
  }
});

test('every contract route is described in the OpenAPI document, served without a session', async () => {
  const r = await new Client(h).get('/api/openapi.json');
  assert.equal(r.status, 200);
  assert.match(r.body.openapi, /^3\./);
  for (const [method, path] of CONTRACT) {
    assert.ok(r.body.paths?.[path]?.[method], `${method.toUpperCase()} ${path} missing from openapi.json`);
  }
  // The description is free of data: no tenant, user or department identifiers.
  const text = JSON.stringify(r.body);
  for (const id of [t.tenantId, t.adminId, ...Object.values(t.departments)])
    assert.ok(!text.includes(id), `openapi.json contains ${id}`);
});

test('the emergency routes beyond the contract are declared and described too', async () => {
  const r = await new Client(h).get('/api/openapi.json');
  for (const [method, path] of [
    ['post', '/api/persons/emergency-search'],
    ['post', '/api/emergency-hits/{id}/break-glass'],
    ['delete', '/api/break-glass/{id}'],
  ] as const) {
    assert.ok(r.body.paths?.[path]?.[method], `${method.toUpperCase()} ${path} missing from openapi.json`);
    assert.ok(
      seen.has(`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`) ||
        registeredRoutes(h.app).some(
          (x) => x.method === method.toUpperCase() && x.url === path.replace(/\{(\w+)\}/g, ':$1'),
        ),
    );
  }
  const search = r.body.paths['/api/persons/emergency-search'].post.requestBody.content['application/json'].schema;
  assert.deepEqual([...search.required].sort(), ['birthDate', 'familyName', 'reason']);
});

test('issue 13: the own sessions, scoped tokens and "stay signed in" are declared and described; only /api/me admits a token among the own-account routes', async () => {
  const r = await new Client(h).get('/api/openapi.json');
  for (const [method, path] of [
    ['get', '/api/me/sessions'],
    ['delete', '/api/me/sessions/{id}'],
    ['post', '/api/auth/tokens'],
    ['get', '/api/auth/tokens'],
    ['delete', '/api/auth/tokens/{id}'],
  ] as const) {
    assert.ok(r.body.paths?.[path]?.[method], `${method.toUpperCase()} ${path} missing from openapi.json`);
  }
  const mint = r.body.paths['/api/auth/tokens'].post.requestBody.content['application/json'].schema;
  assert.deepEqual([...mint.required].sort(), ['name', 'scopes']);
  assert.deepEqual(mint.properties.scopes.items.enum, [...TOKEN_SCOPES]);
  assert.ok(mint.properties.code, 'the second-factor code for the admin scope');
  const mfa = r.body.paths['/api/auth/mfa'].post.requestBody.content['application/json'].schema;
  assert.equal(mfa.properties.remember.type, 'boolean');
  assert.deepEqual([...mfa.required].sort(), ['challenge', 'code'], 'remember is optional');
  const admitting = [...seen].filter(([, a]) => !!a && 'self' in a && a.tokens).map(([key]) => key);
  assert.deepEqual(admitting, ['GET /api/me', 'HEAD /api/me']);
  assert.ok(seen.size > 0, 'run with the test that calls every route');
  for (const key of ['GET /api/me/sessions', 'DELETE /api/me/sessions/:id']) {
    const a = seen.get(key);
    assert.ok(a && 'self' in a && !a.tokens, key);
  }
});

test('security headers are on every response: success, refusal, error and unknown route', async () => {
  const anon = new Client(h);
  const clerk = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'clerk' }] });
  const responses: [string, Reply][] = [
    ['healthz', await anon.get('/healthz')],
    ['openapi', await anon.get('/api/openapi.json')],
    ['401', await anon.get('/api/me')],
    ['404 unknown route', await anon.get('/nowhere')],
    ['200 me', await clerk.get('/api/me')],
    ['201 create', await clerk.post('/api/persons', samplePerson(t.departments.INF!, 'Kopfzeile'))],
    ['404 hidden file', await clerk.get('/api/persons/no-such-id')],
    ['422', await clerk.post('/api/persons', { familyName: 1 })],
    ['400', await clerk.call('POST', '/api/persons', '{', { 'content-type': 'application/json' })],
    ['415', await clerk.call('POST', '/api/persons', 'x', { 'content-type': 'text/plain' })],
    ['403 csrf', await clerk.call('POST', '/api/persons', {}, { 'x-csrf-token': 'wrong' })],
    ['login 401', await anon.post('/api/auth/login', { username: 'nobody', password: 'wrong-password-123' })],
  ];
  for (const [what, r] of responses) {
    const csp = String(r.headers['content-security-policy'] ?? '');
    assert.ok(csp.includes("default-src 'self'"), `${what}: CSP ${csp}`);
    assert.ok(
      !csp.includes("'unsafe-inline'") && !csp.includes("'unsafe-eval'"),
      `${what}: CSP allows inline code: ${csp}`,
    );
    assert.ok(
      r.headers['x-frame-options'] === 'DENY' || csp.includes("frame-ancestors 'none'"),
      `${what}: framing allowed`,
    );
    assert.equal(r.headers['x-content-type-options'], 'nosniff', what);
    assert.equal(r.headers['referrer-policy'], 'no-referrer', what);
    assert.equal(r.headers['cache-control'], 'no-store', what);
    // No TLS configured here, so no HSTS promise either; and no framework fingerprint.
    assert.equal(r.headers['strict-transport-security'], undefined, what);
    assert.equal(r.headers['x-powered-by'], undefined, what);
  }
});

test('GET /healthz answers {status: "ok"} without a session and carries no data', async () => {
  const r = await new Client(h).get('/healthz');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { status: 'ok' });
  assert.equal(r.headers['set-cookie'], undefined);
});
