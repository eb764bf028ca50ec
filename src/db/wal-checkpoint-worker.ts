// Worker-thread entry of `wal-checkpoint.ts`: one connection to the database that
// only ever runs PASSIVE checkpoints of its write-ahead log, one per message. A
// checkpoint that fails (a full disk: SQLITE_FULL, an I/O error) is answered with
// its code, and the thread stays: the next one may succeed once space is back.
import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';

const db = new SQLite((workerData as { file: string }).file, { fileMustExist: true });
parentPort!.on('message', (m: 'checkpoint' | 'close') => {
  if (m === 'close') {
    db.close();
    parentPort!.close();
    return;
  }
  let failed: string | undefined;
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (e) {
    failed = String((e as { code?: unknown }).code ?? (e as Error).message ?? e);
  }
  parentPort!.postMessage({ failed });
});
