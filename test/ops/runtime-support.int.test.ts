// The runtime Kartei runs on: the doctor calls a Node.js past its end of life, or one
// that was never LTS, critical; the suite itself and the `kartei` command run on the
// Node.js LTS that `npm ci` brings, even when started by the machine's older Node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runtimeSupport } from '../../src/ops/runtime-support.ts';
import { configFindings } from '../../src/ops/security-findings.ts';
import { loadConfig } from '../../src/config/config.ts';

const at = (iso: string) => Date.parse(iso);
const root = fileURLToPath(new URL('../..', import.meta.url));

test('Node.js 20 ended on 30.04.2026; 22 and 24 are supported today; odd majors never are', () => {
  assert.deepEqual(runtimeSupport('20.20.2', at('2026-04-30T23:59:59Z')), {
    status: 'supported',
    major: 20,
    endOfLife: '2026-04-30',
  });
  assert.deepEqual(runtimeSupport('20.20.2', at('2026-05-01T00:00:00Z')), {
    status: 'end-of-life',
    major: 20,
    endOfLife: '2026-04-30',
  });
  assert.equal(runtimeSupport('22.22.0', at('2026-12-04T00:00:00Z')).status, 'supported');
  assert.equal(runtimeSupport('22.22.0', at('2027-05-01T00:00:00Z')).status, 'end-of-life');
  assert.deepEqual(runtimeSupport('24.21.0', at('2026-12-04T00:00:00Z')), {
    status: 'supported',
    major: 24,
    endOfLife: '2028-04-30',
  });
  assert.deepEqual(runtimeSupport('25.9.0', at('2026-12-04T00:00:00Z')), { status: 'not-lts', major: 25 });
  assert.deepEqual(runtimeSupport('8.17.0', at('2026-12-04T00:00:00Z')), {
    status: 'end-of-life',
    major: 8,
    endOfLife: '2021-04-30',
  });
  // A line newer than the table is younger than every line in it.
  assert.equal(runtimeSupport('28.0.0', at('2028-10-30T00:00:00Z')).status, 'supported');
});

test('the doctor reports a runtime past its end of life, or not LTS, as critical, with version and date', () => {
  const config = loadConfig({
    KARTEI_LANG: 'en', // the command's English words: this test is about what it does
    KARTEI_DATA_DIR: path.join(os.tmpdir(), 'kartei-rt-data'),
    KARTEI_KEY_DIR: path.join(os.tmpdir(), 'kartei-rt-keys'),
  });
  const now = at('2026-12-04T12:00:00Z');
  const runtime = (version: string) =>
    configFindings(config, now, version).filter((f) => f.code.startsWith('runtime-'));
  assert.deepEqual(
    runtime('20.20.2').map(({ severity, code, params }) => ({ severity, code, params })),
    [{ severity: 'critical', code: 'runtime-end-of-life', params: { version: '20.20.2', date: '2026-04-30' } }],
  );
  assert.deepEqual(
    runtime('25.1.0').map(({ severity, code }) => ({ severity, code })),
    [{ severity: 'critical', code: 'runtime-not-lts' }],
  );
  assert.deepEqual(runtime('24.21.0'), []);
});

test('the suite runs on a Node.js LTS in support (24 or later), the one npm scripts put first on the PATH', () => {
  const major = Number.parseInt(process.versions.node, 10);
  assert.ok(major >= 24, `Node.js ${process.versions.node}`);
  assert.equal(runtimeSupport(process.versions.node).status, 'supported');
  assert.ok(process.features.typescript, 'types are stripped by Node itself');
});

test("`kartei doctor` started by the machine's older Node hands over to the bundled LTS, which reports no runtime finding", () => {
  const machineNode = process.env.KARTEI_TEST_OLD_NODE ?? '/usr/bin/node';
  assert.ok(fs.existsSync(machineNode), `${machineNode} (KARTEI_TEST_OLD_NODE names another)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-rt-'));
  const env = {
    PATH: '/usr/bin:/bin',
    HOME: dir,
    KARTEI_LANG: 'en', // the command's English words: this test is about what it does
    KARTEI_DATA_DIR: path.join(dir, 'data'),
    KARTEI_KEY_DIR: path.join(dir, 'keys'),
  };
  const r = spawnSync(machineNode, [path.join(root, 'bin', 'kartei.js'), 'doctor'], { env, encoding: 'utf8' });
  fs.rmSync(dir, { recursive: true, force: true });
  const runtime = /^runtime: Node\.js (\d+)\.\d+\.\d+/m.exec(r.stdout);
  assert.ok(runtime, r.stdout + r.stderr);
  assert.ok(Number(runtime[1]) >= 24, runtime[0]);
  assert.doesNotMatch(r.stdout, /end of life|not a long-term-support/);
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
