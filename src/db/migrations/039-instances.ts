// Migration 039-instances: several `kartei serve` processes on one database (issue 19). Each running
// server has a row in `server_instances`; the first office's setup token, bulk letter runs, imports and DEMIS
// polls name the instance that holds them, so another instance sees who does what and takes over
// what a dead instance left.
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import type { Migration } from 'kysely';
import type { Dialect } from '../schema.ts';
import { postgresWalls, type SchemaAtMigration } from './shared.ts';

/**
 * Issue 19: instances.
 * - `server_instances`: one row per start of a server (`id` new each start; `data_dir_id` the same for every start
 *   from one data directory): host name, pid, Kartei version, schema level, a fingerprint of the key
 *   directory (a one-way digest of key ids, never key material), storage kind, listen addresses, started,
 *   last heartbeat, stopped (null while it runs or after a crash). Not a tenant table: it names no office.
 * - `setup_token.issued_by`: the instance that printed the first office's setup link (null: before this).
 * - `letter_runs.runner`, `import_jobs.runner`, `demis_connections.polled_by`: the instance working on the
 *   run, the import or the office's poll now (null: nobody); an instance whose heartbeat stopped holds nothing.
 */
export function instances(dialect: Dialect, appRole: string | undefined): Migration {
  return {
    async up(db: SchemaAtMigration) {
      await db.schema
        .createTable('server_instances')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('data_dir_id', 'text', (c) => c.notNull())
        .addColumn('host', 'text', (c) => c.notNull())
        .addColumn('pid', 'integer', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('schema_level', 'text', (c) => c.notNull())
        .addColumn('key_fingerprint', 'text', (c) => c.notNull())
        .addColumn('storage', 'text')
        .addColumn('listen', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('heartbeat_at', 'text', (c) => c.notNull())
        .addColumn('stopped_at', 'text')
        .execute();
      await db.schema
        .createIndex('server_instances_by_heartbeat')
        .on('server_instances')
        .column('heartbeat_at')
        .execute();
      await db.schema.alterTable('setup_token').addColumn('issued_by', 'text').execute();
      await db.schema.alterTable('letter_runs').addColumn('runner', 'text').execute();
      await db.schema.alterTable('import_jobs').addColumn('runner', 'text').execute();
      await db.schema.alterTable('demis_connections').addColumn('polled_by', 'text').execute();
      // Not a tenant table (no walls); the grants are given again so the application's role may use it.
      if (dialect === 'postgres') await postgresWalls(db, [], appRole);
    },
  };
}
