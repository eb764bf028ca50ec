// Migration 004-imaging-lookups: studies and series looked up by UID alone.
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import type { Migration } from 'kysely';

/** Lookups by UID alone: a study named in a DICOMweb path (any department), a series named in a query. */
export const imagingLookups: Migration = {
  async up(db) {
    await db.schema.createIndex('studies_tenant_uid').on('studies').columns(['tenant_id', 'study_uid']).execute();
    await db.schema.createIndex('series_by_uid').on('series').column('series_uid').execute();
  },
};
