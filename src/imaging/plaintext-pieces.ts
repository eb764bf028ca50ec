// Plaintext decrypted from a sealed file for one retrieval (a C-GET or C-MOVE
// sub-operation, a WADO-RS part) is held by nobody once the socket has written
// it. The sender then wipes and frees it at once, instead of leaving tens of
// megabytes per study for a full garbage collection to find. Only pieces the
// read path marks here are ever freed: each owns its whole ArrayBuffer, and
// nothing else keeps it.

import { freeBuffer, ownsWholeBuffer } from '../vault/free-buffer.ts';

const releasable = new WeakSet<Buffer>();

/** Marks a piece the sender may free once written (if it owns its whole ArrayBuffer). */
export function markReleasable(b: Buffer): Buffer {
  if (ownsWholeBuffer(b)) releasable.add(b);
  return b;
}

export const isReleasable = (b: Buffer) => releasable.has(b);

/**
 * Wipes a marked piece and frees its memory now: the plaintext does not linger in freed
 * memory, and its ArrayBuffer is detached (ES2024 `transfer(0)`), so any view of it left
 * anywhere reads as empty, never as whatever the memory holds next. (Wiped first, a piece
 * freed too early would go out as zeros: the tests would see it.) Call it only once every
 * write of the piece has finished.
 */
export function releasePiece(b: Buffer): void {
  if (!releasable.delete(b)) return;
  b.fill(0);
  freeBuffer(b);
}

/**
 * The releasable pieces handed to a writer, by the byte (of everything handed on) where each ends:
 * once the writer has written up to there, a piece is released. Both senders count this way
 * (dimse/send-message.ts by the PDUs a write callback confirmed, dicomweb-codec/multipart.ts by
 * what the response no longer holds).
 */
export class PiecesInFlight {
  private readonly pieces: { piece: Buffer; end: number }[] = [];
  /** Bytes handed on so far. */
  handed = 0;

  /** Counts a piece handed on; keeps it for release if it is releasable. */
  add(piece: Buffer): Buffer {
    this.handed += piece.length;
    if (isReleasable(piece)) this.pieces.push({ piece, end: this.handed });
    return piece;
  }

  /** Releases every kept piece that ends within the first `written` bytes. */
  releaseUpTo(written: number): void {
    while (this.pieces.length > 0 && this.pieces[0]!.end <= written) releasePiece(this.pieces.shift()!.piece);
  }

  get empty(): boolean {
    return this.pieces.length === 0;
  }
}
