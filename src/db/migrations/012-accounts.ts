// Migration 012-accounts: enrolment links, approvals, recovery codes, who chose a password.
// A migration that has run is never changed; a change to the schema is a new migration (see index.ts).
import { sql, type Migration } from 'kysely';
import { ACCOUNT_TENANT_TABLES, type Dialect } from '../schema.ts';
import { postgresWalls, type SchemaAtMigration } from './shared.ts';

/**
 * Nobody but the person knows their credentials: accounts are enrolled by a
 * one-time link (the person sets the password), grants of access wait for a
 * second account's approval, and recovery codes stand in for a lost second
 * factor. `password_origin` says who chose the password: accounts from before
 * this change had theirs chosen by an administrator (`admin`), except the
 * office's first administrator, who chose it at setup (`self`).
 */
export function accounts(dialect: Dialect, appRole: string | undefined): Migration {
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
