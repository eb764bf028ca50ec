// A frame's stored values to screen pixels: modality rescale, then the linear
// VOI window of PS3.3 C.11.2.1.2, through a lookup table rebuilt only when the
// window changes (so scrolling costs one table lookup per pixel).

export interface PixelInfo {
  rows: number;
  columns: number;
  bitsAllocated: number;
  pixelRepresentation: number;
  samplesPerPixel: number;
  photometric: string;
  slope: number;
  intercept: number;
}

export interface Window {
  center: number;
  width: number;
}

/** The stored values of one frame as a typed array of the right signedness. */
export function storedValues(buf: ArrayBuffer, info: PixelInfo): Uint8Array | Uint16Array | Int16Array {
  const n = info.rows * info.columns * info.samplesPerPixel;
  if (info.bitsAllocated === 8) return new Uint8Array(buf, 0, Math.min(n, buf.byteLength));
  const count = Math.min(n, buf.byteLength >> 1);
  // A view, not a copy: the frame's buffer starts at offset 0, so it is aligned.
  return info.pixelRepresentation === 1 ? new Int16Array(buf, 0, count) : new Uint16Array(buf, 0, count);
}

/** Byte order of this machine: a packed RGBA pixel is written as one 32-bit word. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const rgba = (g: number) =>
  LITTLE_ENDIAN ? (0xff000000 | (g << 16) | (g << 8) | g) >>> 0 : ((g << 24) | (g << 16) | (g << 8) | 0xff) >>> 0;

/** For each possible stored value, its opaque grey pixel (RGBA packed in a word) in this window. */
export function windowLut(info: PixelInfo, w: Window): { lut: Uint32Array; offset: number } {
  const signed = info.pixelRepresentation === 1;
  const size = info.bitsAllocated === 8 ? 256 : 65_536;
  const offset = signed && size === 65_536 ? 32_768 : 0;
  const lut = new Uint32Array(size);
  const width = Math.max(1, w.width);
  const low = w.center - 0.5 - (width - 1) / 2;
  const high = w.center - 0.5 + (width - 1) / 2;
  const invert = info.photometric === 'MONOCHROME1';
  const pixel = (i: number) => {
    const x = (i - offset) * info.slope + info.intercept;
    const y =
      x <= low
        ? 0
        : x > high
          ? 255
          : Math.round(Math.min(255, Math.max(0, ((x - (w.center - 0.5)) / (width - 1) + 0.5) * 255)));
    return rgba(invert ? 255 - y : y);
  };
  // With a rising rescale, values below the window's first stored value are all black
  // and above its last all white: fill those, compute only the window's few hundred.
  const first =
    info.slope > 0 ? Math.min(size - 1, Math.max(0, Math.floor((low - info.intercept) / info.slope + offset))) : 0;
  const last =
    info.slope > 0
      ? Math.min(size - 1, Math.max(0, Math.ceil((high - info.intercept) / info.slope + offset)))
      : size - 1;
  lut.fill(pixel(0), 0, first);
  for (let i = first; i <= last; i++) lut[i] = pixel(i);
  lut.fill(pixel(size - 1), last + 1);
  return { lut, offset };
}

/** Fills `out` (RGBA, rows × columns) from the stored values. */
export function paint(
  values: Uint8Array | Uint16Array | Int16Array,
  info: PixelInfo,
  table: { lut: Uint32Array; offset: number },
  out: Uint8ClampedArray,
): void {
  const n = info.rows * info.columns;
  if (info.samplesPerPixel === 3) {
    for (let i = 0, o = 0; i < n; i++, o += 4) {
      out[o] = values[i * 3]!;
      out[o + 1] = values[i * 3 + 1]!;
      out[o + 2] = values[i * 3 + 2]!;
      out[o + 3] = 255;
    }
    return;
  }
  // One word per pixel: a quarter of the writes of filling the bytes one by one.
  const { lut, offset } = table;
  const words = new Uint32Array(out.buffer, out.byteOffset, n);
  const m = Math.min(n, values.length);
  for (let i = 0; i < m; i++) words[i] = lut[values[i]! + offset]!;
  words.fill(lut[offset]!, m);
}

/** A window that spans the frame's values, when the instance names none. */
export function fullRange(values: Uint8Array | Uint16Array | Int16Array, info: PixelInfo): Window {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!Number.isFinite(min)) return { center: 128, width: 256 };
  const lo = min * info.slope + info.intercept;
  const hi = max * info.slope + info.intercept;
  return { center: (lo + hi) / 2, width: Math.max(1, hi - lo) };
}

/** A decoded image's RGBA as the values a frame of the instance holds: one sample per pixel (its red), or three. */
export function samplesOf(rgba: Uint8ClampedArray, samples: number): Uint8Array {
  const per = samples === 1 ? 1 : 3;
  const n = rgba.length >> 2;
  const data = new Uint8Array(n * per);
  for (let i = 0, o = 0; i < n; i++) for (let k = 0; k < per; k++) data[o++] = rgba[i * 4 + k]!;
  return data;
}

/** What the values of a decoded frame are: 8 bits, unsigned; RGB when in colour. */
export const decodedInfo = (info: PixelInfo): PixelInfo => ({
  ...info,
  bitsAllocated: 8,
  pixelRepresentation: 0,
  samplesPerPixel: info.samplesPerPixel === 1 ? 1 : 3,
  photometric: info.samplesPerPixel === 1 ? info.photometric : 'RGB',
});

/** The usual CT windows in Hounsfield units. */
export const PRESETS = {
  lung: { center: -600, width: 1_500 },
  bone: { center: 300, width: 1_500 },
  softTissue: { center: 40, width: 400 },
} as const satisfies Record<string, Window>;
