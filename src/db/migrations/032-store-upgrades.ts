// Migration 032-store-upgrades: which one-time upgrades of the stored data the server has finished (issue 18).
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import type { Migration } from 'kysely';
import type { Dialect } from '../schema.ts';
import { postgresWalls, type SchemaAtMigration } from './shared.ts';

/**
 * Issue 18: an upgrade only the server can run (it needs the keys: a migration cannot) is recorded here
 * once it has finished for every office, so a later start does not look again. One row per upgrade: its
 * name and when it finished — nothing about an office or a person. Empty after this migration: a store
 * that still needs an upgrade gets it at the next start.
 */
export function storeUpgrades(dialect: Dialect, appRole: string | undefined): Migration {
  return {
    async up(db: SchemaAtMigration) {
      await db.schema
        .createTable('store_upgrades')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('done_at', 'text', (c) => c.notNull())
        .execute();
      // Not a tenant table (no walls); the grants are given again so the application's role may read and write it.
      if (dialect === 'postgres') await postgresWalls(db, [], appRole);
    },
  };
}
