// The fair floor under `audit verify` for `npm run bench`: the same rows read, without
// hashing, by as many threads as verify uses (this one and workers), each claiming chunks
// of the chain from a shared counter as verify's do, with the same statement and batch
// size, worker start included (a worker that, like verify's stretch worker, loads nothing
// else). On one core it is the one-thread floor; on more it is what reading alone could
// reach with every core, which verify's hashing must approach.
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { CHAINED_COLUMNS, linkValues, type ChainKeying } from '../src/audit/chain.ts';
import { SPLIT, verifyThreads } from '../src/audit/verify.ts';
import { type FloorPlan, readChunks } from './audit-read-floor-worker.ts';

const COLUMNS = [...CHAINED_COLUMNS, 'prev_hash', 'hash'].join(', ');
const BATCH = 2_000;

/** Rows per second read by verify's number of threads over a chain of `n` events, and that number. */
export async function readFloorPerSec(
  file: string,
  tenantId: string,
  n: number,
): Promise<{ perSec: number; threads: number; chunk: number }> {
  const threads = verifyThreads(n);
  const plan: FloorPlan = {
    file,
    tenantId,
    columns: COLUMNS,
    batch: BATCH,
    n,
    chunk: threads === 1 ? Math.max(n, 1) : SPLIT.chunk,
  };
  const next = new Int32Array(new SharedArrayBuffer(4));
  const t0 = performance.now();
  const workers = Array.from(
    { length: threads - 1 },
    () =>
      new Promise<number>((resolve, reject) => {
        const w = new Worker(new URL('./audit-read-floor-worker.ts', import.meta.url), { workerData: { plan, next } });
        w.once('message', resolve);
        w.once('error', reject);
      }),
  );
  const rows = readChunks(plan, next) + (await Promise.all(workers)).reduce((a, b) => a + b, 0);
  return { perSec: rows / ((performance.now() - t0) / 1000), threads, chunk: plan.chunk };
}

/**
 * The other floor under verify: the link of each row (HMAC-SHA-256 of its canonical form under the
 * chain key, as verify computes it) over `sample` rows already in memory, on one thread, nothing read.
 */
export function linkFloorPerSec(file: string, tenantId: string, keying: ChainKeying, sample = 25_000): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  let rows: unknown[][];
  try {
    rows = db
      .prepare(`SELECT ${COLUMNS} FROM audit_events WHERE tenant_id = ? ORDER BY seq LIMIT ?`)
      .raw()
      .all(tenantId, sample) as unknown[][];
  } finally {
    db.close();
  }
  const prev = CHAINED_COLUMNS.length;
  let same = 0;
  const t0 = performance.now();
  for (const row of rows) if (linkValues(keying, row[prev] as string, row) === row[prev + 1]) same++;
  const perSec = rows.length / ((performance.now() - t0) / 1000);
  if (same !== rows.length) throw new Error('a link did not verify in the link floor');
  return perSec;
}

/**
 * The one-thread floor: the chain's first `n` rows read on this thread, BATCH at a time with the
 * same statement, no hashing (rows per second). `npm run bench` and bench/verify-profile.ts both use it.
 */
export function readPerSec(file: string, tenantId: string, n: number): number {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db.prepare(`SELECT ${COLUMNS} FROM audit_events WHERE tenant_id = ? AND seq BETWEEN ? AND ?`).raw();
    let read = 0;
    const t0 = performance.now();
    for (let lo = 1; lo <= n; lo += BATCH) read += rows.all(tenantId, lo, lo + BATCH - 1).length;
    return read / ((performance.now() - t0) / 1000);
  } finally {
    db.close();
  }
}

/** CPU time of this thread so far, in µs. */
export function threadCpuUs(): number {
  const u = process.threadCpuUsage();
  return u.user + u.system;
}
