// Attack (s23-review): a database address an operator got wrong, with the password inside. Every command
// reads the settings first; a malformed KARTEI_DATABASE_URL or KARTEI_DATABASE_ADMIN_URL must be refused
// in the operator's language, exit 1, without a stack and without repeating the address — before, `new URL`
// threw from deep in the start and Node printed the error with the whole address (its `input`) on stderr.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { ConfigError, loadConfig } from '../../src/config/config.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/kartei.js');
const PASSWORD = 'Sommer-2026!geheim';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-secret-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function kartei(args: string[], extra: Record<string, string>) {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KARTEI_')));
  const env = {
    ...base,
    KARTEI_DATA_DIR: path.join(dir, 'data'),
    KARTEI_KEY_DIR: path.join(dir, 'keys'),
    KARTEI_LOG_LEVEL: 'info',
    ...extra,
  };
  return new Promise<{ status: number | null; out: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, out });
    });
  });
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
