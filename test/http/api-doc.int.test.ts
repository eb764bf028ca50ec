// docs/API.md stays the truth about the HTTP API: every route the server
// registers (method and path, HEAD and the web application's pages aside) is
// documented there as a heading or a table row, and every route the page names
// anywhere is one the server registers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { startHarness, Client, type Harness } from '../helpers/harness.ts';

const DOC = path.resolve(import.meta.dirname, '../../docs/API.md');

/** The web application's own pages and files (src/http/web-app.ts): not part of the API. */
const WEB_APP = new Set(['GET /', 'GET /*', 'GET /assets/*']);

const METHODS = 'GET|POST|PUT|PATCH|DELETE';
/** `METHOD /path` as the page writes a route; a query string after the path is not part of it. */
const ROUTE = new RegExp(`\`(${METHODS}) (/[^\\s\`?]*)(?:\\?[^\`]*)?\``, 'g');

/** Every (method, path) of an app, read from Fastify's own route tree. */
function registeredRoutes(app: FastifyInstance): string[] {
  const out: string[] = [];
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
      out.push(`${method} ${stack.join('')}`);
  }
  return [...new Set(out)].filter((r) => !r.startsWith('HEAD ') && !WEB_APP.has(r)).sort();
}

/** The routes a page documents (a heading or a table row's first cell) and the routes it names anywhere. */
function documentedRoutes(markdown: string): { documented: Set<string>; named: Set<string> } {
  const documented = new Set<string>();
  const named = new Set<string>();
  for (const line of markdown.split('\n')) {
    const found = [...line.matchAll(ROUTE)].map((m) => `${m[1]} ${m[2]}`);
    for (const r of found) named.add(r);
    const heading = /^#{2,6} /.test(line);
    const firstCell = /^\|\s*`/.exec(line) ? line.split('|')[1] : undefined;
    if (heading) for (const r of found) documented.add(r);
    if (firstCell) for (const m of firstCell.matchAll(ROUTE)) documented.add(`${m[1]} ${m[2]}`);
  }
  return { documented, named };
}

/** What is wrong between the registered routes and a page: undocumented routes, and named routes that do not exist. */
function compare(routes: string[], markdown: string): { undocumented: string[]; unknown: string[] } {
  const { documented, named } = documentedRoutes(markdown);
  const registered = new Set(routes);
  return {
    undocumented: routes.filter((r) => !documented.has(r)),
    unknown: [...named].filter((r) => !registered.has(r)).sort(),
  };
}

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

test('docs/API.md documents every registered route and names no route that does not exist', async () => {
  const routes = registeredRoutes(h.app);
  // The reading of the route tree works: the contract's routes, a DICOMweb and a nested one are among them.
  for (const r of [
    'POST /api/setup',
    'GET /api/persons/:id',
    'GET /dicom-web/studies/:study/series/:series/instances/:instance/frames/:frames/rendered',
    'GET /api/persons/:id/access-report.pdf',
    'GET /healthz',
  ]) {
    assert.ok(routes.includes(r), `${r} not read from the route tree`);
  }
  assert.ok(routes.length > 80, `only ${routes.length} routes read`);
  // Nothing the server describes in its OpenAPI document escapes the reading of the tree.
  const openapi = await new Client(h).get('/api/openapi.json');
  assert.equal(openapi.status, 200);
  assert.ok(Object.keys(openapi.body.paths).length > 50, 'openapi.json lists too few paths');
  for (const [p, ops] of Object.entries(openapi.body.paths as Record<string, Record<string, unknown>>)) {
    for (const method of Object.keys(ops)) {
      const r = `${method.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ':$1')}`;
      if (!r.startsWith('HEAD '))
        assert.ok(routes.includes(r), `${r} is in openapi.json but not read from the route tree`);
    }
  }
  const { undocumented, unknown } = compare(routes, fs.readFileSync(DOC, 'utf8'));
  assert.deepEqual(
    undocumented,
    [],
    'routes the server registers but docs/API.md does not document (add a heading `### `METHOD /path``)',
  );
  assert.deepEqual(unknown, [], 'routes docs/API.md names that the server does not register');
});

test('the comparison catches a route added without documentation, one documented only in passing, and one that is gone', async () => {
  const doc = fs.readFileSync(DOC, 'utf8');
  // A new route on the real app, not in the page.
  const extra = await startHarness({
    extraRoutes: (app) =>
      app.get(
        '/api/test/undocumented',
        { config: { access: { public: 'test route, no data' } }, schema: { response: { 200: z.strictObject({}) } } },
        async () => ({}),
      ),
  });
  try {
    assert.deepEqual(compare(registeredRoutes(extra.app), doc).undocumented, ['GET /api/test/undocumented']);
  } finally {
    await extra.close();
  }
  const routes = registeredRoutes(h.app);
  // A route's heading removed: mentioned elsewhere in prose does not count as documented.
  const withoutHeading = doc.replace(/^#{2,6} `DELETE \/api\/shares\/:id`$/m, '');
  assert.notEqual(withoutHeading, doc);
  assert.deepEqual(compare(routes, withoutHeading).undocumented, ['DELETE /api/shares/:id']);
  // A table row removed.
  const withoutRow = doc.replace(/^\| `POST \/dicom-web\/studies\/:study` \|.*$/m, '');
  assert.notEqual(withoutRow, doc);
  assert.deepEqual(compare(routes, withoutRow).undocumented, ['POST /dicom-web/studies/:study']);
  // A route the page names that the server does not have (the contract's former reset route), in prose or a heading.
  assert.deepEqual(compare(routes, `${doc}\nUse \`POST /api/admin/users/:id/reset-mfa\`.\n`).unknown, [
    'POST /api/admin/users/:id/reset-mfa',
  ]);
  assert.deepEqual(compare(routes, `${doc}\n### \`GET /api/persons/:id/secrets?full=1\`\n`).unknown, [
    'GET /api/persons/:id/secrets',
  ]);
});
