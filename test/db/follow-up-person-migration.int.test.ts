// Migration 027 on an installation with follow-up entries from before: each entry gets the person of
// its contact (whose key sealed it), and the table stays append-only afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, sql } from 'kysely';
import { migrationSet } from '../../src/db/migrations/index.ts';

test('027-follow-up-person: entries from before name their contact’s person; still append-only', async () => {
  const db = new Kysely<any>({ dialect: new SqliteDialect({ database: new Database(':memory:') }) });
  try {
    const migrations = migrationSet('sqlite', undefined);
    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
    assert.equal((await migrator.migrateTo('026-person-merges')).error, undefined);
    await sql`PRAGMA foreign_keys = OFF`.execute(db);
    const at = '2026-12-01T08:00:00Z';
    for (const [record, person] of [
      ['contact-1', 'person-1'],
      ['contact-2', 'person-2'],
    ])
      await db
        .insertInto('ifsg_contacts')
        .values({
          record_id: record,
          tenant_id: 't1',
          department_id: 'd1',
          person_id: person,
          case_record_id: 'case-1',
          last_exposure: '2026-11-30',
          follow_up_until: '2026-12-14',
          state: 'active',
          sensitivity: 'normal',
          converted_case_id: null,
          version: 1,
          created_at: at,
          changed_at: at,
          deleted_at: null,
        })
        .execute();
    for (const [id, contact, day] of [
      ['f-1', 'contact-1', '2026-12-01'],
      ['f-2', 'contact-1', '2026-12-02'],
      ['f-3', 'contact-2', '2026-12-01'],
    ])
      await db
        .insertInto('contact_follow_ups')
        .values({
          id,
          tenant_id: 't1',
          contact_record_id: contact,
          day,
          by_user: 'u1',
          created_at: at,
          entry_enc: Buffer.from('x'),
        })
        .execute();
    assert.equal((await migrator.migrateToLatest()).error, undefined);
    const rows = await db.selectFrom('contact_follow_ups').select(['id', 'person_id']).orderBy('id').execute();
    assert.deepEqual(rows, [
      { id: 'f-1', person_id: 'person-1' },
      { id: 'f-2', person_id: 'person-1' },
      { id: 'f-3', person_id: 'person-2' },
    ]);
    await assert.rejects(
      db.updateTable('contact_follow_ups').set({ person_id: 'person-2' }).where('id', '=', 'f-1').execute(),
      /append-only/,
    );
    await assert.rejects(db.deleteFrom('contact_follow_ups').where('id', '=', 'f-1').execute(), /append-only/);
  } finally {
    await db.destroy();
  }
});
