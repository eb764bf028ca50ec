// Group commit for the embedded SQLite store. SQLite has one writer and each
// durable commit costs an fsync; requests that arrive together therefore run
// one after another inside one transaction, each in its own savepoint, and
// share a single commit. A request whose work fails is rolled back to its
// savepoint alone; no request is answered before the commit that holds it.
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.ts';

type Conn = Kysely<Database>;

interface Job {
  work: (tx: Conn) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export class GroupCommitter {
  private readonly queue: Job[] = [];
  private draining = false;

  constructor(
    private readonly db: Conn,
    /** Bounds how long other (autocommit) queries wait for the connection. */
    private readonly maxBatch = 64,
  ) {}

  run<T>(work: (tx: Conn) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (v: unknown) => void, reject });
      if (!this.draining) {
        this.draining = true;
        // Let the requests that arrived with this one reach the queue first, so they share the commit.
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain() {
    try {
      while (this.queue.length > 0) {
        await this.db.connection().execute((conn) => this.batch(conn));
        if (this.queue.length > 0) await new Promise((r) => setImmediate(r));
      }
    } finally {
      this.draining = false;
    }
  }

  private async batch(conn: Conn) {
    const pending: { job: Job; value: unknown }[] = [];
    await sql`begin immediate`.execute(conn);
    for (let n = 0; n < this.maxBatch && this.queue.length > 0; n++) {
      const job = this.queue.shift()!;
      await sql`savepoint job`.execute(conn);
      try {
        const value = await job.work(conn);
        await sql`release job`.execute(conn);
        pending.push({ job, value });
      } catch (e) {
        await sql`rollback to job`.execute(conn);
        await sql`release job`.execute(conn);
        job.reject(e);
      }
    }
    try {
      await sql`commit`.execute(conn);
    } catch (e) {
      await sql`rollback`.execute(conn).catch(() => {});
      for (const p of pending) p.job.reject(e);
      return;
    }
    for (const p of pending) p.job.resolve(p.value);
  }
}
