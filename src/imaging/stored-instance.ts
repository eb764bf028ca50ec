// Reading a stored instance back: the whole sealed Part 10 file as a stream,
// its attributes without the pixel data (only the bytes before it are
// decrypted), and single frames of uncompressed pixel data by offset. The
// key has been fetched through the gate; these functions only read.
import { bindingBytes } from '../vault/aead.ts';
import type { SealedFiles } from '../vault/sealed-files.ts';
import zlib from 'node:zlib';
import { KarteiError } from '../errors.ts';
import { readDataset } from './dicom/dataset-reader.ts';
import { parsePart10Header } from './dicom/part10.ts';
import { Tag } from './dicom/tags.ts';
import { datasetLayout, TransferSyntax } from './dicom/uids.ts';
import { numberValue, type Dataset } from './dicom/values.ts';
import { instanceFileBinding } from './instance-index.ts';
import type { InstanceMatch } from './study-query.ts';

export interface SealedInstance {
  images: SealedFiles;
  tenantId: string;
  key: Buffer;
  instance: InstanceMatch;
}

const aad = (s: SealedInstance) => bindingBytes(instanceFileBinding(s.tenantId, s.instance.id));

/** The stored Part 10 file, decrypted as it streams. */
export const openInstance = (s: SealedInstance): AsyncGenerator<Buffer> => s.images.openRead(s.instance.file, s.key, aad(s));

/** A deflated dataset is inflated whole to be read; this bounds what that may cost. */
const MAX_INFLATED_ATTRIBUTES = 256 * 1024 * 1024;

/** The dataset up to (not including) the pixel data element. */
export async function readAttributes(s: SealedInstance): Promise<Dataset> {
  const { instance } = s;
  const layout = datasetLayout(instance.transferSyntaxUid);
  if (!layout) throw new KarteiError('not-acceptable', 'the stored transfer syntax cannot be read');
  if (layout === 'deflated') return readDeflatedAttributes(s);
  // The pixel data element's header: tag, VR, reserved, 4-byte length (explicit) or tag and length (implicit).
  const end = instance.pixelOffset === null ? await s.images.plainSize(instance.file) : instance.pixelOffset - (layout === 'implicit-le' ? 8 : 12);
  const head = await s.images.readRange(instance.file, s.key, aad(s), 0, end);
  const part10 = parsePart10Header(head);
  if (!part10) throw new Error('stored instance without a complete Part 10 header');
  return readDataset(head.subarray(part10.datasetOffset), layout);
}

async function readDeflatedAttributes(s: SealedInstance): Promise<Dataset> {
  const chunks: Buffer[] = [];
  for await (const chunk of openInstance(s)) chunks.push(chunk);
  const file = Buffer.concat(chunks);
  const part10 = parsePart10Header(file);
  if (!part10) throw new Error('stored instance without a complete Part 10 header');
  let inflated: Buffer;
  try {
    inflated = zlib.inflateRawSync(file.subarray(part10.datasetOffset), { maxOutputLength: MAX_INFLATED_ATTRIBUTES });
  } catch {
    throw new KarteiError('not-acceptable', 'this deflated instance is too large to read here; retrieve the instance');
  }
  const ds = readDataset(inflated, 'explicit-le');
  for (const tag of ds.keys()) if (tag >= Tag.PixelData) ds.delete(tag);
  return ds;
}

export interface PixelModule {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  frames: number;
}

export function pixelModule(ds: Dataset): PixelModule {
  return {
    rows: numberValue(ds, Tag.Rows) ?? 0,
    columns: numberValue(ds, Tag.Columns) ?? 0,
    samplesPerPixel: numberValue(ds, Tag.SamplesPerPixel) ?? 1,
    bitsAllocated: numberValue(ds, Tag.BitsAllocated) ?? 0,
    frames: numberValue(ds, Tag.NumberOfFrames) ?? 1,
  };
}

/** Native (uncompressed) transfer syntaxes: pixel data is a plain array of frames. */
const NATIVE = new Set<string>([TransferSyntax.ImplicitVrLittleEndian, TransferSyntax.ExplicitVrLittleEndian, TransferSyntax.ExplicitVrBigEndian]);
export const isNative = (transferSyntaxUid: string) => NATIVE.has(transferSyntaxUid);

/** The media type a frame of this transfer syntax is sent as (PS3.18 8.7.3.3.2). */
const FRAME_TYPES: Record<string, string> = {
  [TransferSyntax.JpegBaseline]: 'image/jpeg',
  [TransferSyntax.JpegExtended]: 'image/jpeg',
  [TransferSyntax.JpegLossless]: 'image/jpeg',
  [TransferSyntax.JpegLosslessSv1]: 'image/jpeg',
  [TransferSyntax.JpegLsLossless]: 'image/jls',
  [TransferSyntax.JpegLsNearLossless]: 'image/jls',
  [TransferSyntax.Jpeg2000Lossless]: 'image/jp2',
  [TransferSyntax.Jpeg2000]: 'image/jp2',
  [TransferSyntax.HtJpeg2000Lossless]: 'image/jphc',
  [TransferSyntax.HtJpeg2000LosslessRpcl]: 'image/jphc',
  [TransferSyntax.HtJpeg2000]: 'image/jphc',
};

/** `application/octet-stream` for native and RLE pixel data, else the image type of the compression. */
export const frameMediaType = (transferSyntaxUid: string) => FRAME_TYPES[transferSyntaxUid] ?? 'application/octet-stream';

/**
 * Frame `n` (1-based): native pixel data read by offset and sent little
 * endian; encapsulated pixel data as the frame's compressed bytes, as stored.
 */
export async function readFrame(s: SealedInstance, px: PixelModule, n: number): Promise<Buffer> {
  const { instance } = s;
  if (datasetLayout(instance.transferSyntaxUid) === 'deflated') throw new KarteiError('not-acceptable', 'frames of deflated instances are not sent; retrieve the instance');
  if (instance.pixelOffset === null) throw new KarteiError('not-found', 'the instance has no pixel data');
  if (!(n >= 1 && n <= px.frames)) throw new KarteiError('not-found', `frame ${n}: the instance has ${px.frames}`, { field: 'frames' });
  if (!isNative(instance.transferSyntaxUid)) return encapsulatedFrame(s, px, n);
  if (px.bitsAllocated % 8 !== 0) throw new KarteiError('not-acceptable', `frames of ${px.bitsAllocated}-bit pixel data are not sent yet; retrieve the instance`);
  const size = px.rows * px.columns * px.samplesPerPixel * (px.bitsAllocated / 8);
  if (instance.pixelLength === null || size * n > instance.pixelLength) throw new Error('stored pixel data shorter than its attributes say');
  const frame = await s.images.readRange(instance.file, s.key, aad(s), instance.pixelOffset + size * (n - 1), size);
  // Frames leave in little endian, whatever the (retired) big-endian syntax stored.
  return instance.transferSyntaxUid === TransferSyntax.ExplicitVrBigEndian && px.bitsAllocated === 16 ? frame.swap16() : frame;
}

/** More items than any real encapsulated pixel data has: the walk stops there. */
const MAX_ITEMS = 100_000;
const ITEM_TAG = 0xfffee000;
const SEQUENCE_DELIMITER_TAG = 0xfffee0dd;

/** The items of encapsulated pixel data (PS3.5 A.4): where each value lies in the stored file. */
async function pixelItems(s: SealedInstance): Promise<{ at: number; length: number }[]> {
  const read = (at: number, length: number) => s.images.readRange(s.instance.file, s.key, aad(s), at, length);
  const end = await s.images.plainSize(s.instance.file);
  const items = [];
  for (let at = s.instance.pixelOffset!; items.length < MAX_ITEMS && at + 8 <= end; ) {
    const h = await read(at, 8);
    const tag = h.readUInt16LE(0) * 0x10000 + h.readUInt16LE(2);
    if (tag === SEQUENCE_DELIMITER_TAG) return items;
    const length = h.readUInt32LE(4);
    if (tag !== ITEM_TAG || at + 8 + length > end) break;
    items.push({ at: at + 8, length });
    at += 8 + length;
  }
  throw new Error('stored encapsulated pixel data is malformed');
}

/**
 * Frame `n` of encapsulated pixel data: all fragments of a single frame; else
 * by the Basic Offset Table, or one fragment per frame when it is empty.
 */
async function encapsulatedFrame(s: SealedInstance, px: PixelModule, n: number): Promise<Buffer> {
  const read = (item: { at: number; length: number }) => s.images.readRange(s.instance.file, s.key, aad(s), item.at, item.length);
  const [table, ...fragments] = await pixelItems(s);
  if (!table || fragments.length === 0) throw new Error('stored encapsulated pixel data has no fragments');
  let parts = fragments;
  if (px.frames > 1) {
    if (table.length >= 4 * px.frames) {
      const offsets = await read(table);
      // Offsets count from the first fragment's item tag.
      const base = fragments[0]!.at - 8;
      const start = offsets.readUInt32LE(4 * (n - 1));
      const next = n < px.frames ? offsets.readUInt32LE(4 * n) : Infinity;
      parts = fragments.filter((f) => f.at - 8 - base >= start && f.at - 8 - base < next);
    } else if (fragments.length === px.frames) parts = [fragments[n - 1]!];
    else throw new KarteiError('not-acceptable', 'the frames of this instance cannot be told apart (no offset table); retrieve the instance');
  }
  return Buffer.concat(await Promise.all(parts.map(read)));
}
