// Migration 028-documents: a file's documents (uploads and generated letters) and the mail-room's unassigned scans.
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import type { Migration } from 'kysely';
import { sql } from 'kysely';
import type { Dialect } from '../schema.ts';
import { postgresWalls, type SchemaAtMigration } from './shared.ts';

/**
 * Issue 17: `documents` holds one row per document: its department, its file (`person_id`, null while
 * the scan waits in the department's mail-room), kind, sensitivity, current version, the template and
 * record it was made for, and a deletion's reason (sealed) and retention like records. `document_versions`
 * holds each version: media type, size, and, sealed, its name and title (under the version's own data
 * key) and that data key (wrapped with the file's person key, or the department key in the mail-room).
 * The bytes are a sealed file `documents/<tenant>/<department>/<id>-<version>` under the data directory.
 * Nothing here names anyone or says anything clinical in plain text.
 */
export function documents(dialect: Dialect, appRole: string | undefined): Migration {
  return {
    async up(db: SchemaAtMigration) {
      const bin = dialect === 'postgres' ? sql`bytea` : sql`blob`;
      await db.schema
        .createTable('documents')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('department_id', 'text', (c) => c.notNull().references('departments.id'))
        .addColumn('person_id', 'text', (c) => c.references('persons.id'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('sensitivity', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('template_id', 'text')
        .addColumn('record_id', 'text', (c) => c.references('records.id'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .addColumn('deleted_at', 'text')
        .addColumn('deleted_by', 'text')
        .addColumn('delete_reason_enc', bin)
        .addColumn('retain_until', 'text')
        .execute();
      await db.schema
        .createIndex('documents_by_file')
        .on('documents')
        .columns(['tenant_id', 'person_id', 'created_at'])
        .execute();
      await db.schema
        .createIndex('documents_by_department')
        .on('documents')
        .columns(['tenant_id', 'department_id', 'person_id'])
        .execute();
      await db.schema
        .createTable('document_versions')
        .addColumn('document_id', 'text', (c) => c.notNull().references('documents.id'))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('media_type', 'text', (c) => c.notNull())
        .addColumn('size', 'integer', (c) => c.notNull())
        .addColumn('name_enc', bin, (c) => c.notNull())
        .addColumn('data_key_enc', bin, (c) => c.notNull())
        .addColumn('template_version', 'integer')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('document_versions_pk', ['document_id', 'version'])
        .execute();
      if (dialect === 'postgres') await postgresWalls(db, ['documents', 'document_versions'], appRole);
    },
  };
}
