// s24-review: an outsider's attack on the day's refusals (tls-start, KARTEI_PUBLIC_URL). A secret pasted where
// a file's name belongs is never said back, however it fails to name a file — a long one fails with
// ENAMETOOLONG, not ENOENT, and was repeated whole; and KARTEI_PUBLIC_URL is an http(s) address or refused
// without its value — `minio:geheim` or `kartei.example:8443` parse as URLs and rode in the setup link.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { refuseUnusableListenerFiles } from '../../src/config/tls-start.ts';
import { refusalText } from '../../src/cli/refusals.ts';
import { setCliLang } from '../../src/cli/messages.ts';
import { testCertificate } from '../helpers/certificates.ts';
import { configFindings } from '../../src/ops/security-findings.ts';

/** The refusal's English message and German text. */
function said(e: unknown): string {
  assert.ok(e instanceof ConfigError, String(e));
  try {
    setCliLang('de');
    const de = refusalText(e);
    setCliLang('en');
    return `${refusalText(e)}\n${de}\n${JSON.stringify(e.refusal)}`;
  } finally {
    setCliLang('de');
  }
}

function refusedSaying(env: Record<string, string>): string {
  try {
    refuseUnusableListenerFiles(loadConfig({ KARTEI_DICOM_LISTEN: 'off', ...env }));
  } catch (e) {
    return said(e);
  }
  assert.fail(`not refused: ${JSON.stringify(env)}`);
}

// A 2048-bit RSA key's body as one line (no newline, no -----BEGIN): longer than a file name may be.
const LONG_KEY = 'MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQC7'.repeat(30);
const LONG_TOKEN = 'GeheimesMetrikToken'.repeat(20);

test('a long key or token pasted where its file belongs (ENAMETOOLONG) is not repeated, nor the path made of it', () => {
  const good = testCertificate('s24-review-good');
  const cases: Record<string, string>[] = [
    { KARTEI_TLS_CERT: good.certFile, KARTEI_TLS_KEY: LONG_KEY },
    // Base64 has slashes: each piece shorter than a name may be, the whole longer than a path may be.
    { KARTEI_TLS_CERT: good.certFile, KARTEI_TLS_KEY: `${LONG_KEY.slice(0, 200)}/`.repeat(25) },
    {
      KARTEI_DICOM_LISTEN: '127.0.0.1:59184',
      KARTEI_DICOM_TLS_CERT: good.certFile,
      KARTEI_DICOM_TLS_KEY: LONG_KEY,
      KARTEI_DICOM_TLS_CA: good.certFile,
    },
    { KARTEI_METRICS_LISTEN: '127.0.0.1:59185', KARTEI_METRICS_TOKEN_FILE: LONG_TOKEN },
  ];
  for (const env of cases) {
    const text = refusedSaying(env);
    assert.doesNotMatch(text, /MIIEvgIBADAN|GeheimesMetrik/, `the secret is repeated: ${text}`);
    assert.match(text, /names no file that exists/, text);
    assert.match(text, /nennt keine vorhandene Datei/, text);
  }
});

test('a key pasted into the key and CA settings alike is named as the key, and not repeated', () => {
  const good = testCertificate('s24-review-same');
  const text = refusedSaying({
    KARTEI_DICOM_LISTEN: '127.0.0.1:59184',
    KARTEI_DICOM_TLS_CERT: good.certFile,
    KARTEI_DICOM_TLS_KEY: 'GeheimerSchluessel4711',
    KARTEI_DICOM_TLS_CA: 'GeheimerSchluessel4711',
  });
  assert.doesNotMatch(text, /GeheimerSchluessel/, text);
  assert.match(text, /KARTEI_DICOM_TLS_KEY/, text);
});

test('a certificate whose name is too long is named (a path, not a secret) with a reason in words', () => {
  const good = testCertificate('s24-review-long-cert');
  const text = refusedSaying({ KARTEI_TLS_CERT: `/srv/${'x'.repeat(300)}.crt`, KARTEI_TLS_KEY: good.keyFile });
  assert.match(text, /KARTEI_TLS_CERT names \/srv\/x+\.crt, which cannot be read \(the name is too long\)/, text);
  assert.match(text, /\(der Name ist zu lang\)/, text);
});

test('KARTEI_PUBLIC_URL that is no http(s) address is refused without its value; an address with a path starts', () => {
  for (const value of [
    'minio:geheimesPasswort',
    'kartei.gesundheitsamt.example:8443',
    'ftp://kartei.gesundheitsamt.example',
    'https://kartei.gesundheitsamt.example/?token=geheimesPasswort',
    'https://kartei.gesundheitsamt.example/#geheimesPasswort',
  ]) {
    let text = '';
    try {
      loadConfig({ KARTEI_PUBLIC_URL: value });
    } catch (e) {
      text = said(e);
    }
    assert.match(text, /public-url-invalid/, `${value} not refused`);
    assert.doesNotMatch(text, /geheimesPasswort|gesundheitsamt\.example:8443|ftp:/, text);
  }
  for (const value of ['https://kartei.gesundheitsamt.example', 'HTTP://localhost:8080', 'https://amt.example/kartei'])
    assert.equal(typeof loadConfig({ KARTEI_PUBLIC_URL: value }).publicUrl, 'string', value);
});

test('kartei doctor says critically what serve refuses of the listeners files (a key of another pair, a token missing)', () => {
  const good = testCertificate('s24-review-doctor');
  const other = testCertificate('s24-review-doctor-other');
  for (const env of [
    { KARTEI_TLS_CERT: good.certFile, KARTEI_TLS_KEY: other.keyFile },
    { KARTEI_TLS_CERT: good.certFile, KARTEI_TLS_KEY: '/nonexistent/s24-review/server.key' },
    { KARTEI_METRICS_LISTEN: '127.0.0.1:59186', KARTEI_METRICS_TOKEN_FILE: LONG_TOKEN },
  ]) {
    const findings = configFindings(loadConfig({ KARTEI_DICOM_LISTEN: 'off', ...env }));
    const f = findings.find((x) => x.code === 'config-not-startable');
    assert.ok(f && f.severity === 'critical', `${JSON.stringify(env)}: ${JSON.stringify(findings.map((x) => x.code))}`);
    assert.doesNotMatch(JSON.stringify(f), /GeheimesMetrik/, JSON.stringify(f));
  }
  // The same check lets a usable pair through: the finding above comes from the files.
  const fine = configFindings(loadConfig({ KARTEI_TLS_CERT: good.certFile, KARTEI_TLS_KEY: good.keyFile }));
  assert.equal(
    fine.some((x) => x.code === 'config-not-startable'),
    false,
  );
});

test('KARTEI_TLS_CERT without KARTEI_TLS_KEY (or the key without the certificate) is refused, not served as plain HTTP', () => {
  for (const env of [{ KARTEI_TLS_CERT: '/etc/kartei/tls.pem' }, { KARTEI_TLS_KEY: '/etc/kartei/tls.key' }]) {
    let text = '';
    try {
      loadConfig(env);
    } catch (e) {
      text = said(e);
    }
    assert.match(text, /tls-incomplete/, `${JSON.stringify(env)} not refused`);
    assert.match(text, /KARTEI_TLS_CERT und KARTEI_TLS_KEY/, text);
  }
  assert.ok(loadConfig({ KARTEI_TLS_CERT: '/etc/kartei/tls.pem', KARTEI_TLS_KEY: '/etc/kartei/tls.key' }).tls);
  assert.equal(loadConfig({}).tls, undefined);
});
