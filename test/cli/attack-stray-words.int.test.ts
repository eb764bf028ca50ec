// Attack (s24-secrets-echo): a word or option a command does not take, given anyway. `kartei devices list
// extra` listed the devices as if `extra` were not there, `devices remove --frob` asked the server to
// remove a device named `--frob`, `offices add NAME --frob` said "unbekannte Option" without the usage,
// and `backup --frob DIR`, `offices renew NAME extra` or `keys rotate-department TB extra` were refused
// without naming the word. Now every command that takes options or words refuses the rest before it
// does anything — the word named in the operator's language, the command's usage below it, exit 1.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { installationEnv, karteiRun } from '../helpers/kartei-cli.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-words-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

// A stand-in for the running server: every request it gets is counted; it would list one device.
const requests: string[] = [];
const server = http.createServer((req, res) => {
  requests.push(`${req.method} ${req.url}`);
  res.setHeader('content-type', 'application/json');
  res.end(
    JSON.stringify([
      { id: 'dev-1', aeTitle: 'CT_STRAY', departmentId: 'd', permissions: ['store'], certificate: null, host: 'x' },
    ]),
  );
});
const listening = new Promise<number>((resolve) =>
  server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
);
after(() => server.close());

async function kartei(args: string[], lang: 'de' | 'en') {
  const env = installationEnv(dir, {
    KARTEI_LOG_LEVEL: 'silent',
    KARTEI_DICOM_LISTEN: 'off',
    KARTEI_METRICS_LISTEN: 'off',
    KARTEI_PUBLIC_URL: `http://127.0.0.1:${await listening}`,
    KARTEI_API_TOKEN: 'kt_stray',
    ...(lang === 'en' ? { KARTEI_LANG: 'en' } : {}),
  });
  return karteiRun(args, env, { ms: 30_000 });
}

const dest = path.join(dir, 'backup-dest');
const unknown = (o: string) => ({ de: `Unbekannte Option ${o}`, en: `unknown option ${o}` });
const extra = (w: string) => ({ de: `Überzähliges Argument „${w}“`, en: `extra argument "${w}"` });
const unexpected = (w: string) => ({ de: `Unerwartetes Argument „${w}“`, en: `unexpected argument "${w}"` });

const CASES: { args: string[]; said: { de: string; en: string } }[] = [
  { args: ['devices', 'list', 'extra'], said: unexpected('extra') },
  { args: ['devices', 'list', '--all'], said: unknown('--all') },
  { args: ['devices', 'remove', '--frob'], said: unknown('--frob') },
  { args: ['devices', 'remove', 'dev-1', 'extra'], said: extra('extra') },
  {
    args: ['devices', 'add', '--ae', 'CT1', '--department', 'TB', '--permissions', 'store', 'x'],
    said: unexpected('x'),
  },
  { args: ['offices', 'add', 'Gesundheitsamt Nord', '--frob'], said: unknown('--frob') },
  { args: ['offices', 'add', '--frob'], said: unknown('--frob') },
  { args: ['offices', 'add', 'Nord', 'Süd'], said: extra('Süd') },
  {
    args: ['offices', 'add', 'Nord', '--host'],
    said: { de: 'Die Option --host braucht einen Wert', en: 'the option --host needs a value' },
  },
  { args: ['offices', 'list', 'extra'], said: unexpected('extra') },
  { args: ['offices', 'list', '--all'], said: unknown('--all') },
  { args: ['offices', 'renew', 'Nord', 'extra'], said: extra('extra') },
  { args: ['offices', 'renew', '--frob'], said: unknown('--frob') },
  { args: ['backup', '--frob', dest], said: unknown('--frob') },
  { args: ['backup', dest, 'extra'], said: extra('extra') },
  { args: ['restore', '--frob', dest], said: unknown('--frob') },
  { args: ['restore', '--check', dest, 'extra'], said: extra('extra') },
  { args: ['keys', 'rotate-department', 'TB', 'extra'], said: extra('extra') },
  { args: ['keys', 'rewrap-department', 'TB', 'extra'], said: extra('extra') },
  { args: ['keys', 'reencrypt-department', 'TB', 'extra'], said: extra('extra') },
];

test('a word or option a command does not take: refused before anything is done, named, with the usage, in German (English on request)', async () => {
  const runs = [];
  for (let i = 0; i < CASES.length; i += 4)
    runs.push(
      ...(await Promise.all(CASES.slice(i, i + 4).flatMap(({ args }) => [kartei(args, 'de'), kartei(args, 'en')]))),
    );
  for (const [i, r] of runs.entries()) {
    const { args, said } = CASES[Math.floor(i / 2)]!;
    const what = `${args.join(' ')}: ${r.stdout}${r.stderr}`;
    assert.equal(r.status, 1, what);
    assert.equal(r.stdout, '', what);
    assert.ok(r.stderr.startsWith(`kartei: ${i % 2 ? said.en : said.de}`), what);
    assert.match(r.stderr, i % 2 ? /\nusage:/ : /\nAufruf:/, what);
    assert.doesNotMatch(r.stderr, /^\s+at /m, what);
  }
  assert.deepEqual(requests, [], 'the server was asked nothing');
  for (const made of ['data', 'keys', 'backup-dest'])
    assert.equal(fs.existsSync(path.join(dir, made)), false, `${made}: something was done`);
});
