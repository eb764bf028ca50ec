// Worker-thread entry of `wal-checkpoint.ts`: one connection to the database that
// only ever runs PASSIVE checkpoints of its write-ahead log, one per message. A
// checkpoint that fails (a full disk: SQLITE_FULL, an I/O error) is answered with
// its code, and the thread stays: the next one may succeed once space is back.
// Plain JavaScript (issue 18, memory at rest): a worker that loads a TypeScript file
// starts Node's type stripper (WebAssembly) in its own isolate, ~17 MiB resident for
// as long as this thread lives, which is as long as the server.
import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';

const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);
const db = new SQLite(/** @type {{ file: string }} */ (workerData).file, { fileMustExist: true });
port.on('message', (/** @type {'checkpoint' | 'close'} */ m) => {
  if (m === 'close') {
    db.close();
    port.close();
    return;
  }
  /** @type {string | undefined} */
  let failed;
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (e) {
    const err = /** @type {{ code?: unknown, message?: string }} */ (e);
    failed = String(err?.code ?? err?.message ?? e);
  }
  port.postMessage({ failed });
});
