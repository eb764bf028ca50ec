// Sealing in the sealed stream format (stream-format.ts): plaintext written in
// pieces of any size comes out as header and sealed chunks, each chunk sealed
// once more input shows whether it is the last.
import {
  checkKey,
  DEFAULT_CHUNK_SIZE,
  fileKey,
  type FileKey,
  HEADER_LEN,
  newHeader,
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
    const header = newHeader(chunkSize);
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
