// Throwaway X.509 material for TLS tests, made by openssl in a temp directory:
// a CA, and certificates it signs for a server or a device (or, with a negative
// `days`, one that has expired); a self-signed one no test CA vouches for.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TestCert {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
  fingerprint256: string;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-certs-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });

let ca: { certFile: string; keyFile: string } | undefined;

/** The CA that signs every test certificate (created once per process). */
export function testCa(): { certFile: string; keyFile: string; cert: string } {
  if (!ca) {
    openssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=Kartei Test CA',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
    );
    ca = { certFile: path.join(dir, 'ca.crt'), keyFile: path.join(dir, 'ca.key') };
  }
  return { ...ca, cert: fs.readFileSync(ca.certFile, 'utf8') };
}

/**
 * A certificate signed by the test CA, for `localhost`/127.0.0.1 (servers) or a device name:
 * by default an EC P-256 key valid for 2 days; `key` as `rsa:BITS` or `ec:CURVE`.
 */
export function testCertificate(name: string, o: { days?: number; key?: string } = {}): TestCert {
  const c = testCa();
  const base = name.replace(/[^A-Za-z0-9_-]/g, '_');
  const [kind, size] = (o.key ?? 'ec:P-256').split(':') as [string, string];
  const newKey =
    kind === 'rsa' ? ['-newkey', `rsa:${size}`] : ['-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${size}`];
  fs.writeFileSync(
    path.join(dir, `${base}.ext`),
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  openssl('req', ...newKey, '-nodes', '-subj', `/CN=${name}`, '-keyout', `${base}.key`, '-out', `${base}.csr`);
  openssl(
    'x509',
    '-req',
    '-in',
    `${base}.csr`,
    '-CA',
    c.certFile,
    '-CAkey',
    c.keyFile,
    '-CAcreateserial',
    '-days',
    String(o.days ?? 2),
    '-extfile',
    `${base}.ext`,
    '-out',
    `${base}.crt`,
  );
  const certFile = path.join(dir, `${base}.crt`);
  const keyFile = path.join(dir, `${base}.key`);
  const cert = fs.readFileSync(certFile, 'utf8');
  return {
    cert,
    key: fs.readFileSync(keyFile, 'utf8'),
    certFile,
    keyFile,
    fingerprint256: new X509Certificate(cert).fingerprint256,
  };
}

/** A self-signed certificate for localhost/127.0.0.1 that no test CA signed (a server nobody should trust). */
export function untrustedCertificate(name: string): TestCert {
  const base = `untrusted-${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout',
    `${base}.key`,
    '-out',
    `${base}.crt`,
  );
  const certFile = path.join(dir, `${base}.crt`);
  const keyFile = path.join(dir, `${base}.key`);
  const cert = fs.readFileSync(certFile, 'utf8');
  return {
    cert,
    key: fs.readFileSync(keyFile, 'utf8'),
    certFile,
    keyFile,
    fingerprint256: new X509Certificate(cert).fingerprint256,
  };
}
