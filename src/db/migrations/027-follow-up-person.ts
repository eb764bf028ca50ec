// Migration 027-follow-up-person: each follow-up entry names the person whose key sealed it (a merge moves contacts).
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import { sql, type Migration } from 'kysely';
import type { Dialect } from '../schema.ts';
import type { SchemaAtMigration } from './shared.ts';

/**
 * Issue 16, person merge × follow-ups: a follow-up entry is sealed with the key of the contact's file
 * when it was written and never changed (append-only). A merge moves the contact to the surviving
 * file, so the entry names the person it was sealed for, and is opened with that person's key (the
 * absorbed file keeps its key). Existing entries were written for their contact's present person.
 */
export function followUpPerson(dialect: Dialect): Migration {
  return {
    async up(db: SchemaAtMigration) {
      await db.schema
        .alterTable('contact_follow_ups')
        .addColumn('person_id', 'text', (c) => c.references('persons.id'))
        .execute();
      const fill = sql`UPDATE contact_follow_ups SET person_id = (SELECT c.person_id FROM ifsg_contacts c
        WHERE c.record_id = contact_follow_ups.contact_record_id)`;
      // The table is append-only for the application: the filling passes its trigger once, here.
      if (dialect === 'sqlite') {
        await sql`DROP TRIGGER contact_follow_ups_no_update`.execute(db);
        await fill.execute(db);
        await sql
          .raw(
            'CREATE TRIGGER contact_follow_ups_no_update BEFORE UPDATE ON contact_follow_ups ' +
              "BEGIN SELECT RAISE(ABORT, 'contact_follow_ups is append-only'); END",
          )
          .execute(db);
      } else {
        await sql`ALTER TABLE contact_follow_ups DISABLE TRIGGER contact_follow_ups_append_only`.execute(db);
        await fill.execute(db);
        await sql`ALTER TABLE contact_follow_ups ENABLE TRIGGER contact_follow_ups_append_only`.execute(db);
      }
    },
  };
}
