// Sealed objects kept in PostgreSQL itself (issue 19: the default store of a
// PostgreSQL deployment, shared by all its instances). The bytes are the sealed
// stream of stream-format.ts, sealed in this process as for files: the header
// in the object's row (`sealed_objects`), each sealed chunk (ciphertext ‖ tag)
// a row of `sealed_chunks` (migration 038), so the database without the key
// directory reveals nothing. Reading opens chunk by chunk with stream-open.ts.
//
// A write keeps its object uncommitted (a temporary entry) until `commit`: only
// then is it under its final path, and an object committed under a path
// already taken replaces it in the same transaction (as a file renamed onto
// another does). Chunks go in bounded batches, so a large object is never held
// whole; a small one (a CT image) goes in with its commit in one transaction.
//
// Durability: the batches before the last are committed with
// `synchronous_commit = off`: their commit does not wait for the WAL flush.
// `commit`'s own transaction runs with the session's setting (on, unless the
// operator chose otherwise) and so waits until the WAL up to its commit record
// is flushed. WAL is flushed in order: every earlier batch's records lie before
// that commit record, so they are durable once it is. A crash before that
// loses at most uncommitted rows of a write no one was told had succeeded.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { pgPool, type Db, type Store } from '../db/connect.ts';
import type { Database } from '../db/schema.ts';
import { DecryptionError } from './aead.ts';
import { checkKey, DEFAULT_CHUNK_SIZE, fileKey, HEADER_LEN, TAG_LEN } from './stream-format.ts';
import { copyRange, openStoredChunk, rangeChunks, type SealedLayout, sealedLayout } from './stream-open.ts';
import { ChunkSealer } from './stream-seal.ts';
import type { SealedStore, SealedWrite, StoredEntry } from './sealed-store.ts';

export type StorageArea = 'images' | 'documents';

const SEGMENT = /^[A-Za-z0-9_.-]+$/;
const TMP_MARK = '.tmp-';
/**
 * Sealed bytes a write collects before it sends them (four chunks of the default size): what a
 * write holds at most, twice (one batch on its way, the next being filled).
 */
const BATCH_BYTES = 1024 * 1024;
/** Chunks fetched per query when a whole object is read: about a megabyte at the default size. */
const CHUNKS_PER_READ = 4;
/** Objects per page of `walk` (each page a short transaction of its own). */
const WALK_PAGE = 1000;

/** This process among the instances writing to the store (kept with its objects, for the operator). */
const WRITER = `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

/**
 * Connections of the store's own, apart from the application's pool: a caller may commit an
 * object while it holds a transaction of that pool (a document's upload commits inside the gate's
 * transaction), and many such callers at once must not wait for a connection none of them gives
 * back. One pool per database handle, shared by its areas, closed with the last of them.
 */
const POOL_SIZE = 8;
const pools = new WeakMap<Store, { db: Db; users: number }>();

function poolOf(store: Store): { db: Db; users: number } {
  let p = pools.get(store);
  if (!p) {
    if (!store.url) throw new Error('sealed objects in the database need the database URL');
    const pool = pgPool(store.url, POOL_SIZE);
    p = { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), users: 0 };
    pools.set(store, p);
  }
  p.users++;
  return p;
}

const enoent = (relPath: string) =>
  Object.assign(new Error(`no sealed object ${JSON.stringify(relPath)}`), { code: 'ENOENT' });

interface Located {
  tenantId: string;
  path: string;
}

export class SealedRows implements SealedStore {
  readonly kind = 'database' as const;
  /** Every instance of the deployment writes to the same tables. */
  readonly shared = true;
  private readonly store: Store;
  private readonly db: Db;
  private closed = false;
  readonly area: StorageArea;

  constructor(store: Store, area: StorageArea) {
    if (store.dialect !== 'postgres') throw new Error('sealed objects in the database need PostgreSQL');
    this.store = store;
    this.area = area;
    this.db = poolOf(store).db;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const p = pools.get(this.store);
    if (p && --p.users === 0) {
      pools.delete(this.store);
      await p.db.destroy();
    }
  }

  create(
    relPath: string,
    key: Buffer,
    aad: Buffer,
    opts: { chunkSize?: number; renamed?: () => Promise<void> | undefined } = {},
  ): SealedWrite {
    const at = locate(relPath);
    const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
    const writer = new RowsWriter(this, at, new ChunkSealer(key, aad, chunkSize), chunkSize, opts.renamed);
    return { stream: writer, commit: () => writer.commit(), abort: () => writer.abort() };
  }

  /**
   * A transaction walled to `tenantId`; `lazy`: its commit need not wait for the disk (see above);
   * `lock`: held until it ends (taken in the same statement, one round trip less).
   */
  tx<T>(tenantId: string, lazy: boolean, work: (tx: Db) => Promise<T>, lock?: string): Promise<T> {
    return this.db.transaction().execute(async (tx) => {
      await sql`select set_config('kartei.tenant', ${tenantId}, true),
        set_config('synchronous_commit', ${lazy ? 'off' : sql`current_setting('synchronous_commit')`}, true)
        ${lock ? sql`, pg_advisory_xact_lock(hashtextextended(${lock}, 0))` : sql``}`.execute(tx);
      return work(tx);
    });
  }

  openRead(relPath: string, key: Buffer, aad: Buffer): AsyncGenerator<Buffer> {
    const at = locate(relPath);
    checkKey(key);
    const self = this;
    return (async function* () {
      // The object's row and its first chunks in one query; then a query per CHUNKS_PER_READ chunks.
      const rows = await self.tx(
        at.tenantId,
        false,
        async (tx) =>
          (
            await sql<{ id: number; header: Buffer; sealed_size: number; n: number | null; bytes: Buffer | null }>`
            select o.id, o.header, o.sealed_size, c.n, c.bytes from sealed_objects o
            left join sealed_chunks c on c.object_id = o.id and c.n < ${CHUNKS_PER_READ}
            where o.area = ${self.area} and o.path = ${at.path} and o.committed order by c.n`.execute(tx)
          ).rows,
      );
      const head = rows[0];
      if (!head) throw enoent(relPath);
      const layout = sealedLayout(head.header, head.sealed_size);
      const file = fileKey(key, aad, layout.header);
      const first = Math.min(CHUNKS_PER_READ, layout.chunks);
      const opened = openRun(file, layout, 0, first - 1, rows as { n: number; bytes: Buffer }[]);
      for (const plain of opened) if (plain.length > 0) yield plain;
      for (let from = first; from < layout.chunks; from += CHUNKS_PER_READ) {
        const to = Math.min(layout.chunks, from + CHUNKS_PER_READ) - 1;
        const chunks = await self.chunks(at.tenantId, head.id, from, to);
        for (const plain of openRun(file, layout, from, to, chunks)) if (plain.length > 0) yield plain;
      }
    })();
  }

  async readRange(relPath: string, key: Buffer, aad: Buffer, start: number, length: number): Promise<Buffer> {
    const at = locate(relPath);
    checkKey(key);
    // The object's row and the chunks, in one transaction.
    return this.tx(at.tenantId, false, async (tx) => {
      const { id, layout } = await this.layout(tx, at, relPath);
      const { first, last } = rangeChunks(layout, start, length);
      if (length === 0) return Buffer.allocUnsafe(0);
      const file = fileKey(key, aad, layout.header);
      const plains = openRun(file, layout, first, last, await chunksOf(tx, id, first, last));
      return copyRange(plains, first, layout.chunkSize, start, length);
    });
  }

  /** From the object's header and sealed size, without the key, so not authenticated. */
  async plainSize(relPath: string): Promise<number> {
    const at = locate(relPath);
    return (await this.tx(at.tenantId, false, (tx) => this.layout(tx, at, relPath))).layout.plainSize;
  }

  async remove(relPath: string): Promise<void> {
    const at = locate(relPath);
    await this.tx(at.tenantId, false, async (tx) => {
      // Its chunks go with it (on delete cascade).
      const gone = await sql`
        delete from sealed_objects where area = ${this.area} and path = ${at.path} and committed returning id`.execute(
        tx,
      );
      if (gone.rows.length === 0) throw enoent(relPath);
    });
  }

  /**
   * Every object of the area, committed or not (a write in progress or one a crash cut off,
   * named `<path>.tmp-<id>`), with when a writer last touched it; office by office, a page
   * of objects per short transaction, so entries may be removed while the walk goes on.
   */
  async *walk(): AsyncGenerator<StoredEntry> {
    const tenants = (
      await sql<{ tenant: string }>`select kartei_sealed_tenants(${this.area}) as tenant`.execute(this.db)
    ).rows.map((r) => r.tenant);
    for (const tenantId of tenants) {
      for (let after = 0; ; ) {
        const page = await this.tx(
          tenantId,
          false,
          async (tx) =>
            (
              await sql<{ id: number; path: string; committed: boolean; modified_at: Date }>`
              select id, path, committed, modified_at from sealed_objects
              where area = ${this.area} and tenant_id = ${tenantId} and id > ${after}
              order by id limit ${WALK_PAGE}`.execute(tx)
            ).rows,
        );
        for (const o of page)
          yield {
            relPath: o.committed ? o.path : `${o.path}${TMP_MARK}${o.id}`,
            temporary: !o.committed,
            modifiedAt: o.modified_at,
          };
        if (page.length < WALK_PAGE) break;
        after = page.at(-1)!.id;
      }
    }
  }

  /** Removes an object that never committed (named as `walk` gave it). */
  async removeLeftover(relPath: string): Promise<void> {
    const mark = relPath.lastIndexOf(TMP_MARK);
    const id = mark < 0 ? Number.NaN : Number(relPath.slice(mark + TMP_MARK.length));
    if (!Number.isSafeInteger(id) || id <= 0) throw new Error(`not a temporary object ${JSON.stringify(relPath)}`);
    const at = locate(relPath.slice(0, mark));
    await this.tx(at.tenantId, true, async (tx) => {
      const gone = await sql`
        delete from sealed_objects where id = ${id} and area = ${this.area} and path = ${at.path} and not committed
        returning id`.execute(tx);
      if (gone.rows.length === 0) throw enoent(relPath);
    });
  }

  /** Chunks `first` to `last` of an object, in order. */
  chunks(tenantId: string, id: number, first: number, last: number): Promise<{ n: number; bytes: Buffer }[]> {
    return this.tx(tenantId, false, (tx) => chunksOf(tx, id, first, last));
  }

  private async layout(tx: Db, at: Located, relPath: string): Promise<{ id: number; layout: SealedLayout }> {
    const row = (
      await sql<{ id: number; header: Buffer; sealed_size: number }>`
        select id, header, sealed_size from sealed_objects
        where area = ${this.area} and path = ${at.path} and committed`.execute(tx)
    ).rows[0];
    if (!row) throw enoent(relPath);
    return { id: row.id, layout: sealedLayout(row.header, row.sealed_size) };
  }
}

async function chunksOf(tx: Db, id: number, first: number, last: number) {
  return (
    await sql<{ n: number; bytes: Buffer }>`
      select n, bytes from sealed_chunks where object_id = ${id} and n between ${first} and ${last} order by n`.execute(
      tx,
    )
  ).rows;
}

/**
 * Chunks `first` to `last` opened from their rows, each authenticated at its position; a chunk
 * missing (the object removed or replaced while it was read) is a truncated stream.
 */
function openRun(
  file: ReturnType<typeof fileKey>,
  layout: SealedLayout,
  first: number,
  last: number,
  rows: { n: number | null; bytes: Buffer | null }[],
): Buffer[] {
  const plains: Buffer[] = [];
  let i = first;
  for (const r of rows) {
    if (r.n === null || r.n < first || r.n > last) continue;
    if (r.n !== i || !r.bytes) throw new DecryptionError('sealed stream is truncated');
    plains.push(openStoredChunk(file, layout, i++, r.bytes));
  }
  if (i !== last + 1) throw new DecryptionError('sealed stream is truncated');
  return plains;
}

/** Plain relative names only (as for files), none that could be taken for a temporary entry. */
function locate(relPath: string): Located {
  const parts = relPath.split('/');
  if (!parts.every((p) => SEGMENT.test(p) && p !== '.' && p !== '..' && !p.includes(TMP_MARK))) {
    throw new Error(`invalid sealed file path ${JSON.stringify(relPath)}`);
  }
  return { tenantId: parts[0]!, path: relPath };
}

/**
 * A write: sealed as it comes, cut into the stream's chunks, sent in batches. The object's row
 * is made with the first batch (uncommitted, a temporary entry); one that fits in a batch is
 * made with its commit, committed at once.
 */
class RowsWriter extends Writable {
  private size = 0;
  private header: Buffer | undefined;
  /** Pieces of the chunk being cut, and their length. */
  private parts: Buffer[] = [];
  private partsLength = 0;
  /** Whole sealed chunks not yet sent, and their bytes. */
  private batch: Buffer[] = [];
  private batchBytes = 0;
  /** Chunks sent so far (the number of the batch's first). */
  private sent = 0;
  /** The object's row, once the first batch made it. */
  private id: number | undefined;
  private sending: Promise<void> = Promise.resolve();
  private committing: Promise<{ size: number }> | undefined;
  private aborted = false;

  private readonly rows: SealedRows;
  private readonly at: Located;
  private readonly sealer: ChunkSealer;
  private readonly seg: number;
  private readonly pause: (() => Promise<void> | undefined) | undefined;
  constructor(
    rows: SealedRows,
    at: Located,
    sealer: ChunkSealer,
    chunkSize: number,
    pause: (() => Promise<void> | undefined) | undefined,
  ) {
    super();
    this.rows = rows;
    this.at = at;
    this.sealer = sealer;
    this.seg = chunkSize + TAG_LEN;
    this.pause = pause;
  }

  /** Seals and cuts; a full batch is sent once the one before it is in (one batch in flight at most). */
  override _write(data: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void) {
    try {
      this.size += data.length;
      this.cut(this.sealer.update(data), false);
    } catch (e) {
      return done(e as Error);
    }
    if (this.batchBytes < BATCH_BYTES) return done();
    const batch = this.take();
    this.sending.then(() => {
      this.sending = this.send(batch);
      // Handled here, reported by the next write or by _final.
      this.sending.catch(() => {});
      done();
    }, done);
  }

  /** The last chunk; it goes in with `commit`'s transaction. */
  override _final(done: (err?: Error | null) => void) {
    try {
      this.cut(this.sealer.final(), true);
    } catch (e) {
      return done(e as Error);
    }
    this.sending.then(() => done(), done);
  }

  /** A write that did not finish takes its rows with it. */
  override _destroy(err: Error | null, done: (err?: Error | null) => void) {
    if (this.writableFinished && !err) return done(null);
    this.discard().then(
      () => done(err),
      (e: Error) => done(err ?? e),
    );
  }

  commit(): Promise<{ size: number }> {
    this.committing ??= this.putInPlace();
    return this.committing;
  }

  async abort(): Promise<void> {
    if (this.committing) return void (await this.committing.catch(() => {}));
    this.aborted = true;
    this.destroy();
    await finished(this).catch(() => {});
    await this.discard();
  }

  /** Header, then chunks of `seg` bytes; at the end, what is left is the last chunk. */
  private cut(out: Buffer[], end: boolean) {
    let k = 0;
    if (!this.header && out.length > 0) this.header = Buffer.from(out[k++]!);
    for (; k < out.length; k++) {
      let piece = out[k]!;
      while (piece.length > 0) {
        const n = Math.min(piece.length, this.seg - this.partsLength);
        this.parts.push(piece.subarray(0, n));
        this.partsLength += n;
        piece = piece.subarray(n);
        if (this.partsLength === this.seg) this.chunkDone();
      }
    }
    if (end) this.chunkDone();
    // A chunk cut across two calls (the sealer never does so) keeps a copy of its start.
    else if (this.partsLength > 0) this.parts = [Buffer.concat(this.parts, this.partsLength)];
    // The sealer's buffers were copied into the chunks: it may free them now.
    this.sealer.written(out);
  }

  private chunkDone() {
    const chunk = Buffer.concat(this.parts, this.partsLength);
    this.batch.push(chunk);
    this.batchBytes += chunk.length;
    this.parts = [];
    this.partsLength = 0;
  }

  private take(): Buffer[] {
    const batch = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    return batch;
  }

  /** A batch before the last: its commit need not wait for the disk (see the top of this file). */
  private async send(batch: Buffer[]) {
    if (this.aborted) throw new Error('sealed write was aborted');
    await this.rows.tx(this.at.tenantId, true, async (tx) => {
      if (this.id === undefined) this.id = await this.insertObject(tx, false);
      else await sql`update sealed_objects set modified_at = now() where id = ${this.id}`.execute(tx);
      await this.insertChunks(tx, this.id, batch);
    });
  }

  private async insertObject(tx: Db, committed: boolean, sealedSize?: number): Promise<number> {
    const r = await sql<{ id: number }>`
      insert into sealed_objects (area, path, tenant_id, committed, header, sealed_size, writer)
      values (${this.rows.area}, ${this.at.path}, ${this.at.tenantId}, ${committed}, ${this.header!},
        ${sealedSize ?? null}, ${WRITER})
      returning id`.execute(tx);
    return r.rows[0]!.id;
  }

  private async insertChunks(tx: Db, id: number, batch: Buffer[]) {
    if (batch.length === 0) return;
    const values = batch.map((bytes, i) => sql`(${id}, ${this.sent + i}, ${this.at.tenantId}, ${bytes})`);
    await sql`insert into sealed_chunks (object_id, n, tenant_id, bytes) values ${sql.join(values)}`.execute(tx);
    this.sent += batch.length;
  }

  /**
   * Ends the stream, then in one transaction: the last chunks in, whatever was committed under
   * the path removed, this object committed. Resolves once that commit is durable (the session's
   * `synchronous_commit`), and with it every batch before (see the top of this file).
   */
  private async putInPlace(): Promise<{ size: number }> {
    try {
      if (this.aborted) throw new Error('sealed write was aborted');
      if (!this.writableEnded && !this.destroyed) this.end();
      await finished(this);
      await this.sending;
      const last = this.take();
      const sealedSize = HEADER_LEN + (this.sent + last.length - 1) * this.seg + last.at(-1)!.length;
      // Two commits to one path wait for each other (the lock), so one replaces the other.
      await this.rows.tx(
        this.at.tenantId,
        false,
        async (tx) => {
          // A statement of its own before ours is in: a `with` would run it after, against the unique index.
          await sql`delete from sealed_objects
            where area = ${this.rows.area} and path = ${this.at.path} and committed`.execute(tx);
          if (this.id === undefined) this.id = await this.insertObject(tx, true, sealedSize);
          else
            await sql`update sealed_objects set committed = true, sealed_size = ${sealedSize}, modified_at = now()
              where id = ${this.id}`.execute(tx);
          await this.insertChunks(tx, this.id, last);
        },
        `sealed:${this.rows.area}:${this.at.path}`,
      );
      await this.pause?.();
      return { size: this.size };
    } catch (e) {
      await this.discard().catch(() => {});
      throw e;
    }
  }

  /** Removes this write's rows, if any were made (never a committed object: the commit failed or never ran). */
  private async discard() {
    await this.sending.catch(() => {});
    const id = this.id;
    if (id === undefined) return;
    this.id = undefined;
    await this.rows.tx(this.at.tenantId, true, (tx) =>
      sql`delete from sealed_objects where id = ${id} and not committed`.execute(tx),
    );
  }
}
