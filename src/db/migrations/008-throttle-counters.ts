// Migration 008-throttle-counters: login throttling by counters moved before the check.
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import type { Migration } from 'kysely';
import type { Dialect } from '../schema.ts';
import { postgresWalls, type SchemaAtMigration } from './shared.ts';

/**
 * Login throttling that holds under concurrency (issue 13): one counter row per
 * subject (account, address, or an account at an address it has logged in from),
 * moved by a single conditional upsert before a password or code is checked,
 * replaces the failure log that was counted before and written after. A login
 * challenge counts its codes. Deployment-wide like the users it protects: a
 * login names no tenant, so no row-level wall. Times are milliseconds.
 */
export function throttle(dialect: Dialect, appRole: string | undefined): Migration {
  const big = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: SchemaAtMigration) {
      await db.schema.dropTable('login_failures').execute();
      await db.schema
        .createTable('login_throttle')
        .addColumn('subject', 'text', (c) => c.primaryKey())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('last_failure_at', big, (c) => c.notNull())
        .addColumn('window_started_at', big, (c) => c.notNull())
        .addColumn('trusted_until', big, (c) => c.notNull())
        .execute();
      await db.schema
        .alterTable('login_challenges')
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      if (dialect === 'postgres') await postgresWalls(db, [], appRole);
    },
  };
}
