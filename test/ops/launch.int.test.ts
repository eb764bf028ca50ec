// The production start (src/ops/launch.ts through bin/kartei.js): the real `kartei serve`
// runs with the allocator KARTEI_ALLOCATOR names, shown by the process itself in /proc —
// tuned glibc malloc in its start environment, jemalloc mapped, or the environment left
// alone — and the doctor says which, or why the operator's choice cannot take effect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  allocatorFindings,
  JEMALLOC_LIBRARY,
  launchPlan,
  TUNED,
  V8_FLAGS,
  v8FlagsInEffect,
} from '../../src/ops/launch.ts';
import { freePort } from '../helpers/harness.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const kartei = path.join(root, 'bin', 'kartei.js');

function installationEnv(dir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    KARTEI_LANG: 'en', // the command's English words: this test is about what it does
    KARTEI_DATA_DIR: path.join(dir, 'data'),
    KARTEI_KEY_DIR: path.join(dir, 'keys'),
    KARTEI_DICOM_LISTEN: 'off',
    ...extra,
  };
  for (const k of ['KARTEI_ALLOCATOR', 'LD_PRELOAD', 'MALLOC_CONF', ...Object.keys(TUNED)])
    if (extra[k] === undefined) delete env[k];
  return env;
}

/** Starts `kartei serve`, waits for its allocator line, and returns what /proc shows of the process. */
async function serveAndLook(extra: NodeJS.ProcessEnv, nodeArgs: string[] = []) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-launch-'));
  const env = installationEnv(dir, { KARTEI_LISTEN: `127.0.0.1:${await freePort()}`, ...extra });
  const child = spawn(process.execPath, [...nodeArgs, kartei, 'serve'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  try {
    const line = await new Promise<string>((resolve, reject) => {
      // The allocator line goes to stderr (stdout carries only the setup link).
      readline.createInterface({ input: child.stderr }).on('line', (l) => {
        stderr += `${l}\n`;
        if (l.startsWith('kartei: allocator:')) resolve(l);
      });
      child.once('exit', (code) => reject(new Error(`kartei serve exited ${code}: ${stderr}`)));
    });
    // The same pid: the start re-executes the process in place.
    const environ = fs.readFileSync(`/proc/${child.pid}/environ`, 'utf8').split('\0');
    const maps = fs.readFileSync(`/proc/${child.pid}/maps`, 'utf8');
    const cmdline = fs.readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
    return { line, environ, maps, cmdline, stderr };
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => (child.exitCode === null && child.signalCode === null ? child.once('exit', r) : r(0)));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const has = (environ: string[], k: string, v: string) => environ.includes(`${k}=${v}`);
const named = (environ: string[], k: string) => environ.some((e) => e.startsWith(`${k}=`));

test("`kartei serve` runs with tuned glibc malloc by default (its variables in its start environment) and the start's V8 flags", async () => {
  const { line, environ, maps, cmdline } = await serveAndLook({});
  for (const [k, v] of Object.entries(TUNED)) assert.ok(has(environ, k, v), `${k}=${v} in /proc/<pid>/environ`);
  assert.doesNotMatch(maps, /libjemalloc/);
  assert.match(
    line,
    /tuned glibc malloc \(MALLOC_MMAP_THRESHOLD_=33554432, MALLOC_TRIM_THRESHOLD_=67108864, MALLOC_ARENA_MAX=2\); V8 --max-semi-space-size=8 --heap-growing-percent=100/,
  );
  for (const flag of V8_FLAGS) assert.ok(cmdline.includes(flag), `${flag} in /proc/<pid>/cmdline`);
});

test("the operator's own V8 flag wins over the start's, and the allocator line names the value in effect", async () => {
  const { line, cmdline } = await serveAndLook({}, ['--heap-growing-percent=50']);
  assert.match(line, /V8 --max-semi-space-size=8 --heap-growing-percent=50$/);
  // V8 takes the last of a flag given twice: the start puts its own first.
  assert.ok(
    cmdline.lastIndexOf('--heap-growing-percent=50') > cmdline.indexOf('--heap-growing-percent=100'),
    cmdline.join(' '),
  );
});

test('the V8 flags in effect: the last of each, in any spelling V8 reads; none the start does not set', () => {
  assert.deepEqual(v8FlagsInEffect([...V8_FLAGS]), [...V8_FLAGS]);
  assert.deepEqual(
    v8FlagsInEffect([...V8_FLAGS, '--heap_growing_percent=30', '--max-semi-space-size=16', '--expose-gc']),
    ['--max-semi-space-size=16', '--heap_growing_percent=30'],
  );
  assert.deepEqual(v8FlagsInEffect(['--import', './x.ts', '--stack-size=2000']), []);
});

test('KARTEI_ALLOCATOR=jemalloc maps libjemalloc into the server', {
  skip: !fs.existsSync(JEMALLOC_LIBRARY),
}, async () => {
  const { line, maps } = await serveAndLook({ KARTEI_ALLOCATOR: 'jemalloc' });
  assert.match(maps, /libjemalloc\.so\.2/);
  assert.match(line, /allocator: jemalloc/);
});

test("KARTEI_ALLOCATOR=system leaves the environment as it is: no thresholds, no preload, glibc's malloc", async () => {
  const { line, environ, maps } = await serveAndLook({ KARTEI_ALLOCATOR: 'system' });
  for (const k of [...Object.keys(TUNED), 'LD_PRELOAD', 'MALLOC_CONF']) assert.ok(!named(environ, k), k);
  assert.doesNotMatch(maps, /libjemalloc/);
  assert.match(line, /allocator: system/);
});

test("the operator's own threshold is kept, and an unknown allocator falls back to tuned with a warning", async () => {
  const { line, environ, stderr } = await serveAndLook({
    KARTEI_ALLOCATOR: 'tcmalloc',
    MALLOC_TRIM_THRESHOLD_: '1048576',
  });
  assert.ok(has(environ, 'MALLOC_TRIM_THRESHOLD_', '1048576'));
  assert.ok(has(environ, 'MALLOC_MMAP_THRESHOLD_', TUNED.MALLOC_MMAP_THRESHOLD_!));
  assert.match(stderr, /KARTEI_ALLOCATOR=tcmalloc names no allocator/);
  assert.match(
    line,
    /tuned glibc malloc \(MALLOC_MMAP_THRESHOLD_=33554432, MALLOC_TRIM_THRESHOLD_=1048576, MALLOC_ARENA_MAX=2\)/,
  );
});

test('jemalloc where the library is absent falls back to tuned, and the doctor finds it', () => {
  const plan = launchPlan({ KARTEI_ALLOCATOR: 'jemalloc' }, () => false);
  assert.equal(plan.allocator, 'tuned');
  assert.match(plan.warning!, /libjemalloc\.so\.2 is absent/);
  assert.equal(plan.env.LD_PRELOAD, undefined);
  assert.equal(plan.env.MALLOC_MMAP_THRESHOLD_, TUNED.MALLOC_MMAP_THRESHOLD_);
  const state = { allocator: 'tuned' as const, inEffect: true, summary: '' };
  assert.deepEqual(
    allocatorFindings(state, plan).map(({ severity, code }) => ({ severity, code })),
    [{ severity: 'low', code: 'allocator-not-applied' }],
  );
  assert.deepEqual(
    allocatorFindings(
      state,
      launchPlan({}, () => true),
    ),
    [],
  );
});

test("the start's variables are not handed on to the programs Kartei starts (Orthanc, DCMTK)", () => {
  // As if Debian's libjemalloc2 were installed, so the plan preloads it whatever this machine has.
  const plan = launchPlan(
    { PATH: process.env.PATH, LD_PRELOAD: '/opt/mine.so', KARTEI_ALLOCATOR: 'jemalloc' },
    () => true,
  );
  assert.equal(plan.allocator, 'jemalloc');
  const r = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `await import(${JSON.stringify(path.join(root, 'src/ops/launch.ts'))});
       process.stdout.write(JSON.stringify(process.env));`,
    ],
    // Only the variables: no preload of a library into this child.
    { env: { ...plan.env, LD_PRELOAD: undefined, KARTEI_ALLOCATOR: 'jemalloc' }, encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  const after = JSON.parse(r.stdout) as NodeJS.ProcessEnv;
  assert.equal(after.KARTEI_LAUNCHED, undefined);
  assert.equal(after.MALLOC_CONF, undefined);
  assert.equal(after.LD_PRELOAD, '/opt/mine.so');
});

test('`kartei doctor` names the allocator, and an operator choice that cannot take effect as a finding', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-launch-'));
  try {
    const ok = spawnSync(process.execPath, [kartei, 'doctor'], { env: installationEnv(dir), encoding: 'utf8' });
    assert.match(ok.stdout, /^allocator: tuned glibc malloc \(MALLOC_MMAP_THRESHOLD_=33554432/m, ok.stderr);
    assert.doesNotMatch(ok.stdout, /allocator is not|names no allocator/);
    const bad = spawnSync(process.execPath, [kartei, 'doctor'], {
      env: installationEnv(dir, { KARTEI_ALLOCATOR: 'fast' }),
      encoding: 'utf8',
    });
    assert.match(
      bad.stdout,
      /^\[LOW\] The memory allocator is not the production start's: KARTEI_ALLOCATOR=fast names no allocator/m,
      bad.stdout + bad.stderr,
    );
    assert.equal(bad.status, 0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
