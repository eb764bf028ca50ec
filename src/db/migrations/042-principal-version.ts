// Migration 042-principal-version: a value that changes whenever anything a signed-in principal is made of
// changes (issue 18), so a server on SQLite may keep the principal of a session or API token between
// requests and still see a revocation, a deactivation or a removed role at once (`principal-cache.ts`).
// Triggers set it, whoever writes: this server, another process (the command line), any statement.
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import { sql, type Migration } from 'kysely';
import type { Dialect } from '../schema.ts';
import type { SchemaAtMigration } from './shared.ts';

/**
 * The columns of `sessions` and `api_tokens` whose change forward does not change the principal: the touch
 * that keeps a session alive (every 30 s at most) would otherwise throw every server's cache away each time.
 * Every other column, and any column added later, sets the value (test/identity/principal-cache.int.test.ts
 * checks the triggers' lists against the tables).
 */
export const TOUCH_COLUMNS = { sessions: 'last_seen_at', api_tokens: 'last_used_at' } as const;

const SESSION_COLUMNS = ['token_hash', 'tenant_id', 'user_id', 'csrf_hash', 'created_at', 'expires_at', 'revoked_at'];
const TOKEN_COLUMNS = [
  'id',
  'tenant_id',
  'user_id',
  'name',
  'token_hash',
  'created_at',
  'expires_at',
  'revoked_at',
  'scopes',
  'legacy',
];

/**
 * Issue 18: principal version (SQLite only; on PostgreSQL the principal is read anew for every request).
 * - `principal_version`: one row; `v` is set to a new random 64-bit value by every insert, update or delete
 *   of `users`, `tenant_roles` and `memberships`, every update (but the touch) or delete of `sessions` and
 *   `api_tokens`, and a touch moved back. A random value, not a counter: a change rolled back and another one made after it must not
 *   bring back a value a server has already seen (with a counter both would be n + 1).
 */
export const principalVersion = (dialect: Dialect): Migration => ({
  async up(db: SchemaAtMigration) {
    if (dialect !== 'sqlite') return;
    await sql`create table principal_version (id integer primary key check (id = 1), v integer not null)`.execute(db);
    await sql`insert into principal_version (id, v) values (1, random())`.execute(db);
    const bump = 'begin update principal_version set v = random() where id = 1; end';
    const triggers: [string, string][] = [
      ['users', 'insert'],
      ['users', 'update'],
      ['users', 'delete'],
      ['tenant_roles', 'insert'],
      ['tenant_roles', 'update'],
      ['tenant_roles', 'delete'],
      ['memberships', 'insert'],
      ['memberships', 'update'],
      ['memberships', 'delete'],
      ['sessions', `update of ${SESSION_COLUMNS.join(', ')}`],
      ['sessions', 'delete'],
      ['api_tokens', `update of ${TOKEN_COLUMNS.join(', ')}`],
      ['api_tokens', 'delete'],
    ];
    for (const [table, event] of triggers) {
      const name = `principal_version_${table}_${event.split(' ')[0]}`;
      await sql.raw(`create trigger ${name} after ${event} on ${table} ${bump}`).execute(db);
    }
    // The touch moves forward only; moved back (an idle session ended by hand, a test), it is a change too.
    for (const [table, touch] of Object.entries(TOUCH_COLUMNS)) {
      await sql
        .raw(
          `create trigger principal_version_${table}_touch_back after update of ${touch} on ${table} ` +
            `when new.${touch} is null or old.${touch} is null or new.${touch} < old.${touch} ${bump}`,
        )
        .execute(db);
    }
  },
});
