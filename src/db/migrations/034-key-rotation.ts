// Migration 034-key-rotation: each wrapped key names the key that wraps it, and a department key its version (issue 19).
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import type { Migration } from 'kysely';

/**
 * Issue 19: keys. `data_keys.wrapped_by` is the id of the key a row's key is wrapped under (for an
 * office's key: the master key's id, src/vault/keyring.ts `keyId`), so a master key rotation that
 * stopped half-way leaves rows that say which master opens them. Null: the master in `master.key`
 * (every row written before this migration, and none after a completed rotation). An id is a
 * one-way digest of a key, never key material. `key_version`: a department key's version (null: 1);
 * a rotation keeps each earlier version as a row of scope `department-version`, owner `<department>:<n>`.
 */
export const keyRotation: Migration = {
  async up(db) {
    await db.schema.alterTable('data_keys').addColumn('wrapped_by', 'text').execute();
    await db.schema.alterTable('data_keys').addColumn('key_version', 'integer').execute();
  },
};
