// Migration 019-records-by-file-and-time: a file's records indexed for paging, newest first.
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import type { Migration } from 'kysely';

/**
 * Issue 14: a file's records are listed a page at a time, newest first. With this index the
 * database reads the page's rows of that file in order (by person, creation time, id), not
 * every record of the file to sort them: a file of 5,000 records opens like one of five.
 */
export const recordsByFileAndTime: Migration = {
  async up(db) {
    await db.schema
      .createIndex('records_person_created')
      .on('records')
      .columns(['person_id', 'created_at', 'id'])
      .execute();
  },
};
