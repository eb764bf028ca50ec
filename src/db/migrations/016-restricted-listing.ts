// Migration 016-restricted-listing: a department may hide its restricted records from clerks entirely.
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import type { Migration } from 'kysely';

/**
 * A department may hide its restricted records entirely from members who may
 * not read them (clerks): not even their type and dates are listed. Issue 13.
 */
export const restrictedListing: Migration = {
  async up(db) {
    await db.schema
      .alterTable('departments')
      .addColumn('restricted_listing', 'text', (c) => c.notNull().defaultTo('shown'))
      .execute();
  },
};
