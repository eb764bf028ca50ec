// Migration 029-tasks: tasks and deadlines (Wiedervorlage, issue 17) of a person's file or of a department.
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import { sql, type Migration } from 'kysely';
import type { Dialect } from '../schema.ts';
import { postgresWalls, type SchemaAtMigration } from './shared.ts';

/**
 * Issue 17: a task belongs to a department and, for a file's task, to a person of it. Title and note
 * are sealed (person key for a file's task, department key for a department's); what identifies
 * nobody and says nothing clinical is plain: type, due date, assignee, state, link ids, source.
 * `rule_key` (record id + rule id) is set only for a task a record type's rule made: unique, so
 * the same record written again, or twice at once, makes no second task. `rule_due` is the due date the
 * rule last set (a date moved by hand is left alone), `rule_cancelled` 1 while the rule cancelled it (only
 * then does the rule open it again).
 */
export function tasks(dialect: Dialect, appRole: string | undefined): Migration {
  return {
    async up(db: SchemaAtMigration) {
      const bin = dialect === 'postgres' ? sql`bytea` : sql`blob`;
      await db.schema
        .createTable('tasks')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('department_id', 'text', (c) => c.notNull().references('departments.id'))
        .addColumn('person_id', 'text', (c) => c.references('persons.id'))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('sensitivity', 'text', (c) => c.notNull())
        .addColumn('title_enc', bin, (c) => c.notNull())
        .addColumn('note_enc', bin)
        .addColumn('due_date', 'text', (c) => c.notNull())
        .addColumn('assignee_id', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('link_kind', 'text')
        .addColumn('link_id', 'text')
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('rule_key', 'text')
        .addColumn('rule_due', 'text')
        .addColumn('rule_cancelled', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .addColumn('closed_at', 'text')
        .addColumn('closed_by', 'text')
        .execute();
      // The worklist: a department's open tasks by due date.
      await db.schema
        .createIndex('tasks_worklist')
        .on('tasks')
        .columns(['tenant_id', 'department_id', 'state', 'due_date', 'id'])
        .execute();
      // A file's tasks (and what a merge moves).
      await db.schema.createIndex('tasks_person').on('tasks').columns(['tenant_id', 'person_id']).execute();
      // A record's tasks (its rule tasks cancelled when it changes or goes).
      await db.schema.createIndex('tasks_link').on('tasks').columns(['tenant_id', 'link_id']).execute();
      await db.schema.createIndex('tasks_rule').on('tasks').columns(['tenant_id', 'rule_key']).unique().execute();
      if (dialect === 'postgres') await postgresWalls(db, ['tasks'], appRole);
    },
  };
}
