// Backup and restore on PostgreSQL (runs when KARTEI_TEST_PG names a cluster): the database is the
// operator's `pg_dump`, taken BEFORE `kartei backup`, which copies the witness and every file the
// rows name at that moment (a superset of the dump's). After a loss — the database dropped and
// restored from the dump with `pg_restore`, an empty data directory — `kartei restore` brings the
// files the restored rows name and the witness that belongs to them, names the gap, and the chain
// verifies; a dump newer than the file backup is refused, since its rows name files the backup lacks.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { backupData } from '../../src/ops/backup.ts';
import { restoreData } from '../../src/ops/restore.ts';
import { verifyAudit } from '../../src/audit/verify.ts';
import { databaseFindings } from '../../src/ops/security-findings.ts';
import { Client, DIALECT, PG_ADMIN, samplePerson, setUpTenant, startHarness } from '../helpers/harness.ts';
import { makeInstance, stowFile } from '../helpers/dicom-files.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function sh(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
}

/** Drops and creates the database again, empty (what a lost database server leaves after a reinstall). */
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

test('PostgreSQL: pg_dump, then kartei backup; after the loss pg_restore, then kartei restore', {
  skip: DIALECT !== 'postgres' ? 'runs with KARTEI_TEST_PG (the SQLite path is test/ops/backup.int.test.ts)' : false,
  timeout: 300_000,
}, async () => {
  // Issue 19: storage-db — images and documents in files (with them in the database: the test below).
  const files = { KARTEI_STORAGE: 'files' };
  const h = await startHarness({ env: files });
  dirs.push(h.dir);
  const office = await setUpTenant(h, ['INF']);
  const INF = office.departments.INF!;
  const physician = await office.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  const person = async (name: string) => {
    const r = await physician.post('/api/persons', samplePerson(INF, name));
    assert.equal(r.status, 201);
    return r.body.id as string;
  };
  const stow = async () => {
    const inst = makeInstance({ rows: 8, columns: 8 });
    assert.equal((await stowFile(physician, inst.file)).status, 200);
  };
  const kept = [await person('Vorpg')];
  await stow();
  await h.services.audit.checkpointAll();
  const adminUrl = h.installation.database.databaseAdminUrl!;
  const dump = path.join(h.dir, 'kartei.dump');
  sh('pg_dump', ['-Fc', '-d', adminUrl, '-f', dump]);
  const dest = path.join(h.dir, 'files-backup');
  const r = await backupData(h.config, dest, { nice: false });
  assert.match(r.note!, /pg_dump/);
  assert.deepEqual(r.notice, { kind: 'postgres' }); // Issue 19: cli-german — for `kartei backup` to word
  const lost = [await person('Nachpg')];
  await stow();
  await h.services.audit.checkpointAll();
  const newer = path.join(h.dir, 'newer.dump');
  sh('pg_dump', ['-Fc', '-d', adminUrl, '-f', newer]);
  await h.stop();

  // A dump newer than the file backup names a file the backup lacks: refused.
  const target = { ...h.config, dataDir: path.join(h.dir, 'restored', 'data') };
  await recreate(adminUrl);
  sh('pg_restore', ['-d', adminUrl, newer]);
  await assert.rejects(restoreData(target, dest), /restore the dump taken BEFORE this backup/);
  assert.ok(!fs.existsSync(target.dataDir) || fs.readdirSync(target.dataDir).length === 0);

  // The dump taken before it: restored, the chain verifies, the gap is named.
  await recreate(adminUrl);
  sh('pg_restore', ['-d', adminUrl, dump]);
  const restored = await restoreData(target, dest);
  assert.ok(restored.gap[office.tenantId], JSON.stringify(restored.gap));
  fs.renameSync(h.config.dataDir, path.join(h.dir, 'lost-data'));
  fs.renameSync(target.dataDir, h.config.dataDir);
  const h2 = await startHarness({ reopen: h.installation, env: files });
  try {
    const c = new Client(h2);
    c.cookie = physician.cookie;
    c.csrf = physician.csrf;
    for (const id of kept) assert.equal((await c.get(`/api/persons/${id}`)).status, 200);
    for (const id of lost) assert.equal((await c.get(`/api/persons/${id}`)).status, 404);
    const verified = await verifyAudit(h2.services.store, h2.services.signer);
    assert.ok(verified.ok, JSON.stringify(verified));
    const findings = await databaseFindings(h2.services);
    assert.ok(findings.some((f) => f.code === 'restored-from-backup'));
    assert.ok(
      !findings.some((f) => f.severity === 'critical'),
      JSON.stringify(findings.filter((f) => f.severity === 'critical')),
    );
  } finally {
    await h2.stop();
  }
});

// Issue 19: storage-db
test('PostgreSQL with images in the database: the dump holds them; kartei backup counts and checks them, restore checks the restored dump', {
  skip: DIALECT !== 'postgres' ? 'runs with KARTEI_TEST_PG' : false,
  timeout: 300_000,
}, async () => {
  const h = await startHarness();
  dirs.push(h.dir);
  assert.equal(h.services.images.kind, 'database');
  const office = await setUpTenant(h, ['INF']);
  const INF = office.departments.INF!;
  const physician = await office.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  const inst = makeInstance({ rows: 8, columns: 8 });
  assert.equal((await stowFile(physician, inst.file)).status, 200);
  await h.services.audit.checkpointAll();
  const adminUrl = h.installation.database.databaseAdminUrl!;
  const dump = path.join(h.dir, 'kartei.dump');
  sh('pg_dump', ['-Fc', '-d', adminUrl, '-f', dump]);
  // Issue 19: clock-pg — a write and a checkpoint round between the dump and `kartei backup` (a running
  // server signs one a minute): the backup's witness names a head the dump lacks, part of the gap.
  assert.equal((await physician.post('/api/persons', samplePerson(INF, 'Zwischendump'))).status, 201);
  await h.services.audit.checkpointAll();
  const dest = path.join(h.dir, 'witness-backup');
  const r = await backupData(h.config, dest, { nice: false });
  assert.match(r.note!, /images and documents in the database \(1 images, 0 document versions/);
  const notice = r.notice?.kind === 'postgres-database' ? r.notice : undefined; // Issue 19: cli-german
  assert.deepEqual([notice?.images, notice?.documents], [1, 0]);
  const manifest = JSON.parse(fs.readFileSync(path.join(dest, 'kartei-backup.json'), 'utf8'));
  assert.equal(manifest.objects.storage, 'database');
  assert.equal(manifest.objects.images, 1);
  assert.equal(manifest.objects.missing, 0);
  assert.ok(manifest.objects.bytes > inst.file.length);
  assert.deepEqual(
    manifest.files.map((f: { path: string }) => f.path).filter((p: string) => p !== 'audit-witness.json'),
    [],
    'no image file in the backup: the dump holds it',
  );
  await h.stop();

  // A configuration keeping images in files does not take this backup.
  const target = { ...h.config, dataDir: path.join(h.dir, 'restored', 'data') };
  await assert.rejects(
    restoreData({ ...target, storage: 'files' }, dest),
    /keeps images and documents in the database/,
  );

  // A dump whose image rows lost their objects is refused.
  await recreate(adminUrl);
  sh('pg_restore', ['-d', adminUrl, dump]);
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query("delete from sealed_objects where area = 'images'");
  } finally {
    await admin.end();
  }
  await assert.rejects(restoreData(target, dest), /storage does not hold: restore a complete dump/);

  // The whole dump: restored, and the image reads back through the other instance's store.
  await recreate(adminUrl);
  sh('pg_restore', ['-d', adminUrl, dump]);
  const restored = await restoreData(target, dest);
  assert.ok(restored.gap[office.tenantId], `the round after the dump is in the gap: ${JSON.stringify(restored.gap)}`);
  fs.renameSync(h.config.dataDir, path.join(h.dir, 'lost-data'));
  fs.renameSync(target.dataDir, h.config.dataDir);
  const h2 = await startHarness({ reopen: h.installation });
  try {
    const c = new Client(h2);
    c.cookie = physician.cookie;
    c.csrf = physician.csrf;
    const got = await c.call('GET', `/dicom-web/studies/${inst.studyInstanceUid}`, undefined, {
      accept: 'multipart/related; type="application/dicom"',
    });
    assert.equal(got.status, 200);
    assert.ok(
      got.raw.includes(inst.file.subarray(inst.file.length - 64)),
      'the instance comes back from the restored dump',
    );
    const verified = await verifyAudit(h2.services.store, h2.services.signer);
    assert.ok(verified.ok, JSON.stringify(verified));
  } finally {
    await h2.stop();
  }
});
