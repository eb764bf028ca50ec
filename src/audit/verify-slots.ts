// The worker threads audit verification runs in this process at once (issue 18, s25): every
// verification — `kartei audit verify`, each GET /api/audit/status, the doctor — takes a place for
// each worker it starts, for its stretches (`verify-stretch.ts`) and for its row-by-row ranges
// (`verify.ts`) alike, and the place is given back when the thread has exited, however it ended (or
// at once when it could not be made). Never more than the cores beyond this one: a flood of status
// requests starts no more threads; beyond that a verification does its work on its own thread. A worker
// that has sent its last message still holds its place for the few milliseconds it takes to exit (6–8 ms
// here): a verification right after another waits for that place (`laterWorker`) instead of working alone,
// which every other of `npm run bench`'s back-to-back verifications did (issue 18).
import os from 'node:os';
import type { Worker } from 'node:worker_threads';

let running = 0;
/** Workers whose work is done (`workDone`), exiting: their places come free within milliseconds. */
const done = new WeakSet<Worker>();
/** Workers that have exited (a last message read after the exit must not count a place as coming free). */
const gone = new WeakSet<Worker>();
let leaving = 0;
let waiting: (() => void)[] = [];

/** Whether another worker may start now; `always` for tests that leave all work to workers. */
export const workerSpare = (always = false): boolean => always || running < Math.max(os.availableParallelism() - 1, 1);

/** Makes a worker in a place of its own, held until the thread has exited. */
export function placedWorker(make: () => Worker): Worker {
  running++;
  let worker: Worker;
  try {
    worker = make();
  } catch (e) {
    running--;
    throw e;
  }
  worker.once('exit', () => {
    running--;
    gone.add(worker);
    if (done.has(worker)) leaving--;
    const woken = waiting;
    waiting = [];
    for (const wake of woken) wake();
  });
  return worker;
}

/** The caller's worker has sent its last message: it does no more work and gives its place back as it exits. */
export function workDone(worker: Worker): void {
  if (done.has(worker) || gone.has(worker)) return;
  done.add(worker);
  leaving++;
}

/**
 * A worker started as soon as a place is spare, waiting only for the places of workers whose work is done, and no
 * longer than `mine` (the calling thread's own share of the work) runs: started only if `stillUseful()` then (work is
 * left to claim). Resolves when that worker has finished, or without one.
 */
export async function laterWorker(
  stillUseful: () => boolean,
  start: () => Promise<void>,
  mine?: Promise<unknown>,
): Promise<void> {
  let over = false;
  // Settled either way: the caller answers for `mine`'s failure.
  const end = () => {
    over = true;
  };
  const ended = mine?.then(end, end);
  while (!workerSpare()) {
    if (leaving === 0 || over || !stillUseful()) return;
    const placeFreed = new Promise<void>((resolve) => waiting.push(resolve));
    await (ended ? Promise.race([placeFreed, ended]) : placeFreed);
  }
  if (!over && stillUseful()) await start();
}

/** The worker threads of verification alive now (tests: every place given back). */
export const workersRunning = (): number => running;
