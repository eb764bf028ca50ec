// Claims signed stretches of a chain from a counter shared by every thread checking them, and
// hashes each (issue 18): the loop `verify-stretch.ts` runs on the calling thread and
// `verify-stretch-worker.ts` on a worker. It imports nothing but better-sqlite3, node:crypto
// and free-buffer.ts (which imports nothing), so a worker starts in ~40 ms; the statement comes
// from the caller.
import { hash } from 'node:crypto';
import Database, { type Statement } from 'better-sqlite3';
import { freeBuffer } from '../vault/free-buffer.ts';

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
  // Given back as soon as hashed (issue 18): ~300 KB a stretch, ~90 MB over a verification of 300,000 events,
  // which V8 would otherwise count towards a full collection in the middle of the next verification.
  if (bytes) freeBuffer(bytes);
  return holds;
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
