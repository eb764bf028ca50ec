// Backup and restore in process (src/ops/backup.ts, src/ops/restore.ts): a backup of a running
// installation holds the snapshot's database, exactly the image and document files its rows name,
// and the witness, never a key; the manifest authenticates; restore refuses a lying manifest, a
// non-empty directory and a foreign key directory, and leaves a state whose audit chain verifies
// with the gap since the backup named. Attacks: a symlinked or nested destination, two backups at
// once, the keys' backup inside the data backup. The drill with a real server under load is
// test/ops/backup-drill.int.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { backupData, backupKeys, existingChainKey } from '../../src/ops/backup.ts';
import {
  listTree,
  MANIFEST_FILE,
  ManifestError,
  sealManifest,
  type DataManifest,
} from '../../src/ops/backup-manifest.ts';
import { checkBackup, restoreData } from '../../src/ops/restore.ts';
import { restoreKeys } from '../../src/ops/restore-keys.ts';
import { RESTORE_MARKER } from '../../src/ops/backup-lock.ts';
import { verifyAudit } from '../../src/audit/verify.ts';
import { databaseFindings } from '../../src/ops/security-findings.ts';
import { startServer } from '../../src/server.ts';
import { loadConfig, type Config } from '../../src/config/config.ts';
import {
  Client,
  DIALECT,
  samplePerson,
  setUpTenant,
  startHarness,
  type Harness,
  type Tenant,
} from '../helpers/harness.ts';
import { makeInstance } from '../helpers/dicom-files.ts';
import { testPdf } from '../helpers/documents.ts';

let h: Harness;
let t: Tenant;
let physician: Client;
let INF: string;
let work: string;
before(async () => {
  h = await startHarness();
  t = await setUpTenant(h, ['INF']);
  INF = t.departments.INF!;
  physician = await t.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-backup-test-'));
});
after(async () => {
  await h.close();
  fs.rmSync(work, { recursive: true, force: true });
});

async function person(name: string): Promise<string> {
  const r = await physician.post('/api/persons', samplePerson(INF, name));
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id;
}

async function stow(): Promise<string> {
  const inst = makeInstance({ rows: 8, columns: 8 });
  const boundary = 'b0undary';
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`),
    inst.file,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const r = await physician.call('POST', `/dicom-web/studies`, body, {
    'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return inst.sopInstanceUid;
}

async function upload(personId: string): Promise<string> {
  const r = await physician.call('POST', `/api/persons/${personId}/documents`, testPdf('Befund'), {
    'content-type': 'application/octet-stream',
    'x-file-name': encodeURIComponent('befund.pdf'),
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id;
}

/** A config of another installation directory, with a copy of this key directory (a keys' restore). */
function elsewhere(name: string, keys: 'copy' | 'fresh' = 'copy'): Config {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  if (keys === 'copy') {
    fs.cpSync(h.config.keyDir, path.join(dir, 'keys'), { recursive: true });
    fs.chmodSync(path.join(dir, 'keys'), 0o700);
  }
  return {
    ...loadConfig({
      KARTEI_DATA_DIR: path.join(dir, 'data'),
      KARTEI_KEY_DIR: path.join(dir, 'keys'),
      KARTEI_LOG_LEVEL: 'silent',
    }),
    ...h.installation.database,
  };
}

let dest: string;
const before1: string[] = [];
const after1: string[] = [];
let document: string;

test('a backup of a running installation: the snapshot, exactly the files it names, the witness, no key', {
  skip: DIALECT === 'postgres',
}, async () => {
  for (const n of ['Vorderberg', 'Mittelberg']) before1.push(await person(n));
  await stow();
  document = await upload(before1[0]!);
  await h.services.audit.checkpointAll();
  dest = path.join(work, 'backup-1');
  const r = await backupData(h.config, dest, { nice: false });
  assert.equal(r.counts!.persons, 2);
  assert.equal(r.counts!.instances, 1);
  assert.equal(r.counts!.documentVersions, 1);
  const tree = listTree(dest);
  assert.deepEqual(
    tree.filter((f) => !f.startsWith('images/') && !f.startsWith('documents/')),
    ['audit-witness.json', 'kartei-backup.json', 'kartei.sqlite'],
  );
  assert.equal(tree.filter((f) => f.startsWith('images/')).length, 1);
  assert.equal(tree.filter((f) => f.startsWith('documents/')).length, 1);
  assert.equal(fs.statSync(dest).mode & 0o777, 0o700);
  for (const f of tree) assert.equal(fs.statSync(path.join(dest, f)).mode & 0o777, 0o600, f);
  // No key in the data backup: none of the key directory's files, nor their bytes.
  for (const f of fs.readdirSync(h.config.keyDir).filter((f) => f.endsWith('.key'))) {
    const secret = fs.readFileSync(path.join(h.config.keyDir, f));
    for (const b of tree) assert.ok(!fs.readFileSync(path.join(dest, b)).includes(secret), `${f} in ${b}`);
  }
  // The backup is on the deployment chain's record.
  const events = await h.services.store.db
    .selectFrom('audit_events')
    .select('detail')
    .where('tenant_id', '=', 'deployment')
    .where('action', '=', 'system.backup')
    .execute();
  assert.equal(JSON.parse(events.at(-1)!.detail!).manifestSha256, r.manifestSha256);
  await checkBackup(h.config, dest);
  // More happens after the backup, and is witnessed.
  for (const n of ['Nachberg', 'Spaetberg']) after1.push(await person(n));
  await stow();
  await h.services.audit.checkpointAll();
});

test('destinations: not a symbolic link, not in or around the data or key directory, keys never inside a data backup', {
  skip: DIALECT === 'postgres',
}, async () => {
  const link = path.join(work, 'link-into-data');
  fs.symlinkSync(h.config.dataDir, link);
  await assert.rejects(backupData(h.config, link, { nice: false }), /is a symbolic link/);
  await assert.rejects(
    backupData(h.config, path.join(link, 'sub'), { nice: false }),
    /in or around the data directory/,
  );
  await assert.rejects(
    backupData(h.config, path.join(h.config.dataDir, 'b'), { nice: false }),
    /in or around the data directory/,
  );
  await assert.rejects(
    backupData(h.config, path.join(h.config.keyDir, 'b'), { nice: false }),
    /in or around the key directory/,
  );
  await assert.rejects(backupData(h.config, dest, { nice: false }), /is not empty/);
  await assert.rejects(backupKeys(h.config, path.join(dest, 'keys')), /inside a data backup/);
  await assert.rejects(backupKeys(h.config, path.join(dest, 'images', 'keys')), /inside a data backup/);
  const keys = path.join(work, 'keys-1');
  const k = await backupKeys(h.config, keys);
  assert.ok(k.files >= 3);
  assert.equal(fs.statSync(keys).mode & 0o777, 0o700);
  for (const f of listTree(keys)) assert.equal(fs.statSync(path.join(keys, f)).mode & 0o777, 0o600, f);
  await assert.rejects(backupData(h.config, path.join(keys, 'data'), { nice: false }), /inside a keys' backup/);
  // Nothing was left behind by the refusals.
  assert.ok(!fs.existsSync(path.join(dest, 'keys')) && !fs.existsSync(path.join(keys, 'data')));
});

test('two backups at once: the second is refused and leaves nothing', { skip: DIALECT === 'postgres' }, async () => {
  const [a, b] = await Promise.allSettled([
    backupData(h.config, path.join(work, 'twice-a'), { nice: false }),
    backupData(h.config, path.join(work, 'twice-b'), { nice: false }),
  ]);
  const refused = [a, b].filter((r) => r.status === 'rejected');
  assert.equal(refused.length, 1);
  assert.match(String((refused[0] as PromiseRejectedResult).reason), /another backup \(process \d+/);
  const which = a.status === 'rejected' ? 'twice-a' : 'twice-b';
  assert.ok(!fs.existsSync(path.join(work, which)), 'the refused backup wrote nothing');
});

/** A copy of the backup with `change` applied to it. */
function tampered(name: string, change: (dir: string, m: DataManifest) => unknown): string {
  const dir = path.join(work, name);
  fs.cpSync(dest, dir, { recursive: true });
  const m = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST_FILE), 'utf8')) as DataManifest;
  const next = change(dir, m);
  if (next) fs.writeFileSync(path.join(dir, MANIFEST_FILE), JSON.stringify(next));
  return dir;
}

test('a manifest that lies is refused before anything is written', { skip: DIALECT === 'postgres' }, async () => {
  const key = existingChainKey(h.config.keyDir);
  const resign = (m: DataManifest) => {
    const { mac: _mac, ...body } = m;
    return sealManifest<DataManifest>(body, key);
  };
  const cases: [string, (dir: string, m: DataManifest) => unknown, RegExp][] = [
    [
      'a flipped byte in an image',
      (dir) => {
        const f = path.join(dir, listTree(dir).find((p) => p.startsWith('images/'))!);
        const b = fs.readFileSync(f);
        b[b.length - 1] = b[b.length - 1]! ^ 1;
        fs.writeFileSync(f, b);
      },
      /does not match its manifest/,
    ],
    ['counts changed, MAC kept', (_d, m) => ({ ...m, counts: { ...m.counts!, persons: 3 } }), /does not authenticate/],
    [
      'counts changed and signed by an insider',
      (_d, m) => resign({ ...m, counts: { ...m.counts!, persons: 3 } }),
      /does not hold the counts/,
    ],
    [
      'a path out of the backup',
      (_d, m) => resign({ ...m, files: [...m.files, { path: '../../etc/passwd', size: 1, sha256: '0'.repeat(64) }] }),
      /never writes/,
    ],
    ['a file it does not list', (dir) => fs.writeFileSync(path.join(dir, 'images', 'extra.dcm'), 'x'), /does not list/],
    [
      'a file it lists left out, list and hash re-signed',
      (dir, m) => {
        const img = m.files.find((f) => f.path.startsWith('images/'))!;
        fs.rmSync(path.join(dir, img.path));
        return resign({ ...m, files: m.files.filter((f) => f !== img) });
      },
      /not the ones its database names/,
    ],
  ];
  for (const [name, change, refusal] of cases) {
    const src = tampered(name.replace(/\W+/g, '-'), change);
    const target = elsewhere(`restore-${name.replace(/\W+/g, '-')}`);
    await assert.rejects(
      restoreData(target, src),
      (e: Error) => e instanceof ManifestError && refusal.test(e.message),
      name,
    );
    assert.ok(!fs.existsSync(target.dataDir), `${name}: nothing written`);
  }
  // Another installation's key directory cannot authenticate the manifest.
  const foreign = elsewhere('foreign', 'fresh');
  const other = await startServer(foreign, { listen: false, dimse: false, checkpoints: false, app: { logger: false } });
  await other.stop();
  fs.rmSync(foreign.dataDir, { recursive: true });
  await assert.rejects(restoreData(foreign, dest), /does not authenticate with this key directory/);
});

test('restore: only into an empty directory; the witness that belongs to the data; the gap named; the chain verifies', {
  skip: DIALECT === 'postgres',
}, async () => {
  const full = elsewhere('not-empty');
  fs.mkdirSync(full.dataDir);
  fs.writeFileSync(path.join(full.dataDir, 'something'), 'x');
  await assert.rejects(restoreData(full, dest), /is not empty/);
  assert.deepEqual(fs.readdirSync(full.dataDir), ['something']);

  const target = elsewhere('restored');
  const r = await restoreData(target, dest);
  assert.ok(!fs.existsSync(path.join(target.dataDir, RESTORE_MARKER)));
  const gap = r.gap[t.tenantId];
  assert.ok(gap && gap.to >= gap.from, JSON.stringify(r.gap));
  assert.ok(r.previousWitness && fs.existsSync(r.previousWitness));
  // A second restore into the now filled directory is refused.
  await assert.rejects(restoreData(target, dest), /is not empty/);

  const h2 = await startHarness({ reopen: { dir: path.dirname(target.dataDir), database: {} } });
  try {
    const c = new Client(h2);
    c.cookie = physician.cookie;
    c.csrf = physician.csrf;
    for (const id of before1) assert.equal((await c.get(`/api/persons/${id}`)).status, 200);
    for (const id of after1) assert.equal((await c.get(`/api/persons/${id}`)).status, 404);
    const doc = await c.get(`/api/documents/${document}/content`);
    assert.equal(doc.status, 200);
    assert.ok(doc.raw.equals(testPdf('Befund')));
    const verified = await verifyAudit(h2.services.store, h2.services.signer);
    assert.ok(verified.ok, JSON.stringify(verified));
    const restoreEvent = await h2.services.store.db
      .selectFrom('audit_events')
      .select('detail')
      .where('tenant_id', '=', t.tenantId)
      .where('action', '=', 'system.restore')
      .executeTakeFirstOrThrow();
    assert.deepEqual(
      { from: JSON.parse(restoreEvent.detail!).lostFrom, to: JSON.parse(restoreEvent.detail!).lostTo },
      { from: gap.from, to: gap.to },
    );
    const findings = await databaseFindings(h2.services);
    const restored = findings.find((f) => f.code === 'restored-from-backup');
    assert.ok(restored, JSON.stringify(findings.map((f) => f.code)));
    assert.match(restored.title, new RegExp(`events ${gap.from}–${gap.to}`));
    assert.ok(
      !findings.some((f) => f.severity === 'critical'),
      JSON.stringify(findings.filter((f) => f.severity === 'critical')),
    );
    assert.ok(
      findings.some((f) => f.code === 'backup-age'),
      'the last backup is the restored one',
    );
  } finally {
    await h2.stop();
  }
});

test('restore --keys: into an absent or empty key directory only, checked against its manifest', {
  skip: DIALECT === 'postgres',
}, async () => {
  const keys = path.join(work, 'keys-1'); // made by the destinations test
  const target = elsewhere('keys-restored', 'fresh');
  const r = await restoreKeys(target, keys);
  assert.equal(r.files, listTree(keys).length - 1);
  assert.equal(fs.statSync(target.keyDir).mode & 0o777, 0o700);
  for (const f of listTree(target.keyDir)) {
    assert.equal(fs.statSync(path.join(target.keyDir, f)).mode & 0o777, 0o600, f);
    assert.ok(fs.readFileSync(path.join(target.keyDir, f)).equals(fs.readFileSync(path.join(keys, f))), f);
  }
  assert.ok(!listTree(target.keyDir).includes('kartei-keys-backup.json'));
  await assert.rejects(restoreKeys(target, keys), /is not empty; a restore never writes over keys/);
  // A key file changed in the backup: refused, nothing written.
  const bad = path.join(work, 'keys-bad');
  fs.cpSync(keys, bad, { recursive: true });
  fs.chmodSync(bad, 0o700);
  fs.writeFileSync(path.join(bad, 'master.key'), Buffer.alloc(32, 7), { mode: 0o600 });
  const other = elsewhere('keys-bad-target', 'fresh');
  await assert.rejects(restoreKeys(other, bad), /master.key in the keys' backup does not match its manifest/);
  assert.ok(!fs.existsSync(other.keyDir));
});
