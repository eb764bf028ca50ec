// Opens the database: embedded SQLite (WAL, durable commits) in the data
// directory, or PostgreSQL when a URL is configured. Every access to tenant
// rows runs inside `inTenantTransaction`: a transaction, which on PostgreSQL
// also sets the row-level-security wall to the tenant (on SQLite nothing walls
// tenants off: every query names its tenant itself).
import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { Kysely, PostgresAdapter, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { GroupCommitter } from './group-commit.ts';
import { ReadBatcher } from './read-batch.ts';
import { newWriteTurn, type WriteTurn } from './write-turn.ts';
import { TurnTakingSqliteDialect } from './turn-taking-dialect.ts';
import { FALLBACK_PAGES, walCheckpointer } from './wal-checkpoint.ts';
import { walSync } from './wal-sync.ts';
import { fixedPlan } from './fixed-plans.ts';
import type { Database, Dialect } from './schema.ts';
import { migrate, type MigrationProgress } from './migrate.ts';
import { RefusalError, refusal } from '../config/refusal.ts'; // Issue 19: s23-review
import { isConnectTimeout, lossTolerated, PG_CONNECT_TIMEOUT_MS } from './pg-connect.ts'; // s27

export type Db = Kysely<Database>;
declare const inTransaction: unique symbol;
/**
 * A connection inside a transaction (Kysely's Transaction, or the group committer's
 * connection in its savepoint). Only `inTenantTransaction` makes one, so the whole database
 * handle (`Store`, `Db`) does not type-check where a transaction is expected; a
 * `Tx` still serves where a `Db` is (it is one, inside a transaction).
 */
export type Tx = Db & { readonly [inTransaction]: true };

export interface Store {
  db: Db;
  dialect: Dialect;
  /** The SQLite file, for tests and the doctor; absent on PostgreSQL. */
  file?: string;
  /** PostgreSQL only: the app role's URL, for verification workers. */
  url?: string;
  /** SQLite only: concurrent transactions share one durable commit. */
  committer?: GroupCommitter;
  /** SQLite only: read transactions on a read-only connection of their own (`inTenantRead`). */
  reader?: ReadBatcher;
  /** SQLite only: the turn this process's writers take before they write (`write-turn.ts`). */
  writeTurn?: WriteTurn;
  /** SQLite only: told after a commit made on another connection of this process (the WAL's checkpoints). */
  walCommitted?: () => void;
  /**
   * SQLite only: the value every change to what a principal is made of sets anew (migration 042), read on the
   * connection itself without waiting for it — inside a batch it includes the batch's changes so far, which
   * only makes a cached principal miss more often (`principal-cache.ts`).
   */
  principalVersion?: () => bigint;
  close(): Promise<void>;
}

// bigint columns (audit sequence numbers, counts) as numbers: they stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

export interface OpenOptions {
  dataDir: string;
  databaseUrl?: string;
  databaseAdminUrl?: string;
  progress?: MigrationProgress;
}

export async function openStore(opts: OpenOptions): Promise<Store> {
  if (opts.databaseUrl) return openPostgres(opts.databaseUrl, opts.databaseAdminUrl ?? opts.databaseUrl, opts.progress);
  return openSqlite(opts.dataDir, opts.progress);
}

async function openSqlite(dataDir: string, progress?: MigrationProgress): Promise<Store> {
  const file = path.join(dataDir, 'kartei.sqlite');
  // Created owner-only; SQLite gives its WAL and shared-memory files the same mode.
  fs.closeSync(fs.openSync(file, 'a', 0o600));
  const native = new SQLite(file);
  native.pragma('journal_mode = WAL');
  // Commits write the log without syncing it; the group committer syncs it off the event loop
  // before anyone is answered (walSync), which is as durable as FULL. Checkpoints still sync.
  native.pragma('synchronous = NORMAL');
  native.pragma('foreign_keys = ON');
  native.pragma('secure_delete = ON');
  native.pragma('busy_timeout = 5000');
  // Savepoints' sub-journals (every group-commit job has one) and temporary tables in memory: SQLite's default
  // spills them to files in /var/tmp (unlinked, but written: ~4,500 writes a second under the gated reads' load),
  // which would put pages of the database — audit rows, ids — outside its directory, onto a disk the operator may
  // not have encrypted as the data directory's.
  native.pragma('temp_store = MEMORY');
  // A larger page cache: the gated read path touches a dozen b-trees.
  native.pragma('cache_size = -65536');
  // Checkpoints run on a thread of their own (wal-checkpoint.ts); this connection only if that one falls behind.
  native.pragma(`wal_autocheckpoint = ${FALLBACK_PAGES}`);
  const statements = cachingStatements(native);
  const writeTurn = newWriteTurn();
  const db = new Kysely<Database>({
    dialect: new TurnTakingSqliteDialect(
      { database: statements },
      native,
      (text) => !statements.prepare(text).reader,
      writeTurn,
    ),
  });
  await migrate(db, 'sqlite', { progress });
  const wal = walSync(`${file}-wal`);
  const checkpoints = walCheckpointer(file);
  const version = native.prepare('select v from principal_version where id = 1').pluck().safeIntegers();
  const committer = new GroupCommitter(db, wal.sync, {
    committed: () => checkpoints.committed(),
    statement: (text) => statements.prepare(text),
    turn: writeTurn,
  });
  const readOnly = new SQLite(file, { readonly: true });
  readOnly.pragma('cache_size = -65536');
  const readStatements = cachingStatements(readOnly);
  const readDb = new Kysely<Database>({ dialect: new SqliteDialect({ database: readStatements }) });
  const reader = new ReadBatcher(readDb, (text) => readStatements.prepare(text));
  return {
    db,
    dialect: 'sqlite',
    file,
    reader,
    writeTurn,
    walCommitted: () => checkpoints.committed(),
    principalVersion: () => version.get() as bigint,
    committer,
    async close() {
      // What is queued is written and answered first; what comes after is refused (`StoreClosed`), never run on a
      // connection already gone (s28: a job queued during a stop crashed the process from the committer's drain).
      await committer.close();
      await reader.close();
      await checkpoints.close();
      await readDb.destroy();
      // Kysely closes it only if it was ever used.
      if (readOnly.open) readOnly.close();
      await db.destroy();
      await wal.close();
    },
  };
}

/**
 * A pool whose connections may end without the process ending: PostgreSQL restarted, an operator's
 * `pg_terminate_backend` or `DROP DATABASE … WITH (FORCE)`, a network cut. For an idle connection pg
 * drops it from the pool and emits 'error' on the pool; for one in use (a request's, between or during
 * its queries) it emits 'error' on the connection itself, where pg-pool has taken its own listener off
 * and Kysely adds none. Either, without a listener, is thrown and ends the server (s27: a request in
 * flight while PostgreSQL went away ended `kartei serve`). The queries in flight fail to their callers
 * (answered 503 `service-unavailable`), pg-pool does not take such a connection back, and the next
 * query opens a new one.
 */
export function idleErrorsHandled(pool: pg.Pool): pg.Pool {
  pool.on('error', () => undefined);
  pool.on('connect', (client) => lossTolerated(client));
  return pool;
}

/**
 * s27: a pooled connection has PG_CONNECT_TIMEOUT_MS to connect (`pg-connect.ts`). Not pg-pool's own
 * `connectionTimeoutMillis`, which would bound the wait for a free connection too: a busy pool is no unreachable
 * database, and the letter runner or an import waiting its turn must not fail for it.
 */
class TimedClient extends pg.Client {
  constructor(config?: string | pg.ClientConfig) {
    super({
      ...(typeof config === 'string' ? { connectionString: config } : config),
      connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS,
    });
  }
}

/** A pool of `max` connections to `url`, each with the time limit to connect, their errors handled (idleErrorsHandled). */
export function pgPool(url: string, max: number): pg.Pool {
  return idleErrorsHandled(new pg.Pool({ connectionString: url, max, Client: TimedClient }));
}

async function openPostgres(appUrl: string, adminUrl: string, progress?: MigrationProgress): Promise<Store> {
  const appUser = new URL(appUrl).username;
  const adminUser = new URL(adminUrl).username;
  const admin = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: pgPool(adminUrl, 1) }),
  });
  try {
    // Issue 19: s23-review — the database not reached at all: a refusal, not pg's error with a stack.
    await sql`select 1`.execute(admin).catch((e: unknown) => {
      throw notReached(e) ?? e;
    });
    await migrate(admin, 'postgres', { appRole: appUser !== adminUser ? appUser : undefined, progress });
  } finally {
    await admin.destroy();
  }
  const pool = pgPool(appUrl, 10);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: 'postgres', url: appUrl, close: () => db.destroy() };
}

/**
 * Kysely prepares every query anew; preparing costs as much as running a small
 * query, so statements are kept per SQL text (the text never holds values), each
 * with a plan that stays fixed when its parameters are bound again (`fixed-plans.ts`).
 */
function cachingStatements(native: SQLite.Database) {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => native.close(),
    prepare(text: string) {
      let stmt = cache.get(text);
      if (!stmt) {
        if (cache.size >= 2_000) cache.clear();
        stmt = native.prepare(fixedPlan(text));
        cache.set(text, stmt);
      }
      return stmt;
    },
  };
}

/**
 * Runs `work` in one transaction on behalf of a tenant. On PostgreSQL the
 * transaction is confined to that tenant's rows: it sets `kartei.tenant`, which
 * the row-level-security policies check. On SQLite it only opens the
 * transaction (the group committer's savepoint): it confines nothing, and each
 * query must name its tenant in its own `where`, as every query here does.
 */
export function inTenantTransaction<T>(store: Store, tenantId: string, work: (tx: Tx) => Promise<T>): Promise<T> {
  if (store.committer) return store.committer.run((conn) => work(conn as Tx));
  return store.db.transaction().execute(async (tx) => {
    if (store.dialect === 'postgres') await sql`select set_config('kartei.tenant', ${tenantId}, true)`.execute(tx);
    return work(tx as unknown as Tx);
  });
}

/**
 * Runs `work`, which only reads, in one read transaction on behalf of a tenant: on SQLite on the read-only
 * connection (`read-batch.ts`), not queued behind the writer's batches; elsewhere as `inTenantSnapshot`.
 * A write inside it fails on SQLite (the connection is read-only).
 */
export function inTenantRead<T>(store: Store, tenantId: string, work: (tx: Tx) => Promise<T>): Promise<T> {
  if (store.reader) return store.reader.run((conn) => work(conn as Tx));
  return inTenantSnapshot(store, tenantId, work);
}

/**
 * s25: `inTenantTransaction` in which every statement reads the same committed state, read only: on PostgreSQL
 * REPEATABLE READ (under READ COMMITTED each statement reads anew, and rows committed between two are seen by the
 * second only). On SQLite the group committer runs the work alone on the one writer: one state already.
 */
export function inTenantSnapshot<T>(store: Store, tenantId: string, work: (tx: Tx) => Promise<T>): Promise<T> {
  if (store.committer) return inTenantTransaction(store, tenantId, work);
  return store.db
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute(async (tx) => {
      if (store.dialect === 'postgres') await sql`select set_config('kartei.tenant', ${tenantId}, true)`.execute(tx);
      return work(tx as unknown as Tx);
    });
}

/**
 * Holds `key` until the transaction ends, so checks that read several rows and then
 * write (e.g. "another DPO remains") cannot interleave. SQLite runs one write
 * transaction at a time already; PostgreSQL takes a transaction-scoped advisory lock.
 */
export async function serialise(tx: Tx, key: string): Promise<void> {
  if (tx.getExecutor().adapter instanceof PostgresAdapter)
    await sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`.execute(tx);
}

/**
 * A savepoint on PostgreSQL, where another transaction may do the same work at once and win (one
 * SOP instance stored on two associations): what the loser made for it is rolled back, the rest
 * of its transaction kept. SQLite writes one transaction at a time and never meets that twin, so
 * there it costs nothing and both ends do nothing.
 */
export async function twinSavepoint(tx: Tx, name: 'index_instance'): Promise<{ undo(): Promise<void> }> {
  if (!(tx.getExecutor().adapter instanceof PostgresAdapter)) return { undo: async () => {} };
  await sql`savepoint ${sql.id(name)}`.execute(tx);
  return {
    async undo() {
      await sql`rollback to savepoint ${sql.id(name)}`.execute(tx);
      await sql`release savepoint ${sql.id(name)}`.execute(tx);
    },
  };
}

// Issue 19: s23-review — the database of KARTEI_DATABASE_URL not reached when it is opened.
/** Down or not found (Node's network codes), or the login refused / no such database (PostgreSQL's 28… and 3D000). */
const NOT_REACHED =
  /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ECONNRESET|28[0-9A-Z]{3}|3D000)$/;

/** Refused with a code for `kartei` to say (src/cli/refusals.ts); its reason names host, port or user, never the password. */
export class DatabaseNotReached extends RefusalError {}

function notReached(e: unknown): DatabaseNotReached | undefined {
  const code = (e as { code?: unknown }).code;
  if (!(e instanceof Error) || !(isConnectTimeout(e) || (typeof code === 'string' && NOT_REACHED.test(code))))
    return undefined;
  return databaseNotReached(e);
}

/**
 * The refusal for a PostgreSQL that could not be asked, as `kartei` says it: one that accepts and never answers (s27:
 * no connection within the time limit, `pg-connect.ts`) in words of its own, else with pg's or Node's reason.
 */
export function databaseNotReached(e: Error): DatabaseNotReached {
  if (isConnectTimeout(e)) {
    const seconds = PG_CONNECT_TIMEOUT_MS / 1000;
    return new DatabaseNotReached(
      `the database of KARTEI_DATABASE_URL does not answer: no connection within ${seconds} s; is it running, and reachable from here?`,
      refusal('database-no-answer', { seconds }),
    );
  }
  return new DatabaseNotReached(
    `the database of KARTEI_DATABASE_URL cannot be reached (${e.message}); is it running, and are its address, user and password right?`,
    refusal('database-not-reached', { reason: e.message }),
  );
}
