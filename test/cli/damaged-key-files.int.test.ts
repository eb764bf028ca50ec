// A damaged audit chain key or list of retired signing keys in the key directory (or in a keys' backup):
// refused naming the file, in German (English with KARTEI_LANG=en), exit 1, without a stack and without
// quoting the file — JSON.parse's own error quotes its first characters, which in a chain key are the
// secret. Before, `audit verify`, `serve` and `restore --keys` ended with that error and its stack.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startHarness } from '../helpers/harness.ts';
import { auditVerifyCli, installationEnv, karteiRun } from '../helpers/kartei-cli.ts';
import { CHAIN_KEY_FILE } from '../../src/audit/chain-key.ts';
import { RETIRED_KEYS_FILE, SIGNING_KEY_FILE } from '../../src/audit/signing-key.ts';

/** What a damaged or hand-written key file might hold: raw base64 — its first characters would be quoted. */
const SECRET = 'U2VocjBHZWhlaW1lclNjaGx1ZXNzZWwxMjM0NTY3OA==';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-damaged-keys-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function assertRefused(r: { status: number | null; out: string }, file: string, lang: 'de' | 'en') {
  const what = `${lang}: ${r.out}`;
  assert.equal(r.status, 1, what);
  assert.ok(!r.out.includes(SECRET.slice(0, 6)), `the file's content is quoted: ${what}`);
  assert.doesNotMatch(r.out, /^\s+at |node:internal|SyntaxError|is not valid JSON/m, what);
  assert.ok(r.out.includes(file), `the file is not named: ${what}`);
  assert.match(r.out, lang === 'de' ? /abgelehnt: Die Datei ist kein/ : /Refusing .*: it is not a Kartei/, what);
}

test('audit verify with a damaged chain key or retired-keys list: refused naming the file, never quoting it', async () => {
  const h = await startHarness();
  try {
    await h.stop();
    for (const name of [CHAIN_KEY_FILE, RETIRED_KEYS_FILE]) {
      const file = path.join(h.config.keyDir, name);
      const kept = fs.existsSync(file) ? fs.readFileSync(file) : undefined;
      fs.writeFileSync(file, SECRET, { mode: 0o600 });
      try {
        for (const lang of ['de', 'en'] as const) {
          const r = auditVerifyCli(h, lang);
          assertRefused({ status: r.status, out: r.stdout + r.stderr }, file, lang);
        }
      } finally {
        if (kept) fs.writeFileSync(file, kept, { mode: 0o600 });
        else fs.rmSync(file);
      }
    }
    // With the files as they were, the same command verifies: the refusals above came from the damage.
    const ok = auditVerifyCli(h, 'en');
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  } finally {
    await h.close();
  }
});

test('restore --keys from a backup whose chain key is damaged: refused naming the file, never quoting it', async () => {
  const backup = path.join(dir, 'keys-backup');
  fs.mkdirSync(backup, { mode: 0o700 });
  const file = path.join(backup, CHAIN_KEY_FILE);
  fs.writeFileSync(file, SECRET, { mode: 0o600 });
  fs.writeFileSync(path.join(backup, 'kartei-keys-backup.json'), '{}', { mode: 0o600 });
  for (const lang of ['de', 'en'] as const) {
    const r = await karteiRun(['restore', '--keys', backup], installationEnv(dir, { KARTEI_LANG: lang }));
    assertRefused({ status: r.status, out: r.stdout + r.stderr }, file, lang);
  }
  assert.equal(fs.existsSync(path.join(dir, 'keys')), false, 'nothing restored');
});

// s24-review: the audit signing key and the witness, damaged, ended with OpenSSL's stack (the key) or
// Node's display of the witness's first line; each is refused naming the file, never quoting it.
test('audit verify with a damaged signing key or witness: refused naming the file, never quoting it', async () => {
  const env = (lang: string) =>
    installationEnv(path.join(dir, 'fresh'), {
      KARTEI_LANG: lang,
      KARTEI_DICOM_LISTEN: 'off',
      KARTEI_LOG_LEVEL: 'silent',
    });
  const made = await karteiRun(['audit', 'verify'], env('en'));
  assert.equal(made.status, 0, made.stdout + made.stderr);
  for (const name of [SIGNING_KEY_FILE, 'audit-witness.json']) {
    const file = path.join(dir, 'fresh', 'keys', name);
    const kept = fs.existsSync(file) ? fs.readFileSync(file) : undefined;
    fs.writeFileSync(file, SECRET, { mode: 0o600 });
    try {
      for (const lang of ['de', 'en'] as const) {
        const r = await karteiRun(['audit', 'verify'], env(lang));
        assertRefused({ status: r.status, out: r.stdout + r.stderr }, file, lang);
      }
    } finally {
      if (kept) fs.writeFileSync(file, kept, { mode: 0o600 });
      else fs.rmSync(file);
    }
  }
  const ok = await karteiRun(['audit', 'verify'], env('en'));
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
});
