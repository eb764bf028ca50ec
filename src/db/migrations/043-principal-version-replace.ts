// Migration 043-principal-version-replace: a session or API token row replaced whole (`INSERT OR REPLACE`,
// `REPLACE INTO` — an operator's statement) is a change to a principal too (issue 18). SQLite's REPLACE
// deletes the old row without firing its delete trigger (unless the writing connection has recursive_triggers
// on, which another process's need not), and migration 042 has no insert trigger on these two tables, so the
// principal version stayed and a server kept the replaced row's principal. A new session or token sets nothing
// (logins stay cheap for the cache): only an insert whose key a row already holds — replaced, or refused.
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import { sql, type Migration } from 'kysely';
import type { Dialect } from '../schema.ts';
import type { SchemaAtMigration } from './shared.ts';

/**
 * Issue 18: principal version, replaced rows (SQLite only).
 * - `principal_version_sessions_replace`, `principal_version_api_tokens_replace`: before an insert into
 *   `sessions` / `api_tokens` that meets a row with the same unique key (`token_hash`; for tokens also `id`),
 *   `principal_version.v` is set anew. Should the insert be refused instead, the statement's change is undone
 *   with it.
 */
export const principalVersionReplace = (dialect: Dialect): Migration => ({
  async up(db: SchemaAtMigration) {
    if (dialect !== 'sqlite') return;
    const bump = 'begin update principal_version set v = random() where id = 1; end';
    const held: [string, string][] = [
      ['sessions', 'exists (select 1 from sessions where token_hash = new.token_hash)'],
      ['api_tokens', 'exists (select 1 from api_tokens where token_hash = new.token_hash or id = new.id)'],
    ];
    for (const [table, when] of held) {
      await sql
        .raw(`create trigger principal_version_${table}_replace before insert on ${table} when ${when} ${bump}`)
        .execute(db);
    }
  },
});
