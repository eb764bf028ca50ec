// Verifies signed stretches of a chain by their digest (issue 18/19, `batch-digest.ts`):
// the rows after one checkpoint up to the next, serialised and hashed once, against the
// digest the later checkpoint signed. On SQLite SQLite serialises each stretch itself and
// the hashing runs on libuv's threads (WebCrypto's digest) while this thread reads the next
// stretch, so this thread does little more per row than SQLite's own reading. A stretch
// whose digest differs is reported, not judged: the caller verifies it row by row.
import Database from 'better-sqlite3';
import { POSTGRES_STRETCH_SQL, SQLITE_STRETCH_SQL, serialiseRows } from './batch-digest.ts';
import type { RangeTask } from './verify-range.ts';

export interface Stretch {
  /** The first and last sequence number of the stretch. */
  from: number;
  to: number;
  digest: string;
}

/** How many stretches are hashed at once while the next are read. */
const IN_FLIGHT = 4;

const hex = (b: ArrayBuffer) => Buffer.from(b).toString('hex');

/** For each stretch, whether its rows as stored now have the signed digest (and are all there). */
export async function stretchesMatch(
  source: RangeTask['source'],
  tenantId: string,
  stretches: readonly Stretch[],
  progress?: (rows: number) => void,
): Promise<boolean[]> {
  const out: boolean[] = [];
  if (stretches.length === 0) return out;
  if (source.dialect === 'sqlite') {
    const db = new Database(source.file, { readonly: true, fileMustExist: true });
    try {
      const read = db.prepare(SQLITE_STRETCH_SQL).raw();
      const pending: Promise<void>[] = [];
      for (const [i, s] of stretches.entries()) {
        const [bytes, n] = read.get(tenantId, s.from - 1, s.to) as [Uint8Array<ArrayBuffer>, number];
        if (Number(n) !== s.to - s.from + 1) {
          out[i] = false;
          continue;
        }
        pending.push(
          crypto.subtle.digest('SHA-256', bytes).then((d) => {
            out[i] = hex(d) === s.digest;
            // Rows of a stretch that does not match are counted when they are verified row by row.
            if (out[i]) progress?.(Number(n));
          }),
        );
        if (pending.length >= IN_FLIGHT) await pending.shift();
      }
      await Promise.all(pending);
    } finally {
      db.close();
    }
    return out;
  }
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: source.url });
  await client.connect();
  try {
    await client.query(`SELECT set_config('kartei.tenant', $1, false)`, [tenantId]);
    for (const [i, s] of stretches.entries()) {
      const res = await client.query({
        text: POSTGRES_STRETCH_SQL,
        values: [tenantId, s.from - 1, s.to],
        rowMode: 'array',
      });
      const bytes = new TextEncoder().encode(serialiseRows(res.rows as unknown[][]));
      out[i] = res.rows.length === s.to - s.from + 1 && hex(await crypto.subtle.digest('SHA-256', bytes)) === s.digest;
      if (out[i]) progress?.(res.rows.length);
    }
  } finally {
    await client.end();
  }
  return out;
}
