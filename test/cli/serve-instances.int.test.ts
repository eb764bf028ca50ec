// Issue 19: `kartei serve` as several processes on one PostgreSQL (their own data directories, one key
// directory): of the instances that start, exactly one prints a setup link; the others print who did
// and how to get a new one, and keep no token file. Stopping the one that printed it and starting
// another prints a new link, and only that one sets the office up. PostgreSQL only (KARTEI_TEST_PG).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { SETUP_TOKEN_FILE } from '../../src/identity/setup.ts';
import { freePort, freshPostgresEnv, PG_ADMIN, strongPassword } from '../helpers/harness.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

interface Served {
  child: ChildProcess;
  port: number;
  dataDir: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

async function serve(env: Record<string, string>, port: number, dataDir: string): Promise<Served> {
  const dicom = await freePort();
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/kartei.js'), 'serve'], {
    cwd: ROOT,
    env: {
      ...env,
      KARTEI_LISTEN: `127.0.0.1:${port}`,
      KARTEI_DICOM_LISTEN: `127.0.0.1:${dicom}`,
      KARTEI_LANG: 'en', // the command's English words: this test is about what it does
      KARTEI_DATA_DIR: dataDir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, port, dataDir, stdout: () => out, stderr: () => err, exited };
}

async function printed(s: Served, ms = 60_000): Promise<string> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (s.stdout().includes('\n')) return s.stdout().trim();
    if (s.child.exitCode !== null) throw new Error(`serve exited early: ${s.stdout()} ${s.stderr().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no setup line');
}

async function stop(s: Served): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return;
  s.child.kill('SIGTERM');
  const timer = setTimeout(() => s.child.kill('SIGKILL'), 10_000);
  await s.exited;
  clearTimeout(timer);
}

const setup = (port: number, token: string) =>
  fetch(`http://127.0.0.1:${port}/api/setup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      token,
      tenant: { name: 'Gesundheitsamt Mehrstadt' },
      admin: { username: 'leitung', password: strongPassword(), displayName: 'Lena Leitung' },
    }),
  });

test('three `kartei serve` on one PostgreSQL: one setup link, the others name who printed it; a restart of that one gives a new link', {
  skip: PG_ADMIN ? false : 'PostgreSQL only (KARTEI_TEST_PG)',
  timeout: 240_000,
}, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-instances-'));
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KARTEI_'))) as Record<
    string,
    string
  >;
  const env = {
    ...base,
    KARTEI_KEY_DIR: path.join(dir, 'keys'),
    KARTEI_LOG_LEVEL: 'silent',
    KARTEI_METRICS_LISTEN: 'off',
    ...(await freshPostgresEnv()),
  };
  const all: Served[] = [];
  try {
    // The first creates the keys and the schema; the other two start together beside it.
    const a = await serve(env, await freePort(), path.join(dir, 'a'));
    all.push(a);
    const first = await printed(a);
    const b = await serve(env, await freePort(), path.join(dir, 'b'));
    const c = await serve(env, await freePort(), path.join(dir, 'c'));
    all.push(b, c);
    const lines = [first, await printed(b), await printed(c)];
    const links = lines.filter((l) => /^Setup: http:\/\/127\.0\.0\.1:\d+\/setup#token=[A-Za-z0-9_-]+$/.test(l));
    assert.equal(links.length, 1, lines.join('\n'));
    assert.match(first, /#token=/);
    for (const l of lines.slice(1)) {
      assert.match(
        l,
        new RegExp(`printed by the Kartei instance on ${os.hostname().replace(/\./g, '\\.')} \\(pid ${a.child.pid}`),
      );
      assert.match(l, /restart that instance/);
    }
    assert.equal(fs.existsSync(path.join(dir, 'b', SETUP_TOKEN_FILE)), false);
    assert.equal(fs.existsSync(path.join(dir, 'c', SETUP_TOKEN_FILE)), false);
    const oldToken = /#token=(.+)$/.exec(first)![1]!;

    // The one that printed it stops; another starts and prints a new link; the old one no longer works.
    await stop(a);
    const d = await serve(env, await freePort(), path.join(dir, 'd'));
    all.push(d);
    const fresh = await printed(d);
    const newToken = /#token=(.+)$/.exec(fresh)?.[1];
    assert.ok(newToken && newToken !== oldToken, fresh);
    assert.equal((await setup(b.port, oldToken)).status, 401);
    // Set up through another instance than the one that printed the link.
    assert.equal((await setup(c.port, newToken)).status, 201);
  } finally {
    for (const s of all) await stop(s);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
