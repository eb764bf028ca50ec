// The storage choice (src/vault/storage.ts, `KARTEI_STORAGE`): files with SQLite and the database with
// PostgreSQL unless set; `database` without PostgreSQL refused at start with a clear message; `s3`
// only with its KARTEI_S3_* settings; anything else refused when the configuration is read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkStartable, ConfigError, loadConfig, storageKind } from '../../src/config/config.ts';
import { openStore, type Store } from '../../src/db/connect.ts';
import { configFindings } from '../../src/ops/security-findings.ts';
import { openSealedStore } from '../../src/vault/storage.ts';

const base = { KARTEI_DATA_DIR: '/tmp/kartei-choice/data', KARTEI_KEY_DIR: '/tmp/kartei-choice/keys' };

test('KARTEI_STORAGE: database with PostgreSQL and files with SQLite unless set; other values refused', () => {
  assert.equal(storageKind(loadConfig(base)), 'files');
  assert.equal(storageKind(loadConfig({ ...base, KARTEI_DATABASE_URL: 'postgres://k@db/k' })), 'database');
  assert.equal(
    storageKind(loadConfig({ ...base, KARTEI_DATABASE_URL: 'postgres://k@db/k', KARTEI_STORAGE: 'files' })),
    'files',
  );
  const s3 = {
    KARTEI_S3_ENDPOINT: 'https://s3.example',
    KARTEI_S3_BUCKET: 'kartei',
    KARTEI_S3_REGION: 'eu-central-1',
    KARTEI_S3_CREDENTIALS_FILE: '/etc/kartei/s3',
  };
  assert.equal(storageKind(loadConfig({ ...base, ...s3, KARTEI_STORAGE: ' s3 ' })), 's3');
  assert.throws(() => loadConfig({ ...base, KARTEI_STORAGE: 's3' }), /KARTEI_STORAGE=s3 needs KARTEI_S3_ENDPOINT/);
  for (const bad of ['Database', 'disk', 'postgres'])
    assert.throws(
      () => loadConfig({ ...base, KARTEI_STORAGE: bad }),
      (e) => {
        assert.ok(e instanceof ConfigError);
        assert.match(e.message, /KARTEI_STORAGE must be one of database, files, s3/);
        return true;
      },
    );
});

test('database storage without PostgreSQL does not start, with a message that says what to do', async () => {
  const config = loadConfig({ ...base, KARTEI_STORAGE: 'database' });
  assert.throws(() => checkStartable(config), /KARTEI_STORAGE=database .*no KARTEI_DATABASE_URL/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-choice-'));
  const store = await openStore({ dataDir: dir });
  try {
    assert.throws(() => openSealedStore(config, store, 'images'), ConfigError);
    assert.throws(
      () => openSealedStore({ ...config, storage: 's3' }, store, 'images'),
      /KARTEI_STORAGE=s3 needs the KARTEI_S3_\* settings/,
    );
    const files = openSealedStore({ ...config, storage: undefined, dataDir: dir }, store, 'documents');
    assert.equal(files.kind, 'files');
    assert.equal(files.shared, false);
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('files from before in the data directory: database storage refuses to start rather than lose sight of them', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-choice-'));
  try {
    // Never connected: a pool connects at its first query.
    const pgStore = { dialect: 'postgres', url: 'postgres://k@127.0.0.1:1/k' } as Store;
    const opened = (area: 'images' | 'documents', c = config) => {
      const s = openSealedStore(c, pgStore, area);
      void s.close?.();
      return s.kind;
    };
    const config = loadConfig({ ...base, KARTEI_DATABASE_URL: 'postgres://k@db/k', KARTEI_DATA_DIR: dir });
    assert.equal(opened('images'), 'database', 'the control: nothing there yet');
    fs.mkdirSync(path.join(dir, 'documents', 't', 'd'), { recursive: true });
    assert.equal(opened('documents'), 'database', 'empty directories are nothing');
    fs.writeFileSync(path.join(dir, 'documents', 't', 'd', 'x-1'), 'sealed');
    assert.throws(
      () => openSealedStore(config, pgStore, 'documents'),
      /data directory holds documents as files .*Set KARTEI_STORAGE=files/,
    );
    assert.equal(opened('documents', { ...config, storage: 'files' }), 'files');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('kartei doctor: files storage on PostgreSQL is a finding; the database storage and SQLite are not', () => {
  const codes = (env: Record<string, string>) =>
    configFindings(loadConfig({ ...base, ...env })).filter((f) => f.code === 'storage-files-on-postgres');
  const found = codes({ KARTEI_DATABASE_URL: 'postgres://k@db/k', KARTEI_STORAGE: 'files' });
  assert.deepEqual(
    found.map((f) => f.severity),
    ['medium'],
  );
  assert.deepEqual(codes({ KARTEI_DATABASE_URL: 'postgres://k@db/k' }), []);
  assert.deepEqual(codes({}), []);
  assert.deepEqual(codes({ KARTEI_STORAGE: 'files' }), []);
});
