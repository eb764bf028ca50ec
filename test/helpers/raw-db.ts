// The database beside the application (tests of the audit chain and its keys): a plain connection
// as the database's owner, with `?` placeholders on either dialect; as the attacker, with the
// append-only triggers of the audit tables dropped on SQLite and the replication role on PostgreSQL
// (triggers and row-level security off).
import Database from 'better-sqlite3';
import pg from 'pg';
import { DIALECT, type Harness } from './harness.ts';

export interface RawDb {
  all(q: string, ...params: unknown[]): Promise<Record<string, any>[]>;
  run(q: string, ...params: unknown[]): Promise<void>;
  close(): Promise<void>;
}

/** `attack`: the append-only triggers off; `url`: another PostgreSQL role than the admin's. */
export async function openRawDb(
  h: Harness,
  { attack = false, url = h.config.databaseAdminUrl }: { attack?: boolean; url?: string } = {},
): Promise<RawDb> {
  if (DIALECT === 'sqlite') {
    const db = new Database(h.services.store.file!);
    db.pragma('busy_timeout = 5000');
    if (attack)
      for (const t of ['audit_events', 'audit_checkpoints'])
        for (const op of ['update', 'delete']) db.exec(`DROP TRIGGER IF EXISTS ${t}_no_${op}`);
    return {
      all: async (q, ...p) => db.prepare(q).all(...p) as Record<string, any>[],
      run: async (q, ...p) => void db.prepare(q).run(...p),
      close: async () => void db.close(),
    };
  }
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  if (attack) await c.query('SET session_replication_role = replica');
  const numbered = (q: string) => {
    let i = 0;
    return q.replace(/\?/g, () => `$${++i}`);
  };
  return {
    all: async (q, ...p) => (await c.query(numbered(q), p)).rows,
    run: async (q, ...p) => void (await c.query(numbered(q), p)),
    close: () => c.end(),
  };
}

/** The attacker: owns the database file / is superuser, and switches the append-only triggers off first. */
export const attackerDb = (h: Harness) => openRawDb(h, { attack: true });

/** Runs one statement as the attacker. */
export async function asAttacker(h: Harness, q: string, ...params: unknown[]): Promise<void> {
  const db = await attackerDb(h);
  try {
    await db.run(q, ...params);
  } finally {
    await db.close();
  }
}
