// Migration 005-instance-samples: an instance's samples per pixel, so a frame is located from the index alone.
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import type { Migration } from 'kysely';

/**
 * Samples per pixel beside rows, columns, frames and bits allocated: with them the
 * index alone locates a frame, so a frame is read without first reading the
 * instance's attributes. Instances indexed before this leave it empty and are read as before.
 */
export const instanceSamples: Migration = {
  async up(db) {
    await db.schema.alterTable('instances').addColumn('samples_per_pixel', 'integer').execute();
  },
};
