// The read floor's chunk reader (`audit-read-floor.ts`), run on the calling thread and as a
// worker thread. Like verify's stretch worker it imports nothing but better-sqlite3, so both
// floors' workers start as soon as verify's do.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

export interface FloorPlan {
  file: string;
  tenantId: string;
  /** The chained columns and both links, as verify reads them. */
  columns: string;
  batch: number;
  n: number;
  chunk: number;
}

/** Reads chunks until none is left to claim; returns the rows read. */
export function readChunks(plan: FloorPlan, next: Int32Array): number {
  const db = new Database(plan.file, { readonly: true, fileMustExist: true });
  try {
    const batch = db
      .prepare(`SELECT ${plan.columns} FROM audit_events WHERE tenant_id = ? AND seq BETWEEN ? AND ? ORDER BY seq`)
      .raw();
    let rows = 0;
    const chunks = Math.max(1, Math.ceil(plan.n / plan.chunk));
    for (let i = Atomics.add(next, 0, 1); i < chunks; i = Atomics.add(next, 0, 1)) {
      const from = 1 + i * plan.chunk;
      const to = Math.min(plan.n, from + plan.chunk - 1);
      for (let lo = from; lo <= to; lo += plan.batch)
        rows += batch.all(plan.tenantId, lo, Math.min(to, lo + plan.batch - 1)).length;
    }
    return rows;
  } finally {
    db.close();
  }
}

if (!isMainThread && workerData?.plan) {
  const { plan, next } = workerData as { plan: FloorPlan; next: Int32Array };
  parentPort!.postMessage(readChunks(plan, next));
}
