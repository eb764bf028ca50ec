// Migration 030-letters: letter templates with every version kept, letters made from them, and bulk runs.
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import { sql, type Migration } from 'kysely';
import type { Dialect } from '../schema.ts';
import { postgresWalls, type SchemaAtMigration } from './shared.ts';

/**
 * Issue 17: letters (src/desk/templates.ts, letters.ts, letter-runs.ts).
 * - `letter_templates`: an office's (department null) or a department's template; its kind and current
 *   version plain, every version a row of `letter_template_versions` whose content (name, letterhead,
 *   wording) is sealed with the office's key. Versions are never changed, so a letter names the one it
 *   was made from.
 * - `letter_generations`: one row per letter made — its request key is unique, so a double click, a retry
 *   or a bulk run resumed after a crash makes no second letter; ids, template and version only.
 * - `letter_runs` / `letter_run_items`: a bulk run of one template over a department's files, its counts,
 *   and per file (run + person unique) its state, the document made or the refusal's code. Nothing names anyone.
 */
export function letters(dialect: Dialect, appRole: string | undefined): Migration {
  return {
    async up(db: SchemaAtMigration) {
      const bin = dialect === 'postgres' ? sql`bytea` : sql`blob`;
      await db.schema
        .createTable('letter_templates')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('department_id', 'text', (c) => c.references('departments.id'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('active', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('letter_templates_scope')
        .on('letter_templates')
        .columns(['tenant_id', 'department_id'])
        .execute();
      await db.schema
        .createTable('letter_template_versions')
        .addColumn('template_id', 'text', (c) => c.notNull().references('letter_templates.id'))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('content_enc', bin, (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('letter_template_versions_pk', ['template_id', 'version'])
        .execute();
      await db.schema
        .createTable('letter_generations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('request_key', 'text', (c) => c.notNull())
        .addColumn('person_id', 'text', (c) => c.notNull().references('persons.id'))
        .addColumn('template_id', 'text', (c) => c.notNull().references('letter_templates.id'))
        .addColumn('template_version', 'integer', (c) => c.notNull())
        .addColumn('record_id', 'text')
        .addColumn('document_id', 'text', (c) => c.notNull())
        .addColumn('document_version', 'integer', (c) => c.notNull())
        .addColumn('run_id', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('letter_generations_request')
        .unique()
        .on('letter_generations')
        .columns(['tenant_id', 'request_key'])
        .execute();
      await db.schema
        .createTable('letter_runs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('department_id', 'text', (c) => c.notNull().references('departments.id'))
        .addColumn('template_id', 'text', (c) => c.notNull().references('letter_templates.id'))
        .addColumn('template_version', 'integer', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('outbreak_id', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('total', 'integer', (c) => c.notNull())
        .addColumn('done', 'integer', (c) => c.notNull())
        .addColumn('failed', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('finished_at', 'text')
        .execute();
      await db.schema
        .createIndex('letter_runs_department')
        .on('letter_runs')
        .columns(['tenant_id', 'department_id', 'created_at'])
        .execute();
      await db.schema.createIndex('letter_runs_state').on('letter_runs').columns(['tenant_id', 'state']).execute();
      await db.schema
        .createTable('letter_run_items')
        .addColumn('run_id', 'text', (c) => c.notNull().references('letter_runs.id'))
        .addColumn('person_id', 'text', (c) => c.notNull().references('persons.id'))
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('document_id', 'text')
        .addColumn('error', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('letter_run_items_pk', ['run_id', 'person_id'])
        .execute();
      await db.schema.createIndex('letter_run_items_order').on('letter_run_items').columns(['run_id', 'seq']).execute();
      // A template's versions are kept as they were: a letter names the version it was made from.
      if (dialect === 'sqlite') {
        for (const op of ['UPDATE', 'DELETE'])
          await sql
            .raw(
              `CREATE TRIGGER letter_template_versions_no_${op.toLowerCase()} BEFORE ${op} ON letter_template_versions ` +
                `BEGIN SELECT RAISE(ABORT, 'letter_template_versions is append-only'); END`,
            )
            .execute(db);
      } else {
        // kartei_append_only() exists since migration 001.
        await sql
          .raw(
            'CREATE TRIGGER letter_template_versions_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON letter_template_versions ' +
              'FOR EACH STATEMENT EXECUTE FUNCTION kartei_append_only()',
          )
          .execute(db);
        await postgresWalls(
          db,
          ['letter_templates', 'letter_template_versions', 'letter_generations', 'letter_runs', 'letter_run_items'],
          appRole,
        );
      }
    },
  };
}
