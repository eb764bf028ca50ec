// The pg_basebackup drill (issue 19, runs when KARTEI_TEST_PG is set), as docs/BACKUP.md tells a
// PostgreSQL operator: a Kartei with images in the database (the PostgreSQL default) takes writes;
// `kartei backup --keys`; `pg_basebackup -X stream` of the running cluster, then `kartei backup`
// (the witness) — with a checkpoint signed between the two, as a running server's minute round may;
// more writes. Then the cluster is lost. From copies of the base backup a new cluster starts on
// another port, twice: (1) the Kartei host survived, its key directory newer than the backup;
// (2) everything was lost, the keys come back from their backup first. Each time `kartei restore`
// into an empty data directory, then: every write acknowledged before the base backup is there and
// readable (the image byte for byte), none after it; `audit verify` passes; the doctor has nothing
// critical and names the restore with the gap the key directory in use had seen. The test runs its
// own clusters (the suite's holds every test's database, too much to copy) and stops them all.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import pg from 'pg';
import { backupData, backupKeys } from '../../src/ops/backup.ts';
import { restoreData } from '../../src/ops/restore.ts';
import { restoreKeys } from '../../src/ops/restore-keys.ts';
import { verifyAudit } from '../../src/audit/verify.ts';
import { databaseFindings } from '../../src/ops/security-findings.ts';
import {
  Client,
  DIALECT,
  freePort,
  samplePerson,
  setUpTenant,
  startHarness,
  type Harness,
} from '../helpers/harness.ts';
import { makeInstance, stowFile, type TestInstance } from '../helpers/dicom-files.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const pgBins = fs.existsSync('/usr/lib/postgresql')
  ? fs
      .readdirSync('/usr/lib/postgresql')
      .filter((v) => fs.existsSync(`/usr/lib/postgresql/${v}/bin/pg_basebackup`))
      .sort((a, b) => Number(a) - Number(b))
  : [];
const BIN = pgBins.length > 0 ? `/usr/lib/postgresql/${pgBins.at(-1)}/bin` : undefined;
const skip =
  DIALECT !== 'postgres'
    ? 'runs with KARTEI_TEST_PG'
    : !BIN
      ? 'no PostgreSQL binaries under /usr/lib/postgresql'
      : process.getuid?.() !== 0
        ? 'needs root to run PostgreSQL as the postgres user (runuser), as scripts/throwaway-postgres.sh does'
        : false;

/** Data directories of the clusters started here: each stopped at the end, whatever happened. */
const clusters = new Set<string>();
const dirs: string[] = [];
after(() => {
  for (const data of clusters) stopCluster(data, 'immediate');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function asPostgres(cmd: string, args: string[]): string {
  const r = spawnSync('runuser', ['-u', 'postgres', '--', path.join(BIN!, cmd), ...args], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The same without blocking this process (its server answers meanwhile). */
function asPostgresAsync(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('runuser', ['-u', 'postgres', '--', path.join(BIN!, cmd), ...args], { stdio: 'pipe' });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd}: ${code} ${err}`))));
  });
}

function startCluster(data: string, port: number, sockets: string): void {
  clusters.add(data);
  asPostgres('pg_ctl', [
    '-D',
    data,
    '-l',
    `${data}.log`,
    '-o',
    `-p ${port} -k ${sockets} -c listen_addresses=127.0.0.1 -c fsync=off`,
    '-w',
    'start',
  ]);
}

function stopCluster(data: string, mode: 'fast' | 'immediate' = 'fast'): void {
  if (!clusters.delete(data)) return;
  spawnSync('runuser', ['-u', 'postgres', '--', path.join(BIN!, 'pg_ctl'), '-D', data, '-m', mode, 'stop'], {
    timeout: 60_000,
  });
}

/** A directory the postgres user owns (clusters, base backups, sockets). */
function postgresDir(parent: string, name: string): string {
  const d = path.join(parent, name);
  fs.mkdirSync(d, { mode: 0o700 });
  spawnSync('chown', ['-R', 'postgres', d]);
  return d;
}

const urls = (port: number) => ({
  databaseUrl: `postgres://kt_app@127.0.0.1:${port}/kt`,
  databaseAdminUrl: `postgres://postgres@127.0.0.1:${port}/kt`,
});

async function stow(c: Client, inst: TestInstance) {
  const r = await stowFile(c, inst.file);
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

test('pg_basebackup with WAL, then kartei backup; after the loss a cluster from the base backup, kartei restore: everything acknowledged before it is there', {
  skip,
  timeout: 600_000,
}, async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-basebackup-'));
  dirs.push(root);
  fs.chmodSync(root, 0o755);
  // --- The cluster the office runs on, a database and a least-privilege role of its own.
  const pgRoot = postgresDir(root, 'pg');
  const portA = await freePort();
  const adminA = spawnSync(path.join(ROOT, 'scripts/throwaway-postgres.sh'), [path.join(pgRoot, 'a'), String(portA)], {
    encoding: 'utf8',
  });
  clusters.add(path.join(pgRoot, 'a', 'data'));
  assert.equal(adminA.status, 0, adminA.stderr);
  const client = new pg.Client({ connectionString: adminA.stdout.trim() });
  await client.connect();
  await client.query('CREATE ROLE kt_app LOGIN');
  await client.query('CREATE DATABASE kt');
  await client.end();

  const home = path.join(root, 'kartei');
  fs.mkdirSync(home);
  const h: Harness = await startHarness({ reopen: { dir: home, database: urls(portA) } });
  assert.equal(h.services.images.kind, 'database');
  const office = await setUpTenant(h, ['INF']);
  const INF = office.departments.INF!;
  const physician = await office.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  const person = async (name: string) => {
    const r = await physician.post('/api/persons', samplePerson(INF, name));
    assert.equal(r.status, 201);
    return r.body.id as string;
  };
  const kept = [await person('Vorbasis'), await person('Vorbasiszwei')];
  const image = makeInstance({ rows: 16, columns: 16 });
  await stow(physician, image);
  await h.services.audit.checkpointAll();

  // --- The keys' backup (after setup: it holds the office's master and chain keys).
  const keysBackup = path.join(root, 'keys-backup');
  await backupKeys(h.config, keysBackup, { nice: false });

  // --- pg_basebackup of the running cluster, WAL streamed with it: the base backup is the moment it ends.
  const base = path.join(pgRoot, 'base');
  await asPostgresAsync('pg_basebackup', [
    '-D',
    base,
    '-X',
    'stream',
    '-c',
    'fast',
    '-h',
    '127.0.0.1',
    '-p',
    String(portA),
    '-U',
    'postgres',
  ]);
  // A checkpoint round between the base backup and `kartei backup` (a running server signs one a minute).
  const between = await person('Zwischen');
  await h.services.audit.checkpointAll();
  const dest = path.join(root, 'witness-backup');
  const backedUp = await backupData(h.config, dest, { nice: false });
  assert.match(backedUp.note!, /images and documents in the database/);
  // --- More writes after both.
  const lost = [between, await person('Nachbasis')];
  const lateImage = makeInstance({ rows: 8, columns: 8 });
  await stow(physician, lateImage);
  await h.services.audit.checkpointAll();
  await h.stop();

  // --- The loss: the cluster's server is gone.
  stopCluster(path.join(pgRoot, 'a', 'data'), 'immediate');
  fs.rmSync(path.join(pgRoot, 'a', 'data'), { recursive: true, force: true });
  // A second copy of the base backup for the total loss below.
  const base2 = path.join(pgRoot, 'base2');
  fs.cpSync(base, base2, { recursive: true });
  spawnSync('chown', ['-R', 'postgres', base2]);
  fs.chmodSync(base2, 0o700);

  /** Checks a restored installation: reads, verify, the doctor; answers the restore finding's gap. */
  const check = async (installation: { dir: string; database: ReturnType<typeof urls> }) => {
    const h2 = await startHarness({ reopen: installation });
    try {
      const c = new Client(h2);
      c.cookie = physician.cookie;
      c.csrf = physician.csrf;
      for (const id of kept) assert.equal((await c.get(`/api/persons/${id}`)).status, 200, `kept ${id}`);
      for (const id of lost) assert.equal((await c.get(`/api/persons/${id}`)).status, 404, `lost ${id}`);
      const got = await c.call('GET', `/dicom-web/studies/${image.studyInstanceUid}`, undefined, {
        accept: 'multipart/related; type="application/dicom"',
      });
      assert.equal(got.status, 200);
      assert.ok(got.raw.includes(image.file.subarray(image.file.length - 64)), 'the image, byte for byte');
      const late = await c.call('GET', `/dicom-web/studies/${lateImage.studyInstanceUid}`, undefined, {
        accept: 'multipart/related; type="application/dicom"',
      });
      assert.equal(late.status, 404, 'the image stored after the base backup is not there');
      const verified = await verifyAudit(h2.services.store, h2.services.signer);
      assert.ok(verified.ok, JSON.stringify(verified));
      const findings = await databaseFindings(h2.services);
      assert.deepEqual(
        findings.filter((f) => f.severity === 'critical'),
        [],
      );
      const restored = findings.find((f) => f.code === 'restored-from-backup');
      assert.ok(restored, JSON.stringify(findings.map((f) => f.code)));
      return String(restored.params!.gap);
    } finally {
      await h2.stop();
    }
  };

  // (1) The database server lost, the Kartei host kept: its key directory saw the writes after the backup.
  const sockets = postgresDir(root, 'sockets');
  const portB = await freePort();
  startCluster(base, portB, sockets);
  fs.renameSync(h.config.dataDir, path.join(home, 'lost-data'));
  const one = await restoreData({ ...h.config, ...urls(portB) }, dest);
  assert.ok(one.gap[office.tenantId], `the office's chain lost events: ${JSON.stringify(one.gap)}`);
  const gapOne = await check({ dir: home, database: urls(portB) });
  assert.match(gapOne, new RegExp(`${office.tenantId} events \\d+–\\d+`));
  stopCluster(base);

  // (2) Everything lost: the keys back from their backup first, then the data.
  const portC = await freePort();
  startCluster(base2, portC, sockets);
  const fresh = path.join(root, 'kartei-2');
  fs.mkdirSync(fresh);
  const target = { ...h.config, dataDir: path.join(fresh, 'data'), keyDir: path.join(fresh, 'keys'), ...urls(portC) };
  await restoreKeys(target, keysBackup);
  const two = await restoreData(target, dest);
  // The keys' backup is older than the base backup: what happened after it, only the witness that
  // `kartei backup` copied had seen (the checkpoint signed between the two).
  assert.ok(
    two.gap[office.tenantId],
    `the witness of the data backup names events the base backup lacks: ${JSON.stringify(two.gap)}`,
  );
  await check({ dir: fresh, database: urls(portC) });
  stopCluster(base2);
});
