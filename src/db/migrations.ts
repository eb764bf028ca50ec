// The schema, as ordered migrations that run at start. One schema for both
// dialects; the few differences (binary type, triggers, grants, row-level
// security) are spelled out here and nowhere else.
import { Migrator, sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from './connect.ts';
import type { Database } from './schema.ts';
import {
  CORE_TENANT_TABLES,
  DEPLOYMENT_CHAIN,
  ACCOUNT_TENANT_TABLES,
  EMERGENCY_TENANT_TABLES,
  IMAGING_TENANT_TABLES,
  PASSKEY_TENANT_TABLES,
  SSO_TENANT_TABLES,
} from './schema.ts';
import { GENESIS_HASH } from '../audit/chain.ts';

/** A migration sees the schema as it stood when it ran, not today's `Database`: any table, any column. */
type SchemaAtMigration = Kysely<Record<string, Record<string, unknown>>>;

function core(dialect: Dialect): Migration {
  const bin = dialect === 'postgres' ? sql`bytea` : sql`blob`;
  const big = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: SchemaAtMigration) {
      await db.schema
        .createTable('tenants')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('setup_token')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('token_hash', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('used_at', 'text')
        .execute();
      await db.schema
        .createTable('departments')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('code', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('departments_code', ['tenant_id', 'code'])
        .execute();
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('username_index', 'text', (c) => c.notNull().unique())
        .addColumn('username_enc', bin, (c) => c.notNull())
        .addColumn('display_name_enc', bin, (c) => c.notNull())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('totp_secret_enc', bin)
        .addColumn('totp_last_step', big, (c) => c.notNull().defaultTo(0))
        .addColumn('active', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('tenant_roles')
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('tenant_roles_pk', ['user_id', 'role'])
        .execute();
      await db.schema
        .createTable('memberships')
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('department_id', 'text', (c) => c.notNull().references('departments.id'))
        .addColumn('role', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('memberships_pk', ['user_id', 'department_id'])
        .execute();
      await db.schema
        .createTable('sessions')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('csrf_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_seen_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text')
        .execute();
      await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();
      await db.schema
        .createTable('login_challenges')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('secret_enc', bin)
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('used_at', 'text')
        .execute();
      await db.schema
        .createTable('login_failures')
        .addColumn('id', dialect === 'postgres' ? 'serial' : 'integer', (c) =>
          dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('login_failures_subject').on('login_failures').columns(['subject', 'at']).execute();
      await db.schema
        .createTable('data_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('owner_id', 'text', (c) => c.notNull())
        .addColumn('wrapped', bin, (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('destroyed_at', 'text')
        .addUniqueConstraint('data_keys_owner', ['scope', 'owner_id'])
        .execute();
      await db.schema
        .createTable('persons')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('department_id', 'text', (c) => c.notNull().references('departments.id'))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('person_versions')
        .addColumn('person_id', 'text', (c) => c.notNull().references('persons.id'))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('data_enc', bin, (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('person_versions_pk', ['person_id', 'version'])
        .execute();
      await db.schema
        .createTable('person_index')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('person_id', 'text', (c) => c.notNull().references('persons.id'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .execute();
      // Covering: a search reads person ids from the index alone, already in order.
      await db.schema
        .createIndex('person_index_lookup')
        .on('person_index')
        .columns(['tenant_id', 'digest', 'person_id'])
        .execute();
      await db.schema.createIndex('person_index_person').on('person_index').column('person_id').execute();
      await db.schema
        .createTable('records')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('person_id', 'text', (c) => c.notNull().references('persons.id'))
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('sensitivity', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('deleted_at', 'text')
        .addColumn('deleted_by', 'text')
        .addColumn('delete_reason_enc', bin)
        .addColumn('retain_until', 'text')
        .execute();
      await db.schema.createIndex('records_person').on('records').column('person_id').execute();
      await db.schema
        .createTable('record_versions')
        .addColumn('record_id', 'text', (c) => c.notNull().references('records.id'))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('sensitivity', 'text', (c) => c.notNull())
        .addColumn('content_enc', bin, (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('record_versions_pk', ['record_id', 'version'])
        .execute();
      await db.schema
        .createTable('shares')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('person_id', 'text', (c) => c.notNull().references('persons.id'))
        .addColumn('from_department_id', 'text', (c) => c.notNull())
        .addColumn('to_department_id', 'text', (c) => c.notNull())
        .addColumn('purpose_enc', bin, (c) => c.notNull())
        .addColumn('until', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text')
        .addColumn('revoked_by', 'text')
        .execute();
      await db.schema.createIndex('shares_person').on('shares').column('person_id').execute();
      await db.schema
        .createTable('break_glass')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('person_id', 'text', (c) => c.notNull().references('persons.id'))
        .addColumn('department_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('reason_enc', bin, (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('decision', 'text')
        .addColumn('comment_enc', bin)
        .addColumn('reviewed_by', 'text')
        .addColumn('reviewed_at', 'text')
        .execute();
      await db.schema.createIndex('break_glass_person').on('break_glass').columns(['person_id', 'user_id']).execute();
      await db.schema
        .createTable('audit_events')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('seq', big, (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('actor_id', 'text')
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('resource_type', 'text', (c) => c.notNull())
        .addColumn('resource_id', 'text')
        .addColumn('person_id', 'text')
        .addColumn('department_id', 'text')
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('reason_enc', bin)
        .addColumn('detail', 'text')
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('audit_events_pk', ['tenant_id', 'seq'])
        .execute();
      await db.schema.createIndex('audit_events_person').on('audit_events').columns(['person_id', 'seq']).execute();
      await db.schema.createIndex('audit_events_actor').on('audit_events').columns(['actor_id', 'seq']).execute();
      await db.schema
        .createTable('audit_heads')
        .addColumn('tenant_id', 'text', (c) => c.primaryKey())
        .addColumn('seq', big, (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('audit_checkpoints')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('seq', big, (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('signature', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('audit_checkpoints_pk', ['tenant_id', 'seq'])
        .execute();
      await appendOnly(db, dialect, ['audit_events', 'audit_checkpoints']);
      await db.insertInto('audit_heads').values({ tenant_id: DEPLOYMENT_CHAIN, seq: 0, hash: GENESIS_HASH }).execute();
    },
  };
}

/** Rows of these tables can be neither changed nor removed, whoever asks. */
async function appendOnly(db: SchemaAtMigration, dialect: Dialect, tables: string[]) {
  if (dialect === 'sqlite') {
    for (const t of tables) {
      for (const op of ['UPDATE', 'DELETE']) {
        await sql
          .raw(
            `CREATE TRIGGER ${t}_no_${op.toLowerCase()} BEFORE ${op} ON ${t} ` +
              `BEGIN SELECT RAISE(ABORT, '${t} is append-only'); END`,
          )
          .execute(db);
      }
    }
    return;
  }
  await sql
    .raw(
      `CREATE FUNCTION kartei_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ ` +
        `BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$`,
    )
    .execute(db);
  for (const t of tables) {
    await sql
      .raw(
        `CREATE TRIGGER ${t}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ${t} ` +
          `FOR EACH STATEMENT EXECUTE FUNCTION kartei_append_only()`,
      )
      .execute(db);
  }
}

/**
 * PostgreSQL only: row-level security walls each tenant table by the
 * transaction's `kartei.tenant` setting, and the application's role gets data
 * access without DDL and without UPDATE/DELETE on the audit tables. Run again
 * by every migration that adds tables, so the grants cover them.
 */
async function postgresWalls(db: SchemaAtMigration, tables: readonly string[], appRole: string | undefined) {
  for (const t of tables) {
    await sql.raw(`ALTER TABLE ${t} ENABLE ROW LEVEL SECURITY`).execute(db);
    await sql
      .raw(
        `CREATE POLICY ${t}_tenant_wall ON ${t} ` +
          `USING (tenant_id = current_setting('kartei.tenant', true)) ` +
          `WITH CHECK (tenant_id = current_setting('kartei.tenant', true))`,
      )
      .execute(db);
  }
  if (!appRole) return;
  const role = sql.id(appRole);
  await sql`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ${role}`.execute(db);
  await sql`REVOKE CREATE ON SCHEMA public FROM ${role}`.execute(db);
  await sql`GRANT USAGE ON SCHEMA public TO ${role}`.execute(db);
  await sql`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role}`.execute(db);
  await sql`REVOKE UPDATE, DELETE, TRUNCATE ON audit_events, audit_checkpoints FROM ${role}`.execute(db);
  await sql`GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ${role}`.execute(db);
  await sql`REVOKE SELECT ON kysely_migration, kysely_migration_lock FROM ${role}`.execute(db);
}

/** Lookups by UID alone: a study named in a DICOMweb path (any department), a series named in a query. */
const imagingLookups: Migration = {
  async up(db) {
    await db.schema.createIndex('studies_tenant_uid').on('studies').columns(['tenant_id', 'study_uid']).execute();
    await db.schema.createIndex('series_by_uid').on('series').column('series_uid').execute();
  },
};

/**
 * Samples per pixel beside rows, columns, frames and bits allocated: with them the
 * index alone locates a frame, so a frame is read without first reading the
 * instance's attributes. Instances indexed before this leave it empty and are read as before.
 */
const instanceSamples: Migration = {
  async up(db) {
    await db.schema.alterTable('instances').addColumn('samples_per_pixel', 'integer').execute();
  },
};

/**
 * The audit statistics ask for a period: without an index on the time, each
 * request read every event of the office, and on SQLite the whole server
 * waited for it.
 */
const auditEventsByTime: Migration = {
  async up(db) {
    await db.schema.createIndex('audit_events_at').on('audit_events').columns(['tenant_id', 'at']).execute();
  },
};

/**
 * AE titles unique per office, not across the deployment: a registration that
 * collided with another office's AE title told that office's device existed.
 * What identifies a calling device is its AE title with its proof
 * (`identity_key`: `cert:<fingerprint>` or `host:<loopback address>`), and that
 * pair stays unique across the deployment. SQLite cannot drop a column's UNIQUE,
 * so there the table is rebuilt (nothing references it).
 */
function devicesPerTenant(dialect: Dialect): Migration {
  // As `identityKey` in imaging/devices.ts computes it.
  const identity = sql`CASE WHEN cert_fingerprint IS NOT NULL THEN 'cert:' || cert_fingerprint
    WHEN host = 'localhost' THEN 'host:127.0.0.1'
    WHEN host LIKE '::ffff:%.%' THEN 'host:' || substr(host, 8)
    ELSE 'host:' || lower(host) END`;
  return {
    async up(db: SchemaAtMigration) {
      if (dialect === 'postgres') {
        await sql`ALTER TABLE devices DROP CONSTRAINT IF EXISTS devices_ae_title_key`.execute(db);
        await db.schema.alterTable('devices').addColumn('identity_key', 'text').execute();
        await sql`UPDATE devices SET identity_key = ${identity}`.execute(db);
      } else {
        await db.schema
          .createTable('devices_010')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
          .addColumn('department_id', 'text', (c) => c.notNull().references('departments.id'))
          .addColumn('ae_title', 'text', (c) => c.notNull())
          .addColumn('permissions', 'text', (c) => c.notNull())
          .addColumn('cert_fingerprint', 'text')
          .addColumn('cert_subject', 'text')
          .addColumn('cert_expires_at', 'text')
          .addColumn('host', 'text')
          .addColumn('port', 'integer')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('identity_key', 'text')
          .execute();
        await sql`INSERT INTO devices_010 (id, tenant_id, department_id, ae_title, permissions, cert_fingerprint, cert_subject, cert_expires_at, host, port, created_at, created_by, identity_key)
          SELECT id, tenant_id, department_id, ae_title, permissions, cert_fingerprint, cert_subject, cert_expires_at, host, port, created_at, created_by, ${identity} FROM devices`.execute(
          db,
        );
        await db.schema.dropTable('devices').execute();
        await db.schema.alterTable('devices_010').renameTo('devices').execute();
      }
      await db.schema
        .createIndex('devices_tenant_ae_title')
        .unique()
        .on('devices')
        .columns(['tenant_id', 'ae_title'])
        .execute();
      await db.schema
        .createIndex('devices_identity')
        .unique()
        .on('devices')
        .columns(['ae_title', 'identity_key'])
        .execute();
    },
  };
}

/**
 * Instances no longer keep the SHA-256 of their plaintext file: in clear in the
 * database it let anyone holding a copy confirm that a known image is stored
 * here, and nothing read it (the sealed file authenticates every chunk).
 */
const instanceNoPlainDigest: Migration = {
  async up(db) {
    await db.schema.alterTable('instances').dropColumn('sha256').execute();
  },
};

/**
 * Login throttling that holds under concurrency (issue 13): one counter row per
 * subject (account, address, or an account at an address it has logged in from),
 * moved by a single conditional upsert before a password or code is checked,
 * replaces the failure log that was counted before and written after. A login
 * challenge counts its codes. Deployment-wide like the users it protects: a
 * login names no tenant, so no row-level wall. Times are milliseconds.
 */
function throttle(dialect: Dialect, appRole: string | undefined): Migration {
  const big = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: SchemaAtMigration) {
      await db.schema.dropTable('login_failures').execute();
      await db.schema
        .createTable('login_throttle')
        .addColumn('subject', 'text', (c) => c.primaryKey())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('last_failure_at', big, (c) => c.notNull())
        .addColumn('window_started_at', big, (c) => c.notNull())
        .addColumn('trusted_until', big, (c) => c.notNull())
        .execute();
      await db.schema
        .alterTable('login_challenges')
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      if (dialect === 'postgres') await postgresWalls(db, [], appRole);
    },
  };
}

/**
 * The image archive: registered DICOM devices and personal API tokens for
 * DICOMweb and scripts. Both are looked up before any tenant is known (like a
 * login), so neither is walled by tenant, and AE titles are unique across the
 * deployment (per office since migration 010).
 */
function imaging(dialect: Dialect, appRole: string | undefined): Migration {
  return {
    async up(db: SchemaAtMigration) {
      await db.schema
        .createTable('devices')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('department_id', 'text', (c) => c.notNull().references('departments.id'))
        .addColumn('ae_title', 'text', (c) => c.notNull().unique())
        .addColumn('permissions', 'text', (c) => c.notNull())
        .addColumn('cert_fingerprint', 'text')
        .addColumn('cert_subject', 'text')
        .addColumn('cert_expires_at', 'text')
        .addColumn('host', 'text')
        .addColumn('port', 'integer')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('api_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('last_used_at', 'text')
        .addColumn('revoked_at', 'text')
        .execute();
      await db.schema.createIndex('api_tokens_user').on('api_tokens').column('user_id').execute();
      await imageIndex(db, dialect);
      if (dialect === 'postgres') await postgresWalls(db, IMAGING_TENANT_TABLES, appRole);
    },
  };
}

/**
 * The archive's index: studies, series and instances per department. Patient
 * attributes are held only encrypted and as blind-index digests; UIDs, dates
 * and technical attributes are in clear for matching.
 */
async function imageIndex(db: SchemaAtMigration, dialect: Dialect) {
  const bin = dialect === 'postgres' ? sql`bytea` : sql`blob`;
  const big = dialect === 'postgres' ? 'bigint' : 'integer';
  await db.schema
    .createTable('studies')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('department_id', 'text', (c) => c.notNull().references('departments.id'))
    .addColumn('study_uid', 'text', (c) => c.notNull())
    .addColumn('person_id', 'text', (c) => c.references('persons.id'))
    .addColumn('patient_enc', bin, (c) => c.notNull())
    .addColumn('study_enc', bin, (c) => c.notNull())
    .addColumn('study_date', 'text')
    .addColumn('study_time', 'text')
    .addColumn('modalities', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('studies_uid', ['department_id', 'study_uid'])
    .execute();
  await db.schema.createIndex('studies_person').on('studies').column('person_id').execute();
  await db.schema.createIndex('studies_date').on('studies').columns(['department_id', 'study_date']).execute();
  await db.schema
    .createTable('study_index')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('study_id', 'text', (c) => c.notNull().references('studies.id'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('digest', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('study_index_lookup')
    .on('study_index')
    .columns(['tenant_id', 'digest', 'study_id'])
    .execute();
  await db.schema.createIndex('study_index_study').on('study_index').column('study_id').execute();
  await db.schema
    .createTable('series')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('study_id', 'text', (c) => c.notNull().references('studies.id'))
    .addColumn('series_uid', 'text', (c) => c.notNull())
    .addColumn('modality', 'text')
    .addColumn('series_number', 'integer')
    .addColumn('series_enc', bin, (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('series_uid', ['study_id', 'series_uid'])
    .execute();
  await db.schema
    .createTable('instances')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('department_id', 'text', (c) => c.notNull())
    .addColumn('study_id', 'text', (c) => c.notNull().references('studies.id'))
    .addColumn('series_id', 'text', (c) => c.notNull().references('series.id'))
    .addColumn('sop_instance_uid', 'text', (c) => c.notNull())
    .addColumn('sop_class_uid', 'text', (c) => c.notNull())
    .addColumn('transfer_syntax_uid', 'text', (c) => c.notNull())
    .addColumn('instance_number', 'integer')
    .addColumn('rows', 'integer')
    .addColumn('columns', 'integer')
    .addColumn('frames', 'integer')
    .addColumn('bits_allocated', 'integer')
    .addColumn('pixel_offset', big)
    .addColumn('pixel_length', big)
    .addColumn('file', 'text', (c) => c.notNull())
    .addColumn('size', big, (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('received_from', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('instances_uid', ['department_id', 'sop_instance_uid'])
    .execute();
  await db.schema.createIndex('instances_series').on('instances').columns(['series_id', 'instance_number']).execute();
  await db.schema.createIndex('instances_study').on('instances').column('study_id').execute();
}

/**
 * Nobody but the person knows their credentials: accounts are enrolled by a
 * one-time link (the person sets the password), grants of access wait for a
 * second account's approval, and recovery codes stand in for a lost second
 * factor. `password_origin` says who chose the password: accounts from before
 * this change had theirs chosen by an administrator (`admin`), except the
 * office's first administrator, who chose it at setup (`self`).
 */
function accounts(dialect: Dialect, appRole: string | undefined): Migration {
  return {
    async up(db: SchemaAtMigration) {
      await db.schema
        .alterTable('users')
        .addColumn('password_origin', 'text', (c) => c.notNull().defaultTo('admin'))
        .execute();
      await db.schema.alterTable('users').addColumn('credentials_reset_at', 'text').execute();
      await db.schema
        .alterTable('users')
        .addColumn('reset_notice', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await sql`UPDATE users SET password_origin = 'self' WHERE id IN (SELECT actor_id FROM audit_events WHERE action = 'setup.run' AND outcome = 'allowed')`.execute(
        db,
      );
      // Looked up by the link's token before the office is known, like a login challenge: not walled by tenant.
      await db.schema
        .createTable('enrolments')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('requested_by', 'text', (c) => c.notNull())
        .addColumn('requested_at', 'text', (c) => c.notNull())
        .addColumn('approval_id', 'text')
        .addColumn('token_hash', 'text', (c) => c.unique())
        .addColumn('expires_at', 'text')
        .addColumn('used_at', 'text')
        .addColumn('cancelled_at', 'text')
        .execute();
      await db.schema.createIndex('enrolments_user').on('enrolments').column('user_id').execute();
      await db.schema
        .createTable('approvals')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('department_id', 'text')
        .addColumn('role', 'text')
        .addColumn('requested_by', 'text', (c) => c.notNull())
        .addColumn('requested_at', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('decided_by', 'text')
        .addColumn('decided_at', 'text')
        .execute();
      await db.schema.createIndex('approvals_state').on('approvals').columns(['tenant_id', 'state']).execute();
      await db.schema
        .createTable('recovery_codes')
        .addColumn('code_hash', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('used_at', 'text')
        .execute();
      await db.schema.createIndex('recovery_codes_user').on('recovery_codes').column('user_id').execute();
      if (dialect === 'postgres') await postgresWalls(db, ACCOUNT_TENANT_TABLES, appRole);
    },
  };
}

/**
 * Issue 13: the emergency search is an emergency access of its own, reviewed like
 * breaking the glass and limited per user (its rows are what the limit counts); the
 * files it showed are reached only through opaque handles of the caller's. A running
 * break-glass grant can be ended early (revoked by a head or the DPO, or by an
 * "unjustified" review).
 */
function emergencyAccess(dialect: Dialect, appRole: string | undefined): Migration {
  return {
    async up(db: SchemaAtMigration) {
      const bin = dialect === 'postgres' ? sql`bytea` : sql`blob`;
      await db.schema.alterTable('break_glass').addColumn('revoked_at', 'text').execute();
      await db.schema.alterTable('break_glass').addColumn('revoked_by', 'text').execute();
      await db.schema
        .createTable('emergency_searches')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('reason_enc', bin, (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('results', 'integer', (c) => c.notNull())
        .addColumn('decision', 'text')
        .addColumn('comment_enc', bin)
        .addColumn('reviewed_by', 'text')
        .addColumn('reviewed_at', 'text')
        .execute();
      await db.schema
        .createIndex('emergency_searches_user')
        .on('emergency_searches')
        .columns(['tenant_id', 'user_id', 'created_at'])
        .execute();
      await db.schema
        .createTable('emergency_hits')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('search_id', 'text', (c) => c.notNull().references('emergency_searches.id'))
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('person_id', 'text', (c) => c.notNull().references('persons.id'))
        .addColumn('department_id', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('emergency_hits_search').on('emergency_hits').column('search_id').execute();
      if (dialect === 'postgres') await postgresWalls(db, EMERGENCY_TENANT_TABLES, appRole);
    },
  };
}

/**
 * A department may hide its restricted records entirely from members who may
 * not read them (clerks): not even their type and dates are listed. Issue 13.
 */
const restrictedListing: Migration = {
  async up(db) {
    await db.schema
      .alterTable('departments')
      .addColumn('restricted_listing', 'text', (c) => c.notNull().defaultTo('shown'))
      .execute();
  },
};

/**
 * Issue 13: single sign-on with the district's OpenID provider, per office. See
 * src/identity/sso.ts. The configuration and started sign-ons are read before an
 * office is known (not walled); linked identities are a tenant table.
 */
function oidc(dialect: Dialect, appRole: string | undefined): Migration {
  return {
    async up(db: SchemaAtMigration) {
      const bin = dialect === 'postgres' ? sql`bytea` : sql`blob`;
      await db.schema.alterTable('login_challenges').addColumn('via', 'text').execute();
      await db.schema
        .createTable('sso_configs')
        .addColumn('tenant_id', 'text', (c) => c.primaryKey().references('tenants.id'))
        .addColumn('issuer', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('client_secret_enc', bin, (c) => c.notNull())
        .addColumn('subject_claim', 'text', (c) => c.notNull())
        .addColumn('acr_values', 'text', (c) => c.notNull())
        .addColumn('amr_values', 'text', (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('sso_logins')
        .addColumn('state_hash', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('browser_hash', 'text', (c) => c.notNull())
        .addColumn('secrets_enc', bin, (c) => c.notNull())
        .addColumn('link_user_id', 'text', (c) => c.references('users.id'))
        .addColumn('link_session_hash', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('used_at', 'text')
        .addColumn('session_hash', 'text')
        .addColumn('handover_enc', bin)
        .addColumn('handed_over_at', 'text')
        .execute();
      await db.schema.createIndex('sso_logins_session').on('sso_logins').column('session_hash').execute();
      await db.schema.createIndex('sso_logins_expiry').on('sso_logins').column('expires_at').execute();
      await db.schema
        .createTable('sso_identities')
        .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id'))
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('subject_index', 'text', (c) => c.notNull().unique())
        .addColumn('linked_at', 'text', (c) => c.notNull())
        .execute();
      if (dialect === 'postgres') await postgresWalls(db, SSO_TENANT_TABLES, appRole);
    },
  };
}

/**
 * Issue 13: passkeys (WebAuthn) as a second factor beside TOTP. A login
 * challenge carries the WebAuthn challenge offered with it; a registration
 * ceremony is a row of its own, bound to the user's session, used once.
 * Both new tables are walled by tenant: they are read only once a session or a
 * login challenge has named the office.
 */
function passkeys(dialect: Dialect, appRole: string | undefined): Migration {
  return {
    async up(db: SchemaAtMigration) {
      const bin = dialect === 'postgres' ? sql`bytea` : sql`blob`;
      await db.schema.alterTable('login_challenges').addColumn('webauthn_challenge', 'text').execute();
      await db.schema
        .createTable('passkeys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('credential_id', 'text', (c) => c.notNull().unique())
        .addColumn('public_key', bin, (c) => c.notNull())
        .addColumn('counter', 'bigint', (c) => c.notNull())
        .addColumn('name_enc', bin, (c) => c.notNull())
        .addColumn('transports', 'text', (c) => c.notNull())
        .addColumn('device_type', 'text', (c) => c.notNull())
        .addColumn('backed_up', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_used_at', 'text')
        .execute();
      await db.schema.createIndex('passkeys_user').on('passkeys').column('user_id').execute();
      await db.schema
        .createTable('passkey_registrations')
        .addColumn('challenge_hash', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('session_hash', 'text', (c) => c.notNull())
        .addColumn('challenge', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('used_at', 'text')
        .execute();
      await db.schema.createIndex('passkey_registrations_user').on('passkey_registrations').column('user_id').execute();
      if (dialect === 'postgres') await postgresWalls(db, PASSKEY_TENANT_TABLES, appRole);
    },
  };
}

/**
 * Issue 13: API tokens carry scopes. Tokens minted before had no purpose; they keep
 * working for what they were documented for, DICOMweb (`dicomweb:read dicomweb:store`),
 * and are marked legacy: anything else they answer `token-scope` (403) naming the scope
 * to ask for, and `kartei doctor` lists them until they are replaced. The policy still
 * decides by the owner's roles on top, so no token gains anything.
 */
const tokenScopes: Migration = {
  async up(db: SchemaAtMigration) {
    await db.schema
      .alterTable('api_tokens')
      .addColumn('scopes', 'text', (c) => c.notNull().defaultTo(''))
      .execute();
    await db.schema
      .alterTable('api_tokens')
      .addColumn('legacy', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.updateTable('api_tokens').set({ scopes: 'dicomweb:read dicomweb:store', legacy: 1 }).execute();
  },
};

/**
 * Issue 14: a file's records are listed a page at a time, newest first. With this index the
 * database reads the page's rows of that file in order (by person, creation time, id), not
 * every record of the file to sort them: a file of 5,000 records opens like one of five.
 */
const recordsByFileAndTime: Migration = {
  async up(db) {
    await db.schema
      .createIndex('records_person_created')
      .on('records')
      .columns(['person_id', 'created_at', 'id'])
      .execute();
  },
};

export type MigrationProgress = (done: number, total: number, name: string) => void;

/** Every migration by name, in order (tests migrate to one of them, then on). */
export function migrationSet(dialect: Dialect, appRole: string | undefined): Record<string, Migration> {
  const migrations: Record<string, Migration> = { '001-core': core(dialect) };
  if (dialect === 'postgres') {
    migrations['002-postgres-walls'] = { up: (db) => postgresWalls(db, CORE_TENANT_TABLES, appRole) };
  }
  migrations['003-imaging'] = imaging(dialect, appRole);
  migrations['004-imaging-lookups'] = imagingLookups;
  migrations['005-instance-samples'] = instanceSamples;
  migrations['006-instance-no-plain-digest'] = instanceNoPlainDigest;
  migrations['007-audit-events-by-time'] = auditEventsByTime;
  migrations['008-throttle-counters'] = throttle(dialect, appRole);
  migrations['010-devices-per-tenant'] = devicesPerTenant(dialect);
  migrations['011-emergency-access'] = emergencyAccess(dialect, appRole);
  migrations['012-accounts'] = accounts(dialect, appRole);
  migrations['013-passkeys'] = passkeys(dialect, appRole);
  migrations['014-oidc'] = oidc(dialect, appRole);
  migrations['015-token-scopes'] = tokenScopes;
  migrations['016-restricted-listing'] = restrictedListing;
  migrations['019-records-by-file-and-time'] = recordsByFileAndTime;
  return migrations;
}

export async function migrate(
  db: Kysely<Database>,
  dialect: Dialect,
  opts: { appRole?: string; progress?: MigrationProgress } = {},
): Promise<void> {
  const migrations = migrationSet(dialect, opts.appRole);
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const total = Object.keys(migrations).length;
  const { error, results } = await migrator.migrateToLatest();
  results?.forEach((r, i) => {
    opts.progress?.(i + 1, total, r.migrationName);
  });
  if (error) throw error;
}
