// The digest of a stretch of a chain (issue 18/19): SHA-256 over the events after one
// checkpoint up to the next, every chained column and both links of each, in sequence
// order. A checkpoint signs it (migration 033) after the stretch has verified row by row
// (`verify-tail.ts`), so `audit verify` later needs one hash over the stretch instead of
// one HMAC per row: if the digest of the rows as stored now is the signed one, they are
// byte for byte the rows the server verified. If it is not, the stretch is verified row by
// row again, which names the first bad event as before. On SQLite the rows are serialised
// by SQLite itself (one JSON text per stretch, handed over as bytes, no JavaScript value
// per row); on PostgreSQL from the rows in JavaScript. Signer and verifier use the same form
// on the same dialect; a stretch whose form differs (a database moved to the other dialect)
// is verified row by row, never passed.
import { hash } from 'node:crypto';
import { sql } from 'kysely';
import type { Tx } from '../db/connect.ts';
import type { Dialect } from '../db/schema.ts';
import { CHAINED_COLUMNS } from './chain.ts';

const ROW_COLUMNS = [...CHAINED_COLUMNS, 'prev_hash', 'hash'] as const;
const SEQ = ROW_COLUMNS.indexOf('seq');

// hex() of NULL is '' in SQLite: a NULL stays null, so it cannot pass for an empty value. hex() of a TEXT is that
// of its bytes: anything but a BLOB is written with its type before it (never hex), so the sealed reason turned into
// a TEXT of the same bytes does not pass for the BLOB that was signed (s25). A BLOB and NULL are written as before.
const sqliteValue = (c: string) =>
  c === 'reason_enc'
    ? `CASE typeof(reason_enc) WHEN 'null' THEN NULL WHEN 'blob' THEN lower(hex(reason_enc)) ELSE typeof(reason_enc) || ':' || reason_enc END`
    : c;

// No ORDER BY inside the aggregate: it would sort every stretch in a temporary b-tree (0.8 against 0.5 µs a row
// here). The rows come in the primary key's order (tenant_id, seq), the order of the scan both signer and verifier
// run; were it ever to differ, the digest would differ and the stretch would be verified row by row, never passed.
const SQLITE_ROWS = `CAST(json_group_array(json_array(${ROW_COLUMNS.map(sqliteValue).join(', ')})) AS BLOB)`;

/** SQLite: the rows of `tenant_id = ? AND seq > ? AND seq <= ?` as one JSON array of arrays (bytes), and their count. */
export const SQLITE_STRETCH_SQL = `SELECT ${SQLITE_ROWS} AS rows, count(*) AS n FROM audit_events WHERE tenant_id = ? AND seq > ? AND seq <= ?`;

/** PostgreSQL: the rows of `tenant_id = $1 AND seq > $2 AND seq <= $3`, in order (rows as arrays). */
export const POSTGRES_STRETCH_SQL = `SELECT ${ROW_COLUMNS.join(', ')} FROM audit_events WHERE tenant_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq`;

/** The serialised form of rows read on PostgreSQL (bytea as lowercase hex, the sequence number as a number). */
export function serialiseRows(rows: readonly (readonly unknown[])[]): string {
  return JSON.stringify(
    rows.map((row) =>
      row.map((v, i) => (i === SEQ ? Number(v) : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v)),
    ),
  );
}

/** The digest of the events after `from` up to `to` as the signer sees them in its transaction, and how many there are. */
export async function stretchDigest(
  tx: Tx,
  dialect: Dialect,
  chainId: string,
  from: number,
  to: number,
): Promise<{ digest: string; count: number }> {
  if (dialect === 'sqlite') {
    const { rows } = await sql<{ rows: Uint8Array; n: number }>`SELECT ${sql.raw(SQLITE_ROWS)} AS rows, count(*) AS n
      FROM audit_events WHERE tenant_id = ${chainId} AND seq > ${from} AND seq <= ${to}`.execute(tx);
    return { digest: hash('sha256', rows[0]!.rows, 'hex'), count: Number(rows[0]!.n) };
  }
  const rows = await tx
    .selectFrom('audit_events')
    .select([...ROW_COLUMNS])
    .where('tenant_id', '=', chainId)
    .where('seq', '>', from)
    .where('seq', '<=', to)
    .orderBy('seq')
    .execute();
  const arrays = rows.map((r) => ROW_COLUMNS.map((c) => r[c]));
  return { digest: hash('sha256', serialiseRows(arrays), 'hex'), count: arrays.length };
}
