// Migration 010-devices-per-tenant: AE titles unique per office; a device identified by AE title and proof.
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import { sql, type Migration } from 'kysely';
import type { Dialect } from '../schema.ts';
import type { SchemaAtMigration } from './shared.ts';

/**
 * AE titles unique per office, not across the deployment: a registration that
 * collided with another office's AE title told that office's device existed.
 * What identifies a calling device is its AE title with its proof
 * (`identity_key`: `cert:<fingerprint>` or `host:<loopback address>`), and that
 * pair stays unique across the deployment. SQLite cannot drop a column's UNIQUE,
 * so there the table is rebuilt (nothing references it).
 */
export function devicesPerTenant(dialect: Dialect): Migration {
  // As `identityKey` in imaging/device-registry.ts computes it.
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
