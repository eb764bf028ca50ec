// Migration 031-import: importing an office's existing data from CSV and XLSX (issue 17): the jobs and each row's outcome.
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import type { Migration } from 'kysely';
import { IMPORT_TENANT_TABLES, type Dialect } from '../schema.ts';
import { postgresWalls, type SchemaAtMigration } from './shared.ts';

/**
 * Issue 17: a department's import jobs. The uploaded file and the mapping are sealed with the
 * department key (the file is dropped when the job ends or is discarded); a job keeps only plain
 * facts that name no one: state, media type, size, encoding, delimiter, counts, its position (the
 * rows committed), who made it and when. Each row's outcome is its number, what the dry run and the
 * import did with it (created, matched, refused), a reason code and the person's id — never a value.
 */
export function importJobs(dialect: Dialect, appRole: string | undefined): Migration {
  return {
    async up(db: SchemaAtMigration) {
      const bin = dialect === 'postgres' ? 'bytea' : 'blob';
      await db.schema
        .createTable('import_jobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('department_id', 'text', (c) => c.notNull().references('departments.id'))
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('size', 'integer', (c) => c.notNull())
        .addColumn('detected_encoding', 'text')
        .addColumn('encoding', 'text')
        .addColumn('delimiter', 'text')
        .addColumn('upload_enc', bin)
        .addColumn('mapping_enc', bin)
        .addColumn('row_count', 'integer', (c) => c.notNull())
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('created_count', 'integer', (c) => c.notNull())
        .addColumn('matched_count', 'integer', (c) => c.notNull())
        .addColumn('refused_count', 'integer', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('finished_at', 'text')
        .execute();
      await db.schema
        .createIndex('import_jobs_department')
        .on('import_jobs')
        .columns(['tenant_id', 'department_id', 'created_at'])
        .execute();
      await db.schema
        .createTable('import_rows')
        .addColumn('job_id', 'text', (c) => c.notNull().references('import_jobs.id'))
        .addColumn('row_number', 'integer', (c) => c.notNull())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('dry_outcome', 'text', (c) => c.notNull())
        .addColumn('dry_reason', 'text')
        .addColumn('outcome', 'text')
        .addColumn('reason', 'text')
        .addColumn('person_id', 'text')
        .addColumn('record_id', 'text')
        .addPrimaryKeyConstraint('import_rows_pk', ['job_id', 'row_number'])
        .execute();
      if (dialect === 'postgres') await postgresWalls(db, IMPORT_TENANT_TABLES, appRole);
    },
  };
}
