// `kartei doctor` and the security report warn when KARTEI_PUBLIC_URL names an IP
// address: WebAuthn needs a host name, so no passkey could be added or used.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { configFindings } from '../../src/ops/security-findings.ts';
import { startHarness, type Harness } from '../helpers/harness.ts';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

const ipFinding = (publicUrl: string, host = '127.0.0.1') =>
  configFindings({ ...h.config, host, publicUrl }).find((f) => f.code === 'public-url-ip');

test('an IP address in KARTEI_PUBLIC_URL is a finding, medium for a deployment and low on loopback; a host name is none', () => {
  const deployed = ipFinding('https://10.20.30.40', '0.0.0.0');
  assert.equal(deployed?.severity, 'medium');
  assert.deepEqual(deployed?.params, { publicUrl: 'https://10.20.30.40' });
  assert.equal(ipFinding('http://127.0.0.1:8080')?.severity, 'low');
  assert.equal(ipFinding('http://[::1]:8080')?.severity, 'low');
  assert.equal(ipFinding('https://kartei.gesundheitsamt.example'), undefined);
  assert.equal(ipFinding('http://localhost:8080'), undefined);
});
