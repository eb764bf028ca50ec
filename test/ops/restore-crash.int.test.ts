// A restore killed at each of its steps (the test-only KARTEI_TEST_RESTORE_CRASH_AT, SIGKILL) leaves
// a data directory no server starts on — `kartei serve` refuses and says to run the restore again —
// and running `kartei restore` again with the same backup completes it: the same gap named, the
// key directory's earlier witness kept once, one `system.restore` event per chain, the chain
// verifies. Each step gets its own copy of the key directory, whose witness is ahead of the backup.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import SQLite from 'better-sqlite3';
import { backupData } from '../../src/ops/backup.ts';
import { TEST_CRASH_VARIABLE } from '../../src/ops/restore.ts';
import { DIALECT, freePort, samplePerson, setUpTenant, startHarness } from '../helpers/harness.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/kartei.js');
const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const STEPS = ['marked', 'staged', 'in-place', 'witness-moved', 'witness-written', 'recorded'];

test('a restore killed at each step is refused by serve and completed by running it again', {
  skip: DIALECT === 'postgres',
  timeout: 300_000,
}, async () => {
  const h = await startHarness();
  dirs.push(h.dir);
  const office = await setUpTenant(h, ['INF']);
  const INF = office.departments.INF!;
  const physician = await office.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  for (const n of ['Erstberg', 'Zweitberg'])
    assert.equal((await physician.post('/api/persons', samplePerson(INF, n))).status, 201);
  await h.services.audit.checkpointAll();
  const dest = path.join(h.dir, 'backup');
  await backupData(h.config, dest, { nice: false });
  for (const n of ['Drittberg', 'Viertberg'])
    assert.equal((await physician.post('/api/persons', samplePerson(INF, n))).status, 201);
  await h.services.audit.checkpointAll(); // the witness is now ahead of the backup
  await h.stop();
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KARTEI_'))) as Record<
    string,
    string
  >;
  const run = (args: string[], env: Record<string, string>) =>
    spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });

  let gapLine: string | undefined;
  for (const step of STEPS) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `kartei-restore-crash-${step}-`));
    dirs.push(dir);
    fs.cpSync(h.config.keyDir, path.join(dir, 'keys'), { recursive: true });
    fs.chmodSync(path.join(dir, 'keys'), 0o700);
    const env = {
      ...base,
      NODE_ENV: 'test',
      KARTEI_LANG: 'en', // the command's English words: this test is about what it does
      KARTEI_DATA_DIR: path.join(dir, 'data'),
      KARTEI_KEY_DIR: path.join(dir, 'keys'),
      KARTEI_LOG_LEVEL: 'warn',
    };
    const crashed = run(['restore', dest], { ...env, [TEST_CRASH_VARIABLE]: step });
    assert.equal(crashed.signal, 'SIGKILL', `${step}: ${crashed.stdout}${crashed.stderr}`);
    const serve = run(['serve'], {
      ...env,
      KARTEI_LISTEN: `127.0.0.1:${await freePort()}`,
      KARTEI_DICOM_LISTEN: 'off',
    });
    assert.equal(serve.status, 1, `${step}: ${serve.stdout}${serve.stderr}`);
    assert.match(serve.stderr, /a restore into .* has not finished \(restore-incomplete\); run `kartei restore`/, step);
    const done = run(['restore', dest], env);
    assert.equal(done.status, 0, `${step}: ${done.stdout}${done.stderr}`);
    const line = done.stdout.split('\n').find((l) => l.startsWith(`audit chain ${office.tenantId}:`));
    assert.ok(line, `${step}: the gap is named: ${done.stdout}`);
    gapLine ??= line.replace(/\(witnessed up to [^)]*\)/, '');
    assert.equal(line.replace(/\(witnessed up to [^)]*\)/, ''), gapLine, `${step}: the same gap`);
    const kept = fs.readdirSync(env.KARTEI_KEY_DIR).filter((f) => f.startsWith('audit-witness.before-restore-'));
    assert.equal(kept.length, 1, `${step}: the earlier witness kept once: ${kept}`);
    const verify = run(['audit', 'verify'], env);
    assert.equal(verify.status, 0, `${step}: ${verify.stdout}${verify.stderr}`);
    const db = new SQLite(path.join(env.KARTEI_DATA_DIR, 'kartei.sqlite'), { readonly: true });
    try {
      const events = db
        .prepare("select tenant_id from audit_events where action = 'system.restore' order by tenant_id")
        .all() as { tenant_id: string }[];
      assert.deepEqual(events.map((e) => e.tenant_id).sort(), [office.tenantId, 'deployment'].sort(), step);
      assert.equal((db.prepare('select count(*) as n from persons').get() as { n: number }).n, 2, step);
    } finally {
      db.close();
    }
  }
});
