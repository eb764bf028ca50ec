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
  // A fresh copy when unaligned: typed arrays need an even offset.
  return info.pixelRepresentation === 1 ? new Int16Array(buf.slice(0, count * 2)) : new Uint16Array(buf.slice(0, count * 2));
}

/** For each possible stored value, its grey level in this window. */
export function windowLut(info: PixelInfo, w: Window): { lut: Uint8Array; offset: number } {
  const signed = info.pixelRepresentation === 1;
  const size = info.bitsAllocated === 8 ? 256 : 65_536;
  const offset = signed && size === 65_536 ? 32_768 : 0;
  const lut = new Uint8Array(size);
  const width = Math.max(1, w.width);
  const low = w.center - 0.5 - (width - 1) / 2;
  const high = w.center - 0.5 + (width - 1) / 2;
  const invert = info.photometric === 'MONOCHROME1';
  for (let i = 0; i < size; i++) {
    const x = (i - offset) * info.slope + info.intercept;
    let y = x <= low ? 0 : x > high ? 255 : ((x - (w.center - 0.5)) / (width - 1) + 0.5) * 255;
    y = Math.round(Math.min(255, Math.max(0, y)));
    lut[i] = invert ? 255 - y : y;
  }
  return { lut, offset };
}

/** Fills `out` (RGBA, rows × columns) from the stored values. */
export function paint(values: Uint8Array | Uint16Array | Int16Array, info: PixelInfo, table: { lut: Uint8Array; offset: number }, out: Uint8ClampedArray): void {
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
  const { lut, offset } = table;
  for (let i = 0, o = 0; i < n; i++, o += 4) {
    const g = lut[(values[i] ?? 0) + offset]!;
    out[o] = g;
    out[o + 1] = g;
    out[o + 2] = g;
    out[o + 3] = 255;
  }
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

/** The usual CT windows in Hounsfield units. */
export const PRESETS = {
  lung: { center: -600, width: 1_500 },
  bone: { center: 300, width: 1_500 },
  softTissue: { center: 40, width: 400 },
} as const satisfies Record<string, Window>;
