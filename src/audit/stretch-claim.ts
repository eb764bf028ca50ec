// Claims signed stretches of a chain from a counter shared by every thread checking them, and
// hashes each (issue 18): the loop `verify-stretch.ts` runs on the calling thread and
// `verify-stretch-worker.ts` on a worker. It imports nothing but better-sqlite3 and
// node:crypto, so a worker starts in ~40 ms; the statement comes from the caller.
import { hash } from 'node:crypto';
import Database, { type Statement } from 'better-sqlite3';

export interface StretchPlan {
  file: string;
  tenantId: string;
  /** SQLITE_STRETCH_SQL (`batch-digest.ts`): the stretch's rows as one text, and their count. */
  sql: string;
  stretches: readonly { from: number; to: number; digest: string }[];
}

/** Shared between the threads: the next stretch to claim, and each stretch's verdict (0 unknown, 1 holds, 2 does not). */
export interface StretchBoard {
  next: Int32Array<SharedArrayBuffer>;
  verdicts: Int8Array<SharedArrayBuffer>;
}

export const HOLDS = 1;
const DIFFERS = 2;

export function stretchBoard(n: number): StretchBoard {
  return {
    next: new Int32Array(new SharedArrayBuffer(4)),
    verdicts: new Int8Array(new SharedArrayBuffer(Math.max(n, 1))),
  };
}

/**
 * Whether the stretch's rows as stored now are all there and have its digest. A stretch SQLite cannot
 * serialise (a BLOB an attacker wrote into a text column: "JSON cannot hold BLOB values") does not hold:
 * it is verified row by row, which names the row, instead of failing the whole verification.
 */
function stretchHolds(read: Statement, tenantId: string, s: StretchPlan['stretches'][number]): boolean {
  let bytes: Uint8Array | null;
  let n: number;
  try {
    [bytes, n] = read.get(tenantId, s.from - 1, s.to) as [Uint8Array | null, number];
  } catch {
    return false;
  }
  const holds = Number(n) === s.to - s.from + 1 && bytes !== null && hash('sha256', bytes, 'hex') === s.digest;
  if (bytes) free(bytes);
  return holds;
}

/**
 * Gives a stretch's bytes back as soon as they are hashed (ES2024 `transfer(0)` detaches and frees them): ~300 KB a
 * stretch, ~90 MB over a verification of 300,000 events, which V8 would otherwise count towards a full collection
 * (it starts one per ~64 MiB of fresh ArrayBuffers) in the middle of the next verification (issue 18).
 */
function free(bytes: Uint8Array): void {
  if (bytes.byteOffset !== 0 || bytes.byteLength !== bytes.buffer.byteLength) return;
  try {
    (bytes.buffer as ArrayBuffer & { transfer(length: number): ArrayBuffer }).transfer(0);
  } catch {
    // Not detachable: left to the garbage collector.
  }
}

/** Opens the database for claiming; `claim` checks up to `most` stretches and returns the rows that held (-1: none left). */
export function stretchClaimer(plan: StretchPlan, board: StretchBoard) {
  const db = new Database(plan.file, { readonly: true, fileMustExist: true });
  const read = db.prepare(plan.sql).raw();
  return {
    claim(most: number): number {
      let rows = 0;
      for (let done = 0; done < most; done++) {
        const i = Atomics.add(board.next, 0, 1);
        if (i >= plan.stretches.length) return done === 0 ? -1 : rows;
        const s = plan.stretches[i]!;
        const holds = stretchHolds(read, plan.tenantId, s);
        board.verdicts[i] = holds ? HOLDS : DIFFERS;
        // Rows of a stretch that does not hold are counted when they are verified row by row.
        if (holds) rows += s.to - s.from + 1;
      }
      return rows;
    },
    close: () => db.close(),
  };
}
