// Migration 023-contacts: contacts of IfSG cases (their facts beside their records) and the daily follow-up entries.
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import { sql, type Migration } from 'kysely';
import type { Dialect } from '../schema.ts';
import { postgresWalls, type SchemaAtMigration } from './shared.ts';

/**
 * Issue 16: a contact person of a case is a record of type `ifsg-contact` in the contact's own file.
 * Beside it, `ifsg_contacts` holds what the department's worklist and a case's contact list select
 * by (the index case, the follow-up period, the state), kept in step in the same transaction; nothing
 * in it names the person or says anything clinical. `contact_follow_ups` holds the daily follow-up
 * entries (symptoms asked by phone): append-only, one per contact and day, the entry itself sealed
 * with the contact person's key.
 */
export function contacts(dialect: Dialect, appRole: string | undefined): Migration {
  return {
    async up(db: SchemaAtMigration) {
      const bin = dialect === 'postgres' ? sql`bytea` : sql`blob`;
      await db.schema
        .createTable('ifsg_contacts')
        .addColumn('record_id', 'text', (c) => c.primaryKey().references('records.id'))
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('department_id', 'text', (c) => c.notNull().references('departments.id'))
        .addColumn('person_id', 'text', (c) => c.notNull().references('persons.id'))
        .addColumn('case_record_id', 'text', (c) => c.notNull().references('records.id'))
        .addColumn('last_exposure', 'text', (c) => c.notNull())
        .addColumn('follow_up_until', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('sensitivity', 'text', (c) => c.notNull())
        .addColumn('converted_case_id', 'text')
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('changed_at', 'text', (c) => c.notNull())
        .addColumn('deleted_at', 'text')
        .execute();
      await db.schema
        .createIndex('ifsg_contacts_case')
        .on('ifsg_contacts')
        .columns(['tenant_id', 'case_record_id'])
        .execute();
      await db.schema
        .createIndex('ifsg_contacts_worklist')
        .on('ifsg_contacts')
        .columns(['tenant_id', 'department_id', 'state', 'follow_up_until'])
        .execute();
      await db.schema
        .createTable('contact_follow_ups')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('contact_record_id', 'text', (c) => c.notNull().references('records.id'))
        .addColumn('day', 'text', (c) => c.notNull())
        .addColumn('by_user', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('entry_enc', bin, (c) => c.notNull())
        .execute();
      // One entry per contact and day: a second (a retry, a colleague at the same time) is refused.
      await db.schema
        .createIndex('contact_follow_ups_one_a_day')
        .unique()
        .on('contact_follow_ups')
        .columns(['tenant_id', 'contact_record_id', 'day'])
        .execute();
      // Append-only: an entry is what was asked that day, never changed or removed afterwards.
      if (dialect === 'sqlite') {
        for (const op of ['UPDATE', 'DELETE'])
          await sql
            .raw(
              `CREATE TRIGGER contact_follow_ups_no_${op.toLowerCase()} BEFORE ${op} ON contact_follow_ups ` +
                `BEGIN SELECT RAISE(ABORT, 'contact_follow_ups is append-only'); END`,
            )
            .execute(db);
      } else {
        // The function migration 001 created for the audit tables.
        await sql
          .raw(
            'CREATE TRIGGER contact_follow_ups_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON contact_follow_ups ' +
              'FOR EACH STATEMENT EXECUTE FUNCTION kartei_append_only()',
          )
          .execute(db);
        await postgresWalls(db, ['ifsg_contacts', 'contact_follow_ups'], appRole);
      }
    },
  };
}
