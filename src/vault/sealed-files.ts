// Sealed files under one root directory (DICOM instances and other large
// blobs). A file is written under a temporary name beside its final one and
// renamed into place only on commit, once all its bytes are written, so a
// crash or an abort never leaves a partial file under a final name. `commit`
// resolves only when the file's bytes and its directory entry are on disk:
// the file's fdatasync and its directory's fsync run side by side after the
// rename (one wait for the disk, not two in series). What a crash leaves in
// between — a whole file under its final name that nothing names yet — is
// its owner's orphan to remove at the next start (store-recovery.ts,
// documents-recovery.ts), as a file committed but never indexed always was.
import { randomBytes } from 'node:crypto';
import fs, { type Dirent } from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { readLayout, readPlainChunks, readPlainRange } from './stream-open.ts';
import { ChunkSealer } from './stream-seal.ts';
import type { SealedStore, SealedWrite, StoredEntry } from './sealed-store.ts';

/** On the thread pool, through the callback API (no FileHandle), looked up at each call. */
const onPool = (call: (fd: number, cb: (e: NodeJS.ErrnoException | null) => void) => void) => (fd: number) =>
  new Promise<void>((resolve, reject) => call(fd, (e) => (e ? reject(e) : resolve())));
const fdatasync = onPool((fd, cb) => fs.fdatasync(fd, cb));
const fsync = onPool((fd, cb) => fs.fsync(fd, cb));

const SEGMENT = /^[A-Za-z0-9_.-]+$/;
const TMP_MARK = '.tmp-';

export class SealedFiles implements SealedStore {
  readonly kind = 'files' as const;
  /** One server holds the data directory (serve-lock.ts): nothing else writes beside it. */
  readonly shared = false;
  private readonly root: string;
  private readonly dirs: DurableDirs;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.dirs = new DurableDirs(this.root);
  }

  /** `renamed` (tests only) is awaited between the rename into place and the syncs. */
  create(
    relPath: string,
    key: Buffer,
    aad: Buffer,
    opts: { chunkSize?: number; renamed?: () => Promise<void> | undefined } = {},
  ): SealedWrite {
    const file = this.resolve(relPath);
    const writer = new SealingWriter(
      file,
      `${file}${TMP_MARK}${randomBytes(8).toString('hex')}`,
      new ChunkSealer(key, aad, opts.chunkSize),
      this.dirs,
      opts.renamed,
    );
    return { stream: writer, commit: () => writer.commit(), abort: () => writer.abort() };
  }

  /**
   * The plaintext, chunk by chunk; throws a DecryptionError at the first chunk
   * that does not authenticate. The file is closed when the reading ends or
   * the caller stops (`return()`).
   */
  openRead(relPath: string, key: Buffer, aad: Buffer): AsyncGenerator<Buffer> {
    const file = this.resolve(relPath);
    // A bare descriptor, not a FileHandle: a retrieval opens a file per instance, and each
    // FileHandle operation costs more on the event loop than the descriptor's own. Opened and
    // closed synchronously (issue 18, retrieve3): each hand-off to the thread pool and back cost
    // the event loop more than the call itself (a path lookup in the dentry cache, the release of
    // a read-only descriptor); only the reads, which may wait for the disk, leave the loop.
    return (async function* () {
      const fd = fs.openSync(file, 'r');
      try {
        yield* readPlainChunks(fd, key, aad);
      } finally {
        fs.closeSync(fd);
      }
    })();
  }

  async readRange(relPath: string, key: Buffer, aad: Buffer, start: number, length: number): Promise<Buffer> {
    return this.withFile(relPath, (fh) => readPlainRange(fh, key, aad, start, length));
  }

  /** From the file's size and header, without the key, so not authenticated. */
  async plainSize(relPath: string): Promise<number> {
    return this.withFile(relPath, async (fh) => (await readLayout(fh)).plainSize);
  }

  async remove(relPath: string): Promise<void> {
    const file = this.resolve(relPath);
    await fsp.unlink(file);
    await syncDir(path.dirname(file));
  }

  /**
   * Every file under the root, committed or temporary (`.tmp-`: a write that
   * never committed). Only for recovery at start, while nothing else writes.
   */
  async *walk(): AsyncGenerator<StoredEntry> {
    const dirs = [''];
    for (let rel = dirs.pop(); rel !== undefined; rel = dirs.pop()) {
      let entries: Dirent[];
      try {
        entries = await fsp.readdir(path.join(this.root, rel), { withFileTypes: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      }
      for (const e of entries) {
        const relPath = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) dirs.push(relPath);
        else if (e.isFile()) yield { relPath, temporary: e.name.includes(TMP_MARK) };
      }
    }
  }

  /** Removes a temporary file a crashed write left behind (named as `walk` gave it). */
  async removeLeftover(relPath: string): Promise<void> {
    const parts = relPath.split('/');
    const name = parts.at(-1) ?? '';
    const final = name.slice(0, name.indexOf(TMP_MARK));
    if (!name.includes(TMP_MARK)) throw new Error(`not a temporary file ${JSON.stringify(relPath)}`);
    // Its directory must be one a final file could be in.
    const file = path.join(path.dirname(this.resolve([...parts.slice(0, -1), final].join('/'))), name);
    await fsp.unlink(file);
    await syncDir(path.dirname(file));
  }

  private async withFile<T>(relPath: string, work: (fh: fsp.FileHandle) => Promise<T>): Promise<T> {
    const fh = await fsp.open(this.resolve(relPath), 'r');
    try {
      return await work(fh);
    } finally {
      await fh.close();
    }
  }

  /** Plain relative names only, none that could be taken for a temporary file. */
  private resolve(relPath: string): string {
    const parts = relPath.split('/');
    if (!parts.every((p) => SEGMENT.test(p) && p !== '.' && p !== '..' && !p.includes(TMP_MARK))) {
      throw new Error(`invalid sealed file path ${JSON.stringify(relPath)}`);
    }
    return path.join(this.root, ...parts);
  }
}

/**
 * The directories whose entries this process has made durable. A write into
 * one of them needs no mkdir and, after its rename, a sync of that directory
 * alone. A directory new to the process is synced with the parents of what
 * mkdir made; one it found already there, with every parent up to the root,
 * once (a crashed process may have made it without syncing).
 */
class DurableDirs {
  private readonly known = new Set<string>();
  /** Per directory not yet known: the topmost directory mkdir made for it, or null if it was there. */
  private readonly made = new Map<string, string | null>();

  private readonly root: string;
  constructor(root: string) {
    this.root = root;
  }

  /** Nothing to wait for (undefined) when the directory is known to be there. */
  prepare(dir: string): Promise<void> | undefined {
    if (this.known.has(dir)) return undefined;
    return fsp.mkdir(dir, { recursive: true, mode: 0o700 }).then((made) => {
      if (made || !this.made.has(dir)) this.made.set(dir, made ?? null);
    });
  }

  /**
   * After a rename into `dir`: makes the new entry, and `dir`'s own if it is new to us, durable
   * (the directory and its parents synced at once: only that all are on disk counts).
   */
  async synced(dir: string): Promise<void> {
    if (this.known.has(dir)) return syncDir(dir);
    const made = this.made.get(dir);
    const top = made ? path.dirname(made) : path.dirname(this.root);
    const dirs = [dir];
    for (let d = dir; d !== top; ) {
      d = path.dirname(d);
      dirs.push(d);
    }
    // All settle before the commit does: a sync that failed must not leave the others running, their directories open.
    const synced = await Promise.allSettled(dirs.map(syncDir));
    for (const r of synced) if (r.status === 'rejected') throw r.reason;
    this.known.add(dir);
    this.made.delete(dir);
  }

  /** A directory removed behind our back is made again by the next write. */
  forget(dir: string) {
    this.known.delete(dir);
    this.made.delete(dir);
  }
}

class SealingWriter extends Writable {
  /** The temporary file's descriptor, open from construction until commit or abort. */
  private fd: number | undefined;
  private size = 0;
  /** Sealed bytes written so far. */
  private offset = 0;
  private committing: Promise<{ size: number }> | undefined;
  private aborted = false;
  /** The bytes are all written and the file is under its final name (synced or not). */
  private renamed = false;

  private readonly file: string;
  private readonly tmp: string;
  private readonly sealer: ChunkSealer;
  private readonly dirs: DurableDirs;
  private readonly pause: (() => Promise<void> | undefined) | undefined;
  constructor(
    file: string,
    tmp: string,
    sealer: ChunkSealer,
    dirs: DurableDirs,
    pause: (() => Promise<void> | undefined) | undefined,
  ) {
    // Writes are synchronous, so nothing waits in the stream's buffer but the chunk being written: a
    // mark above a received chunk's size spares each write the needless 'drain' round (issue 18).
    super({ highWaterMark: 1024 * 1024 });
    this.file = file;
    this.tmp = tmp;
    this.sealer = sealer;
    this.dirs = dirs;
    this.pause = pause;
  }

  /** Where the file is now: its temporary name until the rename. */
  private get current() {
    return this.renamed ? this.file : this.tmp;
  }

  /**
   * Opens the temporary file on the thread pool, through the callback API: creating a file may wait
   * for the file system's journal or read an inode bitmap (issue 18, ingest: 0.35 ms per file on
   * average when opened synchronously), and the dataset's first bytes arrive meanwhile anyway (the
   * stream holds them until the file is open). A directory new to the process is made first.
   */
  override _construct(done: (err?: Error | null) => void) {
    const dir = path.dirname(this.file);
    const open = () =>
      new Promise<void>((resolve, reject) =>
        fs.open(this.tmp, 'wx', 0o600, (e, fd) => {
          if (e) return reject(e);
          this.fd = fd;
          resolve();
        }),
      );
    // A directory removed behind our back is made again.
    const again = (e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
      this.dirs.forget(dir);
      return (this.dirs.prepare(dir) ?? Promise.resolve()).then(open);
    };
    (this.dirs.prepare(dir) ?? Promise.resolve())
      .then(open)
      .catch(again)
      .then(() => done(), done);
  }

  /**
   * Seals and writes at once: the file's pages are in the page cache, and every file is synced
   * before its store is answered, so a write never waits for the disk's writeback here (issue 18,
   * ingest: each write handed to the thread pool cost the event loop ~30 µs of futex wake-ups and
   * a turn of the loop, a synchronous 64 KiB write ~10 µs).
   */
  override _write(data: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void) {
    try {
      this.size += data.length;
      this.append(this.sealer.update(data));
    } catch (e) {
      return done(e as Error);
    }
    done();
  }

  /** The last bytes; the file is synced at `commit`, beside its rename's directory sync. */
  override _final(done: (err?: Error | null) => void) {
    try {
      this.append(this.sealer.final());
    } catch (e) {
      return done(e as Error);
    }
    done();
  }

  /**
   * A write that did not finish takes its temporary file with it. One that did
   * keeps its descriptor open for `commit`'s sync (commit or abort closes it).
   */
  override _destroy(err: Error | null, done: (err?: Error | null) => void) {
    if (this.writableFinished && !err) return done(null);
    try {
      this.closeFile();
      fs.rmSync(this.current, { force: true });
    } catch (e) {
      return done(err ?? (e as Error));
    }
    done(err);
  }

  private closeFile() {
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) fs.closeSync(fd);
  }

  commit(): Promise<{ size: number }> {
    this.committing ??= this.moveIntoPlace();
    return this.committing;
  }

  async abort(): Promise<void> {
    if (this.committing) return void (await this.committing.catch(() => {}));
    this.aborted = true;
    this.destroy();
    await finished(this).catch(() => {});
    this.closeFile();
    fs.rmSync(this.current, { force: true });
  }

  /**
   * Ends the stream, renames the file into place, then syncs its data and the
   * new directory entry side by side: resolves once both are on disk. The two
   * syncs are the only steps that leave the event loop.
   */
  private async moveIntoPlace() {
    try {
      if (this.aborted) throw new Error('sealed write was aborted');
      if (!this.writableEnded && !this.destroyed) this.end();
      await finished(this);
      const fd = this.fd;
      if (fd === undefined) throw new Error('sealed write was aborted');
      fs.renameSync(this.tmp, this.file);
      this.renamed = true;
      await this.pause?.();
      // Both settle before the descriptor is closed: a sync still running must not outlive it.
      const synced = await Promise.allSettled([fdatasync(fd), this.dirs.synced(path.dirname(this.file))]);
      for (const r of synced) if (r.status === 'rejected') throw r.reason;
      return { size: this.size };
    } catch (e) {
      this.closeFile();
      fs.rmSync(this.current, { force: true });
      throw e;
    } finally {
      this.closeFile();
    }
  }

  /** Writes the sealed pieces in calls that stay within one aligned WRITE_PIECE of the file each. */
  private append(out: Buffer[]) {
    for (const group of writeGroups(out, this.offset)) {
      const length = group.reduce((n, b) => n + b.length, 0);
      const written = fs.writevSync(this.fd!, group, this.offset);
      if (written !== length) throw new Error(`short write to ${this.tmp}`);
      this.offset += length;
    }
    this.sealer.written(out);
  }
}

/**
 * The most one write call puts into the file: no call crosses a boundary of this
 * size in the file. The kernel sizes the page-cache folios it allocates by the
 * length of the write: 128 KiB and larger writes get large folios, fresh from
 * the page allocator, which on the benchmark machine (a VM whose free memory
 * the host takes back) cost ~2.5 ms of system time per 768 KiB file against
 * ~0.5 ms for the same bytes in 64 KiB calls (issue 18, ingest: a copy into
 * the page cache that faults page by page). A few more calls cost far less.
 */
export const WRITE_PIECE = 64 * 1024;

/** `out` cut into groups of views, each ending at or before the next WRITE_PIECE boundary after `offset`. */
export function writeGroups(out: Buffer[], offset: number): Buffer[][] {
  const groups: Buffer[][] = [];
  let group: Buffer[] = [];
  let room = WRITE_PIECE - (offset % WRITE_PIECE);
  for (const b of out) {
    for (let at = 0; at < b.length; ) {
      const n = Math.min(room, b.length - at);
      group.push(at === 0 && n === b.length ? b : b.subarray(at, at + n));
      at += n;
      room -= n;
      if (room === 0) {
        groups.push(group);
        group = [];
        room = WRITE_PIECE;
      }
    }
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/** A directory's entries made durable: opened and closed synchronously (a lookup in the dentry cache), synced on the pool. */
async function syncDir(dir: string) {
  const fd = fs.openSync(dir, 'r');
  try {
    await fsync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
