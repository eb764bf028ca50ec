// Audited reads' events appended off the event loop (`Gate.read` on SQLite): a
// thread of its own (`append-thread-worker.ts`) with its own connection takes
// the events of each turn of the event loop as one message, appends them in
// one write transaction, syncs it and answers each event's sequence number.
// The read is answered only then, so a read whose event did not reach the disk
// is refused (fails closed), as on the event loop's own path. Events it leaves
// (a chain's every-1000th, signed in the appending transaction) and events it
// could not append are told apart: the former go the event loop's way
// (`AuditLog.append`), the latter fail their reads. The thread starts with the
// first such read and ends after IDLE_MS without one (memory at rest).
import { Worker } from 'node:worker_threads';
import type { ChainKeying } from './chain.ts';
import { appenderName, giveTurn, type WriteTurn } from '../db/write-turn.ts';

/**
 * An event's chained values but its sequence number and reason, which only its chain's head gives (the thread's):
 * tenant_id, at, actor_id, action, resource_type, resource_id, person_id, department_id, outcome, detail.
 */
export type OffThreadRow = [
  string,
  string,
  string | null,
  string,
  string,
  string | null,
  string | null,
  string | null,
  string,
  string | null,
];
export interface AppendBatch {
  batch: number;
  rows: OffThreadRow[];
}
export type AppendReply = { batch: number; seqs: (number | null)[] } | { batch: number; error: string; code?: string };

/** The thread ends after this long without an event (started again by the next). */
const IDLE_MS = 30_000;

/** The appender thread ended or failed: the reads waiting for it are refused (503 `audit-unavailable`). */
export class AppendThreadError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code?: string) {
    super(`audit appender: ${message}`);
    this.code = code;
  }
}

interface Waiter {
  resolve: (seq: number | null) => void;
  reject: (e: unknown) => void;
}

export interface AppendThreadOptions {
  file: string;
  keying: ChainKeying;
  turn: WriteTurn;
  checkpointEvery: number;
  fallbackPages: number;
  /** Told after each of the thread's commits (the WAL's checkpoints). */
  committed: () => void;
  idleMs?: number;
}

export class AppendThread {
  private readonly opts: AppendThreadOptions;
  private worker: Worker | undefined;
  /** Ends when the thread has ended (after `close` or an idle end). */
  private ended: Promise<void> = Promise.resolve();
  private rows: OffThreadRow[] = [];
  private waiters: Waiter[] = [];
  private readonly sent = new Map<number, Waiter[]>();
  private next = 0;
  /** Threads started so far (each names itself in the write turn: `appenderName`). */
  private started = 0;
  private flushing = false;
  private closing = false;
  private idle: NodeJS.Timeout | undefined;
  /** Told when nothing sent waits for an answer (`close`). */
  private quiet: (() => void)[] = [];

  constructor(opts: AppendThreadOptions) {
    this.opts = opts;
  }

  /** Resolves with the event's sequence number once it is on disk, or null: left to the event loop's way. */
  append(row: OffThreadRow): Promise<number | null> {
    if (this.closing) return Promise.reject(new AppendThreadError('closing'));
    // Not ended for idleness while this event waits for its turn's message.
    clearTimeout(this.idle);
    this.rows.push(row);
    const p = new Promise<number | null>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (!this.flushing) {
      this.flushing = true;
      // The events of this turn of the event loop go as one message.
      setImmediate(() => this.flush());
    }
    return p;
  }

  /** Refuses later events, waits until those asked for are answered, then ends the thread. */
  async close(): Promise<void> {
    this.closing = true;
    this.flush();
    // Held by the process until it has ended: a server shutting down has nothing else left to wait for.
    this.worker?.ref();
    while (this.sent.size > 0) await new Promise<void>((r) => this.quiet.push(r));
    clearTimeout(this.idle);
    this.end();
    await this.ended;
  }

  private flush() {
    this.flushing = false;
    if (this.rows.length === 0) return;
    const batch = this.next++;
    const rows = this.rows;
    this.sent.set(batch, this.waiters);
    this.rows = [];
    this.waiters = [];
    clearTimeout(this.idle);
    try {
      const w = this.thread();
      w.postMessage({ batch, rows } satisfies AppendBatch);
      // Held by the process while events wait for it (not only while a server listens: a process whose last work is
      // an audited read would otherwise exit under it); let go again when nothing waits (`answer`).
      w.ref();
    } catch (e) {
      // No thread to take them (it could not start): these events are not written, and their reads are refused.
      const waiters = this.sent.get(batch) ?? [];
      this.sent.delete(batch);
      const why = new AppendThreadError(`not handed over: ${e instanceof Error ? e.message : String(e)}`);
      for (const w of waiters) w.reject(why);
      this.settled();
      // A thread that started but took nothing must not hold the process.
      if (this.sent.size === 0) this.worker?.unref();
    }
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const { file, keying, turn, checkpointEvery, fallbackPages } = this.opts;
    const me = appenderName(this.started++);
    const w = new Worker(new URL('./append-thread-worker.ts', import.meta.url), {
      workerData: { file, keying, turn, me, checkpointEvery, fallbackPages },
    });
    this.worker = w;
    this.ended = new Promise<void>((resolve) => w.once('exit', () => resolve()));
    w.on('message', (m: AppendReply) => this.answer(m));
    w.on('error', (e) => this.lost(w, e));
    w.once('exit', (code) => {
      // A thread that ended while it had the write turn gives it back now that its connection is closed.
      giveTurn(turn, me);
      this.lost(w, new AppendThreadError(`thread ended (exit code ${code})`));
    });
    return w;
  }

  private answer(m: AppendReply) {
    const waiters = this.sent.get(m.batch);
    this.sent.delete(m.batch);
    if ('error' in m) for (const w of waiters ?? []) w.reject(new AppendThreadError(m.error, m.code));
    else {
      this.opts.committed();
      for (const [i, w] of (waiters ?? []).entries()) w.resolve(m.seqs[i] ?? null);
    }
    this.settled();
    if (this.sent.size === 0 && this.rows.length === 0 && !this.closing) {
      // Idle, the thread must not keep the process alive on its own.
      this.worker?.unref();
      clearTimeout(this.idle);
      this.idle = setTimeout(() => this.end(), this.opts.idleMs ?? IDLE_MS);
      this.idle.unref();
    }
  }

  /** The thread failed or ended: what it had not answered is refused; the next event starts a new one. */
  private lost(w: Worker, e: unknown) {
    if (this.worker !== w) return;
    this.worker = undefined;
    for (const waiters of this.sent.values()) for (const x of waiters) x.reject(e);
    this.sent.clear();
    this.settled();
  }

  private settled() {
    if (this.sent.size > 0) return;
    for (const r of this.quiet.splice(0)) r();
  }

  private end() {
    const w = this.worker;
    if (!w || this.sent.size > 0 || this.rows.length > 0) return;
    this.worker = undefined;
    w.postMessage('close');
    // Held until it has closed its connection and ended (milliseconds): a stop meanwhile waits for it (`close`).
    w.ref();
  }
}
