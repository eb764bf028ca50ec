// Verifies signed stretches of a chain by their digest (issue 18/19, `batch-digest.ts`):
// the rows after one checkpoint up to the next, serialised and hashed once, against the
// digest the later checkpoint signed. On SQLite SQLite serialises each stretch itself, and
// the stretches are claimed from a shared counter by this thread and, for a long chain, by
// worker threads (`stretch-claim.ts`): each reads and hashes what it claims, and a worker's
// small heap pays little for the garbage collections the stretches' bytes set off. A
// stretch whose digest differs is reported, not judged: the caller verifies it row by row.
import { hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { SQLITE_STRETCH_SQL, serialiseRows, POSTGRES_STRETCH_SQL } from './batch-digest.ts';
import { HOLDS, type StretchBoard, type StretchPlan, stretchBoard, stretchClaimer } from './stretch-claim.ts';
import type { RangeTask } from './verify-range.ts';
import { laterWorker, placedWorker, workDone, workerSpare } from './verify-slots.ts';
import { lossTolerated, pgOptions } from '../db/pg-connect.ts'; // s27: a time limit on new connections

export interface Stretch {
  /** The first and last sequence number of the stretch. */
  from: number;
  to: number;
  digest: string;
}

/** How the stretches are shared out: `threads` in all (this one included); `workersOnly` leaves them all to workers. */
export interface StretchThreads {
  threads: number;
  workersOnly?: boolean;
}

/** Stretches this thread checks between two turns of its event loop (~1 ms each): a server stays responsive. */
const PER_TURN = 4;

/** For each stretch, whether its rows as stored now have the signed digest (and are all there). */
export async function stretchesMatch(
  source: RangeTask['source'],
  tenantId: string,
  stretches: readonly Stretch[],
  progress?: (rows: number) => void,
  split: StretchThreads = { threads: 1 },
): Promise<boolean[]> {
  if (stretches.length === 0) return [];
  if (source.dialect === 'sqlite') {
    const plan: StretchPlan = { file: source.file, tenantId, sql: SQLITE_STRETCH_SQL, stretches };
    const board = stretchBoard(stretches.length);
    const wanted = split.workersOnly ? Math.max(split.threads, 2) - 1 : split.threads - 1;
    const workers: Promise<void>[] = [];
    // At most one per spare core in the process, shared with every other verification (`verify-slots.ts`).
    for (let i = 0; i < wanted && workerSpare(split.workersOnly); i++) workers.push(inWorker(plan, board, progress));
    // A verification just before may hold a place for the few milliseconds its finished worker takes to exit.
    const left = () => Atomics.load(board.next, 0) < stretches.length;
    const mine = split.workersOnly && workers.length > 0 ? undefined : onThisThread(plan, board, progress);
    for (let i = workers.length; i < wanted && !split.workersOnly; i++)
      workers.push(laterWorker(left, () => inWorker(plan, board, progress), mine));
    await Promise.all([mine, ...workers]);
    return Array.from(board.verdicts.subarray(0, stretches.length), (v) => v === HOLDS);
  }
  const out: boolean[] = [];
  const { default: pg } = await import('pg');
  const client = lossTolerated(new pg.Client(pgOptions(source.url)));
  await client.connect();
  try {
    await client.query(`SELECT set_config('kartei.tenant', $1, false)`, [tenantId]);
    for (const [i, s] of stretches.entries()) {
      const res = await client.query({
        text: POSTGRES_STRETCH_SQL,
        values: [tenantId, s.from - 1, s.to],
        rowMode: 'array',
      });
      out[i] =
        res.rows.length === s.to - s.from + 1 &&
        hash('sha256', serialiseRows(res.rows as unknown[][]), 'hex') === s.digest;
      if (out[i]) progress?.(res.rows.length);
    }
  } finally {
    await client.end();
  }
  return out;
}

/** Claims stretches on this thread, a few per turn of the event loop, until none is left. */
async function onThisThread(plan: StretchPlan, board: StretchBoard, progress?: (rows: number) => void) {
  const claimer = stretchClaimer(plan, board);
  try {
    for (let rows = claimer.claim(PER_TURN); rows >= 0; rows = claimer.claim(PER_TURN)) {
      if (rows > 0) progress?.(rows);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    claimer.close();
  }
}

function inWorker(plan: StretchPlan, board: StretchBoard, progress?: (rows: number) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const worker = placedWorker(
      () => new Worker(new URL('./verify-stretch-worker.ts', import.meta.url), { workerData: { plan, board } }),
    );
    worker.on('message', (m: number | 'finished') => {
      if (m === 'finished') {
        workDone(worker);
        resolve();
      } else progress?.(m);
    });
    worker.once('error', reject);
    worker.once('exit', () => reject(new Error('stretch worker stopped before it finished')));
  });
}
