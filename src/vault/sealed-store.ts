// What a store of sealed files offers, whichever medium keeps the bytes: files
// under a directory (`SealedFiles`, the default with SQLite), rows in
// PostgreSQL (shared by several instances of one deployment) or an
// S3-compatible object store. The bytes are always the stream format of
// `stream-format.ts`, sealed before they leave the process; a store never sees
// a key's effect it could undo. Images (`imaging/instance-store.ts`) and
// documents (`desk/documents-files.ts`) are its two users, each under its own
// area.

import type { Writable } from 'node:stream';

export interface SealedWrite {
  /** Plaintext goes in. */
  stream: Writable;
  /** Ends the stream and makes the whole object durable under its final name; the size is the plaintext's. */
  commit(): Promise<{ size: number }>;
  /** Discards everything written; nothing appears under the final name. */
  abort(): Promise<void>;
}

/** An entry a store holds: committed under its final name, or a write's leftover that never committed. */
export interface StoredEntry {
  relPath: string;
  temporary: boolean;
  /** When it was last written, given by shared stores: recovery leaves recent entries to their live writer. */
  modifiedAt?: Date;
}

/**
 * How long recovery of a shared store leaves an entry to the writer that may still own it: a
 * live write touches its temporary entry with every batch it sends (a megabyte), and a committed
 * object waits for its index row only for the milliseconds of one transaction. An entry untouched
 * for this long belongs to a writer that is gone (a killed instance); clocks of the instances
 * may differ by minutes, which this leaves room for.
 */
export const SHARED_STORE_GRACE_MS = 15 * 60 * 1000;

/** In a shared store, an entry some live instance may still be writing or indexing: recovery leaves it. */
export const leftToWriter = (store: { shared: boolean }, e: StoredEntry, now: Date) =>
  store.shared && e.modifiedAt !== undefined && now.getTime() - e.modifiedAt.getTime() < SHARED_STORE_GRACE_MS;

/** Where the sealed bytes live. */
type StorageKind = 'files' | 'database' | 's3';

export interface SealedStore {
  readonly kind: StorageKind;
  /**
   * True when other processes (instances of the same deployment) may write to
   * the same store at the same time: recovery at start then removes only
   * entries old enough that no live writer can still own them.
   */
  readonly shared: boolean;
  /** A new object, written under a temporary name until `commit`; `renamed` (tests only) is awaited after it is in place. */
  create(
    relPath: string,
    key: Buffer,
    aad: Buffer,
    opts?: { chunkSize?: number; renamed?: () => Promise<void> | undefined },
  ): SealedWrite;
  /** The plaintext, chunk by chunk; throws a DecryptionError at the first chunk that does not authenticate. */
  openRead(relPath: string, key: Buffer, aad: Buffer): AsyncGenerator<Buffer>;
  /** Exactly `length` plaintext bytes from `start`, every chunk they touch authenticated. */
  readRange(relPath: string, key: Buffer, aad: Buffer, start: number, length: number): Promise<Buffer>;
  /** From the stored size and header, without the key, so not authenticated. */
  plainSize(relPath: string): Promise<number>;
  /** Removes a committed object; an absent one rejects with an error whose `code` is 'ENOENT'. */
  remove(relPath: string): Promise<void>;
  /** Every entry, committed or temporary: for recovery and backup. */
  walk(): AsyncGenerator<StoredEntry>;
  /** Removes a temporary entry a cut-off write left behind (named as `walk` gave it). */
  removeLeftover(relPath: string): Promise<void>;
  /** Issue 19: storage-db — lets go of what the store holds open (the database's own connections), at shutdown. */
  close?(): Promise<void>;
}
