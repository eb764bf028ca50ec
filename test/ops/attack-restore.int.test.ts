// Attack (issue 19, backup): a backup directory tampered by someone who can write where backups
// are kept, and restore targets that are not what they seem. A symbolic link inside the backup
// (to /etc/shadow, or to a file in the live data directory) in place of a file it names; an
// absolute path in the manifest; a data directory that is a symbolic link to a non-empty
// directory; a backup directory that is itself a symbolic link to the live data directory.
// Each is refused, and nothing is written into the target.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { backupData, existingChainKey } from '../../src/ops/backup.ts';
import { MANIFEST_FILE, sealManifest, type DataManifest } from '../../src/ops/backup-manifest.ts';
import { restoreData } from '../../src/ops/restore.ts';
import { loadConfig, type Config } from '../../src/config/config.ts';
import { DIALECT, samplePerson, setUpTenant, startHarness, type Harness } from '../helpers/harness.ts';

let h: Harness;
let work: string;
let dest: string;
before(async () => {
  if (DIALECT === 'postgres') return;
  h = await startHarness();
  const t = await setUpTenant(h, ['INF']);
  const doc = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'physician' }] });
  assert.equal((await doc.post('/api/persons', samplePerson(t.departments.INF!))).status, 201);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-attack-restore-'));
  dest = path.join(work, 'backup');
  await backupData(h.config, dest, { nice: false });
});
after(async () => {
  if (DIALECT === 'postgres') return;
  await h.close();
  fs.rmSync(work, { recursive: true, force: true });
});

let n = 0;
function copyOf(change: (dir: string, m: DataManifest) => unknown): string {
  const dir = path.join(work, `tampered-${++n}`);
  fs.cpSync(dest, dir, { recursive: true, verbatimSymlinks: true });
  const m = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST_FILE), 'utf8')) as DataManifest;
  const next = change(dir, m) as DataManifest | undefined;
  if (next) {
    const { mac: _mac, ...body } = next;
    fs.writeFileSync(
      path.join(dir, MANIFEST_FILE),
      JSON.stringify(sealManifest<DataManifest>(body, existingChainKey(h.config.keyDir))),
    );
  }
  return dir;
}

function target(name: string): Config {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  fs.cpSync(h.config.keyDir, path.join(dir, 'keys'), { recursive: true });
  fs.chmodSync(path.join(dir, 'keys'), 0o700);
  return loadConfig({
    KARTEI_DATA_DIR: path.join(dir, 'data'),
    KARTEI_KEY_DIR: path.join(dir, 'keys'),
    KARTEI_LOG_LEVEL: 'silent',
  });
}

test('a symbolic link inside the backup in place of a file it names (the database: to /etc/shadow, to the live database) is refused, nothing written', {
  skip: DIALECT === 'postgres',
}, async () => {
  for (const to of ['/etc/shadow', path.join(h.config.dataDir, 'kartei.sqlite')]) {
    const src = copyOf((dir) => {
      const img = path.join(dir, 'kartei.sqlite');
      fs.rmSync(img);
      fs.symlinkSync(to, img);
    });
    const t = target(`symlink-${++n}`);
    await assert.rejects(restoreData(t, src), /not a regular file|does not match|symbolic/);
    assert.ok(!fs.existsSync(t.dataDir) || fs.readdirSync(t.dataDir).length === 0, `${to}: nothing written`);
  }
});

test('an absolute path or a backslash path in a re-signed manifest is refused', {
  skip: DIALECT === 'postgres',
}, async () => {
  for (const p of ['/etc/passwd', 'images/../../../etc/passwd', 'images\\..\\..\\x', 'images//x', 'images/']) {
    const src = copyOf((_d, m) => ({ ...m, files: [...m.files, { path: p, size: 1, sha256: '0'.repeat(64) }] }));
    const t = target(`abs-${++n}`);
    await assert.rejects(restoreData(t, src), /never writes|not a regular|does not list/, p);
    assert.ok(!fs.existsSync(t.dataDir), p);
  }
});

test('a data directory that is a symbolic link to a non-empty directory is refused and left as it was', {
  skip: DIALECT === 'postgres',
}, async () => {
  const t = target('linked-target');
  const full = path.join(work, 'full');
  fs.mkdirSync(full);
  fs.writeFileSync(path.join(full, 'someone-elses.txt'), 'x');
  fs.symlinkSync(full, t.dataDir);
  await assert.rejects(restoreData(t, dest), /not empty/);
  assert.deepEqual(fs.readdirSync(full), ['someone-elses.txt']);
});

test('the source a symbolic link to the live data directory: refused, the live directory untouched', {
  skip: DIALECT === 'postgres',
}, async () => {
  const link = path.join(work, 'link-to-live');
  fs.symlinkSync(h.config.dataDir, link);
  const before = fs.readdirSync(h.config.dataDir).sort();
  const t = target('from-live');
  await assert.rejects(restoreData(t, link));
  assert.deepEqual(fs.readdirSync(h.config.dataDir).sort(), before);
  assert.ok(!fs.existsSync(t.dataDir) || fs.readdirSync(t.dataDir).length === 0);
});
