// Attack (issue 19, keys): `kartei keys reload-tls` sends SIGHUP to the process its data
// directory's serve.lock names. A stale lock (the server gone, its pid reused) or one written by
// whoever holds the data directory must not make the operator — often root — signal another
// process: SIGHUP ends most processes that do not handle it. serve-lock.ts checks that a pid is a
// running kartei process before it honours a lock; reload-tls must too.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';

const ROOT = path.resolve(import.meta.dirname, '../..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-attack-reload-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

test('reload-tls does not signal a process that is not a kartei server', async () => {
  const victim = spawn('sleep', ['30'], { stdio: 'ignore' });
  after(() => victim.kill('SIGKILL'));
  const data = path.join(work, 'data');
  fs.mkdirSync(data, { mode: 0o700 });
  fs.writeFileSync(path.join(data, 'serve.lock'), `${victim.pid}\n`, { mode: 0o600 });
  const cli = spawn(process.execPath, [path.join(ROOT, 'bin/kartei.js'), 'keys', 'reload-tls'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      KARTEI_LANG: 'en', // the command's English words: this test is about what it does
      KARTEI_DATA_DIR: data,
      KARTEI_KEY_DIR: path.join(work, 'keys'),
      KARTEI_LOG_LEVEL: 'silent',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  cli.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  cli.stderr.setEncoding('utf8').on('data', (d) => (out += d));
  const code = await new Promise<number | null>((resolve) => cli.once('exit', resolve));
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(victim.exitCode, null, `the sleep process was signalled (${victim.signalCode}); kartei said: ${out}`);
  assert.equal(victim.signalCode, null);
  assert.notEqual(code, 0, out);
});

test('a lock holder is a kartei process only when it is Node running bin/kartei.js; only `serve` is a server', async () => {
  const { karteiProcess, lockDataDir, runningServer } = await import('../../src/ops/serve-lock.ts');
  const idle = 'setTimeout(() => {}, 30000)';
  const spawned = {
    // "kartei" in the command line is not enough (the old check): not Node, or Node without bin/kartei.js.
    sleep: spawn('sh', ['-c', 'exec sleep 30', 'kartei', 'bin/kartei.js', 'serve'], { stdio: 'ignore' }),
    nodeNamed: spawn(process.execPath, ['-e', idle, 'kartei.conf', 'serve'], { stdio: 'ignore' }),
    // Node running bin/kartei.js: `serve` is a server, anything else a command (it may hold the lock, not be signalled).
    server: spawn(process.execPath, ['-e', idle, '--', path.join(ROOT, 'bin/kartei.js'), 'serve'], { stdio: 'ignore' }),
  };
  after(() => {
    for (const c of Object.values(spawned)) c.kill('SIGKILL');
  });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(karteiProcess(spawned.sleep.pid as number), undefined);
  assert.equal(karteiProcess(spawned.nodeNamed.pid as number), undefined);
  assert.equal(karteiProcess(spawned.server.pid as number), 'server');
  assert.equal(karteiProcess(process.pid), undefined, 'never the caller itself');
  const data = path.join(work, 'lock-data');
  fs.mkdirSync(data, { mode: 0o700 });
  const lock = path.join(data, 'serve.lock');
  fs.writeFileSync(lock, `${spawned.nodeNamed.pid}\n`);
  assert.equal(runningServer(data), undefined);
  // A lock naming no kartei process is stale: taken over.
  const release = lockDataDir(data);
  assert.equal(fs.readFileSync(lock, 'utf8').trim(), String(process.pid));
  release();
  fs.writeFileSync(lock, `${spawned.server.pid}\n`);
  assert.equal(runningServer(data), spawned.server.pid);
  assert.throws(() => lockDataDir(data), /another kartei server/);
});
