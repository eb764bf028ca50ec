// Checkpoints of SQLite's write-ahead log on a thread of their own. SQLite's
// automatic checkpoint runs inside the commit that crosses its threshold, on the
// event loop: under the audited reads' load every ~30th commit copied the log
// into the database and synced it there (~13 ms each, ~20 µs per request), and
// every request waiting behind it waited that long. Here the server's connection
// checkpoints only as a fallback, far later (`FALLBACK_PAGES`), and after commits
// a worker thread with a connection of its own runs PASSIVE checkpoints, which
// wait for no reader or writer, at most one at a time and one per `EVERY_MS`.
// What is copied was in the log and synced already; the checkpoint syncs the log
// before and the database after, as SQLite's own does.
import { Worker } from 'node:worker_threads';

/** The server connection's own checkpoint threshold (pages, 4 KiB each): only if the worker falls behind. */
export const FALLBACK_PAGES = 16_384;
const EVERY_MS = 100;

export interface WalCheckpointer {
  /** Told after each commit; starts a checkpoint unless one runs or one started less than EVERY_MS ago. */
  committed(): void;
  /** Ends the worker (its connection closed), so that the server's connection is the last to close. */
  close(): Promise<void>;
}

export function walCheckpointer(file: string): WalCheckpointer {
  const worker = new Worker(new URL('./wal-checkpoint-worker.ts', import.meta.url), { workerData: { file } });
  // A worker that ends or fails leaves the fallback: the server's connection checkpoints itself.
  let alive = true;
  let running = false;
  let lastStart = 0;
  const stopped = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.on('message', () => (running = false));
  worker.on('error', (e) => {
    alive = false;
    process.emitWarning(`WAL checkpoint thread failed; SQLite checkpoints in the commits again: ${String(e)}`);
  });
  worker.once('exit', () => (alive = false));
  // The thread must not keep the process alive on its own.
  worker.unref();
  return {
    committed() {
      if (!alive || running) return;
      const now = performance.now();
      if (now - lastStart < EVERY_MS) return;
      running = true;
      lastStart = now;
      worker.postMessage('checkpoint');
    },
    async close() {
      // Held open until the worker has closed its connection, then the server's closes last.
      worker.ref();
      if (alive) worker.postMessage('close');
      await stopped;
    },
  };
}
