// Streaming AES-256-GCM for blobs too large to hold in memory (DICOM instances),
// in the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár; as in Tink's
// AesGcmHkdfStreaming). The plaintext is cut into fixed-size chunks, each sealed
// on its own, so a reader can stop early or decrypt only the chunks it needs.
// The IV of every chunk names its position and whether it is the last one, so
// reordered, repeated, dropped, truncated or appended chunks fail to open. A
// random salt per file derives a fresh key for it, so IVs never repeat under a
// key however many files share the caller's key.
//
// Layout: header ‖ chunk₀ ‖ … ‖ chunkₙ₋₁ with n ≥ 1, each chunk = ciphertext ‖ tag.
//   header = magic "KSTR" ‖ version 1 ‖ chunk size (u32 BE) ‖ salt (32) ‖ nonce prefix (7)
//   key    = HKDF-SHA256(caller key, salt, "kartei/stream-aead/v1")
//   IV     = nonce prefix ‖ chunk index (u32 BE) ‖ 1 if last chunk else 0
//   AAD    = header ‖ caller's associated data (the header has a fixed length)
// Every chunk but the last holds exactly `chunk size` plaintext bytes; the last
// holds 0 to `chunk size` (an empty plaintext is one empty last chunk).
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { DecryptionError } from './aead.ts';
import { keyObject } from './key-object.ts';

const MAGIC = Buffer.from('KSTR', 'latin1');
const VERSION = 1;
const SALT_LEN = 32;
const PREFIX_LEN = 7;
const TAG_LEN = 16;
export const HEADER_LEN = MAGIC.length + 1 + 4 + SALT_LEN + PREFIX_LEN;
export const DEFAULT_CHUNK_SIZE = 256 * 1024;
const MIN_CHUNK_SIZE = 16;
/** Bounds what an unauthenticated header can make a reader allocate. */
const MAX_CHUNK_SIZE = 64 * 1024 * 1024;
const MAX_CHUNKS = 2 ** 32;

/** One file's derived key, nonce prefix and per-chunk associated data. */
interface FileKey {
  key: Buffer;
  prefix: Buffer;
  aad: Buffer;
  chunkSize: number;
}

function checkChunkSize(n: number): void {
  if (!Number.isInteger(n) || n < MIN_CHUNK_SIZE || n > MAX_CHUNK_SIZE) {
    throw new RangeError(`chunk size must be an integer from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE}`);
  }
}

function checkKey(key: Buffer): void {
  if (key.length !== 32) throw new RangeError('stream key must be 32 bytes');
}

function fileKey(key: Buffer, aad: Buffer, header: Buffer): FileKey {
  const salt = header.subarray(MAGIC.length + 5, MAGIC.length + 5 + SALT_LEN);
  return {
    key: Buffer.from(hkdfSync('sha256', key, salt, 'kartei/stream-aead/v1', 32)),
    prefix: header.subarray(HEADER_LEN - PREFIX_LEN),
    aad: Buffer.concat([header, aad]),
    chunkSize: header.readUInt32BE(MAGIC.length + 1),
  };
}

/** The chunk size a header declares; refuses unknown formats before anything is derived from it. */
function parseHeader(header: Buffer): number {
  if (
    header.length < HEADER_LEN ||
    !header.subarray(0, MAGIC.length).equals(MAGIC) ||
    header[MAGIC.length] !== VERSION
  ) {
    throw new DecryptionError('unknown sealed stream format');
  }
  const chunkSize = header.readUInt32BE(MAGIC.length + 1);
  if (chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE)
    throw new DecryptionError('sealed stream declares an invalid chunk size');
  return chunkSize;
}

function chunkIv(f: FileKey, index: number, last: boolean): Buffer {
  if (index >= MAX_CHUNKS) throw new RangeError('sealed stream has too many chunks for its chunk size');
  const iv = Buffer.allocUnsafe(12);
  f.prefix.copy(iv, 0);
  iv.writeUInt32BE(index, PREFIX_LEN);
  iv[11] = last ? 1 : 0;
  return iv;
}

function sealChunk(f: FileKey, index: number, last: boolean, plain: Buffer, out: Buffer[]): void {
  const cipher = createCipheriv('aes-256-gcm', keyObject(f.key), chunkIv(f, index, last));
  cipher.setAAD(f.aad);
  if (plain.length > 0) out.push(cipher.update(plain));
  cipher.final();
  out.push(cipher.getAuthTag());
}

/** The plaintext of one chunk (ciphertext ‖ tag), returned only once its tag has been checked. */
function openChunk(f: FileKey, index: number, last: boolean, sealed: Buffer): Buffer {
  if (sealed.length < TAG_LEN) throw new DecryptionError('sealed stream is truncated');
  const body = sealed.length - TAG_LEN;
  const decipher = createDecipheriv('aes-256-gcm', keyObject(f.key), chunkIv(f, index, last));
  decipher.setAAD(f.aad);
  decipher.setAuthTag(sealed.subarray(body));
  try {
    const plain = decipher.update(sealed.subarray(0, body));
    decipher.final();
    return plain;
  } catch {
    throw new DecryptionError(`sealed stream chunk ${index} does not authenticate for this key and binding`);
  }
}

/**
 * Cuts input arriving in pieces of any size into chunks of one size. A full
 * chunk is handed on only once more input shows it is not the last (the last
 * chunk is sealed and opened differently); whole chunks inside a piece are
 * handed on as slices of it, without copying. A handed-on chunk is valid only
 * during the callback.
 */
class HeldBackChunks {
  private readonly pending: Buffer;
  private fill = 0;

  private readonly size: number;
  constructor(size: number) {
    this.size = size;
    this.pending = Buffer.allocUnsafe(size);
  }

  push(data: Buffer, from: number, chunk: (c: Buffer) => void): void {
    const size = this.size;
    let off = from;
    while (off < data.length) {
      if (this.fill === size) {
        chunk(this.pending);
        this.fill = 0;
      }
      if (this.fill === 0 && data.length - off > size) {
        chunk(data.subarray(off, off + size));
        off += size;
        continue;
      }
      const n = data.copy(this.pending, this.fill, off, Math.min(data.length, off + size - this.fill));
      this.fill += n;
      off += n;
    }
  }

  /** What is held back: the last chunk (possibly empty). */
  rest(): Buffer {
    const last = this.pending.subarray(0, this.fill);
    this.fill = 0;
    return last;
  }
}

/**
 * Seals plaintext of any length written in pieces of any size. A full chunk is
 * held back until more input shows it is not the last; input longer than a
 * chunk is sealed straight from the caller's buffer without copying.
 */
export class ChunkSealer {
  private readonly file: FileKey;
  private readonly chunks: HeldBackChunks;
  private index = 0;
  private headerOut = false;

  constructor(key: Buffer, aad: Buffer, chunkSize = DEFAULT_CHUNK_SIZE) {
    checkKey(key);
    checkChunkSize(chunkSize);
    const header = Buffer.alloc(HEADER_LEN);
    MAGIC.copy(header, 0);
    header[MAGIC.length] = VERSION;
    header.writeUInt32BE(chunkSize, MAGIC.length + 1);
    randomBytes(SALT_LEN + PREFIX_LEN).copy(header, MAGIC.length + 5);
    this.file = fileKey(key, aad, header);
    this.chunks = new HeldBackChunks(chunkSize);
  }

  /** Sealed bytes that are ready; the caller may reuse `data` once this returns. */
  update(data: Buffer): Buffer[] {
    const out = this.start();
    this.chunks.push(data, 0, (chunk) => this.seal(chunk, false, out));
    return out;
  }

  /** The last chunk (and the header, if nothing was written). */
  final(): Buffer[] {
    const out = this.start();
    this.seal(this.chunks.rest(), true, out);
    return out;
  }

  private start(): Buffer[] {
    if (this.headerOut) return [];
    this.headerOut = true;
    return [this.file.aad.subarray(0, HEADER_LEN)];
  }

  private seal(plain: Buffer, last: boolean, out: Buffer[]) {
    sealChunk(this.file, this.index++, last, plain, out);
  }
}

/** Bytes a plaintext of `plainSize` occupies once sealed. */
export function sealedSize(plainSize: number, chunkSize = DEFAULT_CHUNK_SIZE): number {
  return HEADER_LEN + plainSize + TAG_LEN * Math.max(1, Math.ceil(plainSize / chunkSize));
}

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
