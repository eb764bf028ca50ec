// Issue 19: keys-online — `kartei …` as its own process on an installation's data, key directory and
// database (another instance, as far as the database is concerned), with the department keys'
// refresh time shortened to 300 ms (a running test server sets its keyring's to the same).
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import type { Harness, Installation } from './harness.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/kartei.js');
const REFRESH_MS = 300;

/** `kartei …` as its own process on the installation's data, key directory and database. */
export function kartei(i: Installation, args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      KARTEI_LANG: 'en', // the command's English words: this test is about what it does
      KARTEI_DATA_DIR: path.join(i.dir, 'data'),
      KARTEI_KEY_DIR: path.join(i.dir, 'keys'),
      KARTEI_LOG_LEVEL: 'silent',
      KARTEI_TEST_KEY_REFRESH_MS: String(REFRESH_MS),
      ...(i.database.databaseUrl ? { KARTEI_DATABASE_URL: i.database.databaseUrl } : {}),
      ...(i.database.databaseAdminUrl ? { KARTEI_DATABASE_ADMIN_URL: i.database.databaseAdminUrl } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (out += d));
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, out })),
  );
}

/**
 * `kartei audit verify` as its own process on a running harness's data, keys and database, waited for;
 * `lang` as KARTEI_LANG (none: the command's default, German).
 */
export function auditVerifyCli(h: Harness, lang?: 'de' | 'en') {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    KARTEI_DATA_DIR: h.config.dataDir,
    KARTEI_KEY_DIR: h.config.keyDir,
    KARTEI_LOG_LEVEL: 'silent',
    ...(lang ? { KARTEI_LANG: lang } : {}),
  };
  if (h.config.databaseUrl) env.KARTEI_DATABASE_URL = h.config.databaseUrl;
  if (h.config.databaseAdminUrl) env.KARTEI_DATABASE_ADMIN_URL = h.config.databaseAdminUrl;
  return spawnSync(process.execPath, [BIN, 'audit', 'verify'], { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 });
}

/**
 * `kartei …` as its own process with exactly `env`, not waited for (for runs side by side): what it
 * printed, and its exit status; killed with `kill` after `ms` should it still run (a server that started).
 */
export function karteiRun(
  args: string[],
  env: NodeJS.ProcessEnv,
  { ms = 60_000, kill = 'SIGKILL' }: { ms?: number; kill?: NodeJS.Signals } = {},
) {
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill(kill), ms);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/**
 * The environment of a `kartei` run on its own installation under `home` (`data/`, `keys/`): this process's
 * environment without any KARTEI_ setting of its own, then `extra`.
 */
export function installationEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KARTEI_')));
  return { ...base, KARTEI_DATA_DIR: path.join(home, 'data'), KARTEI_KEY_DIR: path.join(home, 'keys'), ...extra };
}
