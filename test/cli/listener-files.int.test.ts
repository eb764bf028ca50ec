// `kartei serve` with a certificate, key, device CA or metrics token it cannot use: refused before
// anything listens or is set up, naming the setting and the file, in German (English with
// KARTEI_LANG=en), exit 1, without Node's stack — before, the start ended with an ENOENT or OpenSSL
// stack, possibly after the HTTP listener was already up. A certificate that expired still starts
// (clients refuse it; `kartei doctor` says so); that is checked on the function itself.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { installationEnv, karteiRun } from '../helpers/kartei-cli.ts';
import { testCa, testCertificate } from '../helpers/certificates.ts';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { refuseUnusableListenerFiles } from '../../src/config/tls-start.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-listener-files-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const good = testCertificate('listener-files-good');
const other = testCertificate('listener-files-other');
const ca = testCa();
const missing = path.join(dir, 'fehlt', 'server.crt');
const notPem = path.join(dir, 'kein-pem.crt');
fs.writeFileSync(notPem, 'dies ist kein Zertifikat\n', { mode: 0o600 });
const aDirectory = path.join(dir, 'ein-verzeichnis');
fs.mkdirSync(aDirectory);

function kartei(extra: Record<string, string>, run: string) {
  // Never bound when the check holds: the run is refused before anything listens.
  const env = installationEnv(path.join(dir, run), { KARTEI_LISTEN: '127.0.0.1:59181', ...extra });
  return karteiRun(['serve'], env, { ms: 30_000 }).then(({ status, stdout, stderr }) => ({
    status,
    out: stdout + stderr,
  }));
}

const CASES: { what: string; env: Record<string, string>; de: RegExp; en: RegExp }[] = [
  {
    what: 'the certificate file does not exist',
    env: { KARTEI_TLS_CERT: missing, KARTEI_TLS_KEY: good.keyFile },
    de: /KARTEI_TLS_CERT nennt .*fehlt\/server\.crt, aber die Datei lässt sich nicht lesen \(es gibt sie nicht\)/,
    en: /KARTEI_TLS_CERT names .*fehlt\/server\.crt, which cannot be read \(it does not exist\)/,
  },
  {
    what: 'the certificate setting names a directory',
    env: { KARTEI_TLS_CERT: aDirectory, KARTEI_TLS_KEY: good.keyFile },
    de: /KARTEI_TLS_CERT nennt .*ein-verzeichnis, .*\(keine gewöhnliche Datei\)/,
    en: /KARTEI_TLS_CERT names .*ein-verzeichnis, .*\(not a regular file\)/,
  },
  {
    what: 'the certificate file holds no certificate',
    env: { KARTEI_TLS_CERT: notPem, KARTEI_TLS_KEY: good.keyFile },
    de: /KARTEI_TLS_CERT nennt .*kein-pem\.crt, aber darin steht kein Zertifikat im PEM-Format/,
    en: /KARTEI_TLS_CERT: .*kein-pem\.crt holds no PEM certificate/,
  },
  {
    what: 'the key setting names the certificate',
    env: { KARTEI_TLS_CERT: good.certFile, KARTEI_TLS_KEY: good.certFile },
    de: /KARTEI_TLS_KEY nennt .*, aber darin steht kein lesbarer privater Schlüssel/,
    en: /KARTEI_TLS_KEY: .* holds no readable private key/,
  },
  {
    what: "another pair's key",
    env: { KARTEI_TLS_CERT: good.certFile, KARTEI_TLS_KEY: other.keyFile },
    de: /Der private Schlüssel in .*listener-files-other.* \(KARTEI_TLS_KEY\) gehört nicht zum Zertifikat/,
    en: /KARTEI_TLS_KEY: the private key in .* does not belong to the certificate/,
  },
  {
    what: 'the DICOM device CA holds no certificate',
    env: {
      KARTEI_DICOM_LISTEN: '127.0.0.1:59182',
      KARTEI_DICOM_TLS_CERT: good.certFile,
      KARTEI_DICOM_TLS_KEY: good.keyFile,
      KARTEI_DICOM_TLS_CA: notPem,
    },
    de: /KARTEI_DICOM_TLS_CA nennt .*kein-pem\.crt, aber darin steht kein CA-Zertifikat/,
    en: /KARTEI_DICOM_TLS_CA: .*kein-pem\.crt holds no PEM certificate/,
  },
  {
    what: 'the metrics token file does not exist',
    env: { KARTEI_METRICS_LISTEN: '127.0.0.1:59183', KARTEI_METRICS_TOKEN_FILE: path.join(dir, 'fehlt', 'token') },
    de: /KARTEI_METRICS_TOKEN_FILE nennt keine vorhandene Datei \(der Wert wird hier nicht wiederholt/,
    en: /KARTEI_METRICS_TOKEN_FILE names no file that exists \(the value is not repeated here/,
  },
  {
    // The token itself where its file's name belongs: never repeated (nor the path it was resolved to).
    what: 'the metrics token pasted where its file belongs',
    env: { KARTEI_METRICS_LISTEN: '127.0.0.1:59183', KARTEI_METRICS_TOKEN_FILE: 'GeheimesToken-4711-abcdefgh' },
    de: /KARTEI_METRICS_TOKEN_FILE nennt keine vorhandene Datei/,
    en: /KARTEI_METRICS_TOKEN_FILE names no file that exists/,
  },
  {
    what: 'a private key pasted as one line where its file belongs',
    env: { KARTEI_TLS_CERT: good.certFile, KARTEI_TLS_KEY: 'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg' },
    de: /KARTEI_TLS_KEY nennt keine vorhandene Datei/,
    en: /KARTEI_TLS_KEY names no file that exists/,
  },
];

test('serve with a certificate, key, CA or token it cannot use: refused before anything starts, German and English, no stack', async () => {
  const said = await Promise.all(
    CASES.flatMap((c, i) => [kartei(c.env, `de-${i}`), kartei({ ...c.env, KARTEI_LANG: 'en' }, `en-${i}`)]),
  );
  for (const [n, { status, out }] of said.entries()) {
    const c = CASES[Math.floor(n / 2)]!;
    const lang = n % 2 ? 'en' : 'de';
    const what = `${c.what} (${lang}): ${out}`;
    assert.equal(status, 1, what);
    assert.match(out, lang === 'de' ? c.de : c.en, what);
    assert.doesNotMatch(out, /^\s+at |node:internal|ENOENT:|error:[0-9A-F]{8}/m, what);
    assert.doesNotMatch(out, /GeheimesToken|MIGHAgEAMBMG/, `a secret is repeated: ${what}`);
    // Refused before the data directory was made, the keys created or a setup link printed.
    const run = `${lang}-${Math.floor(n / 2)}`;
    assert.equal(fs.existsSync(path.join(dir, run, 'data')), false, `data directory made: ${what}`);
    assert.equal(fs.existsSync(path.join(dir, run, 'keys')), false, `keys made: ${what}`);
    assert.doesNotMatch(out, /setup#token=/, what);
  }
});

test('the check lets usable files through, and an expired certificate too (the doctor says it; clients refuse it)', () => {
  const expired = testCertificate('listener-files-expired', { days: -1 });
  for (const [cert, key] of [
    [good.certFile, good.keyFile],
    [expired.certFile, expired.keyFile],
  ] as const) {
    const config = loadConfig({
      KARTEI_TLS_CERT: cert,
      KARTEI_TLS_KEY: key,
      KARTEI_DICOM_LISTEN: '127.0.0.1:59182',
      KARTEI_DICOM_TLS_CERT: cert,
      KARTEI_DICOM_TLS_KEY: key,
      KARTEI_DICOM_TLS_CA: ca.certFile,
    });
    assert.doesNotThrow(() => refuseUnusableListenerFiles(config), cert);
  }
  // The same configuration with the key of another pair is refused: the check above could fail.
  const wrong = loadConfig({ KARTEI_TLS_CERT: good.certFile, KARTEI_TLS_KEY: other.keyFile });
  assert.throws(
    () => refuseUnusableListenerFiles(wrong),
    (e: unknown) => e instanceof ConfigError && e.refusal?.code === 'tls-key-mismatch',
  );
});
