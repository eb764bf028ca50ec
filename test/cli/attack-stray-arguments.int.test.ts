// Attack (s23-review): a command that takes no arguments given one anyway — `kartei keys rotate-master --help`,
// `kartei audit rotate-key --dry-run`, `kartei serve --port 9000`. Each ran as if the word were not there
// (the master key or the audit signing key rotated, a server started, an installation created). Now each is
// refused before anything is done: exit 1, the word named in the operator's language, the usage below it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { installationEnv, karteiRun } from '../helpers/kartei-cli.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-stray-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function kartei(args: string[], lang: 'de' | 'en') {
  const env = installationEnv(dir, {
    KARTEI_LOG_LEVEL: 'silent',
    KARTEI_LISTEN: '127.0.0.1:18733',
    KARTEI_DICOM_LISTEN: 'off',
    KARTEI_METRICS_LISTEN: 'off',
    ...(lang === 'en' ? { KARTEI_LANG: 'en' } : {}),
  });
  // A server that started anyway is stopped: the assertions below then fail.
  return karteiRun(args, env, { ms: 20_000, kill: 'SIGTERM' });
}

const CASES: { args: string[]; de: string; en: string }[] = [
  { args: ['keys', 'rotate-master', '--help'], de: 'Unbekannte Option --help', en: 'unknown option --help' },
  { args: ['keys', 'rotate-master', 'jetzt'], de: 'Unerwartetes Argument „jetzt“', en: 'unexpected argument "jetzt"' },
  { args: ['keys', 'status', '--verbose'], de: 'Unbekannte Option --verbose', en: 'unknown option --verbose' },
  { args: ['audit', 'rotate-key', '--dry-run'], de: 'Unbekannte Option --dry-run', en: 'unknown option --dry-run' },
  { args: ['audit', 'verify', '--tenant'], de: 'Unbekannte Option --tenant', en: 'unknown option --tenant' },
  { args: ['doctor', '--json'], de: 'Unbekannte Option --json', en: 'unknown option --json' },
  { args: ['serve', '--port', '9000'], de: 'Unbekannte Option --port', en: 'unknown option --port' },
  { args: ['serve', 'now'], de: 'Unerwartetes Argument „now“', en: 'unexpected argument "now"' },
];

test('a command that takes no arguments, given one: refused before anything is done, in German (English on request)', async () => {
  const runs = await Promise.all(CASES.flatMap(({ args }) => [kartei(args, 'de'), kartei(args, 'en')]));
  for (const [i, r] of runs.entries()) {
    const { args, de, en } = CASES[Math.floor(i / 2)]!;
    const what = `${args.join(' ')}: ${r.stdout}${r.stderr}`;
    assert.equal(r.status, 1, what);
    assert.equal(r.stdout, '', what);
    assert.ok(r.stderr.startsWith(`kartei: ${i % 2 ? en : de}`), what);
    assert.match(r.stderr, i % 2 ? /usage:/i : /Aufruf:/, what);
    assert.doesNotMatch(r.stderr, /^\s+at /m, what);
  }
  assert.equal(fs.existsSync(path.join(dir, 'keys')), false, 'no installation was made');
  assert.equal(fs.existsSync(path.join(dir, 'data')), false, 'no installation was made');
});
