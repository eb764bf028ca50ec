// The server's side of the web application: pages under the strict CSP with
// no inline script, hashed assets cached and compressed, and no API or
// DICOMweb path ever answered with the page.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { WEB_DIST, webAppRoutes } from '../../src/http/web-app.ts';
import { ensureWebBuild } from '../../scripts/build-web.ts';
import { registerSecurityHeaders } from '../../src/http/security-headers.ts';
import { errorHandler } from '../../src/http/problem.ts';

let dir: string;
let app: FastifyInstance;
const script = 'console.log("kartei");'.repeat(100);

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-web-'));
  fs.mkdirSync(path.join(dir, 'assets'));
  fs.writeFileSync(
    path.join(dir, 'index.html'),
    '<!doctype html><script type="module" src="/assets/index-abc123.js"></script>',
  );
  fs.writeFileSync(path.join(dir, 'assets/index-abc123.js'), script);
  fs.writeFileSync(path.join(dir, '.source-hash'), 'not served');
  app = Fastify();
  app.setErrorHandler(errorHandler);
  registerSecurityHeaders(app, false);
  webAppRoutes(app, dir);
  await app.ready();
});

after(async () => {
  await app.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('every application path answers the page, uncached, under the Content Security Policy', async () => {
  for (const url of ['/', '/setup', '/persons/0d9b1f0e-1111-4222-8333-944445555666', '/admin/users']) {
    const r = await app.inject({ url });
    assert.equal(r.statusCode, 200, url);
    assert.match(r.headers['content-type'] as string, /^text\/html/);
    assert.match(r.headers['content-security-policy'] as string, /script-src 'self'(;|$)/);
    assert.doesNotMatch(r.headers['content-security-policy'] as string, /unsafe-inline|unsafe-eval/);
    assert.equal(r.headers['cache-control'], 'no-store');
  }
});

test('API and DICOMweb paths never fall through to the page', async () => {
  for (const url of ['/api', '/api/nothing-here', '/dicom-web', '/dicom-web/studies/1.2.3/nothing']) {
    const r = await app.inject({ url });
    assert.equal(r.statusCode, 404, url);
    assert.match(r.headers['content-type'] as string, /application\/problem\+json/, url);
  }
});

test('assets: cached for good (their names carry a hash), gzip on request, unknown and dot files not found', async () => {
  const plain = await app.inject({ url: '/assets/index-abc123.js' });
  assert.equal(plain.statusCode, 200);
  assert.equal(plain.body, script);
  assert.equal(plain.headers['cache-control'], 'public, max-age=31536000, immutable');
  const gz = await app.inject({ url: '/assets/index-abc123.js', headers: { 'accept-encoding': 'gzip, br' } });
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.ok(gz.rawPayload.length < script.length / 10);
  for (const url of ['/assets/missing.js', '/assets/..%2f..%2fpackage.json']) {
    assert.equal((await app.inject({ url })).statusCode, 404, url);
  }
  // Files come from the build held in memory, never from a path on disk: at most the page answers.
  for (const url of ['/.source-hash', '/assets/../.source-hash', '/assets/%2e%2e/.source-hash', '/../package.json']) {
    const r = await app.inject({ url });
    assert.doesNotMatch(r.body, /not served|"name"/, url);
  }
});

test('the built application has no inline script or style and names only its own origin', async () => {
  await ensureWebBuild();
  const html = fs.readFileSync(path.join(WEB_DIST, 'index.html'), 'utf8');
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'inline script');
  assert.doesNotMatch(html, /<style|\sstyle=/, 'inline style');
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, 'third-party origin');
});

test('without a build, pages answer a problem that says how to build', async () => {
  const empty = Fastify();
  empty.setErrorHandler(errorHandler);
  webAppRoutes(empty, path.join(dir, 'does-not-exist'));
  const r = await empty.inject({ url: '/' });
  assert.equal(r.statusCode, 404);
  assert.match(r.json().detail, /npm start/);
  await empty.close();
});
