// The worker threads audit verification runs in this process at once (issue 18, s25): every
// verification — `kartei audit verify`, each GET /api/audit/status, the doctor — takes a place for
// each worker it starts, for its stretches (`verify-stretch.ts`) and for its row-by-row ranges
// (`verify.ts`) alike, and the place is given back when the thread has exited, however it ended (or
// at once when it could not be made). Never more than the cores beyond this one: a flood of status
// requests starts no more threads; beyond that a verification does its work on its own thread.
import os from 'node:os';
import type { Worker } from 'node:worker_threads';

let running = 0;

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
  worker.once('exit', () => running--);
  return worker;
}

/** The worker threads of verification alive now (tests: every place given back). */
export const workersRunning = (): number => running;
