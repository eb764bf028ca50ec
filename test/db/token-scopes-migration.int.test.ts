// Migration 015 on an installation with tokens minted before scopes: they keep
// DICOMweb (what they were documented for), nothing else, and are marked legacy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, sql } from 'kysely';
import { migrationSet } from '../../src/db/migrations/index.ts';

test('015-token-scopes: tokens from before get dicomweb:read dicomweb:store and are marked legacy', async () => {
  const db = new Kysely<any>({ dialect: new SqliteDialect({ database: new Database(':memory:') }) });
  try {
    const migrations = migrationSet('sqlite', undefined);
    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
    const before = await migrator.migrateTo('012-accounts');
    assert.equal(before.error, undefined);
    await sql`PRAGMA foreign_keys = OFF`.execute(db);
    await db
      .insertInto('api_tokens')
      .values({
        id: 'tok-old',
        tenant_id: 't1',
        user_id: 'u1',
        name: 'script',
        token_hash: 'h1',
        created_at: '2025-01-01T00:00:00Z',
        expires_at: '2099-01-01T00:00:00Z',
        last_used_at: null,
        revoked_at: null,
      })
      .execute();
    const after = await migrator.migrateToLatest();
    assert.equal(after.error, undefined);
    const row = await db
      .selectFrom('api_tokens')
      .select(['scopes', 'legacy'])
      .where('id', '=', 'tok-old')
      .executeTakeFirstOrThrow();
    assert.deepEqual(row, { scopes: 'dicomweb:read dicomweb:store', legacy: 1 });
  } finally {
    await db.destroy();
  }
});
