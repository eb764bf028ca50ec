// Before a key directory's master key is made: a database that already holds offices was sealed
// under a master key, and a new one would open none of it. Such a start is refused naming the
// missing file, before anything is written into the key directory (s25: `serve` made a new
// master.key, and only then refused the offices' keys it could not open).
import fs from 'node:fs';
import { withoutCredentials } from '../config/shown-address.ts';
import { refusal } from '../config/refusal.ts';
import { databaseNotReached, type Store } from '../db/connect.ts';
import { lossTolerated, pgOptions } from '../db/pg-connect.ts'; // s27
import { KeyFileError } from './key-file.ts';

/** Throws (after closing the store) when `file`, the absent master key, is needed by the data in `store`. */
export async function refuseLostMasterKey(store: Store, file: string, databaseUrl?: string): Promise<void> {
  const office = await store.db.selectFrom('tenants').select('id').limit(1).executeTakeFirst();
  if (!office) return;
  await store.close();
  const database = store.file ?? withoutCredentials(databaseUrl ?? '');
  throw new KeyFileError(
    `There is no master key ${file}, but the database ${database} holds offices: their data opens only with the master key it was sealed with; put back the key directory that belongs to it (its backup: kartei backup --keys). Kartei does not start without it.`,
    refusal('master-key-lost', { file, database }),
  );
}

/** How long the doctor waits for its one query's answer (for the connection: pg-connect.ts's limit). */
const LOOK_MS = 10_000;

/**
 * For `kartei doctor`, which only looks: whether the installation's database exists and holds offices,
 * read without migrating or writing (SQLite opened read-only; PostgreSQL one query). A database that
 * SQLite cannot read, or has no table of offices yet, holds none; a PostgreSQL not reached in time
 * is refused (database-not-reached, or database-no-answer).
 */
export async function databaseHoldsOffices(sqliteFile: string, databaseUrl?: string): Promise<boolean> {
  const query = 'SELECT 1 FROM tenants LIMIT 1';
  if (!databaseUrl) {
    if (!fs.existsSync(sqliteFile)) return false;
    const { default: Database } = await import('better-sqlite3');
    try {
      const db = new Database(sqliteFile, { readonly: true, fileMustExist: true });
      try {
        return db.prepare(query).get() !== undefined;
      } finally {
        db.close();
      }
    } catch {
      return false;
    }
  }
  // s25-review: a time limit (a server that accepts and never answers held the doctor forever), and a
  // database that cannot be asked is a refusal, not "holds none" (that said "not initialised yet", exit 0).
  const { default: pg } = await import('pg');
  const client = lossTolerated(new pg.Client({ ...pgOptions(databaseUrl), query_timeout: LOOK_MS }));
  try {
    await client.connect();
    return (await client.query(query)).rowCount! > 0;
  } catch (e) {
    // No table of offices yet (42P01): a setup that stopped before its first migration.
    if ((e as { code?: unknown }).code === '42P01') return false;
    throw databaseNotReached(e as Error);
  } finally {
    await client.end().catch(() => undefined);
  }
}
