// The audit appender's thread (`append-thread.ts`): appends audited reads'
// events to their chains on a SQLite connection of its own, so that the event
// loop does not spend its time on their statements and links. Each message is
// a batch of events; the messages that wait when one arrives are taken with it
// into one write transaction (its turn taken first: `db/write-turn.ts`), whose
// commit is then synced (fdatasync of the write-ahead log) before any of them
// is answered. An event that would be a chain's every-CHECKPOINT_EVERY-th is
// not appended here: it, and what follows it in the batch for that chain, is
// answered "not appended" and goes the event loop's way, which signs the
// checkpoint in the transaction that appends it.
import fs from 'node:fs';
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import SQLite from 'better-sqlite3';
import { linkMaterial, linkOfMaterial, type ChainKeying } from './chain.ts';
import { giveTurn, takeTurnBlocking, type WriteTurn } from '../db/write-turn.ts';
import type { AppendBatch, AppendReply, OffThreadRow } from './append-thread.ts';

const { file, keying, turn, me, checkpointEvery, fallbackPages } = workerData as {
  file: string;
  keying: ChainKeying;
  turn: WriteTurn;
  /** This thread's name for the write turn (`appenderName`). */
  me: number;
  checkpointEvery: number;
  fallbackPages: number;
};
const port = parentPort as MessagePort;

const db = new SQLite(file);
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 5000');
db.pragma('foreign_keys = ON');
db.pragma('secure_delete = ON');
db.pragma('temp_store = MEMORY');
db.pragma(`wal_autocheckpoint = ${fallbackPages}`);
const head = db.prepare<[string], { seq: number; hash: string }>(
  'select seq, hash from audit_heads where tenant_id = ?',
);
const insert = db.prepare(
  `insert into audit_events (tenant_id, seq, at, actor_id, action, resource_type, resource_id, person_id,
     department_id, outcome, reason_enc, detail, prev_hash, hash) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, null, ?, ?, ?)`,
);
const moveHead = db.prepare('update audit_heads set seq = ?, hash = ? where tenant_id = ?');
const begin = db.prepare('begin immediate');
const commit = db.prepare('commit');
const rollback = db.prepare('rollback');
let wal: number | undefined;
process.on('exit', () => {
  if (wal !== undefined) fs.closeSync(wal);
});

/** Appends the rows; per row its sequence number, or null where it is left to the event loop. */
function append(rows: OffThreadRow[]): (number | null)[] {
  const heads = new Map<string, { seq: number; hash: string; handedBack: boolean }>();
  const seqs: (number | null)[] = [];
  for (const r of rows) {
    const chain = r[0];
    let h = heads.get(chain);
    if (!h) {
      const row = head.get(chain);
      if (!row) throw new Error(`no audit chain for ${chain}`);
      h = { seq: row.seq, hash: row.hash, handedBack: false };
      heads.set(chain, h);
    }
    const seq = h.seq + 1;
    if (h.handedBack || seq % checkpointEvery === 0) {
      h.handedBack = true;
      seqs.push(null);
      continue;
    }
    // The chained values in canonical order (chain.ts CHAINED_COLUMNS); reason_enc is always null here.
    const values = [chain, seq, r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], null, r[9]];
    const hash = linkOfMaterial(keying, chain, seq, linkMaterial(h.hash, values));
    insert.run(chain, seq, r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], h.hash, hash);
    h.seq = seq;
    h.hash = hash;
    seqs.push(seq);
  }
  for (const [chain, h] of heads) moveHead.run(h.seq, h.hash, chain);
  return seqs;
}

/** Answers the batches' events as not written, with the cause. */
function fail(batches: AppendBatch[], e: unknown) {
  // The code is kept (SQLITE_FULL, ENOSPC): a full disk is answered `storage-full`, as on the event loop's way.
  const code = (e as { code?: unknown }).code;
  const error = e instanceof Error ? e.message : String(e);
  for (const b of batches)
    port.postMessage({ batch: b.batch, error, ...(typeof code === 'string' ? { code } : {}) } satisfies AppendReply);
}

port.on('message', (first: AppendBatch | 'close') => {
  if (first === 'close') {
    db.close();
    port.close();
    return;
  }
  const batches = [first];
  for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) batches.push(m.message as AppendBatch);
  const rows = batches.flatMap((b) => b.rows);
  let seqs: (number | null)[];
  try {
    takeTurnBlocking(turn, me);
    try {
      begin.run();
      seqs = append(rows);
      commit.run();
    } catch (e) {
      try {
        if (db.inTransaction) rollback.run();
      } catch {
        // Left inside its transaction, the connection would hold the file's write lock for good: this thread ends,
        // and with it the connection; the turn is given back when it has ended (`append-thread.ts`).
        fail(batches, e);
        process.exit(1);
      }
      throw e;
    } finally {
      if (!db.inTransaction) giveTurn(turn, me);
    }
    // Nobody is answered before the commit is on disk (as the group committer's `durable`).
    wal ??= fs.openSync(`${file}-wal`, 'r');
    fs.fdatasyncSync(wal);
  } catch (e) {
    fail(batches, e);
    return;
  }
  let at = 0;
  for (const b of batches) {
    port.postMessage({ batch: b.batch, seqs: seqs.slice(at, at + b.rows.length) } satisfies AppendReply);
    at += b.rows.length;
  }
});
