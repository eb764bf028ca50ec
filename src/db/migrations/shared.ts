// What several migrations call: append-only triggers and PostgreSQL's tenant walls and grants. Changing
// these changes what later migrations do on a new database, so they change only with a new migration.
import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../schema.ts';

/** A migration sees the schema as it stood when it ran, not today's `Database`: any table, any column. */
export type SchemaAtMigration = Kysely<Record<string, Record<string, unknown>>>;

/** Rows of these tables can be neither changed nor removed, whoever asks. */
export async function appendOnly(db: SchemaAtMigration, dialect: Dialect, tables: string[]) {
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
export async function postgresWalls(db: SchemaAtMigration, tables: readonly string[], appRole: string | undefined) {
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
  // The migrations' record is the owner's alone (issue 19: migration 040 took back what earlier walls left).
  await sql`REVOKE ALL ON kysely_migration, kysely_migration_lock FROM ${role}`.execute(db);
}
