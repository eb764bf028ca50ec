// Migration 025-transmission: the §11 IfSG transmission's settings, its log and what each case was sent as.
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import { sql, type Migration } from 'kysely';
import { TRANSMISSION_TENANT_TABLES, type Dialect } from '../schema.ts';
import { postgresWalls, type SchemaAtMigration } from './shared.ts';

/**
 * Issue 16: a department transmits its cases' pseudonymised data (§11 IfSG). Its settings name
 * its district (AGS) and the recipient (sealed); each transmission keeps its file sealed with the
 * department key and the file's SHA-256, numbered per department (unique: two creates cannot
 * share a number); `transmitted_cases` holds, per case, the record version last sent, the person's
 * file version and (sealed) the person facts sent with it, the case's revision in the files, and
 * whether it was sent as withdrawn, so "new, changed, withdrawn since the last transmission" is
 * exact by version. Nothing here names a person or a disease.
 */
export function transmission(dialect: Dialect, appRole: string | undefined): Migration {
  return {
    async up(db: SchemaAtMigration) {
      const bin = dialect === 'postgres' ? sql`bytea` : sql`blob`;
      await db.schema
        .createTable('transmission_settings')
        .addColumn('department_id', 'text', (c) => c.primaryKey().references('departments.id'))
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('district_code', 'text', (c) => c.notNull())
        .addColumn('recipient_enc', bin, (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('transmissions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('department_id', 'text', (c) => c.notNull().references('departments.id'))
        .addColumn('sequence', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('new_count', 'integer', (c) => c.notNull())
        .addColumn('changed_count', 'integer', (c) => c.notNull())
        .addColumn('withdrawn_count', 'integer', (c) => c.notNull())
        .addColumn('payload_enc', bin, (c) => c.notNull())
        .addColumn('payload_sha256', 'text', (c) => c.notNull())
        .addUniqueConstraint('transmissions_department_sequence', ['tenant_id', 'department_id', 'sequence'])
        .execute();
      await db.schema
        .createTable('transmitted_cases')
        .addColumn('record_id', 'text', (c) => c.primaryKey().references('records.id'))
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('department_id', 'text', (c) => c.notNull().references('departments.id'))
        .addColumn('last_version', 'integer', (c) => c.notNull())
        .addColumn('revision', 'integer', (c) => c.notNull())
        .addColumn('person_id', 'text', (c) => c.notNull())
        .addColumn('person_version', 'integer', (c) => c.notNull())
        .addColumn('person_enc', bin, (c) => c.notNull())
        .addColumn('last_transmission_id', 'text', (c) => c.notNull().references('transmissions.id'))
        .addColumn('withdrawn', 'integer', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('transmitted_cases_department')
        .on('transmitted_cases')
        .columns(['tenant_id', 'department_id'])
        .execute();
      if (dialect === 'postgres') await postgresWalls(db, TRANSMISSION_TENANT_TABLES, appRole);
    },
  };
}
