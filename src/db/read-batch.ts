// Reads that need one consistent state and write nothing (the gate's audited
// reads: `Gate.read`), on a read-only SQLite connection of their own, so they do
// not queue for the writer's group commit (savepoints, a commit and its sync per
// batch) behind other requests' writes. Requests that arrive together run one
// after another in one read transaction (WAL: every commit made before it began,
// none made during it); a job that tries to write fails alone (the connection is
// read-only) and the others go on.
import { CompiledQuery, type Kysely } from 'kysely';
import type { Database } from './schema.ts';
import { runDirectly, type DirectStatement } from './prepared.ts';
import { StoreClosed } from './group-commit.ts';

type Conn = Kysely<Database>;

const BEGIN = CompiledQuery.raw('begin');
const COMMIT = CompiledQuery.raw('commit');
const ROLLBACK = CompiledQuery.raw('rollback');
/** As many jobs share one read transaction, at most (the next batch sees later commits). */
const MAX_BATCH = 64;

interface Job {
  work: (tx: Conn) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export class ReadBatcher {
  private readonly queue: Job[] = [];
  private draining = false;
  private closing = false;
  private drained: Promise<void> = Promise.resolve();
  private readonly db: Conn;
  private readonly statement: (sql: string) => DirectStatement;

  constructor(db: Conn, statement: (sql: string) => DirectStatement) {
    this.db = db;
    this.statement = statement;
  }

  run<T>(work: (tx: Conn) => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new StoreClosed());
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (v: unknown) => void, reject });
      if (!this.draining) {
        this.draining = true;
        // The requests that arrived with this one share its read transaction.
        this.drained = new Promise<void>((r) => setImmediate(() => void this.drain().finally(r)));
      }
    });
  }

  /** Refuses later jobs and waits for those queued. */
  async close(): Promise<void> {
    this.closing = true;
    await this.drained;
  }

  private async drain() {
    try {
      while (this.queue.length > 0) {
        const jobs = this.queue.splice(0, MAX_BATCH);
        try {
          await this.db.connection().execute((conn) => this.batch(conn, jobs));
        } catch (e) {
          // No connection or no transaction: the jobs not yet answered fail with it (a job's own error stays its own).
          for (const job of jobs) job.reject(e);
        }
        if (this.queue.length > 0) await new Promise((r) => setImmediate(r));
      }
    } finally {
      this.draining = false;
    }
  }

  private async batch(conn: Conn, jobs: Job[]) {
    // This batch holds the connection alone until it returns: its prepared queries may skip Kysely's executor.
    runDirectly(conn, this.statement);
    this.statement(BEGIN.sql).run([]);
    for (const job of jobs) {
      try {
        job.resolve(await job.work(conn));
      } catch (e) {
        job.reject(e);
      }
    }
    try {
      this.statement(COMMIT.sql).run([]);
    } catch (e) {
      // Never left inside the transaction: the next batch would fail to begin, or read an old state.
      this.statement(ROLLBACK.sql).run([]);
      throw e;
    }
  }
}
