// Runs the schema's migrations (src/db/migrations/, listed in order by its index.ts) at start:
// one schema for SQLite and PostgreSQL; the few differences (binary type, triggers, grants,
// row-level security) are spelled out in the migrations and nowhere else.
import { Migrator, type Kysely } from 'kysely';
import type { Database, Dialect } from './schema.ts';
import { migrationSet } from './migrations/index.ts';

export type MigrationProgress = (done: number, total: number, name: string) => void;

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
