// Worker-thread entry of `wal-checkpoint.ts`: one connection to the database that
// only ever runs PASSIVE checkpoints of its write-ahead log, one per message.
import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';

const db = new SQLite((workerData as { file: string }).file, { fileMustExist: true });
parentPort!.on('message', (m: 'checkpoint' | 'close') => {
  if (m === 'close') {
    db.close();
    parentPort!.close();
    return;
  }
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } finally {
    parentPort!.postMessage('done');
  }
});
