// The DEMIS connection against a local stand-in (test/helpers/demis-stand-in.ts: HTTPS with a
// required client certificate, the OEGD token endpoint, the clearing API with paging and CMS
// payloads): configuring refuses what cannot work, each field named; a poll hands every
// notification to the import once, across pages; a crash between the import and the position hands
// it again and the idempotent import keeps one; failures (500, timeout, 401, a server nobody
// trusts, an expired client certificate, a payload for another certificate) back off and are kept;
// the secret, password and key never show in answers, logs, audit details or the database file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { sealField } from '../../src/vault/keyring.ts';
import { databaseFindings } from '../../src/ops/security-findings.ts';
import { backoffDelay } from '../../src/demis/connection/poller.ts';
import { DIALECT, startHarness, setUpTenant, type Harness, type Tenant } from '../helpers/harness.ts';
import { testCertificate, type TestCert } from '../helpers/certificates.ts';
import { startDemisStandIn, type DemisStandIn } from '../helpers/demis-stand-in.ts';

const clientSecret = `sekret-${randomBytes(12).toString('hex')}`;
const password = `kennwort-${randomBytes(12).toString('hex')}`;
const USERNAME = '1.01.0.53.';
const BACKOFF = { baseMs: 60_000, maxMs: 600_000 };

let h: Harness;
let t: Tenant;
let demis: DemisStandIn;
let office: TestCert;
const logLines: string[] = [];

/** The inbox's import as the poller sees it: idempotent on the bundle identifier; told to fail after storing. */
const inbox = {
  kept: new Map<string, string>(),
  calls: [] as string[],
  mediaTypes: new Set<string>(),
  /** Identifiers whose import commits and then throws once (a crash before the position moves). */
  crashAfterCommit: new Set<string>(),
};
async function importBundle(raw: Uint8Array, mediaType: string, source: 'demis') {
  assert.equal(source, 'demis');
  const xml = new TextDecoder().decode(raw);
  const id = /<identifier>[\s\S]*?<value value="([^"]+)"/.exec(xml)?.[1];
  assert.ok(id, 'a bundle with its identifier');
  inbox.calls.push(id);
  inbox.mediaTypes.add(mediaType);
  if (!inbox.kept.has(id)) inbox.kept.set(id, xml);
  if (inbox.crashAfterCommit.delete(id)) throw new Error('crashed after the commit');
}

const bundle = (id: string) =>
  `<Bundle xmlns="http://hl7.org/fhir"><identifier><system value="https://demis.rki.de/fhir/NamingSystem/NotificationBundleId"/><value value="${id}"/></identifier><type value="document"/></Bundle>`;

const settings = (over: Record<string, unknown> = {}) => ({
  tokenUrl: demis.tokenUrl,
  clearingUrl: demis.clearingUrl,
  clientId: 'kartei-test',
  clientSecret,
  username: USERNAME,
  password,
  certificate: office.cert,
  privateKey: office.key,
  departmentId: t.departments.INF,
  pollIntervalMinutes: 5,
  ...over,
});

const poll = async () => {
  const r = await t.admin.post('/api/admin/demis/poll');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body as { ok: boolean; imported: number; pages: number; failure?: string; nextPollAt: string };
};

before(async () => {
  office = testCertificate('gesundheitsamt-musterstadt', { key: 'rsa:2048' });
  const capture = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  // The stand-in's CA must be known before the server starts: start it first with a placeholder office.
  demis = await startDemisStandIn(
    { clientId: 'kartei-test', clientSecret, username: USERNAME, password, certificate: office.cert },
    { pageSize: 2 },
  );
  h = await startHarness({
    env: { KARTEI_DEMIS_CA_FILE: demis.caFile, KARTEI_LOG_LEVEL: 'debug' },
    logger: true,
    logDestination: capture,
    // No ticks during the test: it calls the schedule's tick itself.
    demis: { importBundle, tickMs: 3_600_000, timeoutMs: 1_500, backoff: BACKOFF, random: () => 0.5 },
  });
  t = await setUpTenant(h, ['INF']);
});
after(async () => {
  await demis?.close();
  await h?.close();
});

test('configuring refuses what cannot work, naming each field', async () => {
  const refused = async (over: Record<string, unknown>, field: string, code: string) => {
    const r = await t.admin.put('/api/admin/demis', settings(over));
    assert.equal(r.status, 422, JSON.stringify(r.body));
    assert.ok(
      r.body.errors.some((e: { field: string; code: string }) => e.field === field && e.code === code),
      `${field} ${code}: ${JSON.stringify(r.body.errors)}`,
    );
  };
  const expired = testCertificate('abgelaufen', { key: 'rsa:2048', days: -1 });
  await refused({ certificate: expired.cert, privateKey: expired.key }, 'certificate', 'certificate-expired');
  const ec = testCertificate('ec-amt');
  await refused({ certificate: ec.cert, privateKey: ec.key }, 'certificate', 'certificate-not-rsa');
  const other = testCertificate('anderes-amt', { key: 'rsa:2048' });
  await refused({ privateKey: other.key }, 'privateKey', 'key-not-matching');
  await refused({ privateKey: 'kein Schlüssel' }, 'privateKey', 'key-unreadable');
  await refused({ certificate: 'kein Zertifikat' }, 'certificate', 'certificate-not-pem');
  await refused({ tokenUrl: demis.tokenUrl.replace('https:', 'http:') }, 'tokenUrl', 'url-not-https');
  await refused({ clearingUrl: 'ftp://demis.example/fhir' }, 'clearingUrl', 'url-not-https');
  await refused({ clientSecret: undefined }, 'clientSecret', 'client-secret-required');
  await refused({ departmentId: randomUUID() }, 'departmentId', 'department-unknown');
  await refused({ certificate: undefined }, 'certificate', 'required');
  assert.equal((await t.admin.get('/api/admin/demis')).body.configured, false);
  assert.equal((await t.admin.post('/api/admin/demis/poll')).status, 404, 'nothing to poll yet');
  // No admin, no connection: a member of the department is refused.
  const member = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'physician' }] });
  assert.equal((await member.get('/api/admin/demis')).status, 403);
  assert.equal((await member.put('/api/admin/demis', settings())).status, 403);
  assert.equal((await member.post('/api/admin/demis/poll')).status, 403);
});

test('configured: the answer shows endpoints, client id and the certificate, never a secret or the key', async () => {
  const r = await t.admin.put('/api/admin/demis', settings());
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const view = (await t.admin.get('/api/admin/demis')).body;
  assert.equal(view.configured, true);
  assert.equal(view.clientId, 'kartei-test');
  assert.equal(view.username, USERNAME);
  assert.equal(view.hasClientSecret, true);
  assert.equal(view.hasPassword, true);
  assert.match(view.certificate.subject, /gesundheitsamt-musterstadt/);
  assert.ok(Date.parse(view.certificate.notAfter) > Date.now());
  for (const answer of [JSON.stringify(r.body), JSON.stringify(view)]) {
    assert.ok(!answer.includes(clientSecret), 'no client secret');
    assert.ok(!answer.includes(password), 'no password');
    assert.ok(!answer.includes('PRIVATE KEY'), 'no key');
  }
  // A later change without certificate and key keeps them; a new client id needs the secret again.
  const kept = await t.admin.put('/api/admin/demis', settings({ certificate: undefined, privateKey: undefined }));
  assert.equal(kept.status, 200, JSON.stringify(kept.body));
  const moved = await t.admin.put(
    '/api/admin/demis',
    settings({ clientId: 'anderer-client', clientSecret: undefined }),
  );
  assert.equal(moved.status, 422);
});

test('a PKCS#12 file with its password does as well as PEM; a wrong password or a legacy file is named', async () => {
  const p12 = (...extra: string[]) => {
    const file = path.join(h.dir, `office-${randomUUID()}.p12`);
    execFileSync(
      'openssl',
      [
        'pkcs12',
        '-export',
        '-in',
        office.certFile,
        '-inkey',
        office.keyFile,
        '-out',
        file,
        '-passout',
        'pass:Tresor-42',
        ...extra,
      ],
      { stdio: 'pipe' },
    );
    return fs.readFileSync(file).toString('base64');
  };
  const pem = { certificate: undefined, privateKey: undefined };
  const wrong = await t.admin.put('/api/admin/demis', settings({ ...pem, pkcs12: p12(), pkcs12Password: 'falsch' }));
  assert.equal(wrong.status, 422);
  assert.equal(wrong.body.errors[0].code, 'pkcs12-password');
  assert.equal(wrong.body.errors[0].field, 'pkcs12Password');
  const legacy = await t.admin.put(
    '/api/admin/demis',
    settings({ ...pem, pkcs12: p12('-legacy'), pkcs12Password: 'Tresor-42' }),
  );
  assert.equal(legacy.status, 422);
  assert.equal(legacy.body.errors[0].code, 'pkcs12-unreadable');
  const both = await t.admin.put('/api/admin/demis', settings({ pkcs12: p12(), pkcs12Password: 'Tresor-42' }));
  assert.equal(both.status, 422);
  const ok = await t.admin.put('/api/admin/demis', settings({ ...pem, pkcs12: p12(), pkcs12Password: 'Tresor-42' }));
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.match(ok.body.certificate.subject, /gesundheitsamt-musterstadt/);
  assert.ok(!JSON.stringify(ok.body).includes('Tresor-42'));
});

test('a poll hands each notification to the import once, across pages, and the next poll nothing again', async () => {
  const ids = ['a1', 'a2', 'a3', 'a4', 'a5'].map((x) => `${x}-${randomUUID()}`);
  for (const id of ids) await demis.add(bundle(id));
  const tokensBefore = demis.requests.filter((r) => r.path.endsWith('/token')).length;
  const [first, joined] = await Promise.all([poll(), poll()]);
  assert.deepEqual(first, joined, 'a second poll while one runs joins it');
  assert.equal(demis.requests.filter((r) => r.path.endsWith('/token')).length, tokensBefore + 1, 'one poll ran');
  assert.equal(first.ok, true, JSON.stringify(first));
  assert.equal(first.imported, 5);
  assert.equal(first.pages, 3, 'two per page');
  // Issue 19: ops — the imports are counted for the metrics.
  assert.match(await h.services.ops!.metrics!.text(), /^kartei_demis_imports_total\{outcome="ok"\} 5$/m);
  assert.deepEqual(inbox.calls, ids);
  assert.deepEqual([...inbox.mediaTypes], ['application/fhir+xml']);
  assert.ok(
    demis.requests.every((r) => r.client === 'gesundheitsamt-musterstadt'),
    "the office's certificate",
  );
  const again = await poll();
  assert.equal(again.imported, 0);
  assert.equal(inbox.calls.length, 5);
  // One more at the very instant of the last one: fetched (>= the position), the ones before it skipped.
  const late = `a6-${randomUUID()}`;
  await demis.add(bundle(late), { sameInstant: true });
  const third = await poll();
  assert.equal(third.imported, 1);
  assert.deepEqual(inbox.calls.slice(5), [late]);
  const view = (await t.admin.get('/api/admin/demis')).body;
  assert.equal(view.failures, 0);
  assert.equal(view.lastError, null);
  assert.equal(view.lastImported, 1);
});

test('a crash between the import and the position hands the bundle again; the import keeps one', async () => {
  const a = `b1-${randomUUID()}`;
  const b = `b2-${randomUUID()}`;
  await demis.add(bundle(a));
  await demis.add(bundle(b));
  inbox.crashAfterCommit.add(b);
  const before = inbox.calls.length;
  const crashed = await poll();
  assert.equal(crashed.ok, false);
  assert.equal(crashed.failure, 'import');
  assert.equal(crashed.imported, 1);
  const resumed = await poll();
  assert.equal(resumed.ok, true, JSON.stringify(resumed));
  assert.equal(resumed.imported, 1);
  assert.deepEqual(inbox.calls.slice(before), [a, b, b], 'b handed again, a not');
  assert.equal([...inbox.kept.keys()].filter((k) => k === b).length, 1);
  assert.equal(inbox.kept.size, inbox.calls.length - 1, 'the import kept each bundle once');
});

test('failures back off exponentially with jitter and are kept; a success resets them', async () => {
  assert.equal(
    backoffDelay(1, BACKOFF, () => 0),
    30_000,
  );
  assert.equal(
    backoffDelay(2, BACKOFF, () => 0.999_999),
    120_000,
  );
  assert.equal(
    backoffDelay(9, BACKOFF, () => 0.5),
    450_000,
    'capped at maxMs',
  );
  const waits: number[] = [];
  for (const [mode, failure] of [
    ['500', 'server'],
    ['timeout', 'timeout'],
    ['401', 'unauthorized'],
    ['wrong-server-certificate', 'tls'],
  ] as const) {
    demis.mode = mode;
    const started = Date.now();
    const r = await poll();
    assert.equal(r.ok, false, mode);
    assert.equal(r.failure, failure, mode);
    waits.push(Date.parse(r.nextPollAt) - started);
  }
  demis.mode = 'ok';
  // 0.75 of 60 s, 120 s, 240 s, 480 s (random fixed at 0.5), within the time the polls took.
  waits.forEach((w, i) => {
    const expected = 0.75 * BACKOFF.baseMs * 2 ** i;
    assert.ok(w >= expected - 5_000 && w <= expected + 5_000, `wait ${i}: ${w} ≈ ${expected}`);
  });
  const view = (await t.admin.get('/api/admin/demis')).body;
  assert.equal(view.failures, 4);
  assert.match(view.lastError, /TLS/);
  assert.equal(view.lastFailure, 'tls');
  const findings = await databaseFindings(h.services, t.tenantId);
  assert.ok(findings.some((f) => f.code === 'demis-failing'));
  assert.ok(
    findings.some((f) => f.code === 'demis-certificate-expires'),
    'the test certificate lives 2 days',
  );
  // The schedule: not due now (backing off), so a tick polls nothing; due again, it polls.
  const polls = async () =>
    inTenantTransaction(h.services.store, t.tenantId, async (tx) =>
      Number(
        (
          await tx
            .selectFrom('audit_events')
            .select(sql<number>`count(*)`.as('n'))
            .where('action', '=', 'demis.poll')
            .executeTakeFirstOrThrow()
        ).n,
      ),
    );
  const n = await polls();
  await h.services.demisPoller!.tick();
  assert.equal(await polls(), n, 'backing off: no poll');
  await h.services.store.db.updateTable('demis_connections').set({ next_poll_at: new Date().toISOString() }).execute();
  await h.services.demisPoller!.tick();
  assert.equal(await polls(), n + 1);
  const healed = (await t.admin.get('/api/admin/demis')).body;
  assert.equal(healed.failures, 0);
  assert.equal(healed.lastError, null);
  assert.ok(Date.parse(healed.nextPollAt) - Date.now() > 4 * 60_000, 'next in the interval of 5 minutes');
});

test('a notification for another certificate stops the poll where it is; nothing after it is skipped', async () => {
  const stranger = testCertificate('fremdes-amt', { key: 'rsa:2048' });
  const wrong = await demis.add(bundle(`c1-${randomUUID()}`), { sealedFor: stranger.cert });
  const after = `c2-${randomUUID()}`;
  await demis.add(bundle(after));
  const r = await poll();
  assert.equal(r.failure, 'decrypt');
  assert.ok(!inbox.calls.includes(after));
  const view = (await t.admin.get('/api/admin/demis')).body;
  assert.ok(view.lastError.includes(wrong), 'the error names the notification');
  // Taken out of the way (as DEMIS support would), the next poll goes on with the one after it.
  demis.remove(wrong);
  const resumed = await poll();
  assert.equal(resumed.ok, true);
  assert.equal(inbox.calls.at(-1), after);
});

test('a client certificate that expired after it was configured is refused by the server, and reported', async () => {
  const expired = testCertificate('gesundheitsamt-musterstadt-alt', { key: 'rsa:2048', days: -1 });
  const tenantId = t.tenantId;
  await inTenantTransaction(h.services.store, tenantId, async (tx) => {
    const key = await h.services.keyring.tenantKey(tx, tenantId);
    const sealed = sealField(
      key,
      { tenantId, table: 'demis_connections', rowId: tenantId, field: 'credentials' },
      {
        certificate: expired.cert,
        privateKey: expired.key,
        subject: 'CN=gesundheitsamt-musterstadt-alt',
        notAfter: new Date(Date.now() - 1000).toISOString(),
        clientSecret,
        username: USERNAME,
        password,
      },
    );
    await tx
      .updateTable('demis_connections')
      .set({ credentials_enc: sealed, cert_not_after: new Date(Date.now() - 1000).toISOString() })
      .where('tenant_id', '=', tenantId)
      .execute();
  });
  const refusals = demis.tlsRefusals.length;
  const r = await poll();
  assert.equal(r.ok, false);
  assert.equal(r.failure, 'tls');
  assert.ok(demis.tlsRefusals.length > refusals, 'the stand-in refused the handshake');
  const findings = await databaseFindings(h.services, tenantId);
  assert.ok(findings.some((f) => f.code === 'demis-certificate-expired' && f.severity === 'critical'));
  // Put back the good pair for what follows.
  assert.equal((await t.admin.put('/api/admin/demis', settings())).status, 200);
});

test('the secret, password and key appear in no answer, log line, audit detail or database file', async () => {
  assert.equal((await poll()).ok, true);
  const keyBody = office.key.split('\n').filter((l) => l && !l.startsWith('-----'))[2] ?? '';
  const secrets = [clientSecret, password, keyBody];
  const logs = logLines.join('');
  assert.ok(logs.includes('DEMIS poll'), 'the polls were logged');
  const events = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx.selectFrom('audit_events').select(['action', 'detail', 'outcome']).where('tenant_id', '=', t.tenantId).execute(),
  );
  const demisEvents = events.filter((e) => e.action.includes('demis'));
  assert.ok(demisEvents.some((e) => e.action === 'demis.poll' && e.outcome === 'error'));
  assert.ok(demisEvents.some((e) => e.action === 'admin.demis.update' && e.detail?.includes('secretChanged')));
  const details = JSON.stringify(events);
  const view = JSON.stringify((await t.admin.get('/api/admin/demis')).body);
  for (const secret of secrets) {
    assert.ok(!logs.includes(secret), 'not in the log');
    assert.ok(!details.includes(secret), 'not in the audit');
    assert.ok(!view.includes(secret), 'not in the answer');
  }
  if (DIALECT === 'sqlite') {
    await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(h.services.store.db).catch(() => undefined);
    const dir = h.config.dataDir;
    for (const file of fs.readdirSync(dir).filter((f) => /\.(db|sqlite)(-wal)?$|kartei/.test(f))) {
      const bytes = fs.readFileSync(path.join(dir, file));
      if (!fs.statSync(path.join(dir, file)).isFile()) continue;
      for (const secret of [...secrets, 'PRIVATE KEY', office.cert.split('\n')[3]!])
        assert.equal(bytes.indexOf(Buffer.from(secret)), -1, `${file} holds no plaintext secret, key or certificate`);
    }
  }
});

test('the server polls on its own schedule; its stop ends a slow poll and nothing polls after it', async () => {
  const own = await startHarness({
    env: { KARTEI_DEMIS_CA_FILE: demis.caFile },
    demis: { importBundle, tickMs: 50, timeoutMs: 1_500 },
  });
  try {
    const office2 = await setUpTenant(own, ['INF']);
    const id = `s1-${randomUUID()}`;
    await demis.add(bundle(id));
    const put = await office2.admin.put('/api/admin/demis', settings({ departmentId: office2.departments.INF }));
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const until = Date.now() + 10_000;
    while (!inbox.calls.includes(id) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    assert.ok(inbox.calls.includes(id), 'fetched without being asked');
    // A slow DEMIS: the stop waits for the running poll to end (it times out), then nothing polls any more.
    demis.mode = 'timeout';
    await own.services.store.db.updateTable('demis_connections').set({ next_poll_at: null }).execute();
    await new Promise((r) => setTimeout(r, 200));
    const tokenCalls = demis.requests.length;
    await own.stop();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(demis.requests.length, tokenCalls, 'nothing after the stop');
  } finally {
    demis.mode = 'ok';
    await own.close();
  }
});
