// Issue 17: walk — `kartei doctor` and the security report: an upload limit for documents above 1 GB is a
// critical finding; 0 (or anything not a whole number from 1 to 2000 MB) does not start at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { configFindings } from '../../src/ops/security-findings.ts';

const env = (mb?: string) => ({
  KARTEI_DATA_DIR: '/tmp/kartei-attachment-limit',
  ...(mb === undefined ? {} : { KARTEI_ATTACHMENT_MAX_MB: mb }),
});
const finding = (mb?: string) => configFindings(loadConfig(env(mb))).find((f) => f.code === 'attachment-limit-high');

test('an upload limit above 1 GB is a critical finding naming the limit; up to 1 GB and the default are none', () => {
  const high = finding('1500');
  assert.equal(high?.severity, 'critical');
  assert.deepEqual(high?.params, { mb: 1500 });
  assert.match(high!.fix, /KARTEI_ATTACHMENT_MAX_MB/);
  assert.equal(finding('1024'), undefined);
  assert.equal(finding('50'), undefined);
  assert.equal(finding(), undefined);
});

test('a limit of 0, a negative one, more than 2000 MB or not a number does not start', () => {
  for (const mb of ['0', '-5', '2001', '1.5', 'viel']) assert.throws(() => loadConfig(env(mb)), ConfigError, mb);
});
