// The audit appender's thread when it cannot work (`audit/append-thread.ts`):
// the events waiting for it are refused, never left hanging; a thread that ended
// with the write turn gives it back; the next event starts a new thread; a thread
// that cannot start refuses its events; closing it is waited for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { AppendThread, AppendThreadError } from '../../src/audit/append-thread.ts';
import { sampleRow } from '../fixtures/append-thread-row.ts';
import { appenderName, newWriteTurn } from '../../src/db/write-turn.ts';

const row = sampleRow;

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

test('a thread that cannot be started refuses the events waiting for it (nothing thrown outside them)', async () => {
  const thread = new AppendThread({
    file: '/nonexistent-kartei-dir/kartei.sqlite',
    // What a thread cannot be given (not plain data): its start fails in the constructor of its Worker.
    keying: { key: new Uint8Array(32), legacyUntil: new Proxy({}, { get: () => 0 }) },
    turn: newWriteTurn(),
    checkpointEvery: 1000,
    fallbackPages: 100,
    committed: () => assert.fail('nothing was committed'),
  });
  const settled = await Promise.allSettled([thread.append(row()), thread.append(row())]);
  for (const r of settled) {
    assert.equal(r.status, 'rejected');
    assert.ok((r as PromiseRejectedResult).reason instanceof AppendThreadError);
  }
  await thread.close();
});

test('closing the thread as the last work of a process waits for the thread to end (the process does not exit under it)', () => {
  // As it is, and while the thread is ending for idleness (closed by its idle timer a moment before).
  for (const env of [{}, { IDLE_MS: '1' }]) {
    const child = spawnSync(
      process.execPath,
      [fileURLToPath(new URL('../fixtures/append-thread-close.ts', import.meta.url))],
      { encoding: 'utf8', timeout: 20_000, env: { ...process.env, ...env } },
    );
    assert.equal(child.stdout, 'appended 1\nclosed\n', `${JSON.stringify(env)}: ${child.stderr}`);
    assert.equal(child.status, 0, child.stderr);
  }
});
