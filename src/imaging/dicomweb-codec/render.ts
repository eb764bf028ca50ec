// Rendered frames (PS3.18 8.3.5.1): uncompressed pixel data (or decoded: RLE
// Lossless, JPEG Lossless, 8-bit JPEG) turned into an 8-bit PNG or JPEG for the viewer. Grey images go through the modality LUT
// (rescale slope and intercept) and a linear VOI window (PS3.3 C.11.2.1.2):
// the one asked for, else the dataset's first, else the frame's range.
// MONOCHROME1 is inverted; 8-bit RGB is passed through.
import { KarteiError } from '../../errors.ts';
import { Tag } from '../dicom/tags.ts';
import { numberValue, textValue, type Dataset } from '../dicom/values.ts';
import { isNative, type PixelModule } from '../stored-instance.ts';
import { TransferSyntax } from '../dicom/uids.ts';
import { FRAME_DECODERS } from '../dicom/frame-decoders.ts';
import { FrameDecodeError } from '../dicom/frame-error.ts';

export const RENDERED_TYPES = ['image/png', 'image/jpeg'] as const;
type RenderedType = (typeof RENDERED_TYPES)[number];

interface Window {
  center: number;
  width: number;
}

export interface RenderOptions {
  type: RenderedType;
  window?: Window;
  /** JPEG quality, 1–100. */
  quality?: number;
}

/** The stored value of each pixel, as the stored bits and sign say. */
function storedValues(ds: Dataset, px: PixelModule, frame: Buffer): Int32Array {
  const count = px.rows * px.columns;
  const out = new Int32Array(count);
  const bitsStored = numberValue(ds, Tag.BitsStored) ?? px.bitsAllocated;
  const signed = numberValue(ds, Tag.PixelRepresentation) === 1;
  const mask = 2 ** bitsStored - 1;
  const signBit = 2 ** (bitsStored - 1);
  for (let i = 0; i < count; i++) {
    let v = px.bitsAllocated === 16 ? frame.readUInt16LE(i * 2) & mask : frame[i]! & mask;
    if (signed && v >= signBit) v -= 2 ** bitsStored;
    out[i] = v;
  }
  return out;
}

function windowOf(ds: Dataset, values: Int32Array, slope: number, intercept: number): Window {
  const center = numberValue(ds, Tag.WindowCenter);
  const width = numberValue(ds, Tag.WindowWidth);
  if (center !== undefined && width !== undefined && width >= 1) return { center, width };
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const lo = min * slope + intercept;
  const hi = max * slope + intercept;
  return { center: (lo + hi) / 2, width: Math.max(1, hi - lo + 1) };
}

/** One output byte per grey pixel: modality LUT, then the linear VOI window. */
function greyscale(ds: Dataset, px: PixelModule, frame: Buffer, asked: Window | undefined): Buffer {
  const values = storedValues(ds, px, frame);
  const slope = numberValue(ds, Tag.RescaleSlope) ?? 1;
  const intercept = numberValue(ds, Tag.RescaleIntercept) ?? 0;
  const { center, width } = asked ?? windowOf(ds, values, slope, intercept);
  const invert = textValue(ds, Tag.PhotometricInterpretation) === 'MONOCHROME1';
  const low = center - 0.5 - (width - 1) / 2;
  const high = center - 0.5 + (width - 1) / 2;
  const out = Buffer.allocUnsafe(values.length);
  for (let i = 0; i < values.length; i++) {
    const x = values[i]! * slope + intercept;
    const y = x <= low ? 0 : x > high ? 255 : Math.round(((x - (center - 0.5)) / (width - 1) + 0.5) * 255);
    out[i] = invert ? 255 - y : y;
  }
  return out;
}

/** 8-bit RGB, colour-by-plane rearranged to colour-by-pixel. */
function rgb(ds: Dataset, px: PixelModule, frame: Buffer): Buffer {
  if (numberValue(ds, Tag.PlanarConfiguration) !== 1) return frame;
  const n = px.rows * px.columns;
  const out = Buffer.allocUnsafe(n * 3);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = frame[c * n + i]!;
  return out;
}

/** JPEG processes sharp (libjpeg) decodes: 8-bit baseline and extended. */
const DECODABLE = new Set<string>([TransferSyntax.JpegBaseline, TransferSyntax.JpegExtended]);
/** Colour a JPEG decoder hands back as RGB. */
const JPEG_COLOUR = new Set(['RGB', 'YBR_FULL', 'YBR_FULL_422']);

type Kind = 'grey' | 'rgb';

/** What the frame renders as; 406 for what this renderer cannot do, checked before anything is read. */
export function renderKind(ds: Dataset, px: PixelModule, transferSyntaxUid: string): Kind {
  const photometric = textValue(ds, Tag.PhotometricInterpretation) ?? 'MONOCHROME2';
  const jpeg = DECODABLE.has(transferSyntaxUid) && px.bitsAllocated === 8;
  if (!isNative(transferSyntaxUid) && !jpeg && !FRAME_DECODERS[transferSyntaxUid])
    throw new KarteiError(
      'not-acceptable',
      'rendering of this compression is not supported yet; retrieve the frames or the instance',
    );
  if (
    px.samplesPerPixel === 1 &&
    photometric.startsWith('MONOCHROME') &&
    (px.bitsAllocated === 8 || px.bitsAllocated === 16)
  )
    return 'grey';
  if (
    px.samplesPerPixel === 3 &&
    px.bitsAllocated === 8 &&
    (photometric === 'RGB' || (jpeg && JPEG_COLOUR.has(photometric)))
  )
    return 'rgb';
  throw new KarteiError(
    'not-acceptable',
    `rendering ${photometric} with ${px.bitsAllocated} bits allocated is not supported; retrieve the instance`,
  );
}

/** The frame's pixels: as read when uncompressed; decoded when compressed, if it is the size the attributes say. */
async function pixelsOf(px: PixelModule, transferSyntaxUid: string, frame: Buffer): Promise<Buffer> {
  if (isNative(transferSyntaxUid)) return frame;
  const decode = FRAME_DECODERS[transferSyntaxUid];
  if (decode) {
    try {
      const pixels = decode(frame, px);
      return Buffer.from(pixels.buffer, pixels.byteOffset, pixels.length);
    } catch (e) {
      if (e instanceof FrameDecodeError) throw new KarteiError('not-acceptable', `${e.message}; retrieve the instance`);
      throw e;
    }
  }
  const decoder = (await loadSharp())(frame, { limitInputPixels: px.rows * px.columns });
  const { width, height } = await decoder.metadata().catch(() => ({ width: 0, height: 0 }));
  if (width !== px.columns || height !== px.rows)
    throw new KarteiError(
      'not-acceptable',
      'the compressed frame is not the size its attributes say; retrieve the instance',
    );
  return (px.samplesPerPixel === 1 ? decoder.toColourspace('b-w') : decoder.toColourspace('srgb')).raw().toBuffer();
}

/** sharp (libvips), loaded with the first rendered frame rather than with the server. */
const loadSharp = async () => (await import('sharp')).default;

export async function renderFrame(
  ds: Dataset,
  px: PixelModule,
  transferSyntaxUid: string,
  frame: Buffer,
  o: RenderOptions,
): Promise<Buffer> {
  const kind = renderKind(ds, px, transferSyntaxUid);
  const raw = await pixelsOf(px, transferSyntaxUid, frame);
  // A decoder hands back colour by pixel, whatever the planar configuration said of the stored bytes.
  const pixels =
    kind === 'grey' ? greyscale(ds, px, raw, o.window) : isNative(transferSyntaxUid) ? rgb(ds, px, raw) : raw;
  const image = (await loadSharp())(pixels, {
    raw: { width: px.columns, height: px.rows, channels: kind === 'grey' ? 1 : 3 },
  });
  return (
    o.type === 'image/png' ? image.png({ compressionLevel: 1 }) : image.jpeg({ quality: o.quality ?? 90 })
  ).toBuffer();
}
