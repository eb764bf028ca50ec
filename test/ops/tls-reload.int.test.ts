// Issue 19: keys — TLS certificates reloaded without a restart, for HTTPS and the DICOM
// listener: a whole new certificate is taken for new connections; an expired one, a key that
// does not belong to it, a file that is no certificate or is missing leave the old one in
// place and say why; each change is audited without key material. On request
// (`Server.reloadTls`, SIGHUP through `kartei keys reload-tls`) and when the files change.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { DEPLOYMENT_CHAIN } from '../../src/db/schema.ts';
import { loadTlsMaterial } from '../../src/config/tls-reload.ts';
import { testCa, testCertificate, type TestCert } from '../helpers/certificates.ts';
import { freePort, startHarness, type Harness } from '../helpers/harness.ts';

const live = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-tls-live-'));
const certFile = path.join(live, 'server.crt');
const keyFile = path.join(live, 'server.key');
const harnesses: Harness[] = [];
after(async () => {
  for (const h of harnesses) await h.close();
  fs.rmSync(live, { recursive: true, force: true });
});

const a = testCertificate('kartei-a');
const b = testCertificate('kartei-b');
const expired = testCertificate('kartei-expired', { days: -1 });
const device = testCertificate('device-reload');

/** Puts a certificate and key in place as an operator's renewal would (each file replaced whole). */
function install(cert: string, key: string) {
  for (const [file, text] of [
    [certFile, cert],
    [keyFile, key],
  ] as const) {
    fs.writeFileSync(`${file}.new`, text, { mode: 0o600 });
    fs.renameSync(`${file}.new`, file);
  }
}

/** The fingerprint of the certificate a new TLS connection to `port` is shown. */
function presented(port: number, client?: TestCert): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({
      host: '127.0.0.1',
      port,
      ca: testCa().cert,
      servername: 'localhost',
      ...(client ? { cert: client.cert, key: client.key } : {}),
    });
    s.once('secureConnect', () => {
      resolve(s.getPeerX509Certificate()!.fingerprint256);
      s.destroy();
    });
    s.once('error', reject);
  });
}

/** Whether the server ends a connection that shows no client certificate with a TLS error (TLS 1.3 says so after the handshake). */
function refusedWithoutCertificate(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: testCa().cert, servername: 'localhost' });
    s.once('error', () => resolve(true));
    s.once('close', () => resolve(false));
    s.resume();
  });
}

async function start(env: Record<string, string> = {}) {
  const h = await startHarness({
    listen: true,
    dicom: true,
    env: {
      KARTEI_TLS_CERT: certFile,
      KARTEI_TLS_KEY: keyFile,
      KARTEI_DICOM_TLS_CERT: certFile,
      KARTEI_DICOM_TLS_KEY: keyFile,
      KARTEI_DICOM_TLS_CA: testCa().certFile,
      KARTEI_TLS_WATCH_SECONDS: '0',
      ...env,
    },
  });
  harnesses.push(h);
  return h;
}

const httpsPort = (h: Harness) => Number(new URL(h.url!).port);

test('reloadTls: a new certificate is taken by HTTPS and DICOM; a bad one keeps the old and says why; audited without keys', async () => {
  install(a.cert, a.key);
  const h = await start();
  assert.equal(await presented(httpsPort(h)), a.fingerprint256);
  assert.equal(await presented(h.dicom!.port, device), a.fingerprint256);

  install(b.cert, b.key);
  const reloaded = await h.server.reloadTls();
  assert.deepEqual(
    reloaded.map((o) => [o.listener, o.result]),
    [
      ['https', 'reloaded'],
      ['dicom', 'reloaded'],
    ],
  );
  assert.equal(await presented(httpsPort(h)), b.fingerprint256);
  assert.equal(await presented(h.dicom!.port, device), b.fingerprint256);
  // The DICOM listener still requires a device certificate from the CA after the reload.
  assert.equal(await refusedWithoutCertificate(h.dicom!.port), true);

  const bad: [string, string, RegExp][] = [
    [expired.cert, expired.key, /expired/],
    [a.cert, b.key, /does not belong to the certificate/],
    ['not a certificate', b.key, /holds no PEM certificate/],
    [b.cert, 'not a key', /no readable private key/],
  ];
  for (const [cert, key, why] of bad) {
    install(cert, key);
    const refused = await h.server.reloadTls();
    for (const o of refused) {
      assert.equal(o.result, 'refused');
      assert.match(o.reason!, why);
      assert.equal(o.reason!.includes('PRIVATE KEY'), false);
    }
    assert.equal(await presented(httpsPort(h)), b.fingerprint256, String(why));
    assert.equal(await presented(h.dicom!.port, device), b.fingerprint256, String(why));
  }
  fs.rmSync(keyFile);
  const missing = await h.server.reloadTls();
  assert.match(missing[0]!.reason!, /cannot read .*server\.key: ENOENT/);
  assert.equal(await presented(httpsPort(h)), b.fingerprint256);

  // Reloading the same certificate again changes nothing and is not audited again.
  install(b.cert, b.key);
  assert.deepEqual(
    (await h.server.reloadTls()).map((o) => o.result),
    ['unchanged', 'unchanged'],
  );

  const events = await inTenantTransaction(h.services.store, DEPLOYMENT_CHAIN, (tx) =>
    tx
      .selectFrom('audit_events')
      .select(['detail', 'outcome'])
      .where('tenant_id', '=', DEPLOYMENT_CHAIN)
      .where('action', '=', 'keys.tls.reload')
      .orderBy('seq')
      .execute(),
  );
  const details = events.map((e) => JSON.parse(String(e.detail)) as { listener: string; result: string });
  assert.deepEqual(
    details.map((d) => `${d.listener}:${d.result}`),
    ['https:reloaded', 'dicom:reloaded', ...Array(5).fill(['https:refused', 'dicom:refused']).flat()],
  );
  for (const e of events)
    for (const k of [a.key, b.key]) assert.equal(String(e.detail).includes(k.slice(40, 80)), false);
});

test('the files are watched: a renewed certificate is taken without a signal', async () => {
  install(a.cert, a.key);
  const h = await start({ KARTEI_TLS_WATCH_SECONDS: '1' });
  assert.equal(await presented(httpsPort(h)), a.fingerprint256);
  install(b.cert, b.key);
  const deadline = Date.now() + 15_000;
  while ((await presented(httpsPort(h))) !== b.fingerprint256) {
    assert.ok(Date.now() < deadline, 'the renewed certificate was not taken');
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(await presented(h.dicom!.port, device), b.fingerprint256);
});

test('kartei keys reload-tls: the running `kartei serve` reloads on SIGHUP', async () => {
  install(a.cert, a.key);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-tls-serve-'));
  const port = await freePort();
  const env = {
    PATH: process.env.PATH,
    KARTEI_LANG: 'en', // the command's English words: this test is about what it does
    KARTEI_DATA_DIR: path.join(dir, 'data'),
    KARTEI_KEY_DIR: path.join(dir, 'keys'),
    KARTEI_LISTEN: `127.0.0.1:${port}`,
    KARTEI_DICOM_LISTEN: 'off',
    KARTEI_TLS_CERT: certFile,
    KARTEI_TLS_KEY: keyFile,
    KARTEI_TLS_WATCH_SECONDS: '0',
  };
  const ROOT = path.resolve(import.meta.dirname, '../..');
  const bin = path.join(ROOT, 'bin/kartei.js');
  const server = spawn(process.execPath, [bin, 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  server.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  server.stderr.setEncoding('utf8').on('data', (d) => (out += d));
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const fp = await presented(port).catch(() => undefined);
      if (fp) {
        assert.equal(fp, a.fingerprint256);
        break;
      }
      assert.ok(Date.now() < deadline && server.exitCode === null, `server did not come up: ${out}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    install(b.cert, b.key);
    const cli = spawn(process.execPath, [bin, 'keys', 'reload-tls'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let cliOut = '';
    cli.stdout.setEncoding('utf8').on('data', (d) => (cliOut += d));
    cli.stderr.setEncoding('utf8').on('data', (d) => (cliOut += d));
    const code = await new Promise((r) => cli.once('exit', r));
    assert.equal(code, 0, cliOut);
    const until = Date.now() + 10_000;
    while ((await presented(port)) !== b.fingerprint256) {
      assert.ok(Date.now() < until, `not reloaded: ${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(server.exitCode, null, 'SIGHUP does not end the server');
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => (server.exitCode !== null ? r(null) : server.once('exit', r)));
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('loadTlsMaterial names a certificate not valid yet', () => {
  const m = loadTlsMaterial(
    { certFile: a.certFile, keyFile: a.keyFile },
    Date.parse(new X509Certificate(a.cert).validFrom) - 86_400_000,
  );
  assert.equal(m.ok, false);
  assert.match((m as { reason: string }).reason, /not valid before/);
});
