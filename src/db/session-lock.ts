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
