// s25: a KARTEI_DATABASE_URL (or KARTEI_DATABASE_ADMIN_URL) whose sslrootcert=, sslcert= or sslkey=
// names a file that cannot be read — missing, a directory, a FIFO (pg's readFileSync would hang on it)
// — is refused when the settings are read, in German, naming the setting, the parameter and the file,
// never the password in the address; it ended `kartei serve`, `kartei doctor` and `kartei audit verify`
// with pg's ENOENT stack (pg reads those files when it connects). No database is needed: the refusal
// comes before any connection.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { installationEnv, karteiRun } from '../helpers/kartei-cli.ts';
import { testCa } from '../helpers/certificates.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-db-url-files-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const missing = path.join(dir, 'fehlt', 'root.crt');
const fifo = path.join(dir, 'root.fifo');
execFileSync('mkfifo', [fifo]);
const PASSWORD = 'Geheim-Passwort-4711';
const address = (query: string) => `postgres://kartei:${PASSWORD}@127.0.0.1:1/kartei?sslmode=verify-full&${query}`;

test('a database address naming an SSL file that cannot be read is refused naming the setting, the parameter and the file', () => {
  const cases: [Record<string, string>, string, string, RegExp][] = [
    [{ KARTEI_DATABASE_URL: address(`sslrootcert=${missing}`) }, 'KARTEI_DATABASE_URL', missing, /does not exist/],
    [{ KARTEI_DATABASE_URL: address(`sslcert=${dir}`) }, 'KARTEI_DATABASE_URL', dir, /not a regular file/],
    [{ KARTEI_DATABASE_URL: address(`sslkey=${fifo}`) }, 'KARTEI_DATABASE_URL', fifo, /not a regular file/],
    [
      { KARTEI_DATABASE_URL: address(''), KARTEI_DATABASE_ADMIN_URL: address(`sslrootcert=${missing}`) },
      'KARTEI_DATABASE_ADMIN_URL',
      missing,
      /does not exist/,
    ],
  ];
  for (const [env, name, file, why] of cases) {
    let refused: ConfigError | undefined;
    try {
      loadConfig(env);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      refused = e;
    }
    const what = JSON.stringify(env);
    assert.ok(refused, `not refused: ${what}`);
    assert.equal(refused.refusal?.code, 'setting-file-unreadable', what);
    assert.match(refused.refusal?.params?.name as string, new RegExp(`^${name} \\(ssl(rootcert|cert|key)=\\)$`), what);
    assert.equal(refused.refusal?.params?.file, file, what);
    assert.match(refused.message, why, what);
    assert.equal(JSON.stringify(refused.refusal).includes(PASSWORD), false, what);
    assert.equal(refused.message.includes(PASSWORD), false, what);
  }
  // A readable CA file is taken (the check above could fail).
  const config = loadConfig({ KARTEI_DATABASE_URL: address(`sslrootcert=${testCa().certFile}`) });
  assert.match(config.databaseUrl!, /sslrootcert=/);
});

test('kartei serve, doctor and audit verify say it in German, without a stack or the password', async () => {
  const runs = await Promise.all(
    [['serve'], ['doctor'], ['audit', 'verify']].map((args, i) =>
      karteiRun(
        args,
        installationEnv(path.join(dir, `run-${i}`), { KARTEI_DATABASE_URL: address(`sslrootcert=${missing}`) }),
        {
          ms: 30_000,
        },
      ).then((r) => ({ args, ...r, out: r.stdout + r.stderr })),
    ),
  );
  for (const { args, status, out } of runs) {
    const what = `kartei ${args.join(' ')}: ${out}`;
    assert.equal(status, 1, what);
    assert.match(
      out,
      /KARTEI_DATABASE_URL \(sslrootcert=\) nennt .*fehlt\/root\.crt, aber die Datei lässt sich nicht lesen \(es gibt sie nicht\)/,
      what,
    );
    assert.doesNotMatch(out, /^\s+at |node:internal|ENOENT:/m, what);
    assert.equal(out.includes(PASSWORD), false, what);
  }
});
