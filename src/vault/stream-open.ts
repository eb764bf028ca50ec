// Opening files in the sealed stream format (stream-format.ts): the layout
// from a file's header and size, a plaintext range decrypting only the chunks
// that cover it, and a whole file chunk by chunk, each authenticated before it
// is handed on.
import fs from 'node:fs';
import { promisify } from 'node:util';
import { DecryptionError } from './aead.ts';
import { checkKey, fileKey, type FileKey, HEADER_LEN, openChunk, parseHeader, TAG_LEN } from './stream-format.ts';

type Fd = number | fs.promises.FileHandle;

const readFd = promisify(fs.read);
const fstatFd = promisify(fs.fstat);

/** Exactly `length` bytes at `position`; a short read means the file changed or was cut. */
async function readAt(fd: Fd, length: number, position: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } =
      typeof fd === 'number'
        ? await readFd(fd, buf, got, length - got, position + got)
        : await fd.read(buf, got, length - got, position + got);
    if (bytesRead === 0) throw new DecryptionError('sealed stream is truncated');
    got += bytesRead;
  }
  return buf;
}

export interface SealedLayout {
  header: Buffer;
  chunkSize: number;
  chunks: number;
  sealedSize: number;
  /** From the file's size, not authenticated: a read that reaches the last chunk authenticates it. */
  plainSize: number;
}

/** Chunk size, chunk count and plaintext size of a sealed file, from its header and size (no key needed). */
export async function readLayout(fd: Fd): Promise<SealedLayout> {
  const size = (typeof fd === 'number' ? await fstatFd(fd) : await fd.stat()).size;
  if (size < HEADER_LEN + TAG_LEN) throw new DecryptionError('sealed stream is truncated');
  const header = await readAt(fd, HEADER_LEN, 0);
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
  const sealed = await readAt(fd, Math.min(HEADER_LEN + (last + 1) * seg, layout.sealedSize) - from, from);
  const plains: Buffer[] = [];
  for (let i = first; i <= last; i++)
    plains.push(openChunk(file, i, i === layout.chunks - 1, sealed.subarray((i - first) * seg, (i - first + 1) * seg)));
  return plains;
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
  if (
    !Number.isSafeInteger(start) ||
    !Number.isSafeInteger(length) ||
    start < 0 ||
    length < 0 ||
    start + length > layout.plainSize
  ) {
    throw new RangeError(`range ${start}+${length} is outside the plaintext of ${layout.plainSize} bytes`);
  }
  const result = Buffer.allocUnsafe(length);
  if (length === 0) return result;
  const file = fileKey(key, aad, layout.header);
  const first = Math.floor(start / layout.chunkSize);
  const last = Math.floor((start + length - 1) / layout.chunkSize);
  const plains = await openChunks(fd, file, layout, first, last);
  for (let i = first; i <= last; i++) {
    const plain = plains[i - first]!;
    const chunkStart = i * layout.chunkSize;
    plain.copy(
      result,
      Math.max(0, chunkStart - start),
      Math.max(0, start - chunkStart),
      Math.min(plain.length, start + length - chunkStart),
    );
  }
  return result;
}

/** Sealed chunks read per read call when a whole file is opened: about a megabyte. */
const CHUNKS_PER_READ = 4;

/**
 * The plaintext of a whole sealed file, chunk by chunk, each authenticated at
 * its position before it is handed on; the last one as last by the file's
 * size. Reads several chunks at a time and decrypts straight from the read
 * buffer: no stream machinery between the disk and the caller.
 */
export async function* readPlainChunks(fd: Fd, key: Buffer, aad: Buffer): AsyncGenerator<Buffer> {
  checkKey(key);
  const layout = await readLayout(fd);
  const file = fileKey(key, aad, layout.header);
  for (let first = 0; first < layout.chunks; first += CHUNKS_PER_READ) {
    const last = Math.min(layout.chunks, first + CHUNKS_PER_READ) - 1;
    for (const plain of await openChunks(fd, file, layout, first, last)) if (plain.length > 0) yield plain;
  }
}
