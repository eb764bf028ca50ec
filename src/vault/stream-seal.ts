// Sealing in the sealed stream format (stream-format.ts): plaintext written in
// pieces of any size comes out as header and sealed chunks, each chunk sealed
// once more input shows whether it is the last. The large buffers it makes (the
// held-back chunk, each sealed chunk) are given back as soon as they are no
// longer needed (`freeBuffer`, free-buffer.ts) instead of waiting for the garbage collector, which
// V8 otherwise runs as a full collection every few instances of an ingest just
// to free them (bench/RESULTS.md, 2026-12-05 03:45).
import { freeBuffer, ownsWholeBuffer } from './free-buffer.ts';
import {
  checkKey,
  DEFAULT_CHUNK_SIZE,
  fileKey,
  type FileKey,
  HEADER_LEN,
  headerFor,
  sealChunk,
} from './stream-format.ts';

/**
 * Cuts input arriving in pieces of any size into chunks of one size. A full
 * chunk is handed on only once more input shows it is not the last (the last
 * chunk is sealed and opened differently); whole chunks inside a piece are
 * handed on as slices of it, without copying. A handed-on chunk is valid only
 * during the callback.
 */
class HeldBackChunks {
  readonly pending: Buffer;
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
  private ended = false;
  /** The sealed chunks this sealer made and has not yet given back (see `written`). */
  private readonly made = new WeakSet<object>();

  constructor(key: Buffer, aad: Buffer, chunkSize = DEFAULT_CHUNK_SIZE) {
    checkKey(key);
    const header = headerFor(key, chunkSize); // Issue 19: keys-online — names a rotated key's version
    this.file = fileKey(key, aad, header);
    this.chunks = new HeldBackChunks(chunkSize);
  }

  /** Sealed bytes that are ready; the caller may reuse `data` once this returns. */
  update(data: Buffer): Buffer[] {
    if (this.ended) throw new Error('sealed stream already ended');
    const out = this.start();
    this.chunks.push(data, 0, (chunk) => this.seal(chunk, false, out));
    return out;
  }

  /** The last chunk (and the header, if nothing was written). */
  final(): Buffer[] {
    if (this.ended) throw new Error('sealed stream already ended');
    this.ended = true;
    const out = this.start();
    this.seal(this.chunks.rest(), true, out);
    // The held-back chunk was read by the cipher, which wrote into buffers of its own.
    freeBuffer(this.chunks.pending);
    return out;
  }

  /**
   * What `update`/`final` returned is written and no longer needed: the sealed
   * chunks among it are freed now. The caller must hold no other reference to them.
   */
  written(out: Buffer[]): void {
    for (const b of out) {
      if (!this.made.has(b.buffer)) continue;
      this.made.delete(b.buffer);
      freeBuffer(b);
    }
  }

  private start(): Buffer[] {
    if (this.headerOut) return [];
    this.headerOut = true;
    return [this.file.aad.subarray(0, HEADER_LEN)];
  }

  private seal(plain: Buffer, last: boolean, out: Buffer[]) {
    const from = out.length;
    sealChunk(this.file, this.index++, last, plain, out);
    // The cipher's output for this chunk: a buffer of its own (the tag is too small to matter).
    for (const b of out.slice(from)) if (b.length === plain.length && ownsWholeBuffer(b)) this.made.add(b.buffer);
  }
}
