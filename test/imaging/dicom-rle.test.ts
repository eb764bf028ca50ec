// RLE Lossless frames decoded (PS3.5 Annex G): literal and replicate runs, byte
// planes most significant first, colour planes to colour by pixel, and frames
// that lie about themselves refused before they cost memory. DCMTK's own encoder
// is checked against in dicomweb.int.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRleFrame } from '../../src/imaging/dicom/rle.ts';
import { FrameDecodeError } from '../../src/imaging/dicom/frame-error.ts';

/** A frame of these segments behind the 64-byte header. */
function rleFrame(segments: number[][]): Buffer {
  const header = Buffer.alloc(64);
  header.writeUInt32LE(segments.length, 0);
  let offset = 64;
  segments.forEach((s, i) => {
    header.writeUInt32LE(offset, 4 + 4 * i);
    offset += s.length;
  });
  return Buffer.concat([header, ...segments.map((s) => Buffer.from(s.map((b) => b & 0xff)))]);
}

test('literal runs, replicate runs and the no-op header decode one byte plane', () => {
  // 2×4 pixels: a literal run of 3, the no-op (-128), a replicate run of 4, a literal run of 1, a pad byte.
  const frame = rleFrame([[2, 10, 20, 30, -128, -3, 7, 0, 99, 0]]);
  const out = decodeRleFrame(frame, { rows: 2, columns: 4, samplesPerPixel: 1, bitsAllocated: 8 });
  assert.deepEqual([...out], [10, 20, 30, 7, 7, 7, 7, 99]);
});

test('16-bit samples: the first segment holds the high bytes; pixels come back little-endian', () => {
  const frame = rleFrame([
    [-1, 0x12, 0, 0xab],
    [2, 0x34, 0x56, 0xcd],
  ]);
  const out = Buffer.from(decodeRleFrame(frame, { rows: 1, columns: 3, samplesPerPixel: 1, bitsAllocated: 16 }));
  assert.deepEqual([out.readUInt16LE(0), out.readUInt16LE(2), out.readUInt16LE(4)], [0x1234, 0x1256, 0xabcd]);
});

test('RGB: one segment per colour, returned colour by pixel', () => {
  const frame = rleFrame([
    [-1, 255],
    [1, 0, 128],
    [-1, 9],
  ]);
  const out = decodeRleFrame(frame, { rows: 1, columns: 2, samplesPerPixel: 3, bitsAllocated: 8 });
  assert.deepEqual([...out], [255, 0, 9, 255, 128, 9]);
});

test('malformed frames are refused with what is wrong, never read or written out of bounds', () => {
  const grey = { rows: 2, columns: 2, samplesPerPixel: 1, bitsAllocated: 8 };
  const refused = (frame: Buffer, why: RegExp, f = grey) =>
    assert.throws(
      () => decodeRleFrame(frame, f),
      (e) => e instanceof FrameDecodeError && why.test(e.message),
    );
  refused(
    rleFrame([
      [3, 1, 2, 3, 4],
      [3, 1, 2, 3, 4],
    ]),
    /2 segments, its attributes call for 1/,
  );
  refused(rleFrame([[3, 1, 2]]), /literal run overruns/);
  refused(rleFrame([[5, 1, 2, 3, 4, 5, 6]]), /literal run overruns/, grey);
  refused(rleFrame([[-5, 1]]), /replicate run overruns/);
  refused(rleFrame([[-1]]), /replicate run overruns/);
  refused(rleFrame([[1, 1, 2]]), /ends after 2 of 4 bytes/);
  const outside = rleFrame([[3, 1, 2, 3, 4]]);
  outside.writeUInt32LE(4096, 4);
  refused(outside, /lies outside/);
  const inHeader = rleFrame([[3, 1, 2, 3, 4]]);
  inHeader.writeUInt32LE(8, 4);
  refused(inHeader, /lies outside/);
  refused(Buffer.alloc(20), /too short for the image|shorter than its header/);
  // 65535 × 65535 pixels from 70 bytes would be 4 GiB: refused before anything is allocated.
  refused(rleFrame([[-127, 0, -127, 0, -127, 0]]), /too short for the image/, {
    rows: 65535,
    columns: 65535,
    samplesPerPixel: 1,
    bitsAllocated: 8,
  });
  refused(rleFrame([[0, 1]]), /not supported/, { rows: 1, columns: 1, samplesPerPixel: 1, bitsAllocated: 12 });
});
