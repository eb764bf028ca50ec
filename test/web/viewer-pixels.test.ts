// The viewer's arithmetic, outside the browser: the VOI window of PS3.3
// C.11.2.1.2 with the modality rescale, and the frame taken out of its multipart answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodedInfo,
  fullRange,
  paint,
  samplesOf,
  storedValues,
  windowLut,
  type PixelInfo,
} from '../../web/src/viewer/pixels.ts';
import { parts } from '../../web/src/viewer/multipart.ts';

const ct: PixelInfo = {
  rows: 1,
  columns: 4,
  bitsAllocated: 16,
  pixelRepresentation: 1,
  samplesPerPixel: 1,
  photometric: 'MONOCHROME2',
  slope: 1,
  intercept: -1024,
};

function grey(values: number[], info: PixelInfo, center: number, width: number): number[] {
  const stored = storedValues(new Int16Array(values).buffer, info);
  const out = new Uint8ClampedArray(values.length * 4);
  paint(stored, { ...info, columns: values.length }, windowLut(info, { center, width }), out);
  return [...out].filter((_, i) => i % 4 === 0);
}

test('window: below the window black, above white, the centre mid-grey; rescale applied first', () => {
  // Stored 0 is -1024 HU (air), 1064 is 40 HU, 2000 is 976 HU; soft tissue window 40/400.
  const [air, centre, bone, edge] = grey([0, 1064, 2000, 1064 - 200], ct, 40, 400);
  assert.equal(air, 0);
  assert.equal(bone, 255);
  assert.ok(Math.abs(centre! - 128) <= 1, String(centre));
  assert.ok(edge! <= 1, String(edge));
});

test('window: signed values below zero, and MONOCHROME1 inverts', () => {
  assert.deepEqual(grey([-2000, 3000], { ...ct, intercept: 0 }, 0, 100), [0, 255]);
  assert.deepEqual(grey([-2000, 3000], { ...ct, intercept: 0, photometric: 'MONOCHROME1' }, 0, 100), [255, 0]);
});

test('window: a width of 1 or less is a threshold, never a division by zero', () => {
  const g = grey([1023, 1024, 1025], ct, 0, 0);
  assert.ok(
    g.every((v) => v === 0 || v === 255),
    String(g),
  );
});

test("full range spans the frame's values in modality units", () => {
  const info = { ...ct, columns: 3 };
  assert.deepEqual(fullRange(storedValues(new Int16Array([0, 500, 1000]).buffer, info), info), {
    center: -524,
    width: 1000,
  });
});

test("the parts of a multipart answer: each one's type and exactly its bytes, CRLFs inside kept", () => {
  const payload = Buffer.from([0x0d, 0x0a, 0x2d, 0x2d, 1, 2, 3]);
  const second = Buffer.from([9, 8, 7]);
  const body = Buffer.concat([
    Buffer.from('--B1\r\nContent-Type: application/octet-stream\r\n\r\n'),
    payload,
    Buffer.from('\r\n--B1\r\nContent-Type: image/jpeg\r\n\r\n'),
    second,
    Buffer.from('\r\n--B1--\r\n'),
  ]);
  const got = parts(new Uint8Array(body), 'B1');
  assert.deepEqual(
    got.map((p) => p.contentType),
    ['application/octet-stream', 'image/jpeg'],
  );
  assert.deepEqual([...got[0]!.body], [...payload]);
  assert.deepEqual([...got[1]!.body], [...second]);
  assert.throws(() => parts(new Uint8Array(Buffer.from('no parts here')), 'B1'));
  assert.throws(() => parts(new Uint8Array(body.subarray(0, body.length - 12)), 'B1'), /cut short/);
});

test('the lookup table equals the window applied to every stored value, for rising, falling and fractional rescales', () => {
  for (const info of [
    ct,
    { ...ct, pixelRepresentation: 0 },
    { ...ct, slope: 0.37, intercept: -3 },
    { ...ct, slope: -2 },
    { ...ct, bitsAllocated: 8, pixelRepresentation: 0 },
    { ...ct, photometric: 'MONOCHROME1' },
  ]) {
    for (const w of [
      { center: 40, width: 400 },
      { center: -600, width: 1_500 },
      { center: 0, width: 1 },
      { center: 1e6, width: 10 },
    ]) {
      const { lut, offset } = windowLut(info, w);
      const width = Math.max(1, w.width);
      for (let i = 0; i < lut.length; i++) {
        const x = (i - offset) * info.slope + info.intercept;
        const y =
          x <= w.center - 0.5 - (width - 1) / 2
            ? 0
            : x > w.center - 0.5 + (width - 1) / 2
              ? 255
              : Math.round(((x - (w.center - 0.5)) / (width - 1) + 0.5) * 255);
        const expected = info.photometric === 'MONOCHROME1' ? 255 - y : y;
        // The whole packed pixel: grey in red, green and blue, opaque (little endian: the bytes R, G, B, A).
        const word = (0xff000000 | (expected << 16) | (expected << 8) | expected) >>> 0;
        if (lut[i] !== word)
          assert.fail(`${JSON.stringify({ info, w, i })}: ${lut[i]!.toString(16)} ≠ ${word.toString(16)}`);
      }
    }
  }
});

test('a frame shorter than rows × columns paints the rest as stored value 0', () => {
  const info = { ...ct, columns: 3 };
  const out = new Uint8ClampedArray(12);
  paint(storedValues(new Int16Array([2000]).buffer, info), info, windowLut(info, { center: 40, width: 400 }), out);
  assert.deepEqual([...out], [255, 255, 255, 255, 0, 0, 0, 255, 0, 0, 0, 255]);
});

test('a decoded JPEG: as many 8-bit samples as the instance has, grey ones windowed with its rescale, colour shown as RGB', () => {
  const rgba = new Uint8ClampedArray([30, 30, 30, 255, 200, 200, 200, 255]);
  const info = decodedInfo({ ...ct, columns: 2, bitsAllocated: 16, pixelRepresentation: 1 });
  assert.deepEqual(
    [info.bitsAllocated, info.pixelRepresentation, info.samplesPerPixel, info.photometric, info.intercept],
    [8, 0, 1, 'MONOCHROME2', -1024],
  );
  const grey = samplesOf(rgba, 1);
  assert.deepEqual([...grey], [30, 200]);
  // 30 → -994 HU: black in a soft-tissue window, dark grey in a lung window.
  const shown = (w: { center: number; width: number }) => {
    const out = new Uint8ClampedArray(8);
    paint(storedValues(grey.buffer as ArrayBuffer, info), info, windowLut(info, w), out);
    return out[0];
  };
  assert.equal(shown({ center: 40, width: 400 }), 0);
  assert.ok(Math.abs(shown({ center: -600, width: 1_500 })! - 60) <= 1);

  // A colour instance stays colour even where its pixels happen to be grey.
  const colour = decodedInfo({ ...ct, samplesPerPixel: 3, photometric: 'YBR_FULL_422' });
  assert.deepEqual([colour.samplesPerPixel, colour.photometric], [3, 'RGB']);
  assert.deepEqual([...samplesOf(rgba, colour.samplesPerPixel)], [30, 30, 30, 200, 200, 200]);
});
