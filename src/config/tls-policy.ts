// The one TLS policy of every listener and every outgoing connection of ours
// (HTTPS, the DICOM listener, the C-MOVE client), after BSI TR-02102-2 and
// BCP 195 (RFC 9325): TLS 1.3, and TLS 1.2 only with forward-secret ECDHE and
// an AEAD cipher (AES-GCM, ChaCha20-Poly1305). No CBC, no SHA-1 MACs, no
// CCM(-8), no ARIA or Camellia, no static RSA or finite-field DHE; the key
// exchange on X25519, P-256 or P-384; signatures with SHA-256 or better.
import type { SecureContextOptions, TlsOptions } from 'node:tls';

/** TLS 1.3 suites (OpenSSL's TLS 1.3 names) and the TLS 1.2 ones, best first. */
const TLS13_CIPHER_SUITES = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_AES_128_GCM_SHA256',
  'TLS_CHACHA20_POLY1305_SHA256',
] as const;
const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
] as const;
const TLS_GROUPS = ['X25519', 'P-256', 'P-384'] as const;
/** RSA-PSS and ECDSA with SHA-2; PKCS#1 v1.5 with SHA-2 stays for TLS 1.2 peers and RSA certificate chains. */
const TLS_SIGNATURE_ALGORITHMS = [
  'ecdsa_secp256r1_sha256',
  'ecdsa_secp384r1_sha384',
  'ecdsa_secp521r1_sha512',
  'ed25519',
  'rsa_pss_rsae_sha256',
  'rsa_pss_rsae_sha384',
  'rsa_pss_rsae_sha512',
  'rsa_pss_pss_sha256',
  'rsa_pss_pss_sha384',
  'rsa_pss_pss_sha512',
  'rsa_pkcs1_sha256',
  'rsa_pkcs1_sha384',
  'rsa_pkcs1_sha512',
] as const;

/** What every TLS context of ours sets: protocol versions, suites, groups, signature algorithms. */
export const TLS_POLICY = Object.freeze({
  minVersion: 'TLSv1.2',
  maxVersion: 'TLSv1.3',
  ciphers: [...TLS13_CIPHER_SUITES, ...TLS12_CIPHERS].join(':'),
  ecdhCurve: TLS_GROUPS.join(':'),
  sigalgs: TLS_SIGNATURE_ALGORITHMS.join(':'),
} satisfies SecureContextOptions);

/** Options for a listener: the policy, and our order of preference rather than the client's. */
export const TLS_SERVER_POLICY = Object.freeze({ ...TLS_POLICY, honorCipherOrder: true } satisfies TlsOptions);
