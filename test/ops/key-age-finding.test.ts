// Issue 19: keys — `kartei doctor` names a master key older than KARTEI_KEY_MAX_AGE_DAYS (default
// 365; a rotation renews it) and a master rotation that stopped half-way; it creates no key.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadConfig, ConfigError } from '../../src/config/config.ts';
import { configFindings } from '../../src/ops/security-findings.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-key-age-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const keyDir = path.join(dir, 'keys');
const config = (env: Record<string, string> = {}) =>
  loadConfig({ KARTEI_DATA_DIR: path.join(dir, 'data'), KARTEI_KEY_DIR: keyDir, ...env });
const codes = (env: Record<string, string> = {}, now = Date.now()) =>
  configFindings(config(env), now)
    .filter((f) => f.code.startsWith('master-'))
    .map((f) => [f.code, f.params] as const);
const DAY = 86_400_000;

test('no master key yet: no finding, and none is created', () => {
  assert.deepEqual(codes(), []);
  assert.equal(fs.existsSync(keyDir), false);
});

test('a master key older than the limit is a finding; younger is none', () => {
  fs.mkdirSync(keyDir, { mode: 0o700 });
  fs.writeFileSync(path.join(keyDir, 'master.key'), randomBytes(32), { mode: 0o600 });
  const written = fs.statSync(path.join(keyDir, 'master.key')).mtime.getTime();
  assert.deepEqual(codes({}, written + 365 * DAY), []);
  const [old] = codes({}, written + 366 * DAY);
  assert.equal(old![0], 'master-key-old');
  assert.equal(old![1]!.days, 366);
  assert.equal(old![1]!.maxDays, 365);
  assert.match(String(old![1]!.keyId), /^[0-9a-f]{16}$/);
  assert.equal(codes({ KARTEI_KEY_MAX_AGE_DAYS: '30' }, written + 31 * DAY)[0]![0], 'master-key-old');
  assert.throws(() => config({ KARTEI_KEY_MAX_AGE_DAYS: '0' }), ConfigError);
  assert.throws(() => config({ KARTEI_KEY_MAX_AGE_DAYS: 'ein Jahr' }), ConfigError);
});

test('a rotation stopped before or after its switch is a finding', () => {
  fs.writeFileSync(path.join(keyDir, 'master.next.key'), randomBytes(32), { mode: 0o600 });
  assert.deepEqual(codes(), [['master-rotation-interrupted', { state: 'before-switch' }]]);
  fs.rmSync(path.join(keyDir, 'master.next.key'));
  fs.writeFileSync(path.join(keyDir, 'master.retired.key'), randomBytes(32), { mode: 0o600 });
  assert.deepEqual(codes(), [['master-rotation-interrupted', { state: 'after-switch' }]]);
  fs.rmSync(path.join(keyDir, 'master.retired.key'));
  assert.deepEqual(codes(), []);
});

// s24: master.key may be a link to a container's secret; a passphrase there becomes the root of every key.
test('a master key shorter than 32 bytes (a passphrase) is a critical finding; 32 random bytes are none', () => {
  const file = path.join(keyDir, 'master.key');
  const kept = fs.readFileSync(file);
  try {
    fs.writeFileSync(file, 'Sommer2026!\n', { mode: 0o600 });
    const short = configFindings(config()).find((f) => f.code === 'master-key-short');
    assert.equal(short?.severity, 'critical');
    assert.deepEqual(short?.params, { path: file, bytes: 12 });
    assert.ok(!JSON.stringify(short).includes('Sommer2026'), 'the key is repeated');
  } finally {
    fs.writeFileSync(file, kept, { mode: 0o600 });
  }
  assert.equal(
    configFindings(config()).some((f) => f.code === 'master-key-short'),
    false,
  );
});
