// Migration 024-outbreaks: a department's outbreaks (a group of cases in a setting and a period) and their timeline.
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import { sql, type Migration } from 'kysely';
import type { Dialect } from '../schema.ts';
import { postgresWalls, type SchemaAtMigration } from './shared.ts';

/**
 * Issue 16: an outbreak belongs to one department; its name and description are sealed with the
 * department key (a name like "Kita Sonnenschein" identifies a place), its setting, period and
 * state are plain. Its timeline (`outbreak_events`) is append-only, each entry's text sealed.
 * Which cases belong to it is the cases' own fact (`ifsg_cases.outbreak_id`, from the case record).
 */
export function outbreaks(dialect: Dialect, appRole: string | undefined): Migration {
  return {
    async up(db: SchemaAtMigration) {
      const bin = dialect === 'postgres' ? sql`bytea` : sql`blob`;
      await db.schema
        .createTable('outbreaks')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('department_id', 'text', (c) => c.notNull().references('departments.id'))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('name_enc', bin, (c) => c.notNull())
        .addColumn('description_enc', bin)
        .addColumn('setting', 'text', (c) => c.notNull())
        .addColumn('period_from', 'text', (c) => c.notNull())
        .addColumn('period_until', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('outbreaks_department')
        .on('outbreaks')
        .columns(['tenant_id', 'department_id', 'period_from'])
        .execute();
      await db.schema
        .createTable('outbreak_events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('outbreak_id', 'text', (c) => c.notNull().references('outbreaks.id'))
        .addColumn('day', 'text', (c) => c.notNull())
        .addColumn('text_enc', bin, (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('outbreak_events_outbreak').on('outbreak_events').columns(['outbreak_id']).execute();
      // The timeline is append-only: an entry is corrected by a later one, never changed.
      if (dialect === 'sqlite') {
        for (const op of ['UPDATE', 'DELETE'])
          await sql
            .raw(
              `CREATE TRIGGER outbreak_events_no_${op.toLowerCase()} BEFORE ${op} ON outbreak_events ` +
                `BEGIN SELECT RAISE(ABORT, 'outbreak_events is append-only'); END`,
            )
            .execute(db);
      } else {
        // kartei_append_only() exists since migration 001.
        await sql
          .raw(
            'CREATE TRIGGER outbreak_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON outbreak_events ' +
              'FOR EACH STATEMENT EXECUTE FUNCTION kartei_append_only()',
          )
          .execute(db);
        await postgresWalls(db, ['outbreaks', 'outbreak_events'], appRole);
      }
    },
  };
}
