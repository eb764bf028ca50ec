// Attack (issue 19, ops): the metrics listener's bearer token is a secret like a key: a token
// file every local account may read lets any of them scrape (and, beyond loopback, hands the
// token to whoever reads the file). Like the key directory's files, a token file readable by
// group or others is refused. And a local account holding the listener's few connections must not keep
// Prometheus out.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { loadConfig } from '../../src/config/config.ts';
import { TlsReloader } from '../../src/config/tls-reload.ts';
import { configFindings } from '../../src/ops/security-findings.ts';
import { testCa, testCertificate } from '../helpers/certificates.ts';
import { Metrics } from '../../src/ops/metrics.ts';
import { metricsTokenFileProblem, startMetricsListener } from '../../src/ops/metrics-listener.ts';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-attack-metrics-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

test('a metrics token file readable by others is refused', async () => {
  const tokenFile = path.join(work, 'metrics-token');
  fs.writeFileSync(tokenFile, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o644 });
  fs.chmodSync(tokenFile, 0o644);
  const metrics = new Metrics({ defaults: false });
  let listener: Awaited<ReturnType<typeof startMetricsListener>> | undefined;
  try {
    listener = await startMetricsListener(metrics, { host: '127.0.0.1', port: 0, tokenFile }, undefined);
  } catch (e) {
    assert.match((e as Error).message, /readable|mode|600/);
    return;
  }
  await listener.close();
  assert.fail('a world-readable metrics token file was taken');
});

test('sixteen idle connections from a local account do not keep Prometheus out for a scrape interval', async () => {
  const metrics = new Metrics({ defaults: false });
  const l = await startMetricsListener(metrics, { host: '127.0.0.1', port: 0 }, undefined);
  const { port } = new URL(l.url);
  const idle: net.Socket[] = [];
  try {
    for (let i = 0; i < 16; i++)
      idle.push(
        await new Promise<net.Socket>((resolve) => {
          const s = net.connect(Number(port), '127.0.0.1', () => resolve(s));
          s.on('error', () => undefined);
        }),
      );
    await new Promise((r) => setTimeout(r, 200));
    // Prometheus's default scrape timeout is 10 s.
    const r = await fetch(l.url, { signal: AbortSignal.timeout(10_000) }).then(
      (x) => x.status,
      (e: Error) => e.name,
    );
    assert.equal(r, 200, 'a scrape beside 16 idle connections');
  } finally {
    for (const s of idle) s.destroy();
    await l.close();
  }
});

test('as many idle connections as the listener admits are closed soon: the next scrape gets through', async () => {
  const metrics = new Metrics({ defaults: false });
  const l = await startMetricsListener(metrics, { host: '127.0.0.1', port: 0 }, undefined);
  const { port } = new URL(l.url);
  const idle: net.Socket[] = [];
  try {
    for (let i = 0; i < 64; i++)
      idle.push(
        await new Promise<net.Socket>((resolve) => {
          const s = net.connect(Number(port), '127.0.0.1', () => resolve(s));
          s.on('error', () => undefined);
        }),
      );
    // The listener is full now (a scrape meanwhile is turned away); silent sockets are closed after 2 s,
    // checked every second: the next scrape (Prometheus's interval is 15 s by default) is served.
    await new Promise((r) => setTimeout(r, 3_500));
    assert.ok(
      idle.every((s) => s.destroyed || s.readableEnded),
      'the silent connections were closed by the listener',
    );
    const r = await fetch(l.url, { signal: AbortSignal.timeout(10_000) }).then(
      (x) => x.status,
      (e: Error) => e.name,
    );
    assert.equal(r, 200, 'a scrape beside 64 idle connections');
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(
      idle.every((s) => s.destroyed || s.readableEnded),
      'the silent connections were closed by the listener',
    );
  } finally {
    for (const s of idle) s.destroy();
    await l.close();
  }
});

test('a 0600 token file is taken, and the doctor check names a 0640 one', async () => {
  const tokenFile = path.join(work, 'metrics-token-ok');
  fs.writeFileSync(tokenFile, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
  assert.equal(metricsTokenFileProblem(tokenFile), undefined);
  const l = await startMetricsListener(
    new Metrics({ defaults: false }),
    { host: '127.0.0.1', port: 0, tokenFile },
    undefined,
  );
  await l.close();
  fs.chmodSync(tokenFile, 0o640);
  assert.match(metricsTokenFileProblem(tokenFile) ?? '', /readable by others \(mode 640\)/);
});

test("the metrics listener's HTTPS takes a renewed certificate through the TLS reloader (SIGHUP, file watch)", async () => {
  const certFile = path.join(work, 'metrics.crt');
  const keyFile = path.join(work, 'metrics.key');
  // The helper writes a name's certificate to the same files each time: copied before the renewal.
  const first = testCertificate('localhost');
  fs.copyFileSync(first.certFile, certFile);
  fs.copyFileSync(first.keyFile, keyFile);
  const renewed = testCertificate('localhost');
  const tokenFile = path.join(work, 'metrics-token-tls');
  const token = randomBytes(24).toString('base64url');
  fs.writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  const l = await startMetricsListener(
    new Metrics({ defaults: false }),
    { host: '127.0.0.1', port: 0, tokenFile },
    { certFile, keyFile },
  );
  const served = () =>
    new Promise<string>((resolve, reject) => {
      const s = tls.connect(
        { host: '127.0.0.1', port: Number(new URL(l.url).port), servername: 'localhost', ca: testCa().cert },
        () => {
          resolve(s.getPeerX509Certificate()!.fingerprint256);
          s.destroy();
        },
      );
      s.on('error', reject);
    });
  try {
    assert.equal(await served(), first.fingerprint256);
    assert.ok(l.setSecureContext, 'an HTTPS metrics listener can take a new certificate');
    const reloader = new TlsReloader();
    reloader.add('metrics', { certFile, keyFile }, { setSecureContext: l.setSecureContext });
    fs.copyFileSync(renewed.certFile, certFile);
    fs.copyFileSync(renewed.keyFile, keyFile);
    assert.deepEqual(
      reloader.reload().map((o) => [o.listener, o.result]),
      [['metrics', 'reloaded']],
    );
    assert.equal(await served(), renewed.fingerprint256);
  } finally {
    await l.close();
  }
});

test('kartei doctor names a metrics token file readable by others', () => {
  const tokenFile = path.join(work, 'metrics-token-doctor');
  fs.writeFileSync(tokenFile, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
  fs.chmodSync(tokenFile, 0o644);
  const config = loadConfig({ KARTEI_DATA_DIR: work, KARTEI_METRICS_TOKEN_FILE: tokenFile });
  const f = configFindings(config).find((x) => x.code === 'metrics-token-readable');
  assert.equal(f?.severity, 'critical'); // s25: serve refuses it (src/config/tls-start.ts)
  assert.match(f!.title, /mode 644/);
  fs.chmodSync(tokenFile, 0o600);
  assert.ok(!configFindings(config).some((x) => x.code === 'metrics-token-readable'));
});
