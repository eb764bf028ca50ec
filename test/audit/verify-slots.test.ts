// The places of verification's worker threads (`src/audit/verify-slots.ts`, issue 18): a worker whose work is
// done still holds its place until it has exited; a later worker waits for such a place (and only for such
// a place), starts only if its work is still there, and never makes more threads than the spare cores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { laterWorker, placedWorker, workDone, workerSpare, workersRunning } from '../../src/audit/verify-slots.ts';

const SPARE = Math.max(os.availableParallelism() - 1, 1);

/** A placed worker that sends its last message at once and then lives on for `ms`, as a finished one does while it exits. */
function lingering(ms: number): Promise<{ worker: Worker; exited: Promise<void> }> {
  return new Promise((resolve) => {
    const worker = placedWorker(
      () =>
        new Worker(`require('node:worker_threads').parentPort.postMessage('finished'); setTimeout(() => {}, ${ms});`, {
          eval: true,
        }),
    );
    const exited = new Promise<void>((r) => worker.once('exit', () => r()));
    worker.once('message', () => resolve({ worker, exited }));
  });
}

test('a later worker waits only for the places of workers whose work is done, and starts once one has exited', async () => {
  const held = await Promise.all(Array.from({ length: SPARE }, () => lingering(300)));
  assert.equal(workerSpare(), false, 'every place is held');
  const starts: { running: number; at: number }[] = [];
  const start = async () => void starts.push({ running: workersRunning(), at: performance.now() });

  // Workers still at work: no place is coming free soon, so no later worker is waited for.
  await laterWorker(() => true, start);
  assert.equal(starts.length, 0, 'nothing started while every place was held by working threads');

  // Their work done, they exit within milliseconds: a later worker waits for a place, then starts.
  const t0 = performance.now();
  for (const h of held) workDone(h.worker);
  await laterWorker(() => true, start);
  assert.equal(starts.length, 1, 'the later worker started');
  assert.ok(starts[0]!.running < SPARE, `it started after a place came free (${starts[0]!.running} of ${SPARE} held)`);
  assert.ok(starts[0]!.at - t0 >= 200, `it waited for the exit (${Math.round(starts[0]!.at - t0)} ms)`);

  // Work already gone when the place comes free: nothing is started for nothing.
  const again = await Promise.all(Array.from({ length: SPARE }, () => lingering(100)));
  for (const h of again) workDone(h.worker);
  await laterWorker(() => false, start);
  assert.equal(starts.length, 1, 'no worker started without work left');

  await Promise.all([...held, ...again].map((h) => h.exited));
  assert.equal(workersRunning(), 0, 'every place given back');
});

test("a later worker stops waiting when the calling thread's own work has ended", async () => {
  const held = await Promise.all(Array.from({ length: SPARE }, () => lingering(1_500)));
  for (const h of held) workDone(h.worker);
  let started = 0;
  const t0 = performance.now();
  const mine = new Promise<void>((resolve) => setTimeout(resolve, 50));
  await laterWorker(
    () => true,
    async () => void started++,
    mine,
  );
  const waited = performance.now() - t0;
  assert.equal(started, 0, 'nothing started once the work was done');
  assert.ok(
    waited < 1_000,
    `it returned when its thread's work ended, not when a place came free (${Math.round(waited)} ms)`,
  );
  // Its thread's work failing ends the wait too, without a rejection of its own.
  const failing = Promise.reject(new Error('the thread failed'));
  failing.catch(() => undefined);
  await laterWorker(
    () => true,
    async () => void started++,
    failing,
  );
  assert.equal(started, 0);
  await Promise.all(held.map((h) => h.exited));
  assert.equal(workersRunning(), 0, 'every place given back');
});
