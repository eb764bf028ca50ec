// The write turn between this process's SQLite writers (`db/write-turn.ts`): the
// event loop waits without blocking while the appender's thread writes, a thread
// waits blocking while the event loop writes, only the holder gives it back, and
// the server's connection takes it for writes outside the group committer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { sql } from 'kysely';
import { openStore } from '../../src/db/connect.ts';
import { appenderName, EVENT_LOOP, giveTurn, newWriteTurn, takeTurn } from '../../src/db/write-turn.ts';

const APPENDER = appenderName(0);

const tick = () => new Promise((r) => setTimeout(r, 30));

test('the event loop waits for the turn without blocking, and only the holder gives it back', async () => {
  const turn = newWriteTurn();
  await takeTurn(turn, APPENDER);
  let got = false;
  const waiting = takeTurn(turn, EVENT_LOOP).then(() => {
    got = true;
  });
  let loopRan = false;
  setImmediate(() => {
    loopRan = true;
  });
  await tick();
  assert.equal(loopRan, true, 'the event loop went on while waiting');
  assert.equal(got, false);
  giveTurn(turn, EVENT_LOOP); // not the holder: nothing changes
  await tick();
  assert.equal(got, false);
  giveTurn(turn, APPENDER);
  await waiting;
  assert.equal(got, true);
  assert.equal(Atomics.load(turn, 0), EVENT_LOOP);
});

test('a thread waits for the turn the event loop holds, and takes it when it is given back', async () => {
  const turn = newWriteTurn();
  await takeTurn(turn, EVENT_LOOP);
  const worker = new Worker(new URL('../fixtures/take-turn-worker.ts', import.meta.url), { workerData: turn });
  const messages: string[] = [];
  const exited = new Promise((r) => worker.once('exit', r));
  const failed = new Promise((_, reject) => worker.once('error', reject));
  const said = (what: string) =>
    Promise.race([
      failed,
      new Promise<void>((r) => {
        const look = () => (messages.includes(what) ? r() : void setTimeout(look, 5));
        look();
      }),
    ]);
  worker.on('message', (m) => messages.push(m));
  await said('waiting');
  await tick();
  assert.deepEqual(messages, ['waiting'], 'the thread waits while the event loop has the turn');
  giveTurn(turn, EVENT_LOOP);
  await said('got');
  await exited;
  assert.equal(Atomics.load(turn, 0), APPENDER);
});

test('the server connection writes outside the group committer in its turn, waiting without blocking the event loop', {
  skip: process.env.KARTEI_TEST_PG ? 'SQLite’s connection' : false,
}, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-turn-'));
  const store = await openStore({ dataDir: dir });
  try {
    const turn = store.writeTurn!;
    await sql`create table t (id integer primary key, v text not null)`.execute(store.db);
    await takeTurn(turn, APPENDER); // as the appender's thread holds it while it writes
    let written = false;
    const write = sql`insert into t (id, v) values (1, 'a')`.execute(store.db).then(() => {
      written = true;
    });
    let loopRan = false;
    setImmediate(() => {
      loopRan = true;
    });
    await tick();
    assert.equal(written, false, 'the write waits for the turn');
    assert.equal(loopRan, true, 'the event loop went on meanwhile');
    giveTurn(turn, APPENDER);
    await write;
    assert.equal(Atomics.load(turn, 0), 0, 'the write gave the turn back');
    // A transaction of its own keeps the turn from its begin to its end.
    await store.db.transaction().execute(async (tx) => {
      await sql`insert into t (id, v) values (2, 'b')`.execute(tx);
      assert.equal(Atomics.load(turn, 0), EVENT_LOOP);
      await sql`insert into t (id, v) values (3, 'c')`.execute(tx);
    });
    assert.equal(Atomics.load(turn, 0), 0);
    assert.deepEqual((await sql<{ n: number }>`select count(*) as n from t`.execute(store.db)).rows, [{ n: 3 }]);
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
