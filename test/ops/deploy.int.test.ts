// deploy/ (issue 19): the systemd unit passes `systemd-analyze verify` (a typo
// would not) with its hardening rated OK offline; its settings and the example
// environment make a configuration Kartei starts with (data and keys apart, 0700),
// and its command with those settings serves, is ready, has its metrics on
// loopback and stops cleanly on SIGTERM. The Dockerfile's settings start too, and
// it builds on Debian with the Node.js major the package brings (the image itself is
// built and run by scripts/container-check.sh: minutes and downloads, not in CI).
// Where Debian's nginx is installed, deploy/nginx/kartei.conf passes `nginx -t` and
// proxies a Kartei test server over HTTPS: probes, the client's address (X-Forwarded-*
// replaced, never the client's own), TLS 1.1 refused, a large upload streamed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import tls from 'node:tls';
import { z } from 'zod';
import { checkStartable, loadConfig } from '../../src/config/config.ts';
import { type TestCert, testCa, testCertificate } from '../helpers/certificates.ts';
import { freePort, type Harness, startHarness, strongPassword } from '../helpers/harness.ts';
import {
  httpsRequest,
  NGINX,
  nginxPrefix,
  nginxTest,
  type RunningNginx,
  startNginx,
  type TlsAnswer,
} from '../helpers/nginx.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const UNIT = path.join(ROOT, 'deploy/systemd/kartei.service');
const ENV_EXAMPLE = path.join(ROOT, 'deploy/systemd/kartei.env.example');
const DOCKERFILE = path.join(ROOT, 'deploy/docker/Dockerfile');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-deploy-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

/** The unit with its installation path pointed at this checkout (verify needs the program to exist). */
function unitHere(text = fs.readFileSync(UNIT, 'utf8')): string {
  const dir = fs.mkdtempSync(path.join(tmp, 'unit-'));
  const file = path.join(dir, 'kartei.service');
  fs.writeFileSync(file, text.replaceAll('/opt/kartei', ROOT));
  return file;
}

function verify(file: string) {
  const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

/** `Key=value` lines of a unit's [Service] section, in order. */
function directives(text: string): [string, string][] {
  return text
    .split('\n')
    .filter((l) => /^[A-Za-z]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);
}

/** KEY=value lines of an environment file (comments and blanks skipped). */
const envFile = (text: string) =>
  Object.fromEntries(
    text
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );

test('the systemd unit passes systemd-analyze verify; a misspelled directive would not', {
  skip: !hasAnalyze && 'systemd-analyze is not installed',
}, () => {
  const ok = verify(unitHere());
  assert.equal(ok.status, 0, ok.out);
  assert.equal(ok.out, '', `verify says: ${ok.out}`);
  const typo = verify(unitHere(fs.readFileSync(UNIT, 'utf8').replace('ProtectSystem=strict', 'ProtectSytem=strict')));
  assert.match(typo.out, /Unknown key( name)? 'ProtectSytem'/);
  const missing = verify(unitHere(fs.readFileSync(UNIT, 'utf8').replace('.bin/node', '.bin/nonexistent')));
  assert.notEqual(missing.status, 0, 'a program that is not there fails the check');
});

test('the unit is hardened: rated OK by systemd-analyze security, and the usual directives set', {
  skip: !hasAnalyze && 'systemd-analyze is not installed',
}, () => {
  const r = spawnSync('systemd-analyze', ['security', '--offline=yes', unitHere()], { encoding: 'utf8' });
  const level = /Overall exposure level for kartei\.service: (\d+\.\d+) (\w+)/.exec(r.stdout);
  assert.ok(level, r.stdout + r.stderr);
  assert.ok(Number(level[1]) <= 2.0, `exposure ${level[1]} ${level[2]}`);
  const d = new Map(directives(fs.readFileSync(UNIT, 'utf8')));
  for (const [key, value] of [
    ['User', 'kartei'],
    ['ProtectSystem', 'strict'],
    ['NoNewPrivileges', 'yes'],
    ['PrivateTmp', 'yes'],
    ['ProtectHome', 'yes'],
    ['StateDirectoryMode', '0700'],
    ['UMask', '0077'],
    ['CapabilityBoundingSet', ''],
    ['ReadWritePaths', '/var/lib/kartei/data /var/lib/kartei/keys'],
  ])
    assert.equal(d.get(key!), value, key);
});

/** The unit's Environment= lines, then its EnvironmentFile (the example) over them, as systemd does. */
function unitEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of directives(fs.readFileSync(UNIT, 'utf8')))
    if (k === 'Environment') env[v.slice(0, v.indexOf('='))] = v.slice(v.indexOf('=') + 1);
  return { ...env, ...envFile(fs.readFileSync(ENV_EXAMPLE, 'utf8')) };
}

test("the unit's command with its settings serves, is ready, has metrics on loopback, and stops on SIGTERM", async () => {
  const env = unitEnvironment();
  assert.doesNotThrow(() => checkStartable(loadConfig(env)), 'the configuration as installed starts');
  assert.equal(loadConfig(env).metrics?.host, '127.0.0.1');
  // The same settings with this test's directories and free ports instead of the installation's.
  const [port, dicom, metrics] = [await freePort(), await freePort(), await freePort()];
  const run = {
    ...env,
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    KARTEI_DATA_DIR: path.join(tmp, 'var/data'),
    KARTEI_KEY_DIR: path.join(tmp, 'var/keys'),
    KARTEI_LISTEN: `127.0.0.1:${port}`,
    KARTEI_DICOM_LISTEN: `127.0.0.1:${dicom}`,
    KARTEI_METRICS_LISTEN: `127.0.0.1:${metrics}`,
  };
  const exec = directives(fs.readFileSync(UNIT, 'utf8'))
    .find(([k]) => k === 'ExecStart')![1]
    .split(' ');
  const [program, ...args] = exec.map((a) => a.replace('/opt/kartei', ROOT));
  const child = spawn(program!, args, { cwd: ROOT, env: run, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    let ready = 0;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(200)) {
      if (child.exitCode !== null) break;
      ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.status,
        () => 0,
      );
      if (ready === 200) break;
    }
    assert.equal(ready, 200, out);
    const m = await fetch(`http://127.0.0.1:${metrics}/metrics`);
    assert.equal(m.status, 200);
    assert.match(
      await m.text(),
      /kartei_http_request_duration_seconds_count\{method="GET",route="\/readyz",status="200"\}/,
    );
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, `stopped cleanly on SIGTERM: ${out}`);
});

test('the Dockerfile: Debian with the Node.js major the package brings, a dedicated user, and settings that start', () => {
  const text = fs.readFileSync(DOCKERFILE, 'utf8');
  const froms = [...text.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]!);
  const nodeMajor = /^\^?(\d+)\./.exec(
    JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).dependencies.node,
  )![1];
  assert.deepEqual(froms, [`node:${nodeMajor}-bookworm-slim`, 'debian:bookworm-slim']);
  assert.match(text, /^USER kartei$/m);
  assert.match(text, /^ENTRYPOINT \["\/opt\/kartei\/node_modules\/\.bin\/node", "\/opt\/kartei\/bin\/kartei\.js"\]$/m);
  // Its ENV block as Kartei reads it: HTTPS beyond loopback, data and keys apart, metrics on loopback.
  const block = /^ENV ((?:.*\\\n)*.*)$/m.exec(text)![1]!.replace(/\\\n/g, ' ');
  const env = Object.fromEntries([...block.matchAll(/([A-Z_]+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
  const config = loadConfig(env);
  assert.doesNotThrow(() => checkStartable(config));
  assert.ok(config.tls, 'TLS beyond loopback');
  assert.equal(config.metrics?.host, '127.0.0.1');
  for (const p of ['node_modules/.bin/node', 'bin/kartei.js', 'scripts/build-web.ts'])
    assert.ok(fs.existsSync(path.join(ROOT, p)), p);
});

// --- deploy/nginx/kartei.conf loaded by Debian's nginx in front of a Kartei test server ---

const NGINX_CONF = path.join(ROOT, 'deploy/nginx/kartei.conf');
const noNginx = !NGINX && "nginx is not installed (Debian's `nginx`; .ci/run installs it)";
/** A client address nobody else uses, so what Kartei sees can only have come from the connection. */
const CLIENT = '127.0.0.2';
const SPOOFED = '203.0.113.7';

/** The operators' server blocks with only addresses and paths moved: loopback ports, the test certificate, Kartei's port. */
function proxyConf(o: { http: number; https: number; upstream: number; cert: TestCert }): string {
  const moved = fs
    .readFileSync(NGINX_CONF, 'utf8')
    .replace(/^\s*listen \[::\]:.*\n/gm, '')
    .replace(/listen 80;/, `listen 127.0.0.1:${o.http};`)
    .replace(/listen 443 ssl( http2)?;/, `listen 127.0.0.1:${o.https} ssl$1;`)
    .replace(/server 127\.0\.0\.1:8080;/, `server 127.0.0.1:${o.upstream};`)
    .replace(/ssl_certificate\s+\S+;/, `ssl_certificate ${o.cert.certFile};`)
    .replace(/ssl_certificate_key\s+\S+;/, `ssl_certificate_key ${o.cert.keyFile};`);
  // Every rewrite hit: the file still has the shape this test knows.
  for (const left of ['listen 80;', 'listen 443', 'server 127.0.0.1:8080', '/etc/kartei/tls'])
    assert.ok(!moved.includes(left), left);
  return moved;
}

const proxy = {} as {
  h: Harness;
  nginx: RunningNginx;
  dir: string;
  port: number;
  http: number;
  ca: string;
  /** The addresses Kartei's login step was called with. */
  logins: string[];
  /** Bytes of the test upload Kartei has read so far. */
  uploaded: number;
};

before(async () => {
  if (!NGINX) return;
  proxy.logins = [];
  proxy.uploaded = 0;
  proxy.h = await startHarness({
    listen: true,
    // As deploy/systemd/kartei.env.example sets it behind this proxy.
    env: { KARTEI_TRUSTED_PROXY: '127.0.0.1' },
    extraRoutes: (app) => {
      app.get(
        '/api/test/seen',
        {
          config: { access: { public: 'test route: what Kartei takes from the proxy' } },
          schema: {
            response: {
              200: z.strictObject({
                ip: z.string(),
                forwardedFor: z.string(),
                hostname: z.string(),
                protocol: z.string(),
              }),
            },
          },
        },
        async (req) => ({
          ip: req.ip,
          forwardedFor: String(req.headers['x-forwarded-for']),
          hostname: req.hostname,
          protocol: req.protocol,
        }),
      );
      void app.register(async (raw) => {
        raw.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));
        raw.post(
          '/api/test/upload',
          {
            config: { access: { public: 'test route: counts and hashes a streamed body' } },
            schema: { response: { 200: z.strictObject({ bytes: z.number(), sha256: z.string() }) } },
          },
          async (req) => {
            const hash = createHash('sha256');
            for await (const chunk of req.body as AsyncIterable<Buffer>) {
              hash.update(chunk);
              proxy.uploaded += chunk.length;
            }
            return { bytes: proxy.uploaded, sha256: hash.digest('hex') };
          },
        );
      });
    },
  });
  const login = proxy.h.services.login;
  const password = login.password.bind(login);
  login.password = (username, pw, address, at) => {
    proxy.logins.push(address);
    return password(username, pw, address, at);
  };
  proxy.dir = path.join(tmp, 'nginx');
  [proxy.port, proxy.http] = [await freePort(), await freePort()];
  proxy.ca = testCa().cert;
  const upstream = Number(new URL(proxy.h.url!).port);
  nginxPrefix(
    proxy.dir,
    proxyConf({ http: proxy.http, https: proxy.port, upstream, cert: testCertificate('localhost') }),
  );
  const checked = nginxTest(proxy.dir);
  assert.equal(checked.status, 0, checked.out);
  proxy.nginx = await startNginx(proxy.dir, async () => (await viaProxy({ path: '/healthz' })).status === 200);
});

after(async () => {
  if (!NGINX) return;
  if (proxy.nginx) assert.equal(await proxy.nginx.stop(), 0, 'nginx stops cleanly');
  await proxy.h?.close();
});

const viaProxy = (o: Omit<Parameters<typeof httpsRequest>[0], 'port' | 'ca'>) =>
  httpsRequest({ port: proxy.port, ca: proxy.ca, ...o });

test('nginx -t accepts deploy/nginx/kartei.conf as operators install it; a misspelled directive would not pass', {
  skip: noNginx,
}, () => {
  const ok = nginxTest(proxy.dir);
  assert.equal(ok.status, 0, ok.out);
  assert.match(ok.out, /syntax is ok/);
  const broken = path.join(tmp, 'nginx-broken');
  nginxPrefix(
    broken,
    fs.readFileSync(path.join(proxy.dir, 'kartei.conf'), 'utf8').replace('proxy_pass ', 'proxy_pas '),
  );
  const typo = nginxTest(broken);
  assert.notEqual(typo.status, 0);
  assert.match(typo.out, /unknown directive "proxy_pas"/);
});

test('through nginx over HTTPS: /healthz and /readyz answer 200; plain HTTP is sent to HTTPS', {
  skip: noNginx,
}, async () => {
  assert.equal((await viaProxy({ path: '/healthz' })).status, 200);
  const ready = await viaProxy({ path: '/readyz' });
  assert.equal(ready.status, 200, ready.body);
  const plain = await fetch(`http://127.0.0.1:${proxy.http}/login`, { redirect: 'manual' });
  assert.equal(plain.status, 301);
  assert.match(plain.headers.get('location') ?? '', /^https:\/\//);
});

test("a login through nginx carries the client's address; its own X-Forwarded-For and X-Forwarded-Host change nothing", {
  skip: noNginx,
}, async () => {
  const spoof = { 'x-forwarded-for': SPOOFED, 'x-forwarded-host': 'other-office.example', 'x-forwarded-proto': 'http' };
  proxy.logins.length = 0;
  const attempt = await viaProxy({
    path: '/api/auth/login',
    method: 'POST',
    localAddress: CLIENT,
    headers: { 'content-type': 'application/json', ...spoof },
    body: JSON.stringify({ username: 'niemand', password: strongPassword() }),
  });
  assert.equal(attempt.status, 401, attempt.body);
  assert.deepEqual(proxy.logins, [CLIENT], 'the address the throttle counts and the audit records');
  const seen = await viaProxy({
    path: '/api/test/seen',
    localAddress: CLIENT,
    headers: { host: 'kartei.gesundheitsamt.example', ...spoof },
  });
  // Replaced, not appended: with only the proxy trusted, an appended list would still end in the
  // client's address, but one more trusted hop (a load balancer's range) would make the spoof count.
  assert.deepEqual(JSON.parse(seen.body), {
    ip: CLIENT,
    forwardedFor: CLIENT,
    hostname: 'kartei.gesundheitsamt.example',
    protocol: 'https',
  });
  // Kartei believes X-Forwarded-For from the proxy's address: a proxy that passed or appended the
  // client's own header would hand it the spoofed address (as a request from there does).
  proxy.logins.length = 0;
  await fetch(`${proxy.h.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...spoof },
    body: JSON.stringify({ username: 'niemand', password: strongPassword() }),
  });
  assert.deepEqual(proxy.logins, [SPOOFED]);
});

test('nginx refuses TLS 1.1 and speaks TLS 1.2 and 1.3', { skip: noNginx }, async () => {
  const handshake = (o: tls.ConnectionOptions) =>
    new Promise<string>((resolve, reject) => {
      const s = tls.connect(
        { host: '127.0.0.1', port: proxy.port, servername: 'localhost', ca: proxy.ca, ...o },
        () => {
          resolve(s.getProtocol() ?? '');
          s.end();
        },
      );
      s.on('error', reject);
    });
  assert.equal(await handshake({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }), 'TLSv1.2');
  assert.equal(await handshake({ minVersion: 'TLSv1.3' }), 'TLSv1.3');
  // The client offers TLS 1.1 (its own floor lowered), so the refusal is the proxy's alert.
  await assert.rejects(
    handshake({ minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }),
    (e: NodeJS.ErrnoException) => /ALERT_PROTOCOL_VERSION|protocol version/i.test(`${e.code} ${e.message}`),
  );
});

test('a large upload passes nginx unbuffered: Kartei reads its first bytes while the rest is still to come', {
  skip: noNginx,
}, async () => {
  const MiB = 1024 * 1024;
  const total = 48 * MiB;
  const chunk = randomBytes(MiB);
  const hash = createHash('sha256');
  proxy.uploaded = 0;
  const answer = new Promise<TlsAnswer>((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: proxy.port,
        servername: 'localhost',
        ca: proxy.ca,
        agent: false,
        method: 'POST',
        path: '/api/test/upload',
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(total) },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    (async () => {
      req.write(chunk);
      hash.update(chunk);
      // A buffering proxy would hold this first MiB until the body is complete: Kartei would see nothing.
      for (const deadline = Date.now() + 10_000; proxy.uploaded === 0 && Date.now() < deadline; ) await sleep(20);
      assert.ok(proxy.uploaded > 0, 'Kartei read nothing of the body before it was complete');
      assert.ok(proxy.uploaded <= MiB);
      for (let sent = MiB; sent < total; sent += MiB) {
        hash.update(chunk);
        if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
      }
      req.end();
    })().catch(reject);
  });
  const reply = await answer;
  assert.equal(reply.status, 200, reply.body);
  assert.deepEqual(JSON.parse(reply.body), { bytes: total, sha256: hash.digest('hex') });
  // Nothing went to nginx's temp files on the way.
  const temp = path.join(proxy.dir, 'client_body-temp');
  assert.deepEqual(fs.existsSync(temp) ? fs.readdirSync(temp, { recursive: true }) : [], []);
});
