// Migration 040-storage-walls: three walls the attack on issue 19's storage found missing (PostgreSQL
// only; nothing on SQLite).
// - `kartei_sealed_tenants` (038) is SECURITY DEFINER and kept PostgreSQL's default EXECUTE for PUBLIC:
//   any role that could connect listed the offices holding images or documents. Only the application
//   role may call it now.
// - A chunk names its object together with its office: the foreign key from `sealed_chunks` to
//   `sealed_objects` is checked past row-level security, so with the object's id alone one office's
//   session could attach chunks to another office's object (and learn which ids exist).
// - The application role may not touch the migrations' record (`kysely_migration`, its lock): before,
//   only SELECT was taken back. `postgresWalls` takes back everything from now on too.
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import { type Migration, sql } from 'kysely';
import type { Dialect } from '../schema.ts';
import type { SchemaAtMigration } from './shared.ts';

export function storageWalls(dialect: Dialect, appRole: string | undefined): Migration {
  return {
    async up(db: SchemaAtMigration) {
      if (dialect !== 'postgres') return;
      await sql`REVOKE EXECUTE ON FUNCTION kartei_sealed_tenants(text) FROM PUBLIC`.execute(db);
      if (appRole) await sql`GRANT EXECUTE ON FUNCTION kartei_sealed_tenants(text) TO ${sql.id(appRole)}`.execute(db);
      await sql`ALTER TABLE sealed_objects ADD CONSTRAINT sealed_objects_id_tenant UNIQUE (id, tenant_id)`.execute(db);
      await sql`ALTER TABLE sealed_chunks DROP CONSTRAINT sealed_chunks_object_id_fkey`.execute(db);
      await sql`ALTER TABLE sealed_chunks ADD CONSTRAINT sealed_chunks_object_fk FOREIGN KEY (object_id, tenant_id)
        REFERENCES sealed_objects (id, tenant_id) ON DELETE CASCADE`.execute(db);
      if (appRole) await sql`REVOKE ALL ON kysely_migration, kysely_migration_lock FROM ${sql.id(appRole)}`.execute(db);
    },
  };
}
