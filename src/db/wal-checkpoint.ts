// Checkpoints of SQLite's write-ahead log on a thread of their own. SQLite's
// automatic checkpoint runs inside the commit that crosses its threshold, on the
// event loop: under the audited reads' load every ~30th commit copied the log
// into the database and synced it there (~13 ms each, ~20 µs per request), and
// every request waiting behind it waited that long. Here the server's connection
// checkpoints only as a fallback, far later (`FALLBACK_PAGES`), and after commits
// a worker thread with a connection of its own runs PASSIVE checkpoints, which
// wait for no reader or writer, at most one at a time and one per `EVERY_MS`;
// after a failure (a full disk) it pauses `RETRY_MS` and then tries again.
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

/**
 * After a failed checkpoint (a full disk) or a worker that ended, the next try waits this
 * long; meanwhile the server's connection checkpoints itself (the fallback). Nothing gives up
 * for the rest of the process: when space is back, the worker checkpoints again.
 */
const RETRY_MS = 5_000;

export function walCheckpointer(file: string, options: { retryMs?: number } = {}): WalCheckpointer {
  const retryMs = options.retryMs ?? RETRY_MS;
  let worker: Worker;
  let alive = false;
  let closing = false;
  let running = false;
  let lastStart = 0;
  /** No checkpoint (nor a new worker) before this time, after a failure. */
  let pausedUntil = 0;
  /** One warning per run of failures, not one per try. */
  let warned = false;
  let stopped: Promise<void>;
  const failed = (why: string) => {
    pausedUntil = performance.now() + retryMs;
    if (warned) return;
    warned = true;
    process.emitWarning(`WAL checkpoint failed (${why}); SQLite checkpoints in the commits until it works again`);
  };
  const start = () => {
    const w = new Worker(new URL('./wal-checkpoint-worker.js', import.meta.url), { workerData: { file } });
    worker = w;
    alive = true;
    running = false;
    stopped = new Promise<void>((resolve) => w.once('exit', () => resolve()));
    w.on('message', (m: { failed?: string }) => {
      running = false;
      if (m?.failed) failed(m.failed);
      else warned = false;
    });
    // A worker that fails or ends leaves the fallback until a new one is started after `retryMs`.
    w.on('error', (e) => failed(String(e)));
    w.once('exit', () => {
      alive = false;
      running = false;
      if (!closing) pausedUntil = Math.max(pausedUntil, performance.now() + retryMs);
    });
    // The thread must not keep the process alive on its own.
    w.unref();
  };
  start();
  return {
    committed() {
      if (closing || running) return;
      const now = performance.now();
      if (now < pausedUntil || now - lastStart < EVERY_MS) return;
      if (!alive) start();
      running = true;
      lastStart = now;
      worker.postMessage('checkpoint');
    },
    async close() {
      closing = true;
      // Held open until the worker has closed its connection, then the server's closes last.
      worker.ref();
      if (alive) worker.postMessage('close');
      await stopped;
    },
  };
}
