// Opening a sealed stream (stream-format.ts) that arrives as pieces of any
// size from any source whose total size is known beforehand — an HTTP body,
// rows — rather than from a file (stream-open.ts): chunk by chunk, each
// authenticated at its position before it is handed on, the last one as last
// by the stated size. At most one sealed chunk is held at a time.
import { DecryptionError } from './aead.ts';
import { checkKey, fileKey, HEADER_LEN, TAG_LEN } from './stream-format.ts';
import { openStoredChunk, sealedLayout } from './stream-open.ts';

/**
 * The plaintext of a sealed stream of `size` bytes read from `pieces`, chunk by
 * chunk. Fewer bytes than `size` fail as a truncated stream, more as one that
 * was extended; a chunk that does not authenticate throws before any of its
 * bytes are handed on.
 */
export async function* readPlainPieces(
  pieces: AsyncIterable<Uint8Array>,
  size: number,
  key: Buffer,
  aad: Buffer,
): AsyncGenerator<Buffer> {
  checkKey(key);
  const source = new ExactReader(pieces[Symbol.asyncIterator]());
  const layout = sealedLayout(Buffer.from(await source.read(HEADER_LEN)), size);
  const file = fileKey(key, aad, layout.header);
  const seg = layout.chunkSize + TAG_LEN;
  for (let i = 0; i < layout.chunks; i++) {
    const last = i === layout.chunks - 1;
    const plain = openStoredChunk(file, layout, i, await source.read(last ? size - HEADER_LEN - i * seg : seg));
    if (plain.length > 0) yield plain;
  }
  if (!(await source.ended())) throw new DecryptionError('sealed stream is longer than its stated size');
}

/** Reads exactly the bytes asked for from an iterator of pieces, copying only across piece boundaries. */
class ExactReader {
  private rest: Buffer = Buffer.alloc(0);
  private readonly pieces: AsyncIterator<Uint8Array>;
  constructor(pieces: AsyncIterator<Uint8Array>) {
    this.pieces = pieces;
  }

  /** Exactly `n` bytes: a view of one piece where it holds them, else a buffer of its own. */
  async read(n: number): Promise<Buffer> {
    if (this.rest.length >= n) return this.take(n);
    const into = Buffer.allocUnsafe(n);
    let got = this.rest.copy(into);
    this.rest = Buffer.alloc(0);
    while (got < n) {
      const next = await this.pieces.next();
      if (next.done) throw new DecryptionError('sealed stream is truncated');
      const piece = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
      const used = piece.copy(into, got, 0, Math.min(piece.length, n - got));
      got += used;
      this.rest = piece.subarray(used);
    }
    return into;
  }

  /** Whether nothing follows what was read. */
  async ended(): Promise<boolean> {
    while (this.rest.length === 0) {
      const next = await this.pieces.next();
      if (next.done) return true;
      this.rest = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    }
    return false;
  }

  private take(n: number): Buffer {
    const out = this.rest.subarray(0, n);
    this.rest = this.rest.subarray(n);
    return out;
  }
}
