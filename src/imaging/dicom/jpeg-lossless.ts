// JPEG Lossless (Process 14, and its selection value 1: the usual compression
// of CT and MR archives) decoded by jpeg-lossless-decoder-js, which browsers
// cannot do. The frame's own header is checked against its attributes first,
// and both against the frame's size, so no frame makes the decoder allocate
// more than the attributes allow. Samples come back as an uncompressed frame
// holds them. Free of Node-only code: the server renders
// with it, the viewer draws with it.
/// <reference path="../../types/jpeg-lossless-decoder-js.d.ts" />
import { Decoder } from 'jpeg-lossless-decoder-js';
import { FrameDecodeError } from './frame-error.ts';
import type { FrameShape } from './rle.ts';

const SOI = 0xffd8;
const SOF3 = 0xffc3;
/** The most one byte of a lossless scan can stand for: a 1-bit code per 16-bit sample. */
const MAX_EXPANSION = 16;

interface FrameHeader {
  precision: number;
  rows: number;
  columns: number;
  components: number;
}

/** The first start-of-frame header, which must be Process 14's (SOF3). */
function frameHeader(jpeg: Uint8Array): FrameHeader {
  const view = new DataView(jpeg.buffer, jpeg.byteOffset, jpeg.length);
  if (jpeg.length < 4 || view.getUint16(0) !== SOI) throw new FrameDecodeError('the frame is not a JPEG stream');
  for (let at = 2; at + 4 <= jpeg.length; ) {
    const marker = view.getUint16(at);
    if (marker >> 8 !== 0xff) throw new FrameDecodeError('the JPEG stream is malformed before its frame header');
    const length = view.getUint16(at + 2);
    const isSof = marker >= 0xffc0 && marker <= 0xffcf && marker !== 0xffc4 && marker !== 0xffc8 && marker !== 0xffcc;
    if (isSof) {
      if (marker !== SOF3)
        throw new FrameDecodeError('the JPEG stream is not lossless (Process 14) as its transfer syntax says');
      if (at + 10 > jpeg.length) break;
      return {
        precision: view.getUint8(at + 4),
        rows: view.getUint16(at + 5),
        columns: view.getUint16(at + 7),
        components: view.getUint8(at + 9),
      };
    }
    at += 2 + length;
  }
  throw new FrameDecodeError('the JPEG stream has no frame header');
}

export function decodeJpegLosslessFrame(jpeg: Uint8Array, f: FrameShape): Uint8Array {
  const bytesPerSample = f.bitsAllocated / 8;
  if (bytesPerSample !== 1 && bytesPerSample !== 2)
    throw new FrameDecodeError(`JPEG Lossless of ${f.bitsAllocated} bits allocated is not supported`);
  if (f.samplesPerPixel !== 1) throw new FrameDecodeError('JPEG Lossless is decoded for grey images only');
  const h = frameHeader(jpeg);
  if (h.rows !== f.rows || h.columns !== f.columns || h.components !== 1)
    throw new FrameDecodeError('the JPEG frame is not the size its attributes say');
  if (h.precision < 2 || h.precision > f.bitsAllocated)
    throw new FrameDecodeError(
      `the JPEG frame has ${h.precision}-bit samples, more than the ${f.bitsAllocated} bits allocated`,
    );
  const size = f.rows * f.columns * bytesPerSample;
  if (size > jpeg.length * MAX_EXPANSION)
    throw new FrameDecodeError('the JPEG frame is too short for the image its attributes describe');
  const decoder = new Decoder();
  let samples: Uint8Array | Uint16Array;
  try {
    samples = decoder.decode(jpeg.buffer, jpeg.byteOffset, jpeg.length, bytesPerSample);
  } catch (e) {
    throw new FrameDecodeError(`the JPEG frame cannot be decoded: ${(e as Error).message}`);
  }
  if ((decoder.stream?.index ?? Infinity) > jpeg.length) throw new FrameDecodeError('the JPEG frame is cut short');
  if (samples.byteLength !== size)
    throw new FrameDecodeError('the JPEG frame decoded to another size than its attributes say');
  // 16-bit words in this machine's byte order: little-endian on every platform Kartei runs on (x86-64, arm64).
  return new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
}
