// Migration 006-instance-no-plain-digest: instances no longer keep the SHA-256 of their plaintext.
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import type { Migration } from 'kysely';

/**
 * Instances no longer keep the SHA-256 of their plaintext file: in clear in the
 * database it let anyone holding a copy confirm that a known image is stored
 * here, and nothing read it (the sealed file authenticates every chunk).
 */
export const instanceNoPlainDigest: Migration = {
  async up(db) {
    await db.schema.alterTable('instances').dropColumn('sha256').execute();
  },
};
