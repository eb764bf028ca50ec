// Migration 021-demis-connection: an office's connection to DEMIS (token endpoint, clearing API,
// certificate and key) and where its fetching stands.
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import { sql, type Migration } from 'kysely';
import type { Dialect } from '../schema.ts';
import { postgresWalls, type SchemaAtMigration } from './shared.ts';

/**
 * Issue 16: one row per office (src/demis/connection/connection-settings.ts). The client secret,
 * the password, the office's DEMIS user, the certificate and its private key are one sealed
 * field (`credentials_enc`, tenant key); the last error a server answered is sealed too. Plain:
 * the endpoints, the client id, the certificate's expiry (for `kartei doctor`) and the position
 * of the fetching. Read by the poller for every office at once, so not walled (like sso_configs).
 */
export function demisConnection(dialect: Dialect, appRole: string | undefined): Migration {
  return {
    async up(db: SchemaAtMigration) {
      const bin = dialect === 'postgres' ? sql`bytea` : sql`blob`;
      await db.schema
        .createTable('demis_connections')
        .addColumn('tenant_id', 'text', (c) => c.primaryKey().references('tenants.id'))
        .addColumn('token_url', 'text', (c) => c.notNull())
        .addColumn('clearing_url', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('credentials_enc', bin, (c) => c.notNull())
        .addColumn('cert_not_after', 'text', (c) => c.notNull())
        .addColumn('department_id', 'text', (c) => c.notNull().references('departments.id'))
        .addColumn('poll_interval_s', 'integer', (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('position', 'text')
        .addColumn('position_ids', 'text', (c) => c.notNull())
        .addColumn('last_poll_at', 'text')
        .addColumn('last_success_at', 'text')
        .addColumn('last_imported', 'integer', (c) => c.notNull())
        .addColumn('last_error_enc', bin)
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('next_poll_at', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .execute();
      if (dialect === 'postgres') await postgresWalls(db, [], appRole);
    },
  };
}
