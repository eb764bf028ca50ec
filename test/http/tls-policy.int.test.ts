// Both TLS listeners (HTTPS and DICOM) offer what BSI TR-02102-2 and BCP 195
// ask: TLS 1.3, and TLS 1.2 only with ECDHE and AES-GCM or ChaCha20-Poly1305,
// on X25519, P-256 or P-384. A client that offers only a CBC, CCM-8 or ARIA
// suite, only TLS 1.1, or only another curve does not get a connection.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import tls from 'node:tls';
import { startHarness, type Harness } from '../helpers/harness.ts';
import { testCa, testCertificate } from '../helpers/certificates.ts';
import type { DimseListener } from '../../src/imaging/dimse/listener.ts';
import { TLS_POLICY } from '../../src/config/tls-policy.ts';
import { configFindings } from '../../src/ops/security-findings.ts';
import type { Config } from '../../src/config/config.ts';

const server = testCertificate('localhost');
const device = testCertificate('TLS-POLICY-DEVICE');
let h: Harness;
let dicom: DimseListener;
let httpsPort: number;

before(async () => {
  h = await startHarness({
    listen: true,
    dicom: true,
    env: {
      KARTEI_TLS_CERT: server.certFile,
      KARTEI_TLS_KEY: server.keyFile,
      KARTEI_DICOM_TLS_CERT: server.certFile,
      KARTEI_DICOM_TLS_KEY: server.keyFile,
      KARTEI_DICOM_TLS_CA: testCa().certFile,
    },
  });
  httpsPort = Number(new URL(h.url!).port);
  dicom = h.dicom!;
});
after(async () => {
  await h.close();
});

type Outcome = { ok: true; protocol: string; cipher: string } | { ok: false; error: string };

/** A handshake with the given client options (a client certificate from the test CA, as a device would present). */
function handshake(port: number, o: tls.ConnectionOptions): Promise<Outcome> {
  return new Promise((resolve) => {
    const s = tls.connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca: fs.readFileSync(testCa().certFile),
      cert: device.cert,
      key: device.key,
      ...o,
    });
    s.once('secureConnect', () => {
      const outcome = { ok: true as const, protocol: s.getProtocol() ?? '', cipher: s.getCipher().standardName };
      s.destroy();
      resolve(outcome);
    });
    s.once('error', (e) => resolve({ ok: false, error: e.message }));
  });
}

const listeners = () =>
  [
    ['HTTPS', httpsPort],
    ['DICOM', dicom.port],
  ] as const;

const tls12 = (ciphers: string): tls.ConnectionOptions => ({ ciphers, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });

test('a TLS 1.2 client offering only CBC, CCM-8 or ARIA suites is refused by both listeners', async () => {
  for (const [name, port] of listeners()) {
    for (const suite of [
      'ECDHE-ECDSA-AES128-SHA',
      'ECDHE-ECDSA-AES256-SHA',
      'ECDHE-ECDSA-AES128-SHA256',
      'ECDHE-ECDSA-AES256-SHA384',
      'ECDHE-ECDSA-AES128-CCM8',
      'ECDHE-ECDSA-ARIA128-GCM-SHA256',
      'ECDHE-RSA-AES128-SHA',
    ]) {
      const r = await handshake(port, tls12(suite));
      assert.equal(r.ok, false, `${name} accepted ${suite}: ${JSON.stringify(r)}`);
    }
  }
});

test('a client that offers only TLS 1.1, or only a curve outside X25519, P-256 and P-384, is refused by both listeners', async () => {
  for (const [name, port] of listeners()) {
    const old = await handshake(port, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
    assert.equal(old.ok, false, `${name} accepted TLS 1.1`);
    for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
      const curve = await handshake(port, { maxVersion, ecdhCurve: 'P-521' });
      assert.equal(curve.ok, false, `${name} accepted P-521 only over ${maxVersion}: ${JSON.stringify(curve)}`);
    }
  }
});

test('TLS 1.2 with ECDHE and AES-GCM or ChaCha20-Poly1305, and TLS 1.3, are accepted by both listeners', async () => {
  for (const [name, port] of listeners()) {
    for (const suite of [
      'ECDHE-ECDSA-AES128-GCM-SHA256',
      'ECDHE-ECDSA-AES256-GCM-SHA384',
      'ECDHE-ECDSA-CHACHA20-POLY1305',
    ]) {
      const r = await handshake(port, tls12(suite));
      assert.ok(r.ok, `${name} refused ${suite}: ${JSON.stringify(r)}`);
      assert.equal(r.protocol, 'TLSv1.2');
    }
    const r13 = await handshake(port, { minVersion: 'TLSv1.3' });
    assert.ok(r13.ok && r13.protocol === 'TLSv1.3', `${name}: ${JSON.stringify(r13)}`);
    for (const ecdhCurve of ['X25519', 'P-256', 'P-384'])
      assert.ok((await handshake(port, { ecdhCurve })).ok, `${name} refused ${ecdhCurve}`);
    // Offered everything Node knows, a client still gets an AEAD suite.
    const any = await handshake(port, { maxVersion: 'TLSv1.2', ciphers: 'ALL' });
    assert.ok(any.ok && /GCM|CHACHA20/.test(any.cipher), `${name}: ${JSON.stringify(any)}`);
  }
});

test('the policy names no CBC, SHA-1, CCM or ARIA suite', () => {
  for (const suite of TLS_POLICY.ciphers.split(':'))
    assert.match(suite, /GCM|CHACHA20-POLY1305|CHACHA20_POLY1305/, suite);
  assert.equal(TLS_POLICY.minVersion, 'TLSv1.2');
});

/** The doctor's findings about certificates for an installation serving `http` on HTTPS and `dicom` on DICOM TLS. */
function certificateTitles(
  http: { certFile: string; keyFile: string },
  dicomCert: { certFile: string; keyFile: string },
  now = Date.now(),
) {
  const config: Config = {
    ...h.config,
    tls: { certFile: http.certFile, keyFile: http.keyFile },
    dicom: { host: '127.0.0.1', port: 11112, aeTitle: 'KARTEI', tls: { ...dicomCert, caFile: testCa().certFile } },
  };
  return configFindings(config, now)
    .filter((f) => /certificate/.test(f.title))
    .map((f) => `${f.severity}: ${f.title}`);
}

test("the doctor judges the listeners' certificates: expiry within 14 days or past is critical, within 30 days medium", () => {
  const year = testCertificate('doctor-year', { days: 400 });
  const month = testCertificate('doctor-month', { days: 20 });
  const days = testCertificate('doctor-days', { days: 2 });
  // The test CA itself lives 2 days: only the certificates under test count here.
  const ok = certificateTitles(year, year).filter((t) => !t.includes('CA'));
  assert.deepEqual(ok, []);
  const soon = certificateTitles(month, days);
  assert.ok(
    soon.some((t) => /^medium: The HTTPS server certificate expires within 30 days/.test(t)),
    soon.join('\n'),
  );
  assert.ok(
    soon.some((t) => /^critical: The DICOM server certificate expires within 14 days/.test(t)),
    soon.join('\n'),
  );
  assert.ok(
    soon.some((t) => /^critical: The DICOM device CA certificate expires within 14 days/.test(t)),
    soon.join('\n'),
  );
  const later = certificateTitles(year, days, Date.now() + 3 * 86_400_000);
  assert.ok(
    later.some((t) => /^critical: The DICOM server certificate expired on/.test(t)),
    later.join('\n'),
  );
  assert.ok(!later.some((t) => t.includes('HTTPS')), later.join('\n'));
});

test('the doctor judges key sizes after TR-02102: RSA under 2048 critical, under 3000 medium; curves under 250 bits critical', () => {
  const titles = (key: string) =>
    certificateTitles(
      testCertificate(`doctor-${key.replace(':', '-')}`, { key, days: 400 }),
      testCertificate('doctor-fine', { days: 400 }),
    ).filter((t) => t.includes('HTTPS'));
  assert.deepEqual(titles('rsa:3072'), []);
  assert.deepEqual(titles('ec:P-384'), []);
  assert.match(titles('rsa:2048').join(), /^medium: The HTTPS server certificate has a 2048-bit RSA key/);
  // The same finding as code and parameters, which the web application words in German.
  const short = testCertificate('doctor-rsa-2048', { key: 'rsa:2048', days: 400 });
  const coded = configFindings({ ...h.config, tls: { certFile: short.certFile, keyFile: short.keyFile } }).find(
    (f) => f.code === 'certificate-rsa-short',
  );
  assert.deepEqual(coded?.params, { cert: 'https', bits: 2048, type: 'RSA' });
  assert.match(titles('rsa:1024').join(), /^critical: The HTTPS server certificate has a 1024-bit RSA key/);
  assert.match(
    titles('ec:P-224').join(),
    /^critical: The HTTPS server certificate has an elliptic-curve key on secp224r1/,
  );
});
