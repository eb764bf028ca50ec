// The write-ahead log's checkpoints run on a thread of their own, not inside the
// server's commits: after commits the log is copied into the database by the
// worker's connection (the server's own connection would do so only far later),
// nothing is lost, and closing the store ends the worker before the database.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import SQLite from 'better-sqlite3';
import { openStore } from '../../src/db/connect.ts';
import { FALLBACK_PAGES, walCheckpointer } from '../../src/db/wal-checkpoint.ts';
import { DIALECT } from '../helpers/harness.ts';

const skip = DIALECT !== 'sqlite' ? 'the write-ahead log is the SQLite store only' : false;

test('commits are checkpointed by the worker, not by the committing connection', { skip }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-ckpt-'));
  const store = await openStore({ dataDir: dir });
  const file = path.join(dir, 'kartei.sqlite');
  try {
    const [{ wal_autocheckpoint }] = (
      await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(store.db)
    ).rows as [{ wal_autocheckpoint: number }];
    assert.equal(wal_autocheckpoint, FALLBACK_PAGES, 'the server connection checkpoints only as a fallback');
    await sql`create table t (id integer primary key, v text not null)`.execute(store.db);
    // Commits spread over time, each a few pages, so that the worker is told after several of them.
    for (let i = 0; i < 40; i++) {
      await store.committer!.run(async (tx) => {
        await sql`insert into t (id, v) values (${i}, ${'x'.repeat(5_000)})`.execute(tx);
      });
      await sleep(5);
    }
    // New pages live in the log until a checkpoint copies them into the database file: the file grows
    // past the rows' 200 kB only when the worker has checkpointed (the fallback threshold is far away).
    let size = 0;
    for (let tries = 0; tries < 200 && size < 200_000; tries++) {
      await sleep(10);
      size = fs.statSync(file).size;
    }
    assert.ok(size >= 200_000, `the worker checkpointed the log (database file ${size} bytes)`);
    const rows = await sql<{ n: number }>`select count(*) as n from t`.execute(store.db);
    assert.equal(rows.rows[0]!.n, 40);
  } finally {
    await store.close();
  }
  // Closed in order (the worker's connection first): the data is there when opened again.
  const again = new SQLite(file, { readonly: true });
  assert.equal((again.prepare('select count(*) as n from t').get() as { n: number }).n, 40);
  again.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a checkpoint worker that failed comes back: after a pause it checkpoints again', { skip }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-ckpt-'));
  const file = path.join(dir, 'kartei.sqlite');
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  // The database is not there yet: the worker fails (as on a full disk), the fallback holds meanwhile.
  const checkpoints = walCheckpointer(file, { retryMs: 100 });
  try {
    await sleep(300);
    checkpoints.committed();
    const db = new SQLite(file);
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    db.exec('create table t (id integer primary key, v text not null)');
    const insert = db.prepare('insert into t (id, v) values (?, ?)');
    for (let i = 0; i < 40; i++) insert.run(i, 'x'.repeat(5_000));
    let size = fs.statSync(file).size;
    for (let tries = 0; tries < 300 && size < 200_000; tries++) {
      checkpoints.committed();
      await sleep(20);
      size = fs.statSync(file).size;
    }
    assert.ok(size >= 200_000, `a new worker checkpointed the log once it could (database file ${size} bytes)`);
    assert.equal(warnings.filter((w) => w.includes('WAL checkpoint')).length, 1, 'one warning, not one per try');
    await checkpoints.close();
    db.close();
  } finally {
    process.off('warning', onWarning);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
