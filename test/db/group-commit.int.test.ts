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
import { GroupCommitter } from '../../src/db/group-commit.ts';
import { prepared } from '../../src/db/prepared.ts';
import { coalesced, walSync } from '../../src/db/wal-sync.ts';
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
        await sql`insert into t (id, v) values (${i}, ${`job${i}`})`.execute(tx);
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
  assert.deepEqual(
    rows.rows.map((r) => r.id),
    Array.from({ length: 20 }, (_, i) => i).filter((i) => i % 5 !== 0),
  );
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('when the commit fails, every job of the batch is rejected and nothing is written', { skip }, async () => {
  const { store, dir } = await freshStore();
  // A deferred constraint fails only at COMMIT.
  await sql`create table parent (id integer primary key)`.execute(store.db);
  await sql`create table child (id integer primary key, parent_id integer references parent(id) deferrable initially deferred)`.execute(
    store.db,
  );
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
  assert.deepEqual(
    results.map((r) => r.status),
    ['rejected', 'rejected'],
  );
  const rows = await sql<{ n: number }>`select count(*) as n from t`.execute(store.db);
  assert.equal(rows.rows[0]!.n, 0);
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a job is answered only after its batch committed', { skip }, async () => {
  const { store, dir } = await freshStore();
  await store.committer!.run(async (tx) => {
    await sql`insert into t (id, v) values (7, 'x')`.execute(tx);
  });
  // Seen from a second connection, the row exists by the time run() resolved.
  const Database = (await import('better-sqlite3')).default;
  const other = new Database(store.file!, { readonly: true });
  const committedWhenAnswered = (other.prepare('select count(*) as n from t').get() as { n: number }).n;
  other.close();
  assert.equal(committedWhenAnswered, 1);
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A committer whose syncs wait until the test lets each one finish (or fail). */
function heldSyncs(store: Awaited<ReturnType<typeof freshStore>>['store']) {
  const syncs: { resolve: () => void; reject: (e: Error) => void }[] = [];
  const committer = new GroupCommitter(
    store.db,
    () => new Promise<void>((resolve, reject) => syncs.push({ resolve, reject })),
  );
  return { committer, syncs };
}

const turns = async (n = 20) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

const rowCount = async (store: Awaited<ReturnType<typeof freshStore>>['store']) =>
  Number((await sql<{ n: number }>`select count(*) as n from t`.execute(store.db)).rows[0]!.n);

test('a committed job is answered only once the log is synced after its commit', { skip }, async () => {
  const { store, dir } = await freshStore();
  const { committer, syncs } = heldSyncs(store);
  let answered = false;
  const job = committer
    .run(async (tx) => sql`insert into t (id, v) values (1, 'x')`.execute(tx))
    .then(() => (answered = true));
  await turns();
  assert.equal(await rowCount(store), 1, 'committed');
  assert.equal(syncs.length, 1, 'a sync was started after the commit');
  assert.equal(answered, false, 'not answered while the sync is on its way');
  syncs[0]!.resolve();
  await job;
  assert.equal(answered, true);
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the next batch runs while the one before waits for its sync; a failed sync fails only its own jobs', {
  skip,
}, async () => {
  const { store, dir } = await freshStore();
  const { committer, syncs } = heldSyncs(store);
  const first = committer.run(async (tx) => sql`insert into t (id, v) values (1, 'first')`.execute(tx));
  await turns();
  const second = committer.run(async (tx) => sql`insert into t (id, v) values (2, 'second')`.execute(tx));
  await turns();
  assert.equal(await rowCount(store), 2, "the second batch committed while the first one's sync was pending");
  assert.equal(syncs.length, 2);
  syncs[0]!.reject(new Error('fdatasync: EIO'));
  syncs[1]!.resolve();
  await assert.rejects(first, /EIO/);
  await second;
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the log sync waits for the log to exist and then syncs it', { skip }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-wal-'));
  const wal = walSync(path.join(dir, 'x.sqlite-wal'));
  await assert.rejects(wal.sync(), { code: 'ENOENT' });
  fs.writeFileSync(path.join(dir, 'x.sqlite-wal'), 'frames');
  await wal.sync();
  await wal.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('callers that arrive while a sync runs share the next one, which starts after the running one ends', async () => {
  const started: { at: number; finish: (e?: Error) => void }[] = [];
  let clock = 0;
  const sync = coalesced(
    () =>
      new Promise<void>((resolve, reject) => started.push({ at: clock++, finish: (e) => (e ? reject(e) : resolve()) })),
  );
  const first = sync();
  const arrivedAt = clock++;
  const late = [sync(), sync(), sync()];
  await turns(5);
  assert.equal(started.length, 1, 'no second sync while the first runs');
  started[0]!.finish(new Error('EIO'));
  await assert.rejects(first, /EIO/);
  await turns(5);
  assert.equal(started.length, 2, 'one more sync for all three late callers');
  assert.ok(started[1]!.at > arrivedAt, 'and it began after they arrived');
  let done = 0;
  for (const p of late) void p.then(() => done++);
  await turns(5);
  assert.equal(done, 0, 'they wait for it');
  started[1]!.finish();
  await Promise.all(late);
  assert.equal(done, 3);
  const idle = sync();
  assert.equal(started.length, 3, 'with none running, a caller starts a sync at once');
  started[2]!.finish();
  await idle;
});

test('prepared queries inside a batch run in the job’s savepoint: they see its writes and roll back with it', {
  skip,
}, async () => {
  const { store, dir } = await freshStore();
  const put = prepared((db, id: number, v: string) => db.insertInto('t' as never).values({ id, v } as never));
  const get = prepared((db, id: number) =>
    db
      .selectFrom('t' as never)
      .select('v' as never)
      .where('id' as never, '=', id as never),
  );
  const seen: unknown[] = [];
  const results = await Promise.allSettled([
    store.committer!.run(async (tx) => {
      await put(tx, 1, 'kept');
      seen.push(await get(tx, 1));
    }),
    store.committer!.run(async (tx) => {
      await put(tx, 2, 'undone');
      seen.push(await get(tx, 2));
      throw new Error('fails after writing');
    }),
    store.committer!.run(async (tx) => {
      // The failed job's row is gone; the first job's is there (same batch, committed later).
      seen.push(await get(tx, 2), await get(tx, 1));
    }),
  ]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  assert.deepEqual(seen, [[{ v: 'kept' }], [{ v: 'undone' }], [], [{ v: 'kept' }]]);
  // Outside a batch the same queries go through Kysely and see what was committed.
  assert.deepEqual(await get(store.db, 1), [{ v: 'kept' }]);
  assert.deepEqual(await get(store.db, 2), []);
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the savepoints of a batch keep what they must undo in memory: no file outside the data directory', {
  skip,
}, async () => {
  const { store, dir } = await freshStore();
  try {
    const big = 'x'.repeat(4000);
    await store.committer!.run(async (tx) => {
      for (let i = 0; i < 100; i++) await sql`insert into t (id, v) values (${i}, ${big})`.execute(tx);
    });
    // Each job rewrites the same 100 pages inside one transaction: every savepoint must be able to undo ~400 KB,
    // more than SQLite keeps in memory by default before it spills to a temporary file.
    const outside = new Set<string>();
    await Promise.all(
      Array.from({ length: 6 }, (_, j) =>
        store.committer!.run(async (tx) => {
          await sql`update t set v = ${`${j}${big}`}`.execute(tx);
          for (const fd of fs.readdirSync('/proc/self/fd')) {
            let target: string;
            try {
              target = fs.readlinkSync(`/proc/self/fd/${fd}`, { encoding: 'utf8' });
            } catch {
              continue; // the listing's own descriptor, closed by now
            }
            if (target.startsWith('/') && /deleted|^\/(var\/)?tmp\/#/.test(target) && !target.startsWith(dir))
              outside.add(target);
          }
        }),
      ),
    );
    assert.deepEqual([...outside], []);
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a store closing: what was queued is written and answered, what comes after is refused, nothing is thrown elsewhere', {
  skip,
}, async () => {
  const { store, dir } = await freshStore();
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  try {
    const committer = store.committer!;
    const queued = Array.from({ length: 10 }, (_, i) =>
      committer.run(async (tx) => {
        await sql`insert into t (id, v) values (${i}, ${`q${i}`})`.execute(tx);
        return i;
      }),
    );
    const closed = store.close();
    // Asked for while the store closes (a request's audit during a stop): refused at once, with the 503 code.
    const late = await committer
      .run(async () => 'ran')
      .then(
        () => 'ran',
        (e: { code?: string }) => e.code,
      );
    assert.equal(late, 'KARTEI_STORE_CLOSED');
    assert.deepEqual(await Promise.all(queued), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await closed;
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(unhandled, []);
    const reopened = await openStore({ dataDir: dir });
    try {
      const rows = await sql<{ n: number }>`select count(*) as n from t`.execute(reopened.db);
      assert.equal(Number(rows.rows[0]!.n), 10, 'every queued job is on disk');
    } finally {
      await reopened.close();
    }
  } finally {
    process.off('unhandledRejection', onUnhandled);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a committer whose connection is gone answers every waiting job with the error; none hangs, nothing is thrown elsewhere', {
  skip,
}, async () => {
  const { store, dir } = await freshStore();
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  try {
    // The same database through a committer of its own, whose Kysely is destroyed under it (as a stop did, s28).
    const { Kysely, SqliteDialect } = await import('kysely');
    const { default: SQLite } = await import('better-sqlite3');
    const db = new Kysely<never>({
      dialect: new SqliteDialect({ database: new SQLite(path.join(dir, 'other.sqlite')) }),
    });
    const committer = new GroupCommitter(db as never, async () => {});
    assert.equal(await committer.run(async () => 'ran'), 'ran');
    await db.destroy();
    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => committer.run(async () => 'ran')));
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['rejected', 'rejected', 'rejected', 'rejected', 'rejected'],
    );
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
