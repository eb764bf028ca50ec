// Migration 020-ifsg-cases: the facts of each IfSG case that lists, counts and the §11 transmission need.
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import { sql, type Migration } from 'kysely';
import type { Dialect } from '../schema.ts';
import { postgresWalls, type SchemaAtMigration } from './shared.ts';

/**
 * Issue 16: an IfSG case is a record of type `ifsg-case` in the person's file (versioned, sealed,
 * gated and audited like every record). Beside it, one row per case holds what a department's
 * lists, its numbers and the §11 transmission select by, kept in step in the same transaction:
 * the disease only as a keyed digest (and sealed for its label), the status, the category, the
 * reporting week, the outbreak. Nothing in it names or identifies the person.
 */
export function ifsgCases(dialect: Dialect, appRole: string | undefined): Migration {
  return {
    async up(db: SchemaAtMigration) {
      const bin = dialect === 'postgres' ? sql`bytea` : sql`blob`;
      await db.schema
        .createTable('ifsg_cases')
        .addColumn('record_id', 'text', (c) => c.primaryKey().references('records.id'))
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('department_id', 'text', (c) => c.notNull().references('departments.id'))
        .addColumn('person_id', 'text', (c) => c.notNull().references('persons.id'))
        .addColumn('disease_digest', 'text', (c) => c.notNull())
        .addColumn('disease_enc', bin, (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('category', 'text')
        .addColumn('sensitivity', 'text', (c) => c.notNull())
        .addColumn('notified_on', 'text', (c) => c.notNull())
        .addColumn('reporting_week', 'text', (c) => c.notNull())
        .addColumn('outbreak_id', 'text')
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('changed_at', 'text', (c) => c.notNull())
        .addColumn('deleted_at', 'text')
        .execute();
      await db.schema
        .createIndex('ifsg_cases_department_week')
        .on('ifsg_cases')
        .columns(['tenant_id', 'department_id', 'reporting_week'])
        .execute();
      await db.schema
        .createIndex('ifsg_cases_person_disease')
        .on('ifsg_cases')
        .columns(['person_id', 'disease_digest'])
        .execute();
      await db.schema.createIndex('ifsg_cases_changed').on('ifsg_cases').columns(['tenant_id', 'changed_at']).execute();
      await db.schema.createIndex('ifsg_cases_outbreak').on('ifsg_cases').columns(['outbreak_id']).execute();
      if (dialect === 'postgres') await postgresWalls(db, ['ifsg_cases'], appRole);
    },
  };
}
