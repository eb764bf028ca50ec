// The `kartei` command as an operator runs it: `serve` refuses an unsafe
// configuration (a listener beyond loopback without TLS, keys inside the data
// directory, a world-readable master key) before it opens a socket; `doctor`
// reports findings most severe first and fails on a critical one; a typo gets
// the usage. Each case is a real child process on its own temp directories.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { PG_ADMIN, freePort, freshPostgresEnv } from '../helpers/harness.ts';
import { createServices } from '../../src/services.ts';
import { loadConfig } from '../../src/config/config.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/kartei.js');
const TIMEOUT_MS = 60_000;

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

interface Install {
  dir: string;
  dataDir: string;
  keyDir: string;
  env: Record<string, string>;
}

/** Temp directories (not yet created: the command creates them) and an environment free of the caller's KARTEI_* settings. */
async function install(extra: Record<string, string> = {}): Promise<Install> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-cli-'));
  dirs.push(dir);
  const dataDir = path.join(dir, 'data');
  const keyDir = path.join(dir, 'keys');
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KARTEI_'))) as Record<
    string,
    string
  >;
  const env = {
    ...base,
    KARTEI_DATA_DIR: dataDir,
    KARTEI_KEY_DIR: keyDir,
    KARTEI_LOG_LEVEL: 'silent',
    KARTEI_LISTEN: `127.0.0.1:${await freePort()}`,
    KARTEI_DICOM_LISTEN: `127.0.0.1:${await freePort()}`,
    ...(PG_ADMIN ? await freshPostgresEnv() : {}),
    // The behaviour, in English words (German is the default: cli-language.int.test.ts).
    KARTEI_LANG: 'en',
    ...extra,
  };
  return { dir, dataDir, keyDir, env };
}

/** Runs one command to its end (killed after TIMEOUT_MS); async, so cases can run side by side. */
function kartei(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(killer);
      if (signal) reject(new Error(`kartei ${args.join(' ')} ended by ${signal}: ${stderr}`));
      else resolve({ code, stdout, stderr });
    });
  });
}

/** Whether something accepts connections on 127.0.0.1:port right now. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.setTimeout(500);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

/**
 * Runs `serve` asynchronously, probing its port the whole time it runs. Resolves
 * with its exit code and output, and whether a probe ever got through.
 */
async function serveProbing(env: Record<string, string>, port: number, stopWhen?: (stdout: string) => boolean) {
  const child = spawn(process.execPath, [BIN, 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => (done = true));
  const killer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
  let connected = false;
  let stopping = false;
  try {
    while (!done) {
      if (await accepts(port)) connected = true;
      // One SIGTERM only: the server handles the first, a second would kill it outright.
      if (!stopping && stopWhen?.(stdout) && connected) stopping = child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 20));
    }
    return { code: await exited, stdout, stderr, connected };
  } finally {
    clearTimeout(killer);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/** What the first start does to an installation: keys, database, migrations. */
async function initialise(env: Record<string, string>) {
  const s = await createServices(loadConfig(env));
  await s.close();
}

const FINDING = /^\[(CRITICAL|HIGH|MEDIUM|LOW|INFO)\] (.*)$/;
const ORDER = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFO'];

function findings(stdout: string) {
  const out = stdout
    .split('\n')
    .map((l) => FINDING.exec(l))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => ({ severity: m[1]!, title: m[2]! }));
  const ranks = out.map((f) => ORDER.indexOf(f.severity));
  assert.deepEqual(
    ranks,
    [...ranks].sort((a, b) => a - b),
    `findings not sorted most severe first:\n${stdout}`,
  );
  return out;
}

// Each case is its own processes and directories, so they run side by side.
describe('kartei CLI', { concurrency: 2 }, () => {
  test('serve on a non-loopback address without TLS exits non-zero, saying why, before it listens', async () => {
    const port = await freePort();
    const inst = await install({ KARTEI_LISTEN: `0.0.0.0:${port}` });
    const r = await serveProbing(inst.env, port);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /TLS/);
    assert.match(r.stderr, /0\.0\.0\.0/);
    assert.equal(r.connected, false, 'the port accepted a connection');
    assert.doesNotMatch(r.stdout, /Setup:/);
    // Refused before anything was created: no data directory, no keys.
    assert.equal(fs.existsSync(inst.dataDir), false);
    assert.equal(fs.existsSync(inst.keyDir), false);

    for (const listen of [`[::]:${port}`, `kartei.example:${port}`]) {
      const other = await install({ KARTEI_LISTEN: listen });
      const o = await kartei(['serve'], other.env);
      assert.notEqual(o.code, 0, listen);
      assert.match(o.stderr, /TLS/, listen);
      assert.equal(fs.existsSync(other.dataDir), false, listen);
    }

    // Control: the same installation on loopback starts, prints its setup link, and stops on SIGTERM. In the
    // default language (German): the contract's `Setup:` line is the same in every language.
    const ok = await serveProbing({ ...inst.env, KARTEI_LANG: '', KARTEI_LISTEN: `127.0.0.1:${port}` }, port, (out) =>
      out.includes('Setup:'),
    );
    assert.equal(ok.connected, true, ok.stderr);
    assert.match(ok.stdout, new RegExp(`^Setup: http://127\\.0\\.0\\.1:${port}/setup#token=\\S+$`, 'm'));
    assert.equal(ok.code, 0, ok.stderr);
  });

  test('serve refuses a key directory inside the data directory', async () => {
    const inst = await install();
    for (const keyDir of [path.join(inst.dataDir, 'keys'), inst.dataDir]) {
      const r = await kartei(['serve'], { ...inst.env, KARTEI_KEY_DIR: keyDir });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /key directory/);
      assert.ok(r.stderr.includes(keyDir), r.stderr);
      assert.equal(fs.existsSync(path.join(keyDir, 'master.key')), false, 'a key was written');
    }
    // A sibling directory whose name merely starts with the data directory's is not inside it.
    const doc = await kartei(['doctor'], { ...inst.env, KARTEI_KEY_DIR: `${inst.dataDir}-keys` });
    assert.doesNotMatch(doc.stdout, /inside the data directory/);
  });

  test('serve refuses a master key readable by others, naming the file', async () => {
    const inst = await install();
    fs.mkdirSync(inst.keyDir, { mode: 0o700 });
    const keyFile = path.join(inst.keyDir, 'master.key');
    fs.writeFileSync(keyFile, randomBytes(32), { mode: 0o644 });
    fs.chmodSync(keyFile, 0o644); // the umask may have narrowed it
    const r = await kartei(['serve'], inst.env);
    assert.notEqual(r.code, 0);
    assert.ok(r.stderr.includes(keyFile), r.stderr);
    assert.match(r.stderr, /644/);
    assert.doesNotMatch(r.stdout, /Setup:/);
    if (!PG_ADMIN) assert.equal(fs.existsSync(path.join(inst.dataDir, 'kartei.sqlite')), false, 'the store was opened');
    // Nor does a key directory others may enter pass.
    fs.chmodSync(keyFile, 0o600);
    fs.chmodSync(inst.keyDir, 0o755);
    const d = await kartei(['serve'], inst.env);
    assert.notEqual(d.code, 0);
    assert.ok(d.stderr.includes(inst.keyDir), d.stderr);
  });

  test('doctor on a fresh installation: findings most severe first, nothing critical, exit 0', async () => {
    const inst = await install();
    // Before the first start the doctor only looks: it creates no keys and no database.
    const before = await kartei(['doctor'], inst.env);
    assert.equal(before.code, 0, before.stdout + before.stderr);
    assert.ok(
      findings(before.stdout).some((x) => x.severity === 'INFO' && /not initialised/i.test(x.title)),
      before.stdout,
    );
    assert.equal(fs.existsSync(inst.keyDir), false);
    await initialise(inst.env);
    const r = await kartei(['doctor'], inst.env);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const f = findings(r.stdout);
    assert.ok(f.length >= 2, r.stdout);
    assert.ok(!f.some((x) => x.severity === 'CRITICAL'), r.stdout);
    assert.ok(
      f.some((x) => x.severity === 'MEDIUM' && /setup/i.test(x.title)),
      r.stdout,
    );
    assert.ok(
      f.some((x) => x.severity === 'INFO' && /loopback/i.test(x.title)),
      r.stdout,
    );
    // Every finding comes with its fix.
    assert.equal(r.stdout.match(/^ {4}fix: \S/gm)?.length, f.length, r.stdout);
    // The keys the first start created are owner-only.
    assert.equal(fs.statSync(path.join(inst.keyDir, 'master.key')).mode & 0o777, 0o600);
  });

  test('doctor exits 1 when the key file is readable by others, critical finding first', async () => {
    const inst = await install();
    await initialise(inst.env);
    const keyFile = path.join(inst.keyDir, 'master.key');
    fs.chmodSync(keyFile, 0o644);
    fs.chmodSync(inst.dataDir, 0o755); // a lesser finding, to see the order
    const r = await kartei(['doctor'], inst.env);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const f = findings(r.stdout);
    assert.equal(f[0]!.severity, 'CRITICAL');
    assert.ok(
      f.some((x) => x.severity === 'CRITICAL' && x.title.includes(keyFile)),
      r.stdout,
    );
    assert.ok(
      f.some((x) => x.severity === 'HIGH' && x.title.includes(inst.dataDir)),
      r.stdout,
    );
    assert.ok(
      f.some((x) => x.severity === 'INFO'),
      r.stdout,
    );
    // Fixed, the installation is healthy again.
    fs.chmodSync(keyFile, 0o600);
    fs.chmodSync(inst.dataDir, 0o700);
    assert.equal((await kartei(['doctor'], inst.env)).code, 0);
  });

  test('doctor exits 1 when the listener is beyond loopback without TLS', async () => {
    const inst = await install();
    const r = await kartei(['doctor'], { ...inst.env, KARTEI_LISTEN: '0.0.0.0:8443' });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const f = findings(r.stdout);
    assert.equal(f[0]!.severity, 'CRITICAL');
    assert.match(f[0]!.title, /does not start with this configuration/);
    // The refusal's reason beside it.
    assert.match(r.stdout, /^ {4}reason: .*0\.0\.0\.0.*TLS/m);
  });

  test('an unknown command exits 2 with the usage', async () => {
    for (const args of [['frobnicate'], ['audit', 'vrfy']]) {
      const r = await kartei(args, { PATH: process.env.PATH ?? '', KARTEI_LANG: 'en' });
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, /^usage: kartei <command>/, args.join(' '));
      for (const cmd of ['serve', 'audit verify', 'doctor']) assert.ok(r.stderr.includes(cmd), r.stderr);
      assert.equal(r.stdout, '');
    }
  });
});
