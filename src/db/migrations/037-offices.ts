// Migration 037-offices: many offices on one deployment (issue 19). An office may be given its own
// address (a host name); its name is unique across the deployment; an office added by the operator
// gets its own one-time setup token.
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import { sql, type Migration } from 'kysely';
import type { Dialect } from '../schema.ts';
import { postgresWalls, type SchemaAtMigration } from './shared.ts';

/**
 * Issue 19: offices.
 * - `tenants.host`: the host name an office is served at (lower case, no port), unique, or null for an
 *   office without an address of its own (every office before this migration): those answer at every host
 *   no office claims, as before. `kartei offices add` adds a host-less office only to an empty deployment.
 * - `tenants.name_key`: the name folded to lower case, unique, so two `offices add` of one name cannot
 *   both succeed (the constraint decides, also between processes).
 * - `office_setup_tokens`: one row per office added by the operator; only the token's SHA-256, looked up
 *   by it before any office is known (like `setup_token` and `enrolments`), so not walled by tenant.
 */
export function offices(dialect: Dialect, appRole: string | undefined): Migration {
  return {
    async up(db: SchemaAtMigration) {
      await db.schema.alterTable('tenants').addColumn('host', 'text').execute();
      await db.schema.alterTable('tenants').addColumn('name_key', 'text').execute();
      await sql`update tenants set name_key = lower(name)`.execute(db);
      await db.schema.createIndex('tenants_host').unique().on('tenants').column('host').execute();
      await db.schema.createIndex('tenants_name_key').unique().on('tenants').column('name_key').execute();
      await db.schema
        .createTable('office_setup_tokens')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().unique().references('tenants.id'))
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('used_at', 'text')
        .execute();
      // Not a tenant table (no walls); the grants are given again so the application's role may use it.
      if (dialect === 'postgres') await postgresWalls(db, [], appRole);
    },
  };
}
