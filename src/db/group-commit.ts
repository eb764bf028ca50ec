// Group commit for the embedded SQLite store. SQLite has one writer and each
// durable commit costs an fsync; requests that arrive together therefore run
// one after another inside one transaction, each in its own savepoint, and
// share a single commit. A request whose work fails is rolled back to its
// savepoint alone; no request is answered before the commit that holds it is
// on disk. The commit itself does not sync (synchronous=NORMAL): `durable`
// syncs the write-ahead log on the thread pool afterwards, so the event loop
// keeps serving (and the next batch runs) during the fsync. A batch is answered
// only after a sync that began after its commit, which also covers every
// commit before it: nothing a caller is told rests on data not yet on disk.
import { CompiledQuery, type Kysely } from 'kysely';
import type { Database } from './schema.ts';
import { runDirectly, type DirectStatement } from './prepared.ts';
import { EVENT_LOOP, giveTurn, takeTurn, type WriteTurn } from './write-turn.ts';

type Conn = Kysely<Database>;

// Compiled once: a raw `sql` template is built and compiled anew at every use, twice per request here.
const BEGIN = CompiledQuery.raw('begin immediate');
const SAVEPOINT = CompiledQuery.raw('savepoint job');
const RELEASE = CompiledQuery.raw('release job');
const ROLLBACK_TO = CompiledQuery.raw('rollback to job');
const COMMIT = CompiledQuery.raw('commit');
const ROLLBACK = CompiledQuery.raw('rollback');

interface Job {
  work: (tx: Conn) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** A job asked for after the store began to close: refused, never queued (a request during shutdown answers 503). */
export class StoreClosed extends Error {
  readonly code = 'KARTEI_STORE_CLOSED';
  constructor() {
    super('the database is closing: nothing more is written');
  }
}

export class GroupCommitter {
  private readonly queue: Job[] = [];
  private draining = false;
  /** Set by `close`: later jobs are refused. */
  private closing = false;
  /** The running drain, until the queue is empty (`close` waits for it). */
  private drained: Promise<void> = Promise.resolve();
  /** Batches committed and waiting for their sync (`close` waits for them). */
  private readonly answering = new Set<Promise<void>>();

  private readonly db: Conn;
  /** Makes every commit so far durable (syncs the write-ahead log). */
  private readonly durable: () => Promise<void>;
  /** Bounds how long other (autocommit) queries wait for the connection. */
  private readonly maxBatch: number;
  /** Told after each commit (the log's checkpoints, `wal-checkpoint.ts`). */
  private readonly committed: () => void;
  /** The connection's own statements, for prepared queries inside a batch (`prepared.ts`). */
  private readonly statement: ((sql: string) => DirectStatement) | undefined;
  /** Taken before each batch's BEGIN, given back after its end: the process's other writer waits meanwhile. */
  private readonly turn: WriteTurn | undefined;
  // Issue 19: ops — told once per durable batch (its size, the WAL sync's seconds); the metrics read `waiting`.
  observe?: (jobs: number, syncSeconds: number) => void;
  get waiting(): number {
    return this.queue.length;
  }
  constructor(
    db: Conn,
    durable: () => Promise<void>,
    opts: {
      maxBatch?: number;
      committed?: () => void;
      statement?: (sql: string) => DirectStatement;
      turn?: WriteTurn;
    } = {},
  ) {
    this.db = db;
    this.durable = durable;
    this.maxBatch = opts.maxBatch ?? 64;
    this.committed = opts.committed ?? (() => {});
    this.statement = opts.statement;
    this.turn = opts.turn;
  }

  run<T>(work: (tx: Conn) => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new StoreClosed());
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (v: unknown) => void, reject });
      if (!this.draining) {
        this.draining = true;
        // Let the requests that arrived with this one reach the queue first, so they share the commit.
        this.drained = new Promise<void>((r) => setImmediate(() => void this.drain().finally(r)));
      }
    });
  }

  /**
   * Refuses every job asked for from now on (`StoreClosed`), runs those already queued and waits until the last
   * batch is committed and answered: then the connection may be closed under nothing that still uses it.
   */
  async close(): Promise<void> {
    this.closing = true;
    await this.drained;
    await Promise.allSettled([...this.answering]);
  }

  private async drain() {
    try {
      while (this.queue.length > 0) {
        let committed: { job: Job; value: unknown }[];
        try {
          committed = await this.db.connection().execute((conn) => this.inTurn(() => this.batch(conn)));
        } catch (e) {
          // No connection to be had, or no transaction to begin (the store closed under it): every job still
          // waiting fails with that error — none is left unanswered, and nothing is thrown where no one listens.
          for (const job of this.queue.splice(0)) job.reject(e);
          return;
        }
        // The next batch runs while this one's sync is on its way.
        const answered = this.answerWhenDurable(committed);
        this.answering.add(answered);
        void answered.finally(() => this.answering.delete(answered));
        if (this.queue.length > 0) await new Promise((r) => setImmediate(r));
      }
    } finally {
      this.draining = false;
    }
  }

  private async answerWhenDurable(committed: { job: Job; value: unknown }[]) {
    if (committed.length === 0) return;
    const t0 = performance.now(); // Issue 19: ops
    try {
      await this.durable();
      this.observe?.(committed.length, (performance.now() - t0) / 1000); // Issue 19: ops
    } catch (e) {
      for (const p of committed) p.job.reject(e);
      return;
    }
    for (const p of committed) p.job.resolve(p.value);
  }

  /** Runs `batch` in this process's write turn (`write-turn.ts`), if it has writers on other threads. */
  private async inTurn<T>(batch: () => Promise<T>): Promise<T> {
    if (!this.turn) return batch();
    await takeTurn(this.turn, EVENT_LOOP);
    try {
      return await batch();
    } finally {
      giveTurn(this.turn, EVENT_LOOP);
    }
  }

  /** One of the batch's own statements, on the connection itself when the committer has it. */
  private async exec(conn: Conn, q: CompiledQuery): Promise<void> {
    if (this.statement) this.statement(q.sql).run([]);
    else await conn.executeQuery(q);
  }

  /** Runs a batch and commits it; returns the jobs to answer once the commit is durable. */
  private async batch(conn: Conn): Promise<{ job: Job; value: unknown }[]> {
    const pending: { job: Job; value: unknown }[] = [];
    // This batch holds the connection alone until it returns: its prepared queries may skip Kysely's executor.
    if (this.statement) runDirectly(conn, this.statement);
    const exec = (q: CompiledQuery) => this.exec(conn, q);
    await exec(BEGIN);
    try {
      for (let n = 0; n < this.maxBatch && this.queue.length > 0; n++) {
        const job = this.queue.shift()!;
        try {
          await exec(SAVEPOINT);
        } catch (e) {
          job.reject(e);
          throw e;
        }
        try {
          const value = await job.work(conn);
          await exec(RELEASE);
          pending.push({ job, value });
        } catch (e) {
          job.reject(e);
          // Its work undone alone; should even that fail, the whole batch is (below).
          await exec(ROLLBACK_TO);
          await exec(RELEASE);
        }
      }
      await exec(COMMIT);
      this.committed();
    } catch (e) {
      // A statement of the batch's own failed (the commit, or a savepoint's): nothing of it stays.
      await exec(ROLLBACK).catch(() => {});
      for (const p of pending) p.job.reject(e);
      return [];
    }
    return pending;
  }
}
