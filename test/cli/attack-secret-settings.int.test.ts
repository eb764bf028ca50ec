// Attack (s23-review): a database address an operator got wrong, with the password inside. Every command
// reads the settings first; a malformed KARTEI_DATABASE_URL or KARTEI_DATABASE_ADMIN_URL must be refused
// in the operator's language, exit 1, without a stack and without repeating the address — before, `new URL`
// threw from deep in the start and Node printed the error with the whole address (its `input`) on stderr.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { installationEnv, karteiRun } from '../helpers/kartei-cli.ts';
import { ConfigError, loadConfig } from '../../src/config/config.ts';

const PASSWORD = 'Sommer-2026!geheim';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-secret-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function kartei(args: string[], extra: Record<string, string>) {
  const env = installationEnv(dir, { KARTEI_LOG_LEVEL: 'info', ...extra });
  return karteiRun(args, env).then(({ status, stdout, stderr }) => ({ status, out: stdout + stderr }));
}

/** Addresses an operator writes wrong: a port that is no number, a `#` or `/` in an unencoded password, no host. */
const MALFORMED = [
  `postgres://kartei:${PASSWORD}@db.amt:port/kartei`,
  `postgres://kartei:${PASSWORD}#x@db.amt/kartei`,
  `postgresql://kartei:${PASSWORD}/kartei`,
];

test('a malformed database address is refused by loadConfig, naming the setting but not the address', () => {
  for (const name of ['KARTEI_DATABASE_URL', 'KARTEI_DATABASE_ADMIN_URL'])
    for (const value of MALFORMED) {
      const env = { KARTEI_DATABASE_URL: 'postgres://kartei@db.amt/kartei', [name]: value };
      assert.throws(
        () => loadConfig(env),
        (e: unknown) =>
          e instanceof ConfigError &&
          e.message.includes(name) &&
          !e.message.includes(PASSWORD) &&
          !JSON.stringify(e.refusal).includes(PASSWORD),
        `${name}=${value}`,
      );
    }
  // A well-formed address is taken as it is.
  const good = `postgres://kartei:${encodeURIComponent(PASSWORD)}@db.amt:5432/kartei?sslmode=verify-full`;
  assert.equal(loadConfig({ KARTEI_DATABASE_URL: good }).databaseUrl, good);
});

test('serve, audit verify and doctor with a malformed database address: exit 1, said in German (English on request), no stack, no password', async () => {
  const runs: { args: string[]; env: Record<string, string> }[] = [
    { args: ['serve'], env: { KARTEI_DATABASE_URL: MALFORMED[0]! } },
    { args: ['audit', 'verify'], env: { KARTEI_DATABASE_URL: MALFORMED[1]! } },
    {
      args: ['doctor'],
      env: { KARTEI_DATABASE_URL: 'postgres://kartei@127.0.0.1:1/kartei', KARTEI_DATABASE_ADMIN_URL: MALFORMED[0]! },
    },
  ];
  const said = await Promise.all(
    runs.flatMap(({ args, env }) => [kartei(args, env), kartei(args, { ...env, KARTEI_LANG: 'en' })]),
  );
  for (const [i, { status, out }] of said.entries()) {
    const { args, env } = runs[Math.floor(i / 2)]!;
    const name = Object.keys(env).at(-1)!;
    const what = `${args.join(' ')} (${i % 2 ? 'en' : 'de'}): ${out}`;
    assert.equal(status, 1, what);
    assert.ok(!out.includes(PASSWORD), `the password is repeated: ${what}`);
    assert.doesNotMatch(out, /^\s+at |node:internal|ERR_INVALID_URL/m, what);
    assert.match(out, new RegExp(`^kartei: .*${name}`, 'm'), what);
    assert.match(out, i % 2 ? /must be an address/ : /muss eine Adresse/, what);
  }
  assert.equal(fs.existsSync(path.join(dir, 'keys')), false, 'nothing was set up');
});

// A key pasted where its file's path belongs (as some hosts take PEM in the environment): the start read
// the "file" and Node's ENOENT printed its name, the private key, with a stack.
const PEM =
  '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7geheim\n-----END PRIVATE KEY-----\n';
const FILE_SETTINGS = [
  'KARTEI_TLS_CERT',
  'KARTEI_TLS_KEY',
  'KARTEI_DICOM_TLS_CERT',
  'KARTEI_DICOM_TLS_KEY',
  'KARTEI_DICOM_TLS_CA',
  'KARTEI_METRICS_TOKEN_FILE',
  'KARTEI_S3_CREDENTIALS_FILE',
  'KARTEI_DEMIS_CA_FILE',
];

test("a file's content where its path belongs is refused by loadConfig, naming the setting but not the content", () => {
  const complete = {
    KARTEI_TLS_CERT: '/etc/kartei/tls.pem',
    KARTEI_TLS_KEY: '/etc/kartei/tls.key',
    KARTEI_DICOM_TLS_CERT: '/etc/kartei/dicom.pem',
    KARTEI_DICOM_TLS_KEY: '/etc/kartei/dicom.key',
    KARTEI_DICOM_TLS_CA: '/etc/kartei/ca.pem',
    KARTEI_STORAGE: 's3',
    KARTEI_S3_ENDPOINT: 'https://s3.example.org',
    KARTEI_S3_BUCKET: 'kartei-akten',
    KARTEI_S3_REGION: 'eu-central-1',
    KARTEI_S3_CREDENTIALS_FILE: '/etc/kartei/s3',
  };
  assert.doesNotThrow(() => loadConfig(complete));
  for (const name of FILE_SETTINGS)
    for (const content of [PEM, PEM.trim(), 'aws_access_key_id = AKIA\naws_secret_access_key = geheim'])
      assert.throws(
        () => loadConfig({ ...complete, [name]: content }),
        (e: unknown) =>
          e instanceof ConfigError &&
          e.message.includes(name) &&
          !e.message.includes('geheim') &&
          !JSON.stringify(e.refusal).includes('geheim'),
        name,
      );
});

test('serve with a private key in KARTEI_TLS_KEY: exit 1, said in German (English on request), no stack, no key', async () => {
  const env = { KARTEI_TLS_CERT: '/etc/kartei/tls.pem', KARTEI_TLS_KEY: PEM };
  const said = await Promise.all([kartei(['serve'], env), kartei(['serve'], { ...env, KARTEI_LANG: 'en' })]);
  for (const [i, { status, out }] of said.entries()) {
    const what = `${i ? 'en' : 'de'}: ${out}`;
    assert.equal(status, 1, what);
    assert.ok(!out.includes('geheim') && !out.includes('MIIE'), `the key is repeated: ${what}`);
    assert.doesNotMatch(out, /^\s+at |ENOENT/m, what);
    assert.match(
      out,
      i ? /^kartei: KARTEI_TLS_KEY must name a file/m : /^kartei: KARTEI_TLS_KEY muss eine Datei nennen/m,
      what,
    );
  }
});

test('a KARTEI_S3_ENDPOINT with a fragment: refused without repeating it (as its query is not repeated)', () => {
  const s3 = {
    KARTEI_STORAGE: 's3',
    KARTEI_S3_BUCKET: 'kartei-akten',
    KARTEI_S3_REGION: 'eu-central-1',
    KARTEI_S3_CREDENTIALS_FILE: '/etc/kartei/s3',
  };
  for (const endpoint of ['https://s3.example.org/#X-Amz-Signature=geheim', 'https://s3.example.org#geheim'])
    assert.throws(
      () => loadConfig({ ...s3, KARTEI_S3_ENDPOINT: endpoint }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message.includes('https://s3.example.org') &&
        !e.message.includes('geheim') &&
        !JSON.stringify(e.refusal).includes('geheim'),
      endpoint,
    );
});

// The database not reached (down, no such database): said in the operator's language, not thrown with a stack.
test('audit verify and serve where the database is not reached: exit 1, said in German (English on request), no stack, no password', async () => {
  const env = { KARTEI_DATABASE_URL: `postgres://kartei:${encodeURIComponent(PASSWORD)}@127.0.0.1:1/kartei` };
  const said = await Promise.all([
    kartei(['audit', 'verify'], env),
    kartei(['serve'], env),
    kartei(['audit', 'verify'], { ...env, KARTEI_LANG: 'en' }),
  ]);
  for (const [i, { status, out }] of said.entries()) {
    const what = `${i}: ${out}`;
    assert.equal(status, 1, what);
    assert.ok(
      !out.includes(PASSWORD) && !out.includes(encodeURIComponent(PASSWORD)),
      `the password is repeated: ${what}`,
    );
    assert.doesNotMatch(out, /^\s+at |node_modules/m, what);
    assert.match(
      out,
      i === 2
        ? /^kartei: the database of KARTEI_DATABASE_URL cannot be reached \(connect ECONNREFUSED 127\.0\.0\.1:1\)/m
        : /^kartei: Die Datenbank von KARTEI_DATABASE_URL ist nicht erreichbar \(connect ECONNREFUSED 127\.0\.0\.1:1\)/m,
      what,
    );
  }
});

// s27: a database that accepts the connection and never answers (a hung PostgreSQL, a proxy in front of a dead
// one, a network that drops what is sent) held `kartei` forever: pg had no time limit on a new connection.
test('serve, doctor and audit verify where the database accepts and never answers: refused within the time limit, in German', async () => {
  const held: net.Socket[] = [];
  const silent = net.createServer((s) => held.push(s.on('error', () => undefined)));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const { port } = silent.address() as net.AddressInfo;
  try {
    const env = { KARTEI_DATABASE_URL: `postgres://kartei:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/kartei` };
    const started = performance.now();
    const said = await Promise.all([
      karteiRun(['serve'], installationEnv(dir, env), { ms: 40_000 }),
      karteiRun(['audit', 'verify'], installationEnv(dir, env), { ms: 40_000 }),
      karteiRun(['doctor'], installationEnv(dir, { ...env, KARTEI_LANG: 'en' }), { ms: 40_000 }),
    ]);
    const seconds = (performance.now() - started) / 1000;
    assert.ok(held.length >= 3, `each command connected (${held.length})`);
    for (const [i, { status, stdout, stderr }] of said.entries()) {
      const out = stdout + stderr;
      const what = `${i}: ${out}`;
      assert.notEqual(status, null, `still waiting after 40 s: ${what}`);
      assert.equal(status, 1, what);
      assert.ok(!out.includes(PASSWORD) && !out.includes(encodeURIComponent(PASSWORD)), what);
      assert.doesNotMatch(out, /^\s+at |node_modules/m, what);
    }
    const [serve, verify, doctor] = said.map((r) => r.stdout + r.stderr);
    for (const out of [serve, verify])
      assert.match(
        out!,
        /^kartei: Die Datenbank von KARTEI_DATABASE_URL antwortet nicht: keine Verbindung binnen 10 s; läuft sie/m,
      );
    assert.match(
      doctor!,
      /^\[CRITICAL\] Cannot open the installation\n\s+reason: the database of KARTEI_DATABASE_URL does not answer: no connection within 10 s/m,
    );
    assert.ok(seconds < 35, `answered after ${seconds.toFixed(1)} s`);
  } finally {
    for (const s of held) s.destroy();
    silent.close();
  }
});
