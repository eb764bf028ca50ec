// The `kartei` command speaks German unless KARTEI_LANG=en asks for English: the usage and
// `kartei doctor`'s findings (worded from the web application's texts, src/contract/finding-texts.ts)
// in both, and a KARTEI_LANG other than de or en refused in both languages before anything is done.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/kartei.js');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-lang-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** `kartei …` on a fresh installation (nothing created yet: the doctor only looks), with no KARTEI_* of the caller's. */
function kartei(args: string[], extra: Record<string, string> = {}) {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KARTEI_'))) as Record<
    string,
    string
  >;
  const env = {
    ...base,
    KARTEI_DATA_DIR: path.join(dir, 'data'),
    KARTEI_KEY_DIR: path.join(dir, 'keys'),
    KARTEI_LOG_LEVEL: 'silent',
    KARTEI_DATABASE_URL: '',
    ...extra,
  };
  return spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
}

test('the usage: German without KARTEI_LANG, English with KARTEI_LANG=en', () => {
  const de = kartei(['frobnicate']);
  assert.equal(de.status, 2);
  assert.match(de.stderr, /^Aufruf: kartei <Befehl>$/m);
  assert.match(
    de.stderr,
    /^ {2}doctor {10}den Sicherheitsbericht ausgeben; Rückgabewert 1 bei einem kritischen Befund$/m,
  );
  assert.match(de.stderr, /^ {2}offices list {21}die Ämter: Name, Adresse, eingerichtet oder nicht$/m);
  assert.doesNotMatch(de.stderr, /usage:|print the security report/);

  const en = kartei(['frobnicate'], { KARTEI_LANG: 'en' });
  assert.equal(en.status, 2);
  assert.match(en.stderr, /^usage: kartei <command>$/m);
  assert.match(en.stderr, /^ {2}doctor {10}print the security report; exit 1 on a critical finding$/m);
  assert.doesNotMatch(en.stderr, /Aufruf|Sicherheitsbericht/);
});

test("kartei doctor: the findings in German by default, in English with KARTEI_LANG=en, with each language's labels", () => {
  const de = kartei(['doctor'], { KARTEI_LISTEN: '0.0.0.0:8443' });
  assert.equal(de.status, 1, de.stdout + de.stderr);
  assert.match(de.stdout, /^Laufzeit: Node\.js \d+\.\d+\.\d+, OpenSSL /m);
  assert.match(de.stdout, /^\[KRITISCH\] Mit dieser Konfiguration startet der Server nicht$/m);
  assert.match(de.stdout, /^ {4}Grund: .*0\.0\.0\.0/m);
  assert.match(
    de.stdout,
    /^ {4}Grund: Der Server lauscht nicht auf 0\.0\.0\.0: jenseits von 127\.0\.0\.1 braucht er TLS/m,
  );
  assert.match(de.stdout, /^\[HINWEIS\] Noch nicht eingerichtet: kein Hauptschlüssel$/m);
  assert.match(
    de.stdout,
    /^ {4}Abhilfe: Den Server einmal starten \(npm start\); er legt Schlüssel und Datenbank an\.$/m,
  );
  assert.doesNotMatch(de.stdout, /\[(CRITICAL|INFO)\]|^ {4}fix:|Not initialised/m);

  const en = kartei(['doctor'], { KARTEI_LISTEN: '0.0.0.0:8443', KARTEI_LANG: 'en' });
  assert.equal(en.status, 1, en.stdout + en.stderr);
  assert.match(en.stdout, /^runtime: Node\.js \d+\.\d+\.\d+, OpenSSL /m);
  assert.match(en.stdout, /^\[CRITICAL\] The server does not start with this configuration$/m);
  assert.match(en.stdout, /^ {4}reason: Refusing to listen on 0\.0\.0\.0: a listener beyond loopback needs TLS/m);
  assert.match(en.stdout, /^\[INFO\] Not initialised yet: no master key$/m);
  assert.match(en.stdout, /^ {4}fix: Start the server once \(npm start\); it creates the keys and the database\.$/m);
  assert.doesNotMatch(en.stdout, /KRITISCH|HINWEIS|Abhilfe|eingerichtet/);
  // The doctor only looked.
  assert.equal(fs.existsSync(path.join(dir, 'keys')), false);
});

test('a KARTEI_LANG other than de or en is refused in both languages, before anything is done', () => {
  const cases = [
    ...['fr', 'EN', 'de_DE.UTF-8', ' de'].map((lang) => ({ lang, args: ['doctor'] })),
    { lang: 'fr', args: ['serve'] },
    { lang: 'english', args: ['frobnicate'] },
  ];
  for (const { lang, args } of cases) {
    {
      const r = kartei(args, { KARTEI_LANG: lang });
      assert.equal(r.status, 1, `${lang} ${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.ok(r.stderr.includes(`kartei: KARTEI_LANG muss de oder en sein (gesetzt: „${lang}“)`), r.stderr);
      assert.ok(r.stderr.includes(`kartei: KARTEI_LANG must be de or en (got "${lang}")`), r.stderr);
    }
  }
  assert.equal(fs.existsSync(path.join(dir, 'data')), false, 'serve started');
  assert.equal(fs.existsSync(path.join(dir, 'keys')), false, 'serve created keys');
});

test("the commands' own refusals of wrong arguments: German first, English when asked", () => {
  const keys = kartei(['keys']);
  assert.equal(keys.status, 1);
  assert.match(keys.stderr, /^kartei: Aufruf: kartei keys <status \| rotate-master/);
  assert.match(
    keys.stderr,
    /^ {2}reload-tls {6}den laufenden Server seine TLS-Zertifikate neu einlesen lassen \(SIGHUP\)$/m,
  );
  const devices = kartei(['devices', 'list']);
  assert.equal(devices.status, 1);
  assert.equal(
    devices.stderr,
    'kartei: KARTEI_API_TOKEN auf das API-Token eines Verwaltungskontos mit dem Bereich admin setzen (POST /api/auth/tokens)\n',
  );
  const backup = kartei(['backup', 'a', 'b']);
  assert.equal(backup.stderr, 'kartei: Aufruf: kartei backup [--keys] VERZEICHNIS\n');
  const en = kartei(['backup', 'a', 'b'], { KARTEI_LANG: 'en' });
  assert.equal(en.stderr, 'kartei: usage: kartei backup [--keys] DIRECTORY\n');
});
