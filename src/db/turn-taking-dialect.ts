// The server's SQLite connection as Kysely sees it, taking this process's write
// turn (`write-turn.ts`) for what it writes outside the group committer: an
// autocommit write (a session's touch, a login throttle, the heartbeat) or a
// transaction of its own. Without it such a write would meet the audit
// appender's thread holding the file's write lock and wait in SQLite's busy
// handler, which sleeps on the event loop. Reads never wait; inside the group
// committer's batch (which took the turn itself) nothing waits either. The turn
// is taken after the connection (Kysely's mutex), as the committer takes it: one
// order, no deadlock.
import { type CompiledQuery, type DatabaseConnection, type QueryResult, SqliteDialect, SqliteDriver } from 'kysely';
import type { SqliteDialectConfig } from 'kysely';
import { EVENT_LOOP, giveTurn, takeTurn, type WriteTurn } from './write-turn.ts';

interface Native {
  readonly inTransaction: boolean;
}

export class TurnTakingSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  readonly #native: Native;
  readonly #writes: (sql: string) => boolean;
  readonly #turn: WriteTurn;

  /** `writes(sql)`: whether the statement writes (better-sqlite3's `!reader`). */
  constructor(config: SqliteDialectConfig, native: Native, writes: (sql: string) => boolean, turn: WriteTurn) {
    super(config);
    this.#config = config;
    this.#native = native;
    this.#writes = writes;
    this.#turn = turn;
  }

  override createDriver() {
    return new TurnTakingDriver(this.#config, this.#native, this.#writes, this.#turn);
  }
}

class TurnTakingDriver extends SqliteDriver {
  readonly #native: Native;
  readonly #writes: (sql: string) => boolean;
  readonly #turn: WriteTurn;
  #wrapped: DatabaseConnection | undefined;
  /** Whether this connection took the turn (and keeps it while a transaction of its own runs). */
  #holds = false;

  constructor(config: SqliteDialectConfig, native: Native, writes: (sql: string) => boolean, turn: WriteTurn) {
    super(config);
    this.#native = native;
    this.#writes = writes;
    this.#turn = turn;
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    const inner = await super.acquireConnection();
    this.#wrapped ??= {
      executeQuery: <R>(q: CompiledQuery) => this.#execute<R>(inner, q),
      streamQuery: <R>(q: CompiledQuery, chunkSize?: number) => inner.streamQuery<R>(q, chunkSize),
    };
    return this.#wrapped;
  }

  async #execute<R>(inner: DatabaseConnection, q: CompiledQuery): Promise<QueryResult<R>> {
    // In a transaction (the committer's batch, or one that took the turn below), or only reading: as it is.
    if (!this.#holds && (this.#native.inTransaction || !this.#writes(q.sql))) return inner.executeQuery<R>(q);
    if (!this.#holds) {
      await takeTurn(this.#turn, EVENT_LOOP);
      this.#holds = true;
    }
    try {
      return await inner.executeQuery<R>(q);
    } finally {
      // An autocommit write is done; a transaction begun here keeps the turn until it ends.
      if (!this.#native.inTransaction) {
        this.#holds = false;
        giveTurn(this.#turn, EVENT_LOOP);
      }
    }
  }
}
