// Migration 026-person-merges: two files found to be one person, merged (pending until a second person confirms).
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import type { Migration } from 'kysely';
import type { Dialect } from '../schema.ts';
import { postgresWalls, type SchemaAtMigration } from './shared.ts';

/**
 * Issue 16: one row per merge of two files of one department (src/records/person-merge.ts): which file
 * stayed, which was absorbed, its state (pending → confirmed | undone) and the ids it moved (records,
 * studies: ids identify no one, so plain JSON). On `persons`, `merged_into` (the survivor, on the
 * absorbed file while the merge is pending or confirmed) and `merge_id` (the merge a file is part of:
 * on both files while pending, on the absorbed one after confirming); a conditional update of
 * `merge_id` is what lets only one of two parallel merges of the same file win.
 */
export function personMerges(dialect: Dialect, appRole: string | undefined): Migration {
  return {
    async up(db: SchemaAtMigration) {
      await db.schema
        .createTable('person_merges')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('department_id', 'text', (c) => c.notNull().references('departments.id'))
        .addColumn('survivor_id', 'text', (c) => c.notNull().references('persons.id'))
        .addColumn('absorbed_id', 'text', (c) => c.notNull().references('persons.id'))
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('moved', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('decided_by', 'text')
        .addColumn('decided_at', 'text')
        .addColumn('version', 'integer', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('person_merges_survivor').on('person_merges').columns(['survivor_id']).execute();
      await db.schema.createIndex('person_merges_absorbed').on('person_merges').columns(['absorbed_id']).execute();
      await db.schema.alterTable('persons').addColumn('merged_into', 'text').execute();
      await db.schema.alterTable('persons').addColumn('merge_id', 'text').execute();
      if (dialect === 'postgres') await postgresWalls(db, ['person_merges'], appRole);
    },
  };
}
