// Migration 014-oidc: single sign-on with the district's OpenID provider.
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import { sql, type Migration } from 'kysely';
import { SSO_TENANT_TABLES, type Dialect } from '../schema.ts';
import { postgresWalls, type SchemaAtMigration } from './shared.ts';

/**
 * Issue 13: single sign-on with the district's OpenID provider, per office. See
 * src/identity/sso.ts. The configuration and started sign-ons are read before an
 * office is known (not walled); linked identities are a tenant table.
 */
export function oidc(dialect: Dialect, appRole: string | undefined): Migration {
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
