// The office's DEMIS certificate and private key as an admin hands them in (PEM; the key may be
// an encrypted PKCS#8 with its passphrase): checked that they belong together, that the key is
// RSA (DEMIS encrypts notifications with RSAES-OAEP for the office's certificate) and that the
// certificate is valid now. What is kept is the certificate and the key as unencrypted PKCS#8,
// sealed by connection-settings.ts; every refusal names its field.
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import type { FieldProblem } from '../../errors.ts';

export interface CredentialsInput {
  certificate: string;
  privateKey: string;
  keyPassphrase?: string;
}

/** The checked pair: PEM certificate, PKCS#8 PEM key, and the facts the settings show. */
export interface OfficeCredentials {
  certificate: string;
  privateKey: string;
  subject: string;
  notAfter: string;
}

const problem = (field: string, code: FieldProblem['code'], message: string): FieldProblem => ({
  field,
  code,
  message,
});

/** The problems of a certificate and key, or the checked pair. */
export function checkCredentials(input: CredentialsInput, now = Date.now()): FieldProblem[] | OfficeCredentials {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(input.certificate);
  } catch {
    return [problem('certificate', 'certificate-not-pem', 'not a PEM-encoded X.509 certificate')];
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: input.privateKey, format: 'pem', passphrase: input.keyPassphrase });
  } catch {
    return [problem('privateKey', 'key-unreadable', 'not a PEM private key, or the passphrase does not open it')];
  }
  const problems: FieldProblem[] = [];
  if (Date.parse(cert.validTo) <= now) problems.push(problem('certificate', 'certificate-expired', 'has expired'));
  else if (Date.parse(cert.validFrom) > now)
    problems.push(problem('certificate', 'certificate-expired', 'is not valid yet'));
  if (cert.publicKey.asymmetricKeyType !== 'rsa')
    problems.push(problem('certificate', 'certificate-not-rsa', 'DEMIS encrypts for RSA certificates only'));
  if (!cert.checkPrivateKey(key))
    problems.push(problem('privateKey', 'key-not-matching', 'does not belong to the certificate'));
  if (problems.length > 0) return problems;
  return {
    certificate: cert.toString(),
    privateKey: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
    subject: cert.subject.replace(/\n/g, ', '),
    notAfter: new Date(cert.validTo).toISOString(),
  };
}

/** The DER of a PKCS#8 PEM key (what the CMS decryption takes). */
export const pkcs8Der = (pem: string): Uint8Array =>
  new Uint8Array(createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' }));
