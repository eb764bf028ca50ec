// The write turn between this process's SQLite writers (`db/write-turn.ts`): the
// event loop waits without blocking while the appender's thread writes, a thread
// waits blocking while the event loop writes, and only the holder gives it back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { APPENDER, EVENT_LOOP, giveTurn, newWriteTurn, takeTurn } from '../../src/db/write-turn.ts';

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
