// Attack (issue 19, deploy/nginx/kartei.conf): the plain-HTTP server is nginx's default on port 80, so it
// answers every Host a client sends. Its redirect to HTTPS must go to the configured name, not to the
// client's Host (an open redirect: http://kartei…/login?… with `Host: evil.example` sent the browser
// to https://evil.example/login?…, and a link through a captive or spoofed DNS name looked like Kartei's).
// Runs where nginx is installed (CI installs it); nothing but nginx is started.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { testCertificate } from '../helpers/certificates.ts';
import { freePort } from '../helpers/harness.ts';
import { NGINX, nginxPrefix, nginxTest, type RunningNginx, startNginx } from '../helpers/nginx.ts';

const CONF = path.resolve(import.meta.dirname, '../../deploy/nginx/kartei.conf');
const noNginx = NGINX ? false : 'nginx is not installed';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-attack-nginx-'));
let nginx: RunningNginx | undefined;
let port = 0;

/** One plain HTTP GET with the Host header the client chooses. */
function get(host: string, p: string): Promise<{ status: number; location?: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, headers: { host }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, location: res.headers.location }));
    });
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  if (!NGINX) return;
  port = await freePort();
  const cert = testCertificate('localhost');
  const conf = fs
    .readFileSync(CONF, 'utf8')
    .replace(/^\s*listen \[::\]:.*\n/gm, '')
    .replace(/listen 80;/, `listen 127.0.0.1:${port};`)
    .replace(/listen 443 ssl( http2)?;/, `listen 127.0.0.1:${await freePort()} ssl$1;`)
    .replace(/ssl_certificate\s+\S+;/, `ssl_certificate ${cert.certFile};`)
    .replace(/ssl_certificate_key\s+\S+;/, `ssl_certificate_key ${cert.keyFile};`)
    .replace(/^\s*ssl_stapling.*\n/gm, '');
  const dir = path.join(tmp, 'nginx');
  nginxPrefix(dir, conf);
  const t = nginxTest(dir);
  assert.equal(t.status, 0, t.out);
  nginx = await startNginx(dir, async () => (await get('kartei.gesundheitsamt.example', '/')).status === 301);
});

after(async () => {
  if (nginx) assert.equal(await nginx.stop(), 0);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('plain HTTP with a forged Host is redirected to the configured name, not to the Host', {
  skip: noNginx,
}, async () => {
  for (const host of ['evil.example', 'evil.example:8443', 'kartei.gesundheitsamt.example.evil.example']) {
    const r = await get(host, '/login?next=/persons');
    assert.equal(r.status, 301, host);
    assert.equal(r.location, 'https://kartei.gesundheitsamt.example/login?next=/persons', host);
  }
  const own = await get('kartei.gesundheitsamt.example', '/x');
  assert.equal(own.location, 'https://kartei.gesundheitsamt.example/x');
});
