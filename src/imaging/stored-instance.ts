// Reading a stored instance back: the whole sealed Part 10 file as a stream,
// its attributes without the pixel data (only the bytes before it are
// decrypted), and single frames of uncompressed pixel data by offset. The
// key has been fetched through the gate; these functions only read.
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { KarteiError } from '../errors.ts';
import { readDataset } from './dicom/dataset-reader.ts';
import { parsePart10Header } from './dicom/part10.ts';
import { Tag } from './dicom/tags.ts';
import { datasetLayout, TransferSyntax } from './dicom/uids.ts';
import { numberValue, type Dataset } from './dicom/values.ts';
import type { InstanceStore } from './instance-store.ts';
import type { InstanceMatch } from './study-query.ts';

export interface SealedInstance {
  images: InstanceStore;
  tenantId: string;
  key: Buffer;
  instance: InstanceMatch;
}

/** The stored Part 10 file, decrypted as it streams. */
export const openInstance = (s: SealedInstance): AsyncGenerator<Buffer> => s.images.open(s.tenantId, s.instance, s.key);

/** A deflated dataset is inflated whole to be read; this bounds what that may cost. */
const MAX_INFLATED_ATTRIBUTES = 256 * 1024 * 1024;
const inflateRaw = promisify(zlib.inflateRaw);

/** The dataset up to (not including) the pixel data element. */
export async function readAttributes(s: SealedInstance): Promise<Dataset> {
  const { instance } = s;
  const layout = datasetLayout(instance.transferSyntaxUid);
  if (!layout) throw new KarteiError('not-acceptable', 'the stored transfer syntax cannot be read');
  if (layout === 'deflated') return readDeflatedAttributes(s);
  // The pixel data element's header: tag, VR, reserved, 4-byte length (explicit) or tag and length (implicit).
  const end =
    instance.pixelOffset === null
      ? await s.images.plainSize(instance)
      : instance.pixelOffset - (layout === 'implicit-le' ? 8 : 12);
  const head = await s.images.readRange(s.tenantId, instance, s.key, 0, end);
  const part10 = parsePart10Header(head);
  if (!part10) throw new Error('stored instance without a complete Part 10 header');
  return readDataset(head.subarray(part10.datasetOffset), layout);
}

async function readDeflatedAttributes(s: SealedInstance): Promise<Dataset> {
  if ((await s.images.plainSize(s.instance)) > MAX_INFLATED_ATTRIBUTES / 4) {
    throw new KarteiError('not-acceptable', 'this deflated instance is too large to read here; retrieve the instance');
  }
  const chunks: Buffer[] = [];
  for await (const chunk of openInstance(s)) chunks.push(chunk);
  const file = Buffer.concat(chunks);
  const part10 = parsePart10Header(file);
  if (!part10) throw new Error('stored instance without a complete Part 10 header');
  let inflated: Buffer;
  try {
    inflated = await inflateRaw(file.subarray(part10.datasetOffset), { maxOutputLength: MAX_INFLATED_ATTRIBUTES });
  } catch (e) {
    const tooLarge = (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
    throw new KarteiError(
      'not-acceptable',
      tooLarge
        ? 'this deflated instance inflates beyond what is read here; retrieve the instance'
        : 'the stored deflated dataset cannot be inflated',
    );
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

/** More frames, or larger ones, than any real instance has: such attributes are not believed. */
const MAX_FRAMES = 100_000;
const MAX_FRAME_PIXELS = 2 ** 28;

/** The image pixel module; 406 when its values are out of any plausible range (they come from the sender). */
export function pixelModule(ds: Dataset): PixelModule {
  return plausible({
    rows: numberValue(ds, Tag.Rows) ?? 0,
    columns: numberValue(ds, Tag.Columns) ?? 0,
    samplesPerPixel: numberValue(ds, Tag.SamplesPerPixel) ?? 1,
    bitsAllocated: numberValue(ds, Tag.BitsAllocated) ?? 0,
    frames: numberValue(ds, Tag.NumberOfFrames) ?? 1,
  });
}

/**
 * The same from the index, which recorded these attributes at ingest: no file is
 * read. Null when the index lacks one of them (indexed before it recorded samples
 * per pixel, or not sent), so that the caller reads the attributes instead.
 */
export function indexedPixelModule(i: InstanceMatch): PixelModule | null {
  if (i.rows === null || i.columns === null || i.bitsAllocated === null || i.samplesPerPixel === null) return null;
  return plausible({
    rows: i.rows,
    columns: i.columns,
    samplesPerPixel: i.samplesPerPixel,
    bitsAllocated: i.bitsAllocated,
    frames: i.frames ?? 1,
  });
}

function plausible(px: PixelModule): PixelModule {
  const whole = (n: number, max: number) => Number.isInteger(n) && n >= 1 && n <= max;
  if (
    !whole(px.frames, MAX_FRAMES) ||
    !whole(px.rows, 65535) ||
    !whole(px.columns, 65535) ||
    px.rows * px.columns > MAX_FRAME_PIXELS ||
    ![1, 3, 4].includes(px.samplesPerPixel) ||
    !whole(px.bitsAllocated, 64)
  ) {
    throw new KarteiError(
      'not-acceptable',
      'the image pixel attributes of this instance are out of range; retrieve the instance',
    );
  }
  return px;
}

/** Native (uncompressed) transfer syntaxes: pixel data is a plain array of frames. */
const NATIVE = new Set<string>([
  TransferSyntax.ImplicitVrLittleEndian,
  TransferSyntax.ExplicitVrLittleEndian,
  TransferSyntax.ExplicitVrBigEndian,
]);
export const isNative = (transferSyntaxUid: string) => NATIVE.has(transferSyntaxUid);

/** The media type a frame of this transfer syntax is sent as (PS3.18 8.7.3.3.2). */
const FRAME_TYPES: Record<string, string> = {
  [TransferSyntax.RleLossless]: 'image/x-dicom-rle',
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
export const frameMediaType = (transferSyntaxUid: string) =>
  FRAME_TYPES[transferSyntaxUid] ?? 'application/octet-stream';

/** Refuses frames this instance does not have, or cannot send by themselves. */
export function assertFrames(s: SealedInstance, px: PixelModule, numbers: number[]): void {
  const { instance } = s;
  if (datasetLayout(instance.transferSyntaxUid) === 'deflated')
    throw new KarteiError('not-acceptable', 'frames of deflated instances are not sent; retrieve the instance');
  if (instance.pixelOffset === null) throw new KarteiError('not-found', 'the instance has no pixel data');
  const beyond = numbers.find((n) => !(n >= 1 && n <= px.frames));
  if (beyond !== undefined)
    throw new KarteiError('not-found', `frames: frame ${beyond} of ${px.frames}`, { field: 'frames' });
  if (isNative(instance.transferSyntaxUid) && px.bitsAllocated % 8 !== 0)
    throw new KarteiError(
      'not-acceptable',
      `frames of ${px.bitsAllocated}-bit pixel data are not sent yet; retrieve the instance`,
    );
}

/**
 * Frames `numbers` (1-based): native pixel data read by offset and sent
 * little endian; encapsulated pixel data as each frame's compressed bytes, as
 * stored (its items walked once for all of them).
 */
export async function readFrames(s: SealedInstance, px: PixelModule, numbers: number[]): Promise<Buffer[]> {
  const { instance } = s;
  assertFrames(s, px, numbers);
  if (isNative(instance.transferSyntaxUid)) return Promise.all(numbers.map((n) => uncompressedFrame(s, px, n)));
  const items = await pixelItems(s);
  return Promise.all(numbers.map((n) => encapsulatedFrame(s, px, items, n)));
}

async function uncompressedFrame(s: SealedInstance, px: PixelModule, n: number): Promise<Buffer> {
  const { instance } = s;
  const size = px.rows * px.columns * px.samplesPerPixel * (px.bitsAllocated / 8);
  if (instance.pixelLength === null || size * n > instance.pixelLength)
    throw new KarteiError('not-acceptable', 'the pixel data is shorter than the attributes say; retrieve the instance');
  const frame = await s.images.readRange(s.tenantId, instance, s.key, instance.pixelOffset! + size * (n - 1), size);
  // Frames leave in little endian, whatever the (retired) big-endian syntax stored.
  return instance.transferSyntaxUid === TransferSyntax.ExplicitVrBigEndian && px.bitsAllocated === 16
    ? frame.swap16()
    : frame;
}

/** More items than any real encapsulated pixel data has: the walk stops there. */
const MAX_ITEMS = 2 * MAX_FRAMES;
/** Item headers are read a block at a time: one decryption for many small items. */
const ITEM_BLOCK = 256 * 1024;
const ITEM_TAG = 0xfffee000;
const SEQUENCE_DELIMITER_TAG = 0xfffee0dd;

/** The items of encapsulated pixel data (PS3.5 A.4): where each value lies in the stored file. */
async function pixelItems(s: SealedInstance): Promise<{ at: number; length: number }[]> {
  const end = await s.images.plainSize(s.instance);
  let block: Buffer = Buffer.alloc(0);
  let blockAt = 0;
  const header = async (at: number) => {
    if (at + 8 > blockAt + block.length) {
      blockAt = at;
      block = await s.images.readRange(s.tenantId, s.instance, s.key, at, Math.min(ITEM_BLOCK, end - at));
    }
    return block.subarray(at - blockAt, at - blockAt + 8);
  };
  const items = [];
  for (let at = s.instance.pixelOffset!; items.length < MAX_ITEMS && at + 8 <= end; ) {
    const h = await header(at);
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
async function encapsulatedFrame(
  s: SealedInstance,
  px: PixelModule,
  items: { at: number; length: number }[],
  n: number,
): Promise<Buffer> {
  const read = (item: { at: number; length: number }) =>
    s.images.readRange(s.tenantId, s.instance, s.key, item.at, item.length);
  const [table, ...fragments] = items;
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
    else
      throw new KarteiError(
        'not-acceptable',
        'the frames of this instance cannot be told apart (no offset table); retrieve the instance',
      );
  }
  return Buffer.concat(await Promise.all(parts.map(read)));
}
