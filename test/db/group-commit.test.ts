// Group commit on SQLite: requests that arrive together share one durable
// commit, yet each stands alone — a failing one leaves no trace, the others
// commit, and nobody is told "done" before the commit that holds its work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { openStore } from '../../src/db/connect.ts';
import { DIALECT } from '../helpers/harness.ts';

const skip = DIALECT !== 'sqlite' ? 'group commit is the SQLite store only; PostgreSQL commits per transaction' : false;

async function freshStore() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-gc-'));
  const store = await openStore({ dataDir: dir });
  await sql`create table t (id integer primary key, v text not null)`.execute(store.db);
  return { store, dir };
}

test('concurrent jobs share a commit; a failing job is rolled back alone', { skip }, async () => {
  const { store, dir } = await freshStore();
  const committer = store.committer!;
  const results = await Promise.allSettled(
    Array.from({ length: 20 }, (_, i) =>
      committer.run(async (tx) => {
        await sql`insert into t (id, v) values (${i}, ${'job' + i})`.execute(tx);
        if (i % 5 === 0) throw new Error(`job ${i} fails after writing`);
        return i;
      }),
    ),
  );
  assert.deepEqual(
    results.map((r) => r.status),
    Array.from({ length: 20 }, (_, i) => (i % 5 === 0 ? 'rejected' : 'fulfilled')),
  );
  const rows = await sql<{ id: number }>`select id from t order by id`.execute(store.db);
  assert.deepEqual(rows.rows.map((r) => r.id), Array.from({ length: 20 }, (_, i) => i).filter((i) => i % 5 !== 0));
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('when the commit fails, every job of the batch is rejected and nothing is written', { skip }, async () => {
  const { store, dir } = await freshStore();
  // A deferred constraint fails only at COMMIT.
  await sql`create table parent (id integer primary key)`.execute(store.db);
  await sql`create table child (id integer primary key, parent_id integer references parent(id) deferrable initially deferred)`.execute(store.db);
  const jobs = [
    store.committer!.run(async (tx) => {
      await sql`insert into t (id, v) values (1, 'fine')`.execute(tx);
      return 'ok';
    }),
    store.committer!.run(async (tx) => {
      await sql`insert into child (id, parent_id) values (1, 999)`.execute(tx);
      return 'dangling';
    }),
  ];
  const results = await Promise.allSettled(jobs);
  assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
  const rows = await sql<{ n: number }>`select count(*) as n from t`.execute(store.db);
  assert.equal(rows.rows[0]!.n, 0);
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a job is answered only after its batch committed', { skip }, async () => {
  const { store, dir } = await freshStore();
  let committedWhenAnswered: number | undefined;
  await store.committer!.run(async (tx) => {
    await sql`insert into t (id, v) values (7, 'x')`.execute(tx);
  });
  // Seen from a second connection, the row exists by the time run() resolved.
  const Database = (await import('better-sqlite3')).default;
  const other = new Database(store.file!, { readonly: true });
  committedWhenAnswered = (other.prepare('select count(*) as n from t').get() as { n: number }).n;
  other.close();
  assert.equal(committedWhenAnswered, 1);
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
