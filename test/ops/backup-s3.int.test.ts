// Backup and restore with images and documents in an S3-compatible store (KARTEI_STORAGE=s3; a real
// one, s3rver on loopback): the backup holds the database snapshot and the witness, not the bucket;
// its manifest counts the objects its rows name, each checked in the bucket; a restore checks the
// bucket holds every object the restored rows name, and is refused by a configuration keeping them
// elsewhere; an object gone from the bucket fails the backup and the restore with what is missing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { backupData } from '../../src/ops/backup.ts';
import { listTree } from '../../src/ops/backup-manifest.ts';
import { checkBackup, restoreData } from '../../src/ops/restore.ts';
import { loadConfig, type Config } from '../../src/config/config.ts';
import { s3SealedStore } from '../../src/vault/sealed-objects-s3.ts';
import { DIALECT, samplePerson, setUpTenant, startHarness, type Client, type Harness } from '../helpers/harness.ts';
import { makeInstance } from '../helpers/dicom-files.ts';
import { testPdf } from '../helpers/documents.ts';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.ts';

const skip =
  DIALECT === 'postgres' ? 'the PostgreSQL variant is pg_dump and pg_restore around it (backup-postgres)' : false;
let s3: S3TestServer;
let h: Harness;
let physician: Client;
let work: string;
let s3Env: Record<string, string>;

before(async () => {
  if (skip) return;
  s3 = await startS3Server();
  s3Env = {
    KARTEI_STORAGE: 's3',
    KARTEI_S3_ENDPOINT: s3.config.endpoint,
    KARTEI_S3_BUCKET: s3.config.bucket,
    KARTEI_S3_REGION: s3.config.region,
    KARTEI_S3_PREFIX: 'amt',
    KARTEI_S3_CREDENTIALS_FILE: s3.config.credentialsFile,
  };
  h = await startHarness({ env: s3Env });
  const t = await setUpTenant(h, ['INF']);
  physician = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'physician' }] });
  const p = await physician.post('/api/persons', samplePerson(t.departments.INF!, 'Vorderberg'));
  assert.equal(p.status, 201, JSON.stringify(p.body));
  const boundary = 'b0undary';
  const stowed = await physician.call(
    'POST',
    '/dicom-web/studies',
    Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`),
      makeInstance({ rows: 8, columns: 8 }).file,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]),
    { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` },
  );
  assert.equal(stowed.status, 200, JSON.stringify(stowed.body));
  const doc = await physician.call('POST', `/api/persons/${p.body.id}/documents`, testPdf('Befund'), {
    'content-type': 'application/octet-stream',
    'x-file-name': encodeURIComponent('befund.pdf'),
  });
  assert.equal(doc.status, 201, JSON.stringify(doc.body));
  await h.services.audit.checkpointAll();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-backup-s3-'));
});
after(async () => {
  await h?.close();
  await s3?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** Another installation directory with a copy of this key directory, keeping its objects as `env` says. */
function elsewhere(name: string, env: Record<string, string>): Config {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  fs.cpSync(h.config.keyDir, path.join(dir, 'keys'), { recursive: true });
  fs.chmodSync(path.join(dir, 'keys'), 0o700);
  return {
    ...loadConfig({
      KARTEI_DATA_DIR: path.join(dir, 'data'),
      KARTEI_KEY_DIR: path.join(dir, 'keys'),
      KARTEI_LOG_LEVEL: 'silent',
      ...env,
    }),
    ...h.installation.database,
  };
}

test('S3 storage: the backup checks and counts the bucket’s objects; the restore checks the bucket', {
  skip,
}, async () => {
  const dest = path.join(work, 'backup');
  const made = await backupData(h.config, dest, { nice: false });
  assert.deepEqual(listTree(dest), ['audit-witness.json', 'kartei-backup.json', 'kartei.sqlite'], 'no object copied');
  const manifest = JSON.parse(fs.readFileSync(path.join(dest, 'kartei-backup.json'), 'utf8'));
  assert.deepEqual(manifest.objects, { storage: 's3', images: 1, documents: 1, missing: 0 });
  assert.match(made.note ?? '', /S3 bucket kartei .*not in this backup/);
  // Issue 19: cli-german — the same facts for `kartei backup` to word in the operator's language.
  assert.deepEqual(made.notice, { kind: 's3', bucket: 'kartei', images: 1, documents: 1, postgres: false });

  // A configuration keeping them in files is refused before anything is written.
  await assert.rejects(checkBackup(elsewhere('files', {}), dest), /keeps images and documents in S3; .* in files/);
  const restored = await restoreData(elsewhere('restored', s3Env), dest);
  assert.equal(restored.files, 1, 'the database only');

  // An object gone from the bucket: the backup says so instead of copying what is not there, the restore too.
  const images = s3SealedStore(h.config.s3!, 'images');
  const gone: string[] = [];
  for await (const e of images.walk()) if (!e.temporary) gone.push(e.relPath);
  assert.equal(gone.length, 1);
  await images.remove(gone[0]!);
  await assert.rejects(
    backupData(h.config, path.join(work, 'backup-2'), { nice: false }),
    /1 image\(s\) or document\(s\) the database names are missing from the S3 bucket kartei/,
  );
  assert.equal(fs.existsSync(path.join(work, 'backup-2', 'kartei-backup.json')), false, 'no manifest: no backup');
  await assert.rejects(checkBackup(elsewhere('again', s3Env), dest), /the S3 bucket kartei lacks 1 image/);
});
