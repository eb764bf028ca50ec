// Verifies contiguous ranges of a chain. Ranges are independent because
// every row stores its predecessor's hash, so a long chain is cut into chunks
// that all cores claim from a shared counter, and the chunks are stitched
// together afterwards. Claiming, not a fixed split, keeps a core busy while
// another is still starting.
import { isMainThread } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { CHAINED_COLUMNS, linkValues, type ChainKeying } from './chain.ts';
import { lossTolerated, pgOptions } from '../db/pg-connect.ts'; // s27: a time limit on new connections

export interface RangeTask {
  source: { dialect: 'sqlite'; file: string } | { dialect: 'postgres'; url: string };
  tenantId: string;
  /** The chain key (handed to worker threads in their workerData, never through the database). */
  keying: ChainKeying;
  from: number;
  to: number;
  /** Signed checkpoints in this range: seq → hash. */
  checkpoints: [number, string][];
}

export interface RangeResult {
  count: number;
  firstPrev: string | null;
  lastHash: string | null;
  bad?: { seq: number; problem: string };
}

const COLUMNS = [...CHAINED_COLUMNS, 'prev_hash', 'hash'].join(', ');
const SEQ = CHAINED_COLUMNS.indexOf('seq');
const PREV = CHAINED_COLUMNS.length;
const HASH = PREV + 1;
// Small batches keep each batch's rows in the young generation: 20,000 cost ~30 % more in GC here.
const BATCH = 2_000;

/** The events `first`..`last` of a chain cut into chunks of `size`, and the signed hashes within them. */
export interface ChunkPlan {
  source: RangeTask['source'];
  tenantId: string;
  keying: ChainKeying;
  first: number;
  last: number;
  size: number;
  checkpoints: [number, string][];
}

const chunkCount = (plan: ChunkPlan) => Math.max(1, Math.ceil((plan.last - plan.first + 1) / plan.size));

export function chunkTask(plan: ChunkPlan, i: number): RangeTask {
  const from = plan.first + i * plan.size;
  const to = Math.min(plan.last, from + plan.size - 1);
  return {
    source: plan.source,
    tenantId: plan.tenantId,
    keying: plan.keying,
    from,
    to,
    checkpoints: plan.checkpoints.filter(([seq]) => seq >= from && seq <= to),
  };
}

/** Verifies chunks until none is left to claim; `next` is shared by every thread verifying this plan. */
export async function verifyChunks(
  plan: ChunkPlan,
  next: Int32Array,
  done: (chunk: number, result: RangeResult) => void,
  progress?: (rows: number) => void,
): Promise<void> {
  for (let i = Atomics.add(next, 0, 1); i < chunkCount(plan); i = Atomics.add(next, 0, 1)) {
    done(i, await verifyRange(chunkTask(plan, i), progress));
  }
}

class RangeVerifier {
  readonly result: RangeResult = { count: 0, firstPrev: null, lastHash: null };
  private expected: number;
  private readonly signed: Map<number, string>;
  private readonly keying: ChainKeying;

  constructor(task: RangeTask) {
    this.expected = task.from;
    this.keying = task.keying;
    this.signed = new Map(task.checkpoints);
  }

  /** Returns false at the first bad row. */
  feed(row: unknown[]): boolean {
    const r = this.result;
    const seq = Number(row[SEQ]);
    const prev = row[PREV] as string;
    const stored = row[HASH] as string;
    if (seq !== this.expected) return this.fail(this.expected, 'event missing');
    if (r.lastHash === null) r.firstPrev = prev;
    else if (prev !== r.lastHash) return this.fail(seq, 'link to previous event broken');
    if (linkValues(this.keying, prev, row) !== stored) return this.fail(seq, 'event altered');
    const signed = this.signed.get(seq);
    if (signed !== undefined && signed !== stored) return this.fail(seq, 'event differs from signed checkpoint');
    r.lastHash = stored;
    r.count++;
    this.expected++;
    return true;
  }

  finish(to: number): RangeResult {
    if (!this.result.bad && this.expected <= to) this.fail(this.expected, 'event missing');
    return this.result;
  }

  private fail(seq: number, problem: string) {
    this.result.bad = { seq, problem };
    return false;
  }
}

async function verifyRange(task: RangeTask, progress?: (rows: number) => void): Promise<RangeResult> {
  const v = new RangeVerifier(task);
  if (task.source.dialect === 'sqlite') {
    const db = new Database(task.source.file, { readonly: true, fileMustExist: true });
    try {
      const batch = db
        .prepare(`SELECT ${COLUMNS} FROM audit_events WHERE tenant_id = ? AND seq BETWEEN ? AND ? ORDER BY seq`)
        .raw();
      for (let lo = task.from; lo <= task.to; lo += BATCH) {
        const rows = batch.all(task.tenantId, lo, Math.min(task.to, lo + BATCH - 1)) as unknown[][];
        for (const row of rows) if (!v.feed(row)) return v.result;
        progress?.(rows.length);
        // On the event loop's thread (a server's status request, the doctor) a turn between batches (~10 ms each):
        // a range of up to 99,999 events verified here held the loop for all of it (s25).
        if (isMainThread) await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      db.close();
    }
    return v.finish(task.to);
  }
  // Loaded only for PostgreSQL: a worker thread verifying SQLite starts ~40 ms sooner without it.
  const { default: pg } = await import('pg');
  const client = lossTolerated(new pg.Client(pgOptions(task.source.url)));
  await client.connect();
  try {
    await client.query(`SELECT set_config('kartei.tenant', $1, false)`, [task.tenantId]);
    for (let lo = task.from; lo <= task.to; lo += BATCH) {
      const res = await client.query({
        text: `SELECT ${COLUMNS} FROM audit_events WHERE tenant_id = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq`,
        values: [task.tenantId, lo, Math.min(task.to, lo + BATCH - 1)],
        rowMode: 'array',
      });
      for (const row of res.rows) if (!v.feed(row)) return v.result;
      progress?.(res.rows.length);
    }
  } finally {
    await client.end();
  }
  return v.finish(task.to);
}
