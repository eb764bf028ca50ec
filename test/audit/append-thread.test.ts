// The audit appender's thread when it cannot work (`audit/append-thread.ts`):
// the events waiting for it are refused, never left hanging; a thread that ended
// with the write turn gives it back; the next event starts a new thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppendThread, AppendThreadError, type OffThreadRow } from '../../src/audit/append-thread.ts';
import { appenderName, newWriteTurn } from '../../src/db/write-turn.ts';

const row = (): OffThreadRow => [
  'tenant',
  new Date().toISOString(),
  'actor',
  'record.read',
  'record',
  'r1',
  'p1',
  'd1',
  'allowed',
  null,
];

test('a thread that cannot open its database refuses the events waiting for it and frees the write turn', async () => {
  const turn = newWriteTurn();
  // As if the thread had ended while it held the turn.
  Atomics.store(turn, 0, appenderName(0));
  const thread = new AppendThread({
    file: '/nonexistent-kartei-dir/kartei.sqlite',
    keying: { key: new Uint8Array(32), legacyUntil: {} },
    turn,
    checkpointEvery: 1000,
    fallbackPages: 100,
    committed: () => assert.fail('nothing was committed'),
  });
  const first = await Promise.allSettled([thread.append(row()), thread.append(row()), thread.append(row())]);
  for (const r of first) {
    assert.equal(r.status, 'rejected');
    assert.ok((r as PromiseRejectedResult).reason instanceof Error);
  }
  // Given back once the thread has ended (its connection closed with it).
  for (const until = Date.now() + 5_000; Atomics.load(turn, 0) !== 0 && Date.now() < until; )
    await new Promise((r) => setTimeout(r, 5));
  assert.equal(Atomics.load(turn, 0), 0, 'the turn is free again');
  // The next event starts a new thread, which fails the same way: refused, not hung.
  await assert.rejects(thread.append(row()));
  await thread.close();
  await assert.rejects(thread.append(row()), AppendThreadError);
});
