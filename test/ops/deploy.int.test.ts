// deploy/ (issue 19): the systemd unit passes `systemd-analyze verify` (a typo
// would not) with its hardening rated OK offline; its settings and the example
// environment make a configuration Kartei starts with (data and keys apart, 0700),
// and its command with those settings serves, is ready, has its metrics on
// loopback and stops cleanly on SIGTERM. The Dockerfile's settings start too, and
// it builds on Debian with the Node.js major the package brings. (No container is
// built here: the machine has no Docker daemon and no registry for base images.)
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkStartable, loadConfig } from '../../src/config/config.ts';
import { freePort } from '../helpers/harness.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const UNIT = path.join(ROOT, 'deploy/systemd/kartei.service');
const ENV_EXAMPLE = path.join(ROOT, 'deploy/systemd/kartei.env.example');
const DOCKERFILE = path.join(ROOT, 'deploy/docker/Dockerfile');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-deploy-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

/** The unit with its installation path pointed at this checkout (verify needs the program to exist). */
function unitHere(text = fs.readFileSync(UNIT, 'utf8')): string {
  const dir = fs.mkdtempSync(path.join(tmp, 'unit-'));
  const file = path.join(dir, 'kartei.service');
  fs.writeFileSync(file, text.replaceAll('/opt/kartei', ROOT));
  return file;
}

function verify(file: string) {
  const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

/** `Key=value` lines of a unit's [Service] section, in order. */
function directives(text: string): [string, string][] {
  return text
    .split('\n')
    .filter((l) => /^[A-Za-z]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);
}

/** KEY=value lines of an environment file (comments and blanks skipped). */
const envFile = (text: string) =>
  Object.fromEntries(
    text
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );

test('the systemd unit passes systemd-analyze verify; a misspelled directive would not', {
  skip: !hasAnalyze && 'systemd-analyze is not installed',
}, () => {
  const ok = verify(unitHere());
  assert.equal(ok.status, 0, ok.out);
  assert.equal(ok.out, '', `verify says: ${ok.out}`);
  const typo = verify(unitHere(fs.readFileSync(UNIT, 'utf8').replace('ProtectSystem=strict', 'ProtectSytem=strict')));
  assert.match(typo.out, /Unknown key( name)? 'ProtectSytem'/);
  const missing = verify(unitHere(fs.readFileSync(UNIT, 'utf8').replace('.bin/node', '.bin/nonexistent')));
  assert.notEqual(missing.status, 0, 'a program that is not there fails the check');
});

test('the unit is hardened: rated OK by systemd-analyze security, and the usual directives set', {
  skip: !hasAnalyze && 'systemd-analyze is not installed',
}, () => {
  const r = spawnSync('systemd-analyze', ['security', '--offline=yes', unitHere()], { encoding: 'utf8' });
  const level = /Overall exposure level for kartei\.service: (\d+\.\d+) (\w+)/.exec(r.stdout);
  assert.ok(level, r.stdout + r.stderr);
  assert.ok(Number(level[1]) <= 2.0, `exposure ${level[1]} ${level[2]}`);
  const d = new Map(directives(fs.readFileSync(UNIT, 'utf8')));
  for (const [key, value] of [
    ['User', 'kartei'],
    ['ProtectSystem', 'strict'],
    ['NoNewPrivileges', 'yes'],
    ['PrivateTmp', 'yes'],
    ['ProtectHome', 'yes'],
    ['StateDirectoryMode', '0700'],
    ['UMask', '0077'],
    ['CapabilityBoundingSet', ''],
    ['ReadWritePaths', '/var/lib/kartei/data /var/lib/kartei/keys'],
  ])
    assert.equal(d.get(key!), value, key);
});

/** The unit's Environment= lines, then its EnvironmentFile (the example) over them, as systemd does. */
function unitEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of directives(fs.readFileSync(UNIT, 'utf8')))
    if (k === 'Environment') env[v.slice(0, v.indexOf('='))] = v.slice(v.indexOf('=') + 1);
  return { ...env, ...envFile(fs.readFileSync(ENV_EXAMPLE, 'utf8')) };
}

test("the unit's command with its settings serves, is ready, has metrics on loopback, and stops on SIGTERM", async () => {
  const env = unitEnvironment();
  assert.doesNotThrow(() => checkStartable(loadConfig(env)), 'the configuration as installed starts');
  assert.equal(loadConfig(env).metrics?.host, '127.0.0.1');
  // The same settings with this test's directories and free ports instead of the installation's.
  const [port, dicom, metrics] = [await freePort(), await freePort(), await freePort()];
  const run = {
    ...env,
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    KARTEI_DATA_DIR: path.join(tmp, 'var/data'),
    KARTEI_KEY_DIR: path.join(tmp, 'var/keys'),
    KARTEI_LISTEN: `127.0.0.1:${port}`,
    KARTEI_DICOM_LISTEN: `127.0.0.1:${dicom}`,
    KARTEI_METRICS_LISTEN: `127.0.0.1:${metrics}`,
  };
  const exec = directives(fs.readFileSync(UNIT, 'utf8'))
    .find(([k]) => k === 'ExecStart')![1]
    .split(' ');
  const [program, ...args] = exec.map((a) => a.replace('/opt/kartei', ROOT));
  const child = spawn(program!, args, { cwd: ROOT, env: run, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    let ready = 0;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(200)) {
      if (child.exitCode !== null) break;
      ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.status,
        () => 0,
      );
      if (ready === 200) break;
    }
    assert.equal(ready, 200, out);
    const m = await fetch(`http://127.0.0.1:${metrics}/metrics`);
    assert.equal(m.status, 200);
    assert.match(
      await m.text(),
      /kartei_http_request_duration_seconds_count\{method="GET",route="\/readyz",status="200"\}/,
    );
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, `stopped cleanly on SIGTERM: ${out}`);
});

test('the Dockerfile: Debian with the Node.js major the package brings, a dedicated user, and settings that start', () => {
  const text = fs.readFileSync(DOCKERFILE, 'utf8');
  const froms = [...text.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]!);
  const nodeMajor = /^\^?(\d+)\./.exec(
    JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).dependencies.node,
  )![1];
  assert.deepEqual(froms, [`node:${nodeMajor}-bookworm-slim`, 'debian:bookworm-slim']);
  assert.match(text, /^USER kartei$/m);
  assert.match(text, /^ENTRYPOINT \["\/opt\/kartei\/node_modules\/\.bin\/node", "\/opt\/kartei\/bin\/kartei\.js"\]$/m);
  // Its ENV block as Kartei reads it: HTTPS beyond loopback, data and keys apart, metrics on loopback.
  const block = /^ENV ((?:.*\\\n)*.*)$/m.exec(text)![1]!.replace(/\\\n/g, ' ');
  const env = Object.fromEntries([...block.matchAll(/([A-Z_]+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
  const config = loadConfig(env);
  assert.doesNotThrow(() => checkStartable(config));
  assert.ok(config.tls, 'TLS beyond loopback');
  assert.equal(config.metrics?.host, '127.0.0.1');
  for (const p of ['node_modules/.bin/node', 'bin/kartei.js', 'scripts/build-web.ts'])
    assert.ok(fs.existsSync(path.join(ROOT, p)), p);
});
