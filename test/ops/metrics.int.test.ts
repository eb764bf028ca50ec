// Metrics and probes (issue 19): the Prometheus listener apart from the app,
// loopback unless TLS and a token are configured; route patterns only (no id,
// no name, no AE title in any label); a flood of distinct URLs and methods grows
// no label set; DICOM operations, audit appends and the group commit counted;
// `/readyz` failing on a lost key directory.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkStartable, ConfigError, loadConfig } from '../../src/config/config.ts';
import { startMetricsListener } from '../../src/ops/metrics-listener.ts';
import { Metrics } from '../../src/ops/metrics.ts';
import {
  DIALECT,
  setUpTenant,
  startHarness,
  samplePerson,
  Client,
  type Harness,
  type Tenant,
} from '../helpers/harness.ts';
import { makeInstance } from '../helpers/dicom-files.ts';

let h: Harness;
let t: Tenant;
before(async () => {
  h = await startHarness({ listen: true, dicom: true });
  t = await setUpTenant(h, ['TB']);
});
after(() => h.close());

const scrape = async (url = h.server.metricsUrl!) => {
  const r = await fetch(url);
  return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
};

/** The distinct values of one label across the exposition. */
const labelValues = (text: string, label: string) =>
  new Set([...text.matchAll(new RegExp(`${label}="([^"]*)"`, 'g'))].map((m) => m[1]));

test('the metrics listen on their own loopback port: route patterns with status, never an id or a name', async () => {
  assert.ok(h.server.metricsUrl, 'the metrics listener started');
  const url = new URL(h.server.metricsUrl);
  assert.equal(url.hostname, '127.0.0.1');
  assert.notEqual(url.port, new URL(h.url!).port, 'not the application port');
  // The application answers /metrics as any page path (the web application's page, or 404 without a build).
  const app = await fetch(`${h.url}/metrics`);
  assert.doesNotMatch(await app.text(), /kartei_http_request_duration_seconds/, 'not served by the application');

  const physician = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'physician' }] });
  const person = (await physician.post('/api/persons', samplePerson(t.departments.TB!, 'Quastenberg'))).body.id;
  const record = await physician.post(`/api/persons/${person}/records`, {
    type: 'note',
    sensitivity: 'normal',
    content: { text: 'Hausbesuch' },
  });
  assert.equal((await physician.get(`/api/records/${record.body.id}`)).status, 200);
  assert.equal((await physician.get(`/api/records/${randomUUID()}`)).status, 404);
  await physician.get(`/api/persons?familyName=Quastenberg`);

  const m = await scrape();
  assert.equal(m.status, 200);
  assert.match(m.type!, /^text\/plain; version=0\.0\.4/);
  assert.match(
    m.text,
    /^kartei_http_request_duration_seconds_count\{method="GET",route="\/api\/records\/:id",status="200"\} 1$/m,
  );
  assert.match(
    m.text,
    /^kartei_http_request_duration_seconds_count\{method="GET",route="\/api\/records\/:id",status="404"\} 1$/m,
  );
  assert.match(m.text, /^kartei_audit_appends_total [1-9]\d*$/m);
  assert.match(m.text, /^kartei_audit_append_duration_seconds_count [1-9]\d*$/m, 'one append in 16 timed');
  if (DIALECT === 'sqlite') {
    // The group commit and its WAL sync are SQLite's (src/db/group-commit.ts); PostgreSQL commits each transaction itself.
    assert.match(m.text, /^kartei_db_commit_sync_duration_seconds_count [1-9]\d*$/m);
    assert.match(m.text, /^kartei_db_commit_batch_size_count [1-9]\d*$/m);
    assert.match(m.text, /^kartei_queue_depth\{queue="db-transactions"\} 0$/m);
  }
  assert.match(m.text, /^kartei_storage_state [01]$/m);
  assert.match(m.text, /^kartei_storage_free_bytes\{area="data"\} \d+/m);
  assert.match(m.text, /^kartei_process_cpu_seconds_total /m, 'the process metrics');
  assert.match(m.text, /^kartei_nodejs_eventloop_delay_seconds\{quantile="0.99"\} \d/m);
  assert.match(m.text, /^kartei_process_resident_memory_bytes \d+/m);
  // Nothing identifying: no id, no name, no query.
  for (const secret of [person, record.body.id, 'Quastenberg', 'familyName', physician.username])
    assert.ok(!m.text.includes(secret), `${secret} in the metrics`);
  assert.doesNotMatch(m.text, /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/, 'a UUID in a label');
});

test('attack: thousands of distinct URLs and odd methods add no label values (unmatched → one route)', async (ctx) => {
  await fetch(`${h.url}/nothing-here`);
  const before = await scrape();
  const routesBefore = labelValues(before.text, 'route');
  const methodsBefore = labelValues(before.text, 'method');
  const sent: string[] = [];
  for (let batch = 0; batch < 20; batch++) {
    await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const junk = randomBytes(6).toString('hex');
        sent.push(junk);
        const urls = [
          `/api/${junk}`,
          `/api/records/${junk}`,
          `/dicom-web/studies/${junk}/series/${junk}`,
          `/assets/${junk}.js`,
          `/${junk}?${junk}=${junk}`,
        ];
        const method = ['GET', 'POST', 'PROPFIND', 'PURGE', 'DELETE'][i % 5]!;
        await fetch(`${h.url}${urls[i % urls.length]}`, { method }).then((r) => r.arrayBuffer());
      }),
    );
  }
  const after = await scrape();
  const routesAfter = labelValues(after.text, 'route');
  const methodsAfter = labelValues(after.text, 'method');
  const newRoutes = [...routesAfter].filter((r) => !routesBefore.has(r));
  ctx.diagnostic(`route labels: ${[...routesAfter].join(' ')}; methods: ${[...methodsAfter].join(' ')}`);
  // Only route patterns the app declares (a matched one or the catch-all), a handful at most.
  assert.ok(newRoutes.length <= 6, `new route labels: ${newRoutes.join(', ')}`);
  for (const r of routesAfter) assert.ok(r === '(unmatched)' || r?.startsWith('/'), r);
  assert.ok(
    [...methodsAfter].every((m) => ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'OTHER'].includes(m!)),
  );
  assert.ok(methodsAfter.size <= methodsBefore.size + 3);
  for (const junk of sent.slice(0, 200)) assert.ok(!after.text.includes(junk), 'a URL part in the metrics');
  // The exposition stays small: series, not requests.
  assert.ok(after.text.length < before.text.length + 40_000, `${after.text.length - before.text.length} bytes more`);
});

test('attack: the metrics listener answers only GET /metrics, and a flood of connections leaves it serving', async () => {
  const base = h.server.metricsUrl!.replace(/\/metrics$/, '');
  assert.equal((await fetch(`${base}/`)).status, 404);
  assert.equal((await fetch(`${base}/metrics/../api/records`)).status, 404);
  assert.equal((await fetch(`${base}/metrics`, { method: 'POST', body: 'x' })).status, 404);
  const results = await Promise.allSettled(Array.from({ length: 200 }, () => scrape()));
  const ok = results.filter((r) => r.status === 'fulfilled' && r.value.status === 200).length;
  assert.ok(ok > 0, 'some scrapes of the flood were served');
  await sleep(50);
  assert.equal((await scrape()).status, 200, 'still serving after the flood');
});

test('DICOM operations are counted by gate action and outcome, associations by outcome; no AE title in a label', async () => {
  const r = await t.admin.post('/api/admin/devices', {
    departmentId: t.departments.TB,
    aeTitle: 'METRICSCU',
    permissions: ['store'],
    host: '127.0.0.1',
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const file = path.join(h.dir, 'metrics.dcm');
  fs.writeFileSync(file, makeInstance({ patientId: 'PID-METRICS', patientName: 'Metrik^Marta' }).file);
  const out = await new Promise<{ code: number; out: string }>((resolve) =>
    execFile(
      'storescu',
      ['-aet', 'METRICSCU', '-aec', 'KARTEI', '127.0.0.1', String(h.dicom!.port), file],
      { timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? 1 : 0, out: stdout + stderr }),
    ),
  );
  if (out.code !== 0 && /ENOENT|not found/.test(out.out)) return; // no dcmtk here
  assert.equal(out.code, 0, out.out);
  const m = await scrape();
  assert.match(m.text, /^kartei_dimse_operation_duration_seconds_count\{action="dicom.store",outcome="ok"\} 1$/m);
  assert.match(m.text, /^kartei_dimse_associations_total\{outcome="allowed"\} [1-9]/m);
  for (const s of ['METRICSCU', 'PID-METRICS', 'Metrik']) assert.ok(!m.text.includes(s), `${s} in the metrics`);
});

test('beyond loopback the metrics listener needs TLS and a token; a token is checked', async () => {
  const base = { KARTEI_DATA_DIR: '/tmp/x-data', KARTEI_KEY_DIR: '/tmp/x-keys' };
  assert.throws(
    () => checkStartable(loadConfig({ ...base, KARTEI_METRICS_LISTEN: '0.0.0.0:9464' })),
    (e: Error) => e instanceof ConfigError && /metrics/.test(e.message),
  );
  assert.throws(
    () =>
      checkStartable(
        loadConfig({ ...base, KARTEI_METRICS_LISTEN: '0.0.0.0:9464', KARTEI_METRICS_TOKEN_FILE: '/tmp/token' }),
      ),
    (e: Error) => e instanceof ConfigError && /metrics/.test(e.message),
    'a token without TLS',
  );
  assert.equal(loadConfig({ ...base, KARTEI_METRICS_LISTEN: 'off' }).metrics, null);
  assert.deepEqual(loadConfig(base).metrics, { host: '127.0.0.1', port: 9464 }, 'loopback by default');
  assert.throws(() => loadConfig({ ...base, KARTEI_METRICS_LISTEN: 'everywhere' }), ConfigError);

  const tokenFile = path.join(h.dir, 'metrics-token');
  const token = randomBytes(24).toString('base64url');
  fs.writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  const metrics = new Metrics({ defaults: false });
  const l = await startMetricsListener(metrics, { host: '127.0.0.1', port: 0, tokenFile }, undefined);
  try {
    assert.equal((await fetch(l.url)).status, 401);
    assert.equal((await fetch(l.url, { headers: { authorization: `Bearer ${token}x` } })).status, 401);
    assert.equal((await fetch(l.url, { headers: { authorization: `Bearer ${token}` } })).status, 200);
  } finally {
    await l.close();
  }
  fs.writeFileSync(tokenFile, 'short');
  await assert.rejects(startMetricsListener(metrics, { host: '127.0.0.1', port: 0, tokenFile }, undefined), /16/);
});

test('/readyz: ready with every check ok; not ready (503, same shape) while the key directory is gone', async () => {
  const anon = new Client(h);
  await sleep(1_100); // readiness is looked at most once a second
  const ok = await anon.get('/readyz');
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.body, {
    status: 'ready',
    checks: { database: 'ok', storage: ok.body.checks.storage, keys: 'ok', migrations: 'ok' },
  });
  assert.ok(['ok', 'low'].includes(ok.body.checks.storage));
  assert.equal(ok.headers['cache-control'], 'no-store');
  const moved = `${h.config.keyDir}-away`;
  fs.renameSync(h.config.keyDir, moved);
  try {
    await sleep(1_100);
    const not = await anon.get('/readyz');
    assert.equal(not.status, 503);
    assert.equal(not.body.status, 'not-ready');
    assert.equal(not.body.checks.keys, 'failed');
    assert.equal((await anon.get('/healthz')).status, 200, 'alive all the same');
  } finally {
    fs.renameSync(moved, h.config.keyDir);
  }
  await sleep(1_100);
  assert.equal((await anon.get('/readyz')).status, 200);
});
