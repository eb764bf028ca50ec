// The migrations, one file each (src/db/migrations/): their names and order are what databases
// have recorded, and migration 001 starts the deployment's audit chain at the chain's genesis
// hash, written into the migration as a value (a migration imports nothing from src/audit).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { migrate } from '../../src/db/migrate.ts';
import { migrationSet } from '../../src/db/migrations/index.ts';
import { DEPLOYMENT_CHAIN } from '../../src/db/schema.ts';
import { GENESIS_HASH } from '../../src/audit/chain.ts';

const SQLITE = [
  '001-core',
  '003-imaging',
  '004-imaging-lookups',
  '005-instance-samples',
  '006-instance-no-plain-digest',
  '007-audit-events-by-time',
  '008-throttle-counters',
  '010-devices-per-tenant',
  '011-emergency-access',
  '012-accounts',
  '013-passkeys',
  '014-oidc',
  '015-token-scopes',
  '016-restricted-listing',
  '019-records-by-file-and-time',
  '020-ifsg-cases',
  '021-demis-connection',
  '022-demis-inbox',
  // Issue 16: cases & contacts
  '023-contacts',
  // Issue 16: outbreaks
  '024-outbreaks',
  // Issue 16: transmission
  '025-transmission',
  // Issue 16: person merge
  '026-person-merges',
  '027-follow-up-person',
  // Issue 17: documents
  '028-documents',
  '029-tasks',
  // Issue 17: letters
  '030-letters',
  // Issue 17: import
  '031-import',
  // Issue 18: gate3
  '032-store-upgrades',
  // Issue 19: audit
  '033-audit-checkpoint-digest',
  // Issue 19: keys
  '034-key-rotation',
  // Issue 19: offices
  '037-offices',
  // Issue 19: storage-db (nothing on SQLite)
  '038-sealed-objects',
  // Issue 19: instances
  '039-instances',
  // Issue 19: attack on storage (nothing on SQLite)
  '040-storage-walls',
  // Issue 19: instance clock
  '041-instance-clock',
  // Issue 18: principal cache (nothing on PostgreSQL)
  '042-principal-version',
  // Issue 18: s26-principal-attack (nothing on PostgreSQL)
  '043-principal-version-replace',
];

test('the migrations keep their names and order; 002 runs on PostgreSQL only', () => {
  assert.deepEqual(Object.keys(migrationSet('sqlite', undefined)), SQLITE);
  assert.deepEqual(Object.keys(migrationSet('postgres', 'kartei_app')), [
    '001-core',
    '002-postgres-walls',
    ...SQLITE.slice(1),
  ]);
});

test("migration 001 starts the deployment chain at the audit chain's GENESIS_HASH", async () => {
  const db = new Kysely<any>({ dialect: new SqliteDialect({ database: new Database(':memory:') }) });
  try {
    await migrate(db, 'sqlite');
    const head = await db
      .selectFrom('audit_heads')
      .select(['seq', 'hash'])
      .where('tenant_id', '=', DEPLOYMENT_CHAIN)
      .executeTakeFirstOrThrow();
    assert.deepEqual(head, { seq: 0, hash: GENESIS_HASH });
  } finally {
    await db.destroy();
  }
});
