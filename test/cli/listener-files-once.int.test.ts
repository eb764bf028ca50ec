// s25: the start reads each listener file once. The certificate, key, device CA and metrics token
// are read and checked before anything listens, and the listeners are handed what was checked: a
// file removed or replaced between the check and the listeners (by a directory, a FIFO, a 2 GB file)
// no longer ends the start with a stack or hangs it. A reload that meets such a file keeps the old
// certificate and says why. The metrics token's file readable by others or too short is refused
// like a missing one (serve and doctor agree), and a secret's setting starting with `~` or a space
// gets a hint, without its value.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import https from 'node:https';
import { execFileSync } from 'node:child_process';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { refuseUnusableListenerFiles } from '../../src/config/tls-start.ts';
import { startServer } from '../../src/server.ts';
import { configFindings } from '../../src/ops/security-findings.ts';
import { refusalText } from '../../src/cli/refusals.ts';
import { setCliLang } from '../../src/cli/messages.ts';
import { testCa, testCertificate } from '../helpers/certificates.ts';
import { freePort } from '../helpers/harness.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-listener-once-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const good = testCertificate('listener-once-good');
const device = testCertificate('listener-once-device');
const TOKEN = 'ein-Metriken-Token-das-lang-genug-ist';

function presented(port: number, client?: { cert: string; key: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: testCa().cert, servername: 'localhost', ...client });
    s.once('secureConnect', () => {
      resolve(s.getPeerX509Certificate()!.fingerprint256);
      s.destroy();
    });
    s.once('error', reject);
  });
}

function scrape(url: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca: testCa().cert, servername: 'localhost', headers: { authorization: `Bearer ${token}` } }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      })
      .once('error', reject);
  });
}

test('the files checked at the start are the ones served: replaced after the check, the start still serves what it checked; a reload keeps it', async () => {
  const live = path.join(dir, 'live');
  fs.mkdirSync(live);
  const files = {
    cert: path.join(live, 'server.crt'),
    key: path.join(live, 'server.key'),
    ca: path.join(live, 'ca.crt'),
    token: path.join(live, 'metrics-token'),
  };
  fs.writeFileSync(files.cert, good.cert, { mode: 0o600 });
  fs.writeFileSync(files.key, good.key, { mode: 0o600 });
  fs.writeFileSync(files.ca, testCa().cert, { mode: 0o600 });
  fs.writeFileSync(files.token, `${TOKEN}\n`, { mode: 0o600 });
  const config = loadConfig({
    KARTEI_DATA_DIR: path.join(dir, 'once', 'data'),
    KARTEI_KEY_DIR: path.join(dir, 'once', 'keys'),
    KARTEI_LOG_LEVEL: 'silent',
    KARTEI_LISTEN: `127.0.0.1:${await freePort()}`,
    KARTEI_TLS_CERT: files.cert,
    KARTEI_TLS_KEY: files.key,
    KARTEI_DICOM_LISTEN: `127.0.0.1:${await freePort()}`,
    KARTEI_DICOM_AET: 'KARTEI',
    KARTEI_DICOM_TLS_CERT: files.cert,
    KARTEI_DICOM_TLS_KEY: files.key,
    KARTEI_DICOM_TLS_CA: files.ca,
    KARTEI_METRICS_LISTEN: '127.0.0.1:0',
    KARTEI_METRICS_TOKEN_FILE: files.token,
    KARTEI_TLS_WATCH_SECONDS: '0',
  });
  // While the database is being made (after the check, before anything listens), every file is
  // replaced by a directory: what the listeners would read again is no longer a file.
  let swapped = false;
  const swap = () => {
    if (swapped) return;
    swapped = true;
    for (const f of Object.values(files)) {
      fs.rmSync(f);
      fs.mkdirSync(f);
    }
  };
  const server = await startServer(config, {
    app: { logger: false },
    checkpoints: false,
    demis: false,
    progress: swap,
  });
  try {
    assert.ok(swapped, 'the files were not replaced while the start ran');
    const port = Number(new URL(server.url!).port);
    assert.equal(await presented(port), good.fingerprint256);
    assert.equal(await presented(server.dicom!.port, device), good.fingerprint256);
    assert.ok(server.metricsUrl, 'the metrics listener did not start');
    assert.equal(await scrape(server.metricsUrl!, TOKEN), 200);
    assert.equal(await scrape(server.metricsUrl!, 'ein-anderes-Token-0000000'), 401);

    // A reload that meets a directory, /dev/zero, a FIFO or a 2 GB file keeps the old certificate.
    const bigFile = path.join(dir, 'gross.crt');
    fs.closeSync(fs.openSync(bigFile, 'w'));
    fs.truncateSync(bigFile, 2 * 1024 ** 3);
    const fifo = path.join(dir, 'fifo.crt');
    execFileSync('mkfifo', [fifo]);
    for (const [what, put] of [
      ['a directory', () => undefined],
      ['/dev/zero', () => fs.symlinkSync('/dev/zero', files.cert)],
      ['a FIFO', () => fs.symlinkSync(fifo, files.cert)],
      ['a 2 GB file', () => fs.symlinkSync(bigFile, files.cert)],
    ] as const) {
      fs.rmSync(files.cert, { recursive: true, force: true });
      if (what === 'a directory') fs.mkdirSync(files.cert);
      else put();
      const outcomes = await server.reloadTls();
      assert.deepEqual(
        outcomes.map((o) => o.result),
        outcomes.map(() => 'refused'),
        what,
      );
      for (const o of outcomes) assert.equal(o.problem, 'tls-file-unreadable', what);
      assert.equal(await presented(port), good.fingerprint256, what);
      assert.equal(await presented(server.dicom!.port, device), good.fingerprint256, what);
    }
  } finally {
    await server.stop();
  }
});

const tokenConfig = (file: string) =>
  loadConfig({ KARTEI_DATA_DIR: path.join(dir, 'token-data'), KARTEI_METRICS_TOKEN_FILE: file });

function refusedWith(run: () => unknown): ConfigError {
  try {
    run();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  assert.fail('not refused');
}

test('a metrics token file readable by others, too short or too large is refused at the start, and the doctor says so critically', () => {
  const exposed = path.join(dir, 'token-exposed');
  fs.writeFileSync(exposed, `${TOKEN}\n`);
  fs.chmodSync(exposed, 0o644);
  const short = path.join(dir, 'token-short');
  fs.writeFileSync(short, 'kurz\n', { mode: 0o600 });
  const large = path.join(dir, 'token-large');
  fs.writeFileSync(large, 'x'.repeat(100_000), { mode: 0o600 });
  const fine = path.join(dir, 'token-fine');
  fs.writeFileSync(fine, `${TOKEN}\n`, { mode: 0o600 });
  for (const [file, code] of [
    [exposed, 'metrics-token-exposed'],
    [short, 'metrics-token-short'],
    [large, 'setting-file-unreadable'],
  ] as const) {
    const config = tokenConfig(file);
    const e = refusedWith(() => refuseUnusableListenerFiles(config));
    assert.equal(e.refusal?.code, code, file);
    assert.equal(e.message.includes(TOKEN), false);
    const doctor = configFindings(config).filter((f) => f.severity === 'critical');
    assert.ok(
      doctor.some((f) => f.code === 'config-not-startable'),
      `${file}: ${JSON.stringify(doctor)}`,
    );
  }
  // The same with a usable token file: no refusal, no finding (the checks above could fail).
  assert.equal(refuseUnusableListenerFiles(tokenConfig(fine)).metricsToken, TOKEN);
  assert.ok(!configFindings(tokenConfig(fine)).some((f) => f.code === 'config-not-startable'));
});

test('a secret setting that starts with ~ or a space: "names no file" says why that may be, without the value', () => {
  const key = path.join(dir, 'server.key');
  fs.writeFileSync(key, good.key, { mode: 0o600 });
  const cases: [string, Record<string, string>][] = [
    ['KARTEI_TLS_KEY', { KARTEI_TLS_CERT: good.certFile, KARTEI_TLS_KEY: '~/geheim-schluessel.key' }],
    ['KARTEI_TLS_KEY', { KARTEI_TLS_CERT: good.certFile, KARTEI_TLS_KEY: ` ${key}` }],
    [
      'KARTEI_DICOM_TLS_KEY',
      {
        KARTEI_DICOM_LISTEN: '127.0.0.1:59191',
        KARTEI_DICOM_TLS_CERT: good.certFile,
        KARTEI_DICOM_TLS_KEY: `${key} `,
        KARTEI_DICOM_TLS_CA: testCa().certFile,
      },
    ],
    ['KARTEI_METRICS_TOKEN_FILE', { KARTEI_METRICS_TOKEN_FILE: '~/geheim-token' }],
  ];
  try {
    for (const [name, env] of cases) {
      const e = refusedWith(() => refuseUnusableListenerFiles(loadConfig({ KARTEI_DATA_DIR: dir, ...env })));
      const what = `${name} ${JSON.stringify(env)}: ${e.message}`;
      assert.equal(e.refusal?.code, 'secret-file-missing-hint', what);
      assert.match(e.message, new RegExp(`${name} names no file that exists`), what);
      assert.match(e.message, /~ is not expanded/, what);
      assert.match(e.message, /spaces at the start or end are part of the path/, what);
      setCliLang('de');
      const de = refusalText(e);
      assert.match(de, /~ wird nicht zum Home-Verzeichnis erweitert/, what);
      assert.match(de, /Leerzeichen am Anfang oder Ende gehören zum Pfad/, what);
      for (const said of [e.message, de]) assert.doesNotMatch(said, /geheim|server\.key/, what);
    }
    // A value without either gets no hint (the same refusal as before).
    const plain = refusedWith(() =>
      refuseUnusableListenerFiles(
        loadConfig({ KARTEI_DATA_DIR: dir, KARTEI_TLS_CERT: good.certFile, KARTEI_TLS_KEY: '/fehlt/server.key' }),
      ),
    );
    assert.equal(plain.refusal?.code, 'secret-file-missing');
  } finally {
    setCliLang('de');
  }
});
