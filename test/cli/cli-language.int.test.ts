// The `kartei` command speaks German unless KARTEI_LANG=en asks for English: the usage and
// `kartei doctor`'s findings (worded from the web application's texts, src/contract/finding-texts.ts)
// in both, and a KARTEI_LANG other than de or en refused in both languages before anything is done.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { karteiRun } from '../helpers/kartei-cli.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/kartei.js');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-lang-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** `kartei …` on a fresh installation (nothing created yet: the doctor only looks), with no KARTEI_* of the caller's. */
function kartei(args: string[], extra: Record<string, string> = {}) {
  return spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: envOf(extra),
    encoding: 'utf8',
    timeout: 60_000,
  });
}

function envOf(extra: Record<string, string>) {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KARTEI_'))) as Record<
    string,
    string
  >;
  return {
    ...base,
    KARTEI_DATA_DIR: path.join(dir, 'data'),
    KARTEI_KEY_DIR: path.join(dir, 'keys'),
    KARTEI_LOG_LEVEL: 'silent',
    KARTEI_DATABASE_URL: '',
    ...extra,
  };
}

/** `kartei …` as `kartei` does it, without waiting: for many runs side by side. */
function karteiLater(args: string[], extra: Record<string, string> = {}) {
  return karteiRun(args, envOf(extra));
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
  // s24: echo — the second directory named, the usage below it.
  const backup = kartei(['backup', 'a', 'b']);
  assert.equal(
    backup.stderr,
    'kartei: Überzähliges Argument „b“: dieser Befehl nimmt nur eines an.\nAufruf: kartei backup [--keys] VERZEICHNIS\n',
  );
  const en = kartei(['backup', 'a', 'b'], { KARTEI_LANG: 'en' });
  assert.equal(
    en.stderr,
    'kartei: extra argument "b": this command takes only one\nusage: kartei backup [--keys] DIRECTORY\n',
  );
});

// Issue 19: s23-german-cli — every malformed setting (src/config/config.ts) refused in German, naming the
// variable and the value given, and in English with KARTEI_LANG=en.
const S3 = {
  KARTEI_STORAGE: 's3',
  KARTEI_S3_ENDPOINT: 'https://s3.example.org',
  KARTEI_S3_BUCKET: 'kartei-akten',
  KARTEI_S3_REGION: 'eu-central-1',
  KARTEI_S3_CREDENTIALS_FILE: '/etc/kartei/s3',
};
/** `shown`: what the German text must show besides the name (default: the value given); a secret is never shown. */
const MALFORMED: {
  env: Record<string, string>;
  de: string;
  en: string;
  shown?: string;
  secret?: true;
  /** Part of the value that neither language may repeat (a password inside it). */
  hidden?: string;
}[] = [
  {
    env: { KARTEI_LISTEN: 'localhost' },
    de: 'KARTEI_LISTEN muss die Form HOST:PORT haben',
    en: 'KARTEI_LISTEN must look like HOST:PORT (got "localhost")',
  },
  {
    env: { KARTEI_LISTEN: '127.0.0.1:70000' },
    de: 'Der Port in KARTEI_LISTEN muss zwischen 1 und 65535 liegen (gesetzt: „127.0.0.1:70000“)',
    en: 'KARTEI_LISTEN port out of range: 70000',
  },
  {
    env: { KARTEI_DICOM_LISTEN: 'dicom' },
    de: 'KARTEI_DICOM_LISTEN muss die Form HOST:PORT haben',
    en: 'KARTEI_DICOM_LISTEN must look like HOST:PORT (got "dicom")',
  },
  {
    env: { KARTEI_METRICS_LISTEN: '127.0.0.1:0:9' },
    de: 'KARTEI_METRICS_LISTEN muss die Form HOST:PORT haben',
    en: 'KARTEI_METRICS_LISTEN must look like HOST:PORT',
  },
  {
    env: { KARTEI_STORAGE: 'tape' },
    de: 'KARTEI_STORAGE muss database, files oder s3 sein (gesetzt: „tape“)',
    en: 'KARTEI_STORAGE must be one of database, files, s3 (got "tape")',
  },
  {
    env: { KARTEI_S3_SECRET_ACCESS_KEY: 'geheim' },
    de: 'KARTEI_S3_SECRET_ACCESS_KEY ist keine Einstellung von Kartei',
    en: 'KARTEI_S3_SECRET_ACCESS_KEY is no setting of Kartei',
    secret: true,
  },
  {
    env: { KARTEI_S3_BUCKET: 'akten' },
    de: 'KARTEI_S3_BUCKET gesetzt, aber KARTEI_STORAGE ist nicht s3',
    en: 'KARTEI_S3_BUCKET set, but KARTEI_STORAGE is not s3',
    shown: 'KARTEI_STORAGE=s3',
  },
  {
    env: { KARTEI_STORAGE: 's3', KARTEI_S3_BUCKET: 'kartei-akten' },
    de: 'KARTEI_STORAGE=s3 braucht auch KARTEI_S3_ENDPOINT, KARTEI_S3_REGION, KARTEI_S3_CREDENTIALS_FILE',
    en: 'KARTEI_STORAGE=s3 needs KARTEI_S3_ENDPOINT, KARTEI_S3_REGION, KARTEI_S3_CREDENTIALS_FILE',
  },
  {
    env: { ...S3, KARTEI_S3_BUCKET: 'Akten_2026' },
    de: 'KARTEI_S3_BUCKET muss ein Bucket-Name aus 3 bis 63 Kleinbuchstaben',
    en: 'KARTEI_S3_BUCKET must be a bucket name',
  },
  {
    env: { ...S3, KARTEI_S3_REGION: 'Frankfurt am Main' },
    de: 'KARTEI_S3_REGION muss ein Regionsname wie eu-central-1 sein (gesetzt: „Frankfurt am Main“)',
    en: 'KARTEI_S3_REGION must be a region name such as eu-central-1 (got "Frankfurt am Main")',
  },
  {
    env: { ...S3, KARTEI_S3_PREFIX: '/akten/' },
    de: 'KARTEI_S3_PREFIX muss aus Namen aus Buchstaben',
    en: 'KARTEI_S3_PREFIX must be names of letters',
  },
  {
    // s24: echo — a value that is no address is not repeated: it may be the password itself.
    env: { ...S3, KARTEI_S3_ENDPOINT: 's3 example' },
    de: 'KARTEI_S3_ENDPOINT muss eine Adresse wie https://s3.example.org sein: Schema, Rechner und wahlweise Port',
    en: 'KARTEI_S3_ENDPOINT must be an address such as https://s3.example.org: scheme, host and optionally port',
    secret: true,
  },
  {
    env: { ...S3, KARTEI_S3_ENDPOINT: 'https://s3.example.org/akten' },
    de: 'KARTEI_S3_ENDPOINT nennt nur Schema, Rechner und Port',
    en: 'KARTEI_S3_ENDPOINT must be scheme, host and port only',
    shown: 'https://s3.example.org',
  },
  {
    env: { ...S3, KARTEI_S3_ENDPOINT: 'https://AKIAKARTEI:geheim-2026@s3.example.org/?X-Amz-Signature=abc123' },
    de: 'KARTEI_S3_ENDPOINT nennt nur Schema, Rechner und Port',
    en: 'KARTEI_S3_ENDPOINT must be scheme, host and port only',
    shown: 'https://s3.example.org',
    hidden: 'geheim-2026',
  },
  {
    env: { ...S3, KARTEI_S3_ENDPOINT: 'https://AKIAKARTEI:geheim 2026@s3 example.org' },
    de: 'KARTEI_S3_ENDPOINT muss eine Adresse wie https://s3.example.org sein',
    en: 'KARTEI_S3_ENDPOINT must be an address such as https://s3.example.org',
    secret: true,
    hidden: 'geheim 2026',
  },
  {
    env: { ...S3, KARTEI_S3_ENDPOINT: 'http://s3.example.org' },
    de: 'KARTEI_S3_ENDPOINT abgelehnt (gesetzt: „http://s3.example.org“)',
    en: 'Refusing KARTEI_S3_ENDPOINT http://s3.example.org',
  },
  {
    env: { ...S3, KARTEI_S3_ENDPOINT: 'ftp://s3.example.org' },
    de: 'KARTEI_S3_ENDPOINT muss mit https:// beginnen (gesetzt: eine Adresse, die mit ftp:// beginnt',
    en: 'KARTEI_S3_ENDPOINT must start with https:// (it starts with ftp://',
    shown: 'ftp://',
  },
  {
    env: { KARTEI_STORAGE_LOW_MB: '1,5' },
    de: 'KARTEI_STORAGE_LOW_MB muss eine ganze Zahl von Megabyte sein, 0 für keine Warnung (gesetzt: „1,5“)',
    en: 'KARTEI_STORAGE_LOW_MB must be a whole number of megabytes (got "1,5")',
  },
  {
    env: { KARTEI_TLS_WATCH_SECONDS: 'oft' },
    de: 'KARTEI_TLS_WATCH_SECONDS muss eine ganze Zahl ab 0 sein (gesetzt: „oft“)',
    en: 'KARTEI_TLS_WATCH_SECONDS must be a whole number from 0 (got "oft")',
  },
  {
    env: { KARTEI_KEY_MAX_AGE_DAYS: '0' },
    de: 'KARTEI_KEY_MAX_AGE_DAYS muss eine ganze Zahl ab 1 sein (gesetzt: „0“)',
    en: 'KARTEI_KEY_MAX_AGE_DAYS must be a whole number from 1 (got "0")',
  },
  {
    env: { KARTEI_BACKUP_MAX_AGE_HOURS: '9000' },
    de: 'KARTEI_BACKUP_MAX_AGE_HOURS muss eine ganze Zahl von Stunden zwischen 1 und 8760 sein (gesetzt: „9000“)',
    en: 'KARTEI_BACKUP_MAX_AGE_HOURS must be a whole number of hours from 1 to 8760 (got "9000")',
  },
  {
    env: { KARTEI_ATTACHMENT_MAX_MB: '5000' },
    de: 'KARTEI_ATTACHMENT_MAX_MB muss eine ganze Zahl von Megabyte zwischen 1 und 2000 sein (gesetzt: „5000“)',
    en: 'KARTEI_ATTACHMENT_MAX_MB must be a whole number of megabytes from 1 to 2000 (got "5000")',
  },
  {
    env: { KARTEI_TRUSTED_PROXY: '10.0.0.5, proxy.amt' },
    de: 'KARTEI_TRUSTED_PROXY muss IP-Adressen oder CIDR-Bereiche nennen, durch Kommas getrennt (nicht zu lesen: „proxy.amt“)',
    en: 'KARTEI_TRUSTED_PROXY must list IP addresses or CIDR ranges, separated by commas (got "proxy.amt")',
  },
  {
    env: { KARTEI_DICOM_AET: 'GESUNDHEITSAMT_MITTE' },
    de: 'KARTEI_DICOM_AET muss 1 bis 16 Zeichen ohne umgekehrten Schrägstrich haben (gesetzt: „GESUNDHEITSAMT_MITTE“)',
    en: 'KARTEI_DICOM_AET must be 1 to 16 characters without backslash (got "GESUNDHEITSAMT_MITTE")',
  },
  {
    env: { KARTEI_DICOM_TLS_CERT: '/etc/kartei/dicom.pem' },
    de: 'DICOM über TLS braucht alle drei: KARTEI_DICOM_TLS_CERT, KARTEI_DICOM_TLS_KEY und KARTEI_DICOM_TLS_CA',
    en: 'DICOM TLS needs all three of KARTEI_DICOM_TLS_CERT',
    shown: 'KARTEI_DICOM_TLS_KEY',
  },
  {
    env: { KARTEI_DICOM_MAX_ASSOCIATIONS_PER_DEVICE: '-1' },
    de: 'KARTEI_DICOM_MAX_ASSOCIATIONS_PER_DEVICE muss eine ganze Zahl ab 1 sein (gesetzt: „-1“)',
    en: 'KARTEI_DICOM_MAX_ASSOCIATIONS_PER_DEVICE must be a whole number from 1 (got "-1")',
  },
  {
    env: { KARTEI_DICOM_MAX_ASSOCIATIONS_PER_ADDRESS: 'viele' },
    de: 'KARTEI_DICOM_MAX_ASSOCIATIONS_PER_ADDRESS muss eine ganze Zahl ab 1 sein (gesetzt: „viele“)',
    en: 'KARTEI_DICOM_MAX_ASSOCIATIONS_PER_ADDRESS must be a whole number from 1 (got "viele")',
  },
];

test('every malformed setting: German naming the variable and the value given, English with KARTEI_LANG=en', async () => {
  // Four runs at a time, each case in both languages.
  const runs: { german: Awaited<ReturnType<typeof karteiLater>>; english: Awaited<ReturnType<typeof karteiLater>> }[] =
    [];
  for (let i = 0; i < MALFORMED.length; i += 2)
    runs.push(
      ...(await Promise.all(
        MALFORMED.slice(i, i + 2).map(async ({ env }) => {
          const [german, english] = await Promise.all([
            karteiLater(['doctor'], env),
            karteiLater(['doctor'], { ...env, KARTEI_LANG: 'en' }),
          ]);
          return { german, english };
        }),
      )),
    );
  for (const [i, { env, de, en, shown, secret, hidden }] of MALFORMED.entries()) {
    // The variable the case is about: the one that differs from a complete S3 configuration, else the first.
    const [name, value] =
      Object.entries(env).find(([k, v]) => S3[k as keyof typeof S3] !== v) ?? Object.entries(env)[0]!;
    const { german, english } = runs[i]!;
    assert.equal(german.status, 1, `${name}: ${german.stdout}${german.stderr}`);
    assert.equal(german.stdout, '');
    assert.ok(german.stderr.startsWith(`kartei: ${de}`), `${name}: ${german.stderr}`);
    assert.ok(german.stderr.includes(name), german.stderr);
    if (secret) assert.ok(!german.stderr.includes(value), `${name}: the secret is shown`);
    else assert.ok(german.stderr.includes(shown ?? value.split(', ').at(-1)!), german.stderr);
    assert.doesNotMatch(german.stderr, /\b(must|got|needs|Refusing)\b/, name);
    assert.equal(english.status, 1, `${name}: ${english.stdout}${english.stderr}`);
    assert.ok(english.stderr.startsWith(`kartei: ${en}`), `${name}: ${english.stderr}`);
    if (hidden)
      for (const out of [german, english])
        assert.ok(!`${out.stdout}${out.stderr}`.includes(hidden), `${name}: its password is repeated: ${out.stderr}`);
  }
  assert.equal(fs.existsSync(path.join(dir, 'keys')), false);
});

// Issue 19: s23-german-cli — Node's parseArgs refusals, said in the chosen language with the command's usage.
test("a wrong option or argument: Node's refusal said in German with the command's usage, in English when asked", () => {
  const cases = [
    {
      args: ['keys', 'rotate-department', '--frob'],
      de: 'kartei: Unbekannte Option --frob: bitte die Schreibweise prüfen',
      en: 'kartei: unknown option --frob: check its spelling',
      usage: ['Aufruf: kartei keys <status', 'usage: kartei keys <status'],
    },
    {
      args: ['keys', 'rewrap-department', 'GES', '--batch'],
      de: 'kartei: Die Option --batch braucht einen Wert: --batch WERT angeben.',
      en: 'kartei: the option --batch needs a value: give --batch VALUE',
      usage: ['Aufruf: kartei keys <status', 'usage: kartei keys <status'],
    },
    {
      args: ['keys', 'reencrypt-department', 'GES', '--keep-old=ja'],
      de: 'kartei: Die Option --keep-old nimmt keinen Wert an: --keep-old ohne =… angeben.',
      en: 'kartei: the option --keep-old takes no value: give --keep-old without =…',
      usage: ['Aufruf: kartei keys <status', 'usage: kartei keys <status'],
    },
    {
      args: ['devices', 'add', 'CT1'],
      de: 'kartei: Unerwartetes Argument „CT1“: dieser Befehl nimmt keines an.',
      en: 'kartei: unexpected argument "CT1": this command takes none',
      usage: ['Aufruf: kartei devices <list | add | remove ID>', 'usage: kartei devices <list | add | remove ID>'],
    },
  ];
  for (const { args, de, en, usage } of cases) {
    const german = kartei(args, { KARTEI_API_TOKEN: 'kein-token' });
    assert.equal(german.status, 1, `${args.join(' ')}: ${german.stderr}`);
    const [first, second] = german.stderr.split('\n');
    assert.equal(first!.slice(0, de.length), de, german.stderr);
    assert.ok(second!.startsWith(usage[0]!), german.stderr);
    assert.doesNotMatch(german.stderr, /Unknown option|argument missing|does not take|Unexpected argument|\n\s+at /);
    const english = kartei(args, { KARTEI_API_TOKEN: 'kein-token', KARTEI_LANG: 'en' });
    assert.equal(english.status, 1, `${args.join(' ')}: ${english.stderr}`);
    const [line, next] = english.stderr.split('\n');
    assert.equal(line!.slice(0, en.length), en, english.stderr);
    assert.ok(next!.startsWith(usage[1]!), english.stderr);
  }
  assert.equal(fs.existsSync(path.join(dir, 'keys')), false);
});

// Issue 19: s23-german-cli — a backup's refusals (its manifest) in German, in English when asked.
test("a keys' backup that is none: its refusal in German naming the directory, in English with KARTEI_LANG=en", () => {
  const backup = path.join(dir, 'keys-backup');
  fs.mkdirSync(backup, { mode: 0o700 });
  const incomplete = kartei(['restore', '--keys', backup]);
  assert.equal(incomplete.status, 1, incomplete.stderr);
  assert.equal(
    incomplete.stderr,
    `kartei: abgelehnt: ${backup} ist keine vollständige Kartei-Schlüsselsicherung (kein audit-chain.key oder kein Manifest).\n`,
  );
  const incompleteEn = kartei(['restore', '--keys', backup], { KARTEI_LANG: 'en' });
  assert.equal(
    incompleteEn.stderr,
    `kartei: refused: ${backup} is not a complete Kartei keys' backup (no audit-chain.key or manifest)\n`,
  );

  const chainKey = JSON.stringify({ v: 1, key: Buffer.alloc(32, 7).toString('base64'), legacyUntil: {} });
  fs.writeFileSync(path.join(backup, 'audit-chain.key'), chainKey, { mode: 0o600 });
  const manifest = path.join(backup, 'kartei-keys-backup.json');
  fs.writeFileSync(manifest, 'kein JSON', { mode: 0o600 });
  const notJson = kartei(['restore', '--keys', backup]);
  assert.equal(notJson.stderr, `kartei: abgelehnt: ${manifest} ist kein JSON: kein Manifest einer Kartei-Sicherung.\n`);
  assert.equal(
    kartei(['restore', '--keys', backup], { KARTEI_LANG: 'en' }).stderr,
    `kartei: refused: ${manifest} is not JSON\n`,
  );
  fs.writeFileSync(manifest, '{}', { mode: 0o600 });
  const format = kartei(['restore', '--keys', backup]);
  assert.match(
    format.stderr,
    /^kartei: abgelehnt: .*kartei-keys-backup\.json ist kein Manifest einer Schlüsselsicherung von Kartei \(Format kartei-backup\/v1\)\.\n$/,
  );
  assert.match(
    kartei(['restore', '--keys', backup], { KARTEI_LANG: 'en' }).stderr,
    /^kartei: refused: .*kartei-keys-backup\.json is not a Kartei keys backup manifest of format kartei-backup\/v1\n$/,
  );
  assert.equal(fs.existsSync(path.join(dir, 'keys')), false, 'nothing restored');
});

// Issue 19: s23-german-cli — the production start's allocator warning and line (src/cli/launch-words.ts).
test("the start's allocator warning and the allocator line in German, in English with KARTEI_LANG=en", () => {
  const de = kartei(['doctor'], { KARTEI_ALLOCATOR: 'tcmalloc' });
  assert.equal(
    de.stderr.split('\n')[0],
    'kartei: KARTEI_ALLOCATOR=tcmalloc nennt keinen Speicher-Allokator (tuned, jemalloc, system); Kartei verwendet tuned. Bitte KARTEI_ALLOCATOR berichtigen oder entfernen.',
  );
  assert.match(de.stdout, /^Speicher-Allokator: abgestimmtes glibc-malloc \(MALLOC_MMAP_THRESHOLD_=\d+/m);
  assert.match(
    de.stdout,
    /^\[NIEDRIG\] Der Speicher-Allokator ist nicht der des Produktionsstarts: KARTEI_ALLOCATOR=tcmalloc nennt keinen Speicher-Allokator/m,
  );
  assert.doesNotMatch(de.stdout + de.stderr, /names no allocator|tuned glibc malloc|using tuned/);
  const en = kartei(['doctor'], { KARTEI_ALLOCATOR: 'tcmalloc', KARTEI_LANG: 'en' });
  assert.equal(
    en.stderr.split('\n')[0],
    'kartei: KARTEI_ALLOCATOR=tcmalloc names no allocator (tuned, jemalloc, system); using tuned',
  );
  assert.match(en.stdout, /^allocator: tuned glibc malloc \(MALLOC_MMAP_THRESHOLD_=\d+/m);
});

test('rotating the master key where nothing is set up: said in German naming the directory, not a stack trace', () => {
  const nowhere = path.join(dir, 'not-set-up', 'data');
  const de = kartei(['keys', 'rotate-master'], { KARTEI_DATA_DIR: nowhere });
  assert.equal(de.status, 1, de.stderr);
  assert.equal(
    de.stderr,
    `kartei: Kein Datenverzeichnis unter ${nowhere}: Hier ist noch nichts eingerichtet, also auch kein Hauptschlüssel zu wechseln (KARTEI_DATA_DIR prüfen).\n`,
  );
  const en = kartei(['keys', 'rotate-master'], { KARTEI_DATA_DIR: nowhere, KARTEI_LANG: 'en' });
  assert.equal(
    en.stderr,
    `kartei: no data directory at ${nowhere}: nothing is set up here, so there is no master key to rotate (check KARTEI_DATA_DIR)\n`,
  );
  assert.equal(fs.existsSync(nowhere), false, 'nothing made');
});
