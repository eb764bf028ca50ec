// Attack (issue 19, restore and the witness): the witness in the key directory is the defence against a
// database rolled back or truncated by someone who controls the database but not the key directory.
// 1. The backup's witness swapped after the manifest check (someone who can write where backups are
//    kept, racing the restore): the restore installs only the bytes the manifest's MAC covers.
// 2. PostgreSQL: the database rolled back to an old dump and grown past the key directory's witness by
//    the running server (a fork: other events under the same sequence numbers); a restore that keeps
//    that database must name the witnessed events it does not hold as lost, not "none".
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { backupData } from '../../src/ops/backup.ts';
import { restoreData, TEST_CRASH_VARIABLE } from '../../src/ops/restore.ts';
import { keyDirectoryOddities } from '../../src/vault/key-file.ts';
import { Client, DIALECT, PG_ADMIN, samplePerson, setUpTenant, startHarness } from '../helpers/harness.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const WITNESS = 'audit-witness.json';
const readWitness = (file: string) =>
  JSON.parse(fs.readFileSync(file, 'utf8')) as { chains: Record<string, { seq: number; hash: string }> };

test('the backup witness swapped after the manifest check is refused; the key directory keeps its witness', {
  timeout: 180_000,
}, async () => {
  const h = await startHarness({ env: { KARTEI_STORAGE: 'files' } });
  dirs.push(h.dir);
  const office = await setUpTenant(h, ['INF']);
  const INF = office.departments.INF!;
  const doc = await office.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  assert.equal((await doc.post('/api/persons', samplePerson(INF, 'Vorher'))).status, 201);
  await h.services.audit.checkpointAll();
  const dest = path.join(h.dir, 'backup');
  await backupData(h.config, dest, { nice: false });
  assert.equal((await doc.post('/api/persons', samplePerson(INF, 'Nachher'))).status, 201);
  await h.services.audit.checkpointAll();
  await h.stop();
  const keyWitness = path.join(h.config.keyDir, WITNESS);
  const before = fs.readFileSync(keyWitness);
  const target = { ...h.config, dataDir: path.join(h.dir, 'restored', 'data') };
  // The first read of the backup's witness after the check finds the forger's file.
  const forged = JSON.stringify({ chains: {} });
  const backupWitness = path.join(dest, WITNESS);
  const real = fs.readFileSync;
  let swapped = false;
  fs.readFileSync = ((file: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
    if (!swapped && typeof file === 'string' && path.resolve(file) === backupWitness) {
      swapped = true;
      fs.writeFileSync(backupWitness, forged);
    }
    return (real as (...a: unknown[]) => unknown)(file, ...rest);
  }) as typeof fs.readFileSync;
  try {
    await assert.rejects(restoreData(target, dest), /audit-witness\.json.*(changed|does not match)/);
  } finally {
    fs.readFileSync = real;
  }
  assert.ok(swapped, 'the restore read the backup witness after checking it');
  assert.ok(fs.readFileSync(keyWitness).equals(before), "the key directory's witness is untouched");
  assert.ok(!fs.readdirSync(h.config.keyDir).some((f) => f.startsWith('audit-witness.before-restore')));
});

async function recreate(url: string) {
  const name = new URL(url).pathname.slice(1);
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
}

function sh(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
}

test('PostgreSQL: a database rolled back and grown past the witness (a fork) — restore names the witnessed events as lost', {
  skip: DIALECT !== 'postgres' ? 'runs with KARTEI_TEST_PG' : false,
  timeout: 300_000,
}, async () => {
  const env = { KARTEI_STORAGE: 'files' };
  const h = await startHarness({ env });
  dirs.push(h.dir);
  const office = await setUpTenant(h, ['INF']);
  const INF = office.departments.INF!;
  const doc = await office.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  assert.equal((await doc.post('/api/persons', samplePerson(INF, 'Vorher'))).status, 201);
  await h.services.audit.checkpointAll();
  const adminUrl = h.installation.database.databaseAdminUrl!;
  const dump = path.join(h.dir, 'old.dump');
  sh('pg_dump', ['-Fc', '-d', adminUrl, '-f', dump]);
  const dest = path.join(h.dir, 'backup');
  await backupData(h.config, dest, { nice: false });
  for (const name of ['Eins', 'Zwei', 'Drei'])
    assert.equal((await doc.post('/api/persons', samplePerson(INF, name))).status, 201);
  await h.services.audit.checkpointAll();
  const witnessed = readWitness(path.join(h.config.keyDir, WITNESS)).chains[office.tenantId]!;
  await h.stop();

  // The attacker puts the old dump back; the server, started again, keeps writing on it.
  await recreate(adminUrl);
  sh('pg_restore', ['-d', adminUrl, dump]);
  const h2 = await startHarness({ reopen: h.installation, env });
  const c = new Client(h2);
  c.cookie = doc.cookie;
  c.csrf = doc.csrf;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const head = async () =>
    Number(
      (await admin.query('select seq from audit_heads where tenant_id = $1', [office.tenantId])).rows[0]?.seq ?? 0,
    );
  try {
    for (let i = 0; (await head()) <= witnessed.seq + 2; i++) {
      assert.ok(i < 50, 'the fork grows');
      assert.equal((await c.post('/api/persons', samplePerson(INF, `Gabel${i}`))).status, 201);
    }
    const atWitness = await admin.query('select hash from audit_events where tenant_id = $1 and seq = $2', [
      office.tenantId,
      witnessed.seq,
    ]);
    assert.notEqual(atWitness.rows[0].hash, witnessed.hash, 'another event under the witnessed number');
  } finally {
    await admin.end();
    await h2.stop();
  }

  // The operator restores the data directory from the authentic backup and keeps the database.
  const target = { ...h.config, dataDir: path.join(h.dir, 'restored', 'data') };
  const restored = await restoreData(target, dest);
  const gap = restored.gap[office.tenantId];
  assert.ok(gap, `the witnessed events the database no longer holds are named: ${JSON.stringify(restored.gap)}`);
  assert.equal(gap.to, witnessed.seq);
  assert.ok(gap.from <= witnessed.seq);
});

// 3. A restore of the newer backup killed after it installed that backup's witness; the operator then
//    empties the data directory and restores an older backup instead. The key directory's own witness
//    (ahead of both) was already moved aside: the gap must still reach the head it had witnessed.
const ROOT = path.resolve(import.meta.dirname, '../..');
for (const step of ['witness-moved', 'witness-written']) {
  test(`a restore killed at ${step}, then another backup restored: the gap reaches the key directory's head`, {
    skip: DIALECT === 'postgres' ? 'the crash runs on SQLite (test/ops/restore-crash.int.test.ts)' : false,
    timeout: 300_000,
  }, async () => {
    const h = await startHarness();
    dirs.push(h.dir);
    const office = await setUpTenant(h, ['INF']);
    const INF = office.departments.INF!;
    const doc = await office.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
    const add = async (n: string) => assert.equal((await doc.post('/api/persons', samplePerson(INF, n))).status, 201);
    await add('Alt');
    await h.services.audit.checkpointAll();
    const older = path.join(h.dir, 'older');
    await backupData(h.config, older, { nice: false });
    await add('Mittel');
    await h.services.audit.checkpointAll();
    const newer = path.join(h.dir, 'newer');
    await backupData(h.config, newer, { nice: false });
    await add('Neu');
    await h.services.audit.checkpointAll();
    const witnessed = readWitness(path.join(h.config.keyDir, WITNESS)).chains[office.tenantId]!;
    await h.stop();
    const dataDir = path.join(h.dir, 'restored');
    const env = {
      ...(Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KARTEI_'))) as Record<
        string,
        string
      >),
      NODE_ENV: 'test',
      KARTEI_DATA_DIR: dataDir,
      KARTEI_KEY_DIR: h.config.keyDir,
      KARTEI_LOG_LEVEL: 'warn',
      [TEST_CRASH_VARIABLE]: step,
    };
    const crashed = spawnSync(process.execPath, [path.join(ROOT, 'bin/kartei.js'), 'restore', newer], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(crashed.signal, 'SIGKILL', `${crashed.stdout}${crashed.stderr}`);
    fs.rmSync(dataDir, { recursive: true });
    const restored = await restoreData({ ...h.config, dataDir }, older);
    const gap = restored.gap[office.tenantId];
    assert.ok(gap, JSON.stringify(restored.gap));
    assert.equal(
      gap.to,
      witnessed.seq,
      `the gap ends at the head the key directory had witnessed: ${JSON.stringify(gap)}`,
    );
    const kept = fs.readdirSync(h.config.keyDir).filter((f) => f.startsWith('audit-witness.before-restore-'));
    assert.ok(
      kept.some((f) => readWitness(path.join(h.config.keyDir, f)).chains[office.tenantId]!.hash === witnessed.hash),
      `the key directory's own witness is kept: ${kept}`,
    );
    assert.ok(!('beforeRestore' in readWitness(path.join(h.config.keyDir, WITNESS))), 'complete: nothing carried over');
    // The witnesses the restore kept are its own, not a file planted in the key directory (`kartei doctor`).
    assert.deepEqual(keyDirectoryOddities(h.config.keyDir).unknown, []);
  });
}

// 4. PostgreSQL: the database's head row raised past the witness while its tail events are deleted. By
//    the head row the database holds everything witnessed; the witnessed event itself is not there.
test('PostgreSQL: a head row raised over a deleted tail — restore names the witnessed events the database lacks', {
  skip: DIALECT !== 'postgres' ? 'runs with KARTEI_TEST_PG' : false,
  timeout: 300_000,
}, async () => {
  const env = { KARTEI_STORAGE: 'files' };
  const h = await startHarness({ env });
  dirs.push(h.dir);
  const office = await setUpTenant(h, ['INF']);
  const INF = office.departments.INF!;
  const doc = await office.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  assert.equal((await doc.post('/api/persons', samplePerson(INF, 'Vorher'))).status, 201);
  await h.services.audit.checkpointAll();
  const dest = path.join(h.dir, 'backup');
  await backupData(h.config, dest, { nice: false });
  const inBackup = readWitness(path.join(dest, WITNESS)).chains[office.tenantId]!;
  for (const name of ['Eins', 'Zwei'])
    assert.equal((await doc.post('/api/persons', samplePerson(INF, name))).status, 201);
  await h.services.audit.checkpointAll();
  const witnessed = readWitness(path.join(h.config.keyDir, WITNESS)).chains[office.tenantId]!;
  await h.stop();
  const admin = new pg.Client({ connectionString: h.installation.database.databaseAdminUrl! });
  await admin.connect();
  try {
    await admin.query('begin');
    await admin.query('set local session_replication_role = replica');
    await admin.query('delete from audit_events where tenant_id = $1 and seq > $2', [office.tenantId, inBackup.seq]);
    await admin.query('delete from audit_checkpoints where tenant_id = $1 and seq > $2', [
      office.tenantId,
      inBackup.seq,
    ]);
    await admin.query('update audit_heads set seq = $2 where tenant_id = $1', [office.tenantId, witnessed.seq + 1000]);
    await admin.query('commit');
  } finally {
    await admin.end();
  }
  const target = { ...h.config, dataDir: path.join(h.dir, 'restored', 'data') };
  const restored = await restoreData(target, dest);
  const gap = restored.gap[office.tenantId];
  assert.ok(gap, `the witnessed events the database lacks are named: ${JSON.stringify(restored.gap)}`);
  assert.equal(gap.to, witnessed.seq);
  assert.ok(gap.from <= inBackup.seq + 1, JSON.stringify(gap));
});
