// A certificate's expiry as the security report tells it: critical once expired or within
// 14 days, medium within 30 days, nothing before; the key size is judged apart from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { judgeCertificate } from '../../src/ops/security-findings.ts';
import { testCertificate } from '../helpers/certificates.ts';

const DAY_MS = 86_400_000;

test('expiry findings: expired, within 14 days, within 30 days, later', () => {
  const cert = new X509Certificate(testCertificate('expiry-check').cert);
  const end = Date.parse(cert.validTo);
  const date = new Date(cert.validTo).toISOString().slice(0, 10);
  const expiry = (daysLeft: number) =>
    judgeCertificate('https', cert, end - daysLeft * DAY_MS)
      .filter((f) => f.code.startsWith('certificate-expire'))
      .map((f) => ({ severity: f.severity, code: f.code, params: f.params }));
  assert.deepEqual(expiry(-1), [
    { severity: 'critical', code: 'certificate-expired', params: { cert: 'https', date } },
  ]);
  assert.deepEqual(expiry(13), [
    { severity: 'critical', code: 'certificate-expires-soon', params: { cert: 'https', date, days: 14 } },
  ]);
  assert.deepEqual(expiry(29), [
    { severity: 'medium', code: 'certificate-expires', params: { cert: 'https', date, days: 30 } },
  ]);
  assert.deepEqual(expiry(31), []);
  const soon = judgeCertificate('https', cert, end - 13 * DAY_MS).find((f) => f.code === 'certificate-expires-soon');
  assert.match(soon?.title ?? '', /within 14 days/);
});
