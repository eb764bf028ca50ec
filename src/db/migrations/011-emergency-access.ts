// Migration 011-emergency-access: the emergency search and revocable break-glass grants.
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import { sql, type Migration } from 'kysely';
import { EMERGENCY_TENANT_TABLES, type Dialect } from '../schema.ts';
import { postgresWalls, type SchemaAtMigration } from './shared.ts';

/**
 * Issue 13: the emergency search is an emergency access of its own, reviewed like
 * breaking the glass and limited per user (its rows are what the limit counts); the
 * files it showed are reached only through opaque handles of the caller's. A running
 * break-glass grant can be ended early (revoked by a head or the DPO, or by an
 * "unjustified" review).
 */
export function emergencyAccess(dialect: Dialect, appRole: string | undefined): Migration {
  return {
    async up(db: SchemaAtMigration) {
      const bin = dialect === 'postgres' ? sql`bytea` : sql`blob`;
      await db.schema.alterTable('break_glass').addColumn('revoked_at', 'text').execute();
      await db.schema.alterTable('break_glass').addColumn('revoked_by', 'text').execute();
      await db.schema
        .createTable('emergency_searches')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('reason_enc', bin, (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('results', 'integer', (c) => c.notNull())
        .addColumn('decision', 'text')
        .addColumn('comment_enc', bin)
        .addColumn('reviewed_by', 'text')
        .addColumn('reviewed_at', 'text')
        .execute();
      await db.schema
        .createIndex('emergency_searches_user')
        .on('emergency_searches')
        .columns(['tenant_id', 'user_id', 'created_at'])
        .execute();
      await db.schema
        .createTable('emergency_hits')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('search_id', 'text', (c) => c.notNull().references('emergency_searches.id'))
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('person_id', 'text', (c) => c.notNull().references('persons.id'))
        .addColumn('department_id', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('emergency_hits_search').on('emergency_hits').column('search_id').execute();
      if (dialect === 'postgres') await postgresWalls(db, EMERGENCY_TENANT_TABLES, appRole);
    },
  };
}
