// Work that one process of a deployment does at a time (issue 19: several
// instances on one PostgreSQL): held under a session-level advisory lock on a
// connection of its own for as long as the work runs, so a second instance
// starting at the same moment waits and then sees what the first left. With
// SQLite one server holds the data directory (serve-lock.ts): the work just runs.
import { sql } from 'kysely';
import type { Store } from './connect.ts';

export async function exclusively<T>(store: Store, name: string, work: () => Promise<T>): Promise<T> {
  if (store.dialect !== 'postgres') return work();
  return store.db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(hashtextextended(${name}, 0))`.execute(conn);
    try {
      return await work();
    } finally {
      await sql`select pg_advisory_unlock(hashtextextended(${name}, 0))`.execute(conn);
    }
  });
}

/** Names held by this process through `ifFree` (with SQLite the only place another holder can be). */
const heldHere = new Set<string>();

/**
 * As `exclusively`, but never waits: when another process of the deployment (or this one) holds the
 * lock, `work` does not run and the answer is `{ ran: false }`.
 */
export async function ifFree<T>(
  store: Store,
  name: string,
  work: () => Promise<T>,
): Promise<{ ran: true; value: T } | { ran: false }> {
  if (heldHere.has(name)) return { ran: false };
  heldHere.add(name);
  try {
    if (store.dialect !== 'postgres') return { ran: true, value: await work() };
    return await store.db.connection().execute(async (conn) => {
      const got = await sql<{ ok: boolean }>`select pg_try_advisory_lock(hashtextextended(${name}, 0)) as ok`.execute(
        conn,
      );
      if (!got.rows[0]?.ok) return { ran: false as const };
      try {
        return { ran: true as const, value: await work() };
      } finally {
        await sql`select pg_advisory_unlock(hashtextextended(${name}, 0))`.execute(conn);
      }
    });
  } finally {
    heldHere.delete(name);
  }
}
