// Giving a large buffer's memory back now instead of leaving it to V8 (issue 18): V8 13.6
// starts a full garbage collection per ~64 MiB of fresh ArrayBuffers, so the bulk paths free
// what they made and nobody else holds. A buffer is freed by detaching its ArrayBuffer (ES2024
// `transfer(0)`): malloc gets the memory back at once and every view of it reads as empty from
// then on. Imports nothing, so a worker thread (audit verify's stretch worker) loads little with it.

/** A buffer that is the whole of its ArrayBuffer: not empty, not a slice of Node's pool or of a larger buffer. */
export const ownsWholeBuffer = (b: Uint8Array): boolean =>
  b.byteLength > 0 && b.byteOffset === 0 && b.buffer.byteLength === b.byteLength;

/**
 * Frees a buffer's memory now if it is the whole of its ArrayBuffer (else, or where the ArrayBuffer
 * cannot be detached, it is left to the garbage collector). Only for a buffer nobody else holds,
 * once every use of it has finished.
 */
export function freeBuffer(b: Uint8Array): void {
  if (!ownsWholeBuffer(b)) return;
  try {
    (b.buffer as ArrayBuffer & { transfer(length: number): ArrayBuffer }).transfer(0);
  } catch {
    // Not detachable (a SharedArrayBuffer, WebAssembly memory): left to the garbage collector.
  }
}
