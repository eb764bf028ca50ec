// RLE Lossless (PS3.5 Annex G): one frame's compressed bytes to its pixels.
// A frame is a 64-byte header (the number of segments, then up to 15 segment
// offsets from the header's start) and the segments, each one byte plane
// compressed like PackBits: one segment per byte of each sample, the most
// significant byte first. The pixels come back colour by pixel, each sample
// little-endian, as an uncompressed frame of Explicit VR Little Endian holds them.
// Free of Node-only code: the server renders with it, the viewer draws with it.

import { FrameDecodeError } from './frame-error.ts';

/** What a frame's attributes say it is. */
export interface FrameShape {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
}

const HEADER_LENGTH = 64;
const MAX_SEGMENTS = 15;
/** The most one byte of a segment can stand for: a replicate run of 128 bytes from two. */
const MAX_EXPANSION = 64;

export function decodeRleFrame(frame: Uint8Array, f: FrameShape): Uint8Array {
  const bytesPerSample = f.bitsAllocated / 8;
  if (!Number.isInteger(bytesPerSample) || bytesPerSample < 1)
    throw new FrameDecodeError(`RLE of ${f.bitsAllocated} bits allocated is not supported`);
  const pixels = f.rows * f.columns;
  const segments = f.samplesPerPixel * bytesPerSample;
  if (segments > MAX_SEGMENTS) throw new FrameDecodeError(`RLE cannot hold ${segments} byte planes`);
  // Checked before anything is allocated: attributes cannot make a small frame ask for much memory.
  if (pixels * segments > frame.length * MAX_EXPANSION)
    throw new FrameDecodeError('the RLE frame is too short for the image its attributes describe');
  if (frame.length < HEADER_LENGTH) throw new FrameDecodeError('the RLE frame is shorter than its header');
  const header = new DataView(frame.buffer, frame.byteOffset, HEADER_LENGTH);
  const declared = header.getUint32(0, true);
  if (declared !== segments)
    throw new FrameDecodeError(`the RLE frame has ${declared} segments, its attributes call for ${segments}`);
  const offsets = Array.from({ length: segments }, (_, i) => header.getUint32(4 + 4 * i, true));
  const out = new Uint8Array(pixels * segments);
  for (let s = 0; s < segments; s++) {
    const start = offsets[s]!;
    const end = s + 1 < segments ? offsets[s + 1]! : frame.length;
    if (start < HEADER_LENGTH || end < start || end > frame.length)
      throw new FrameDecodeError(`segment ${s + 1} of the RLE frame lies outside it`);
    // Sample k's byte planes, most significant first, land in that sample's bytes in little-endian order.
    const sample = Math.floor(s / bytesPerSample);
    const byte = bytesPerSample - 1 - (s % bytesPerSample);
    unpackSegment(frame.subarray(start, end), out, sample * bytesPerSample + byte, segments, pixels, s + 1);
  }
  return out;
}

/** Writes one decoded byte plane to every `stride`-th byte of `out`, from `first`. */
function unpackSegment(
  seg: Uint8Array,
  out: Uint8Array,
  first: number,
  stride: number,
  pixels: number,
  n: number,
): void {
  let at = 0;
  let written = 0;
  while (written < pixels) {
    if (at >= seg.length)
      throw new FrameDecodeError(`segment ${n} of the RLE frame ends after ${written} of ${pixels} bytes`);
    const header = (seg[at++]! << 24) >> 24;
    if (header >= 0) {
      const count = header + 1;
      if (at + count > seg.length || written + count > pixels)
        throw new FrameDecodeError(`a literal run overruns segment ${n} of the RLE frame`);
      for (let i = 0; i < count; i++) out[first + (written + i) * stride] = seg[at + i]!;
      at += count;
      written += count;
    } else if (header !== -128) {
      const count = 1 - header;
      if (at >= seg.length || written + count > pixels)
        throw new FrameDecodeError(`a replicate run overruns segment ${n} of the RLE frame`);
      const value = seg[at++]!;
      for (let i = 0; i < count; i++) out[first + (written + i) * stride] = value;
      written += count;
    }
  }
}
