// A stop asked for while `kartei serve` still starts — a service manager's SIGTERM right after the
// start, or a test's once /healthz answers while the rest of the start goes on — is an orderly stop
// once the start is done: the process ends with 0, not killed by the signal, and leaves its data
// directory free for the next start.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { PG_ADMIN, freePort, freshPostgresEnv } from '../helpers/harness.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/kartei.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-stop-early-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

async function environment(): Promise<Record<string, string>> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KARTEI_'))) as Record<
    string,
    string
  >;
  return {
    ...base,
    KARTEI_LANG: 'en', // the command's English words: this test is about what it does
    KARTEI_DATA_DIR: path.join(dir, 'data'),
    KARTEI_KEY_DIR: path.join(dir, 'keys'),
    KARTEI_LOG_LEVEL: 'silent',
    KARTEI_LISTEN: `127.0.0.1:${await freePort()}`,
    KARTEI_DICOM_LISTEN: `127.0.0.1:${await freePort()}`,
    KARTEI_METRICS_LISTEN: 'off',
    ...(PG_ADMIN ? await freshPostgresEnv() : {}),
  };
}

/** Starts `kartei serve` and sends SIGTERM as soon as `when` holds for its stderr; how it ended. */
function serveAndStop(env: Record<string, string>, when: (stderr: string) => boolean) {
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let sent = false;
    child.stderr.setEncoding('utf8').on('data', (d) => {
      stderr += d;
      if (!sent && when(stderr)) sent = child.kill('SIGTERM');
    });
    child.stdout.resume();
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stderr });
    });
  });
}

test('SIGTERM during the start: the start finishes, then an orderly stop ends the process with 0', async () => {
  const env = await environment();
  // The allocator line is written just before the start begins (migrations, keys, listeners).
  const early = await serveAndStop(env, (e) => /kartei: allocator:/.test(e));
  assert.deepEqual({ code: early.code, signal: early.signal }, { code: 0, signal: null }, early.stderr);
  // The data directory's lock was given back: the same installation starts again and stops again.
  const again = await serveAndStop(env, (e) => /kartei: allocator:/.test(e));
  assert.deepEqual({ code: again.code, signal: again.signal }, { code: 0, signal: null }, again.stderr);
});
