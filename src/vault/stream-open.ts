// Opening files in the sealed stream format (stream-format.ts): the layout
// from a file's header and size, a plaintext range decrypting only the chunks
// that cover it, and a whole file chunk by chunk, each authenticated before it
// is handed on.
import fs from 'node:fs';
import { promisify } from 'node:util';
import { DecryptionError } from './aead.ts';
import {
  checkKey,
  DEFAULT_CHUNK_SIZE,
  fileKey,
  type FileKey,
  HEADER_LEN,
  openChunk,
  parseHeader,
  TAG_LEN,
} from './stream-format.ts';

type Fd = number | fs.promises.FileHandle;

const readFd = promisify(fs.read);
const fstatFd = promisify(fs.fstat);

/** Exactly `into.length` bytes at `position`; a short read means the file changed or was cut. */
async function readAt(fd: Fd, into: Buffer, position: number): Promise<Buffer> {
  const length = into.length;
  let got = 0;
  while (got < length) {
    const { bytesRead } =
      typeof fd === 'number'
        ? await readFd(fd, into, got, length - got, position + got)
        : await fd.read(into, got, length - got, position + got);
    if (bytesRead === 0) throw new DecryptionError('sealed stream is truncated');
    got += bytesRead;
  }
  return into;
}

/**
 * Sealed chunks read per read call when a whole file is opened: about a megabyte, the
 * header and four chunks of the default size (a CT instance in one read).
 */
const CHUNKS_PER_READ = 4;
/** The size of a pooled read buffer. */
const READ_BYTES = HEADER_LEN + CHUNKS_PER_READ * (DEFAULT_CHUNK_SIZE + TAG_LEN);
/** Read buffers kept for the next read: a few reads in flight at once (read ahead, several requests). */
const POOL_MAX = 8;
const pool: Buffer[] = [];

/**
 * Sealed bytes are read into pooled buffers instead of a fresh megabyte per read, which the
 * kernel would fault in page by page and the garbage collector would have to find again. A
 * buffer is only ever held between a read and the decryption of what it read, and never leaves
 * this module: every plaintext is a buffer of its own (`openChunk` returns what the decipher
 * wrote, never a view of its input), so a buffer goes back to the pool as soon as its chunks
 * are decrypted, before any of them is handed on.
 */
/**
 * One read of a file's first READ_BYTES into a pooled buffer, as `withSealed` reads: fewer
 * bytes when the file ends before (a regular file's read comes back short only at its end).
 * The buffer is held until `use` has settled.
 */
async function withFirstRead<T>(fd: Fd, use: (sealed: Buffer) => Promise<T>): Promise<T> {
  const pooled = pool.pop() ?? Buffer.allocUnsafeSlow(READ_BYTES);
  try {
    const { bytesRead } =
      typeof fd === 'number' ? await readFd(fd, pooled, 0, READ_BYTES, 0) : await fd.read(pooled, 0, READ_BYTES, 0);
    return await use(pooled.subarray(0, bytesRead));
  } finally {
    if (pool.length < POOL_MAX) pool.push(pooled);
  }
}

async function withSealed<T>(fd: Fd, position: number, length: number, use: (sealed: Buffer) => T): Promise<T> {
  const pooled = length <= READ_BYTES ? (pool.pop() ?? Buffer.allocUnsafeSlow(READ_BYTES)) : undefined;
  try {
    return use(await readAt(fd, pooled ? pooled.subarray(0, length) : Buffer.allocUnsafe(length), position));
  } finally {
    if (pooled && pool.length < POOL_MAX) pool.push(pooled);
  }
}

/** Read buffers waiting in the pool (for tests). */
export const pooledReadBuffers = () => pool.length;

export interface SealedLayout {
  header: Buffer;
  chunkSize: number;
  chunks: number;
  sealedSize: number;
  /** From the file's size, not authenticated: a read that reaches the last chunk authenticates it. */
  plainSize: number;
}

const sizeOf = async (fd: Fd) => (typeof fd === 'number' ? await fstatFd(fd) : await fd.stat()).size;

/** Chunk size, chunk count and plaintext size of a sealed file, from its header and size (no key needed). */
export async function readLayout(fd: Fd): Promise<SealedLayout> {
  const size = await sizeOf(fd);
  if (size < HEADER_LEN + TAG_LEN) throw new DecryptionError('sealed stream is truncated');
  return layoutOf(await readAt(fd, Buffer.allocUnsafe(HEADER_LEN), 0), size);
}

/**
 * The layout from a header kept apart from its chunks (a store of rows, sealed-rows.ts) and the
 * sealed size (header and chunks), without the key, so not authenticated.
 */
export function sealedLayout(header: Buffer, size: number): SealedLayout {
  if (size < HEADER_LEN + TAG_LEN) throw new DecryptionError('sealed stream is truncated');
  return layoutOf(header, size);
}

/** The layout from a file's header (a buffer of its own: the layout keeps it) and size. */
function layoutOf(header: Buffer, size: number): SealedLayout {
  const chunkSize = parseHeader(header);
  const body = size - HEADER_LEN;
  const chunks = Math.ceil(body / (chunkSize + TAG_LEN));
  if (body - (chunks - 1) * (chunkSize + TAG_LEN) < TAG_LEN) throw new DecryptionError('sealed stream is truncated');
  return { header, chunkSize, chunks, sealedSize: size, plainSize: body - chunks * TAG_LEN };
}

/**
 * Chunks `first` to `last` of a sealed file, read in one call and each authenticated at its
 * position, the file's last chunk as last, straight from the read buffer.
 */
async function openChunks(fd: Fd, file: FileKey, layout: SealedLayout, first: number, last: number): Promise<Buffer[]> {
  const seg = layout.chunkSize + TAG_LEN;
  const from = HEADER_LEN + first * seg;
  const to = Math.min(HEADER_LEN + (last + 1) * seg, layout.sealedSize);
  return withSealed(fd, from, to - from, (sealed) => openEach(file, layout, first, last, sealed));
}

/** Chunks `first` to `last` from `sealed`, which holds them from the first one's start. */
function openEach(file: FileKey, layout: SealedLayout, first: number, last: number, sealed: Buffer): Buffer[] {
  const seg = layout.chunkSize + TAG_LEN;
  const plains: Buffer[] = [];
  for (let i = first; i <= last; i++)
    plains.push(openChunk(file, i, i === layout.chunks - 1, sealed.subarray((i - first) * seg, (i - first + 1) * seg)));
  return plains;
}

/**
 * The plaintext of chunk `index` of a stream with `layout`, kept on its own (a row of
 * sealed-rows.ts: one chunk, ciphertext ‖ tag), authenticated at its position and as the last
 * one or not by the layout: the same opening as a file's chunks, from any source.
 */
export function openStoredChunk(file: FileKey, layout: SealedLayout, index: number, sealed: Buffer): Buffer {
  const seg = layout.chunkSize + TAG_LEN;
  const last = index === layout.chunks - 1;
  const expected = last ? layout.sealedSize - HEADER_LEN - index * seg : seg;
  if (index < 0 || index >= layout.chunks || sealed.length !== expected)
    throw new DecryptionError('sealed stream is truncated');
  return openChunk(file, index, last, sealed);
}

/** The chunks that hold plaintext bytes [start, start + length); none for an empty range. */
export function rangeChunks(layout: SealedLayout, start: number, length: number): { first: number; last: number } {
  if (
    !Number.isSafeInteger(start) ||
    !Number.isSafeInteger(length) ||
    start < 0 ||
    length < 0 ||
    start + length > layout.plainSize
  ) {
    throw new RangeError(`range ${start}+${length} is outside the plaintext of ${layout.plainSize} bytes`);
  }
  return { first: Math.floor(start / layout.chunkSize), last: Math.floor((start + length - 1) / layout.chunkSize) };
}

/** Bytes [start, start + length) out of the plaintexts of chunks `first` on (`rangeChunks`). */
export function copyRange(plains: Buffer[], first: number, chunkSize: number, start: number, length: number): Buffer {
  const result = Buffer.allocUnsafe(length);
  for (let i = 0; i < plains.length && length > 0; i++) {
    const plain = plains[i]!;
    const chunkStart = (first + i) * chunkSize;
    plain.copy(
      result,
      Math.max(0, chunkStart - start),
      Math.max(0, start - chunkStart),
      Math.min(plain.length, start + length - chunkStart),
    );
  }
  return result;
}

/**
 * Plaintext bytes [start, start + length) of a sealed file, decrypting only the
 * chunks that cover them. Each chunk read is authenticated at its position and
 * as last or not by the file's size, so a cut or extended file fails wherever a
 * read reaches its end.
 */
export async function readPlainRange(fd: Fd, key: Buffer, aad: Buffer, start: number, length: number): Promise<Buffer> {
  checkKey(key);
  const layout = await readLayout(fd);
  const { first, last } = rangeChunks(layout, start, length);
  if (length === 0) return Buffer.allocUnsafe(0);
  const plains = await openChunks(fd, fileKey(key, aad, layout.header), layout, first, last);
  return copyRange(plains, first, layout.chunkSize, start, length);
}

/**
 * The plaintext of a whole sealed file, chunk by chunk, each authenticated at
 * its position before it is handed on; the last one as last by the file's
 * size. The first read takes the header with the first chunks; each read's
 * chunks are decrypted straight from the (pooled) read buffer: no stream
 * machinery between the disk and the caller.
 */
export async function* readPlainChunks(fd: Fd, key: Buffer, aad: Buffer): AsyncGenerator<Buffer> {
  checkKey(key);
  // The header and, when the chunks have the default size, the first CHUNKS_PER_READ of them, in
  // one read. A file that ends within it (a CT instance) is read whole, and that read's length is
  // its size: no fstat. A read that stopped short of the end would leave a last chunk that does
  // not authenticate as the last one (stream-format.ts): then the file's size decides, as for
  // larger files, and the start is read again by it.
  const { layout, file, opening } = await withFirstRead(fd, async (sealed) => {
    if (sealed.length === READ_BYTES) return openFirst(key, aad, sealed, await sizeOf(fd));
    try {
      return openFirst(key, aad, sealed, sealed.length);
    } catch (e) {
      const size = e instanceof DecryptionError ? await sizeOf(fd) : sealed.length;
      if (size === sealed.length) throw e;
      return openFirst(key, aad, await readAt(fd, Buffer.allocUnsafe(Math.min(size, READ_BYTES)), 0), size);
    }
  });
  for (const plain of opening) if (plain.length > 0) yield plain;
  // Then as many chunks per read as a pooled buffer holds (one, if a chunk is larger).
  const perRead = Math.max(1, Math.floor(READ_BYTES / (layout.chunkSize + TAG_LEN)));
  for (let first = opening.length; first < layout.chunks; first += perRead) {
    const last = Math.min(layout.chunks, first + perRead) - 1;
    for (const plain of await openChunks(fd, file, layout, first, last)) if (plain.length > 0) yield plain;
  }
}

/**
 * The layout of a file of `size` bytes from its first bytes (`sealed`, at least its start up to
 * READ_BYTES), and the chunks those hold, each authenticated; the file's last one as last where
 * the file ends within them.
 */
function openFirst(key: Buffer, aad: Buffer, sealed: Buffer, size: number) {
  if (size < HEADER_LEN + TAG_LEN) throw new DecryptionError('sealed stream is truncated');
  const head = sealed.subarray(0, Math.min(size, READ_BYTES));
  const layout = layoutOf(Buffer.from(head.subarray(0, HEADER_LEN)), size);
  const file = fileKey(key, aad, layout.header);
  const seg = layout.chunkSize + TAG_LEN;
  const whole = Math.min(layout.chunks, Math.floor((head.length - HEADER_LEN) / seg));
  // The file's end is in this read: its last chunk is shorter than the others.
  const last = head.length === size ? layout.chunks - 1 : whole - 1;
  return { layout, file, opening: last < 0 ? [] : openEach(file, layout, 0, last, head.subarray(HEADER_LEN)) };
}
