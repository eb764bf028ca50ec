// JPEG Lossless frames decoded, and refused when they are not what their
// attributes say, before the decoder allocates anything; every frame decoder
// fuzzed. Whole instances from DCMTK's encoders are rendered against their
// uncompressed twins in dicomweb.int.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { decodeJpegLosslessFrame } from '../../src/imaging/dicom/jpeg-lossless.ts';
import { FrameDecodeError } from '../../src/imaging/dicom/frame-error.ts';
import { FRAME_DECODERS } from '../../src/imaging/dicom/frame-decoders.ts';
import { TransferSyntax } from '../../src/imaging/dicom/uids.ts';
import { makeInstance } from '../helpers/dicom-files.ts';

const shape = { rows: 16, columns: 20, samplesPerPixel: 1, bitsAllocated: 16 };

/** DCMTK's JPEG Lossless SV1 stream of a 16×20 gradient, and the gradient's pixel bytes. */
function dcmtkFrame(): { jpeg: Buffer; pixels: Buffer } {
  const inst = makeInstance({ rows: 16, columns: 20, pixels: 'gradient' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-jpegll-'));
  try {
    fs.writeFileSync(path.join(dir, 'in.dcm'), inst.file);
    execFileSync('dcmcjpeg', ['+e1', path.join(dir, 'in.dcm'), path.join(dir, 'out.dcm')]);
    const file = fs.readFileSync(path.join(dir, 'out.dcm'));
    const soi = file.indexOf(Buffer.from([0xff, 0xd8, 0xff]));
    const eoi = file.indexOf(Buffer.from([0xff, 0xd9]), soi);
    return {
      jpeg: file.subarray(soi, eoi + 2),
      pixels: inst.dataset.subarray(inst.dataset.length - inst.pixelDataLength),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A stream of just SOI and a frame header. */
function header(marker: number, precision: number, rows: number, columns: number, components = 1): Buffer {
  const b = Buffer.alloc(2 + 2 + 2 + 6 + 3 * components);
  b.writeUInt16BE(0xffd8, 0);
  b.writeUInt16BE(marker, 2);
  b.writeUInt16BE(8 + 3 * components, 4);
  b.writeUInt8(precision, 6);
  b.writeUInt16BE(rows, 7);
  b.writeUInt16BE(columns, 9);
  b.writeUInt8(components, 11);
  return b;
}

const refused = (jpeg: Uint8Array, why: RegExp, f = shape) =>
  assert.throws(
    () => decodeJpegLosslessFrame(jpeg, f),
    (e) => e instanceof FrameDecodeError && why.test(e.message),
  );

test("DCMTK's lossless stream decodes to the very pixels it was made of", () => {
  const { jpeg, pixels } = dcmtkFrame();
  const out = decodeJpegLosslessFrame(jpeg, shape);
  assert.ok(Buffer.from(out).equals(pixels));
  // A view inside a larger buffer decodes alike.
  const padded = Buffer.concat([Buffer.alloc(7), jpeg]);
  assert.ok(Buffer.from(decodeJpegLosslessFrame(padded.subarray(7), shape)).equals(pixels));
});

test('frames that are not what their attributes say are refused before decoding', () => {
  const { jpeg } = dcmtkFrame();
  refused(Buffer.from('not a jpeg'), /not a JPEG stream/);
  refused(header(0xffc1, 12, 16, 20), /not lossless/);
  refused(header(0xffc3, 12, 17, 20), /not the size its attributes say/);
  refused(header(0xffc3, 12, 16, 20, 3), /not the size its attributes say/);
  refused(header(0xffc3, 16, 16, 20), /more than the 8 bits allocated/, { ...shape, bitsAllocated: 8 });
  refused(header(0xffc3, 8, 16, 20), /grey images only/, { ...shape, samplesPerPixel: 3 });
  refused(header(0xffc3, 12, 65535, 65535), /too short for the image/, { ...shape, rows: 65535, columns: 65535 });
  refused(jpeg.subarray(0, 4), /no frame header/);
  refused(jpeg.subarray(0, jpeg.length >> 1), /cut short/);
  refused(jpeg.subarray(0, jpeg.length - 3), /cut short/);
});

/** The first frame of an encapsulated Part 10 file: the item after the Basic Offset Table. */
function firstFragment(file: Buffer): Buffer {
  const item = Buffer.from([0xfe, 0xff, 0x00, 0xe0]);
  const offsetTable = file.indexOf(item, file.lastIndexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00])));
  const at = offsetTable + 8 + file.readUInt32LE(offsetTable + 4);
  assert.ok(file.subarray(at, at + 4).equals(item), 'a fragment follows the offset table');
  return file.subarray(at + 8, at + 8 + file.readUInt32LE(at + 4));
}

test('fuzzed frames from DCMTK: every decoder answers with a whole frame or FrameDecodeError, nothing else', () => {
  const inst = makeInstance({ rows: 32, columns: 32, pixels: 'random', seed: 7 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-fuzz-'));
  const frames: [string, Buffer][] = [];
  try {
    fs.writeFileSync(path.join(dir, 'in.dcm'), inst.file);
    for (const [syntax, tool] of [
      [TransferSyntax.RleLossless, ['dcmcrle']],
      [TransferSyntax.JpegLosslessSv1, ['dcmcjpeg', '+e1']],
    ] as const) {
      execFileSync(tool[0], [...tool.slice(1), path.join(dir, 'in.dcm'), path.join(dir, 'out.dcm')]);
      frames.push([syntax, firstFragment(fs.readFileSync(path.join(dir, 'out.dcm')))]);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const f = { rows: 32, columns: 32, samplesPerPixel: 1, bitsAllocated: 16 };
  let seed = 1;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  for (const [syntax, frame] of frames) {
    const decode = FRAME_DECODERS[syntax]!;
    assert.equal(decode(frame, f).length, 32 * 32 * 2, 'the frame itself decodes');
    const outcomes = { decoded: 0, refused: 0 };
    for (let i = 0; i < 500; i++) {
      const bad = Buffer.from(frame);
      for (let k = 1 + random(8); k > 0; k--) bad[random(bad.length)] = random(256);
      const input = random(5) === 0 ? bad.subarray(0, random(bad.length)) : bad;
      try {
        assert.equal(decode(input, f).length, 32 * 32 * 2);
        outcomes.decoded++;
      } catch (e) {
        assert.ok(e instanceof FrameDecodeError, `${syntax}: ${String(e)}`);
        outcomes.refused++;
      }
    }
    assert.ok(outcomes.refused > 0, `${syntax}: some damage is noticed`);
  }
});
