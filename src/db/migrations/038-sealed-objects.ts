// Migration 038-sealed-objects: on PostgreSQL (nothing on SQLite), images and documents kept in the database itself
// (issue 19: several instances share one store), sealed exactly as in files (vault/sealed-rows.ts).
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import { sql, type Migration } from 'kysely';
import type { Dialect } from '../schema.ts';
import { postgresWalls, type SchemaAtMigration } from './shared.ts';

/**
 * Issue 19: storage-db.
 * - `sealed_objects`: one row per stored object of an area (`images`, `documents`) under its path
 *   (the path a file would have under the area's directory), its stream header (format, chunk size,
 *   salt, nonce prefix: nothing secret, nothing plain), the sealed size once committed, when a writer
 *   last touched it and which process wrote it. An object is `committed` or a write in progress (or one
 *   a crash cut off); at most one committed object per path. `tenant_id` (the path's first segment)
 *   walls rows by office like every tenant table.
 * - `sealed_chunks`: the sealed chunks (ciphertext ‖ tag) of an object by number; stored uncompressed
 *   (`EXTERNAL`: ciphertext does not compress, so PostgreSQL need not try); they go with their object.
 * - `kartei_sealed_tenants(area)`: the offices holding objects of an area, for recovery's walk over
 *   all of them (the walls would hide every office but one); it names offices, nothing of the objects.
 */
export function sealedObjects(dialect: Dialect, appRole: string | undefined): Migration {
  return {
    async up(db: SchemaAtMigration) {
      if (dialect !== 'postgres') return;
      await db.schema
        .createTable('sealed_objects')
        .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
        .addColumn('area', 'text', (c) => c.notNull().check(sql`area in ('images', 'documents')`))
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('committed', 'boolean', (c) => c.notNull())
        .addColumn('header', 'bytea', (c) => c.notNull())
        .addColumn('sealed_size', 'bigint')
        .addColumn('modified_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('writer', 'text', (c) => c.notNull())
        .execute();
      await sql`create unique index sealed_objects_by_path on sealed_objects (area, path) where committed`.execute(db);
      await db.schema
        .createIndex('sealed_objects_by_tenant')
        .on('sealed_objects')
        .columns(['area', 'tenant_id', 'id'])
        .execute();
      await db.schema
        .createTable('sealed_chunks')
        .addColumn('object_id', 'bigint', (c) => c.notNull().references('sealed_objects.id').onDelete('cascade'))
        .addColumn('n', 'integer', (c) => c.notNull())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('bytes', 'bytea', (c) => c.notNull())
        .addPrimaryKeyConstraint('sealed_chunks_pk', ['object_id', 'n'])
        .execute();
      await sql`alter table sealed_chunks alter column bytes set storage external`.execute(db);
      // A loose scan of the index by tenant: one step per office, however many objects it holds.
      await sql
        .raw(
          `CREATE FUNCTION kartei_sealed_tenants(for_area text) RETURNS SETOF text ` +
            `LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$ ` +
            `WITH RECURSIVE t(tenant_id) AS (` +
            `(SELECT tenant_id FROM sealed_objects WHERE area = for_area ORDER BY tenant_id LIMIT 1) ` +
            `UNION ALL SELECT (SELECT o.tenant_id FROM sealed_objects o WHERE o.area = for_area ` +
            `AND o.tenant_id > t.tenant_id ORDER BY o.tenant_id LIMIT 1) FROM t WHERE t.tenant_id IS NOT NULL) ` +
            `SELECT tenant_id FROM t WHERE tenant_id IS NOT NULL $$`,
        )
        .execute(db);
      await postgresWalls(db, ['sealed_objects', 'sealed_chunks'], appRole);
    },
  };
}
