// Reading a stored instance back: the whole sealed Part 10 file as a stream,
// its attributes without the pixel data (only the bytes before it are
// decrypted), and single frames of uncompressed pixel data by offset. The
// key has been fetched through the gate; these functions only read.
import { bindingBytes } from '../vault/aead.ts';
import type { SealedFiles } from '../vault/sealed-files.ts';
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

/** The dataset up to (not including) the pixel data element. */
export async function readAttributes(s: SealedInstance): Promise<Dataset> {
  const { instance } = s;
  const layout = datasetLayout(instance.transferSyntaxUid);
  if (!layout || layout === 'deflated') throw new KarteiError('not-acceptable', 'the stored transfer syntax cannot be read');
  // The pixel data element's header: tag, VR, reserved, 4-byte length (explicit) or tag and length (implicit).
  const end = instance.pixelOffset === null ? await s.images.plainSize(instance.file) : instance.pixelOffset - (layout === 'implicit-le' ? 8 : 12);
  const head = await s.images.readRange(instance.file, s.key, aad(s), 0, end);
  const part10 = parsePart10Header(head);
  if (!part10) throw new Error('stored instance without a complete Part 10 header');
  return readDataset(head.subarray(part10.datasetOffset), layout);
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

/** Frame `n` (1-based) of uncompressed pixel data, little endian. */
export async function readFrame(s: SealedInstance, px: PixelModule, n: number): Promise<Buffer> {
  const { instance } = s;
  if (instance.pixelOffset === null || instance.pixelLength === null) throw new KarteiError('not-found', 'the instance has no pixel data');
  if (!isNative(instance.transferSyntaxUid)) throw new KarteiError('not-acceptable', 'frames of compressed instances are not sent yet; retrieve the instance');
  if (px.bitsAllocated % 8 !== 0) throw new KarteiError('not-acceptable', `frames of ${px.bitsAllocated}-bit pixel data are not sent yet; retrieve the instance`);
  if (!(n >= 1 && n <= px.frames)) throw new KarteiError('not-found', `frame ${n}: the instance has ${px.frames}`, { field: 'frames' });
  const size = px.rows * px.columns * px.samplesPerPixel * (px.bitsAllocated / 8);
  if (size * n > instance.pixelLength) throw new Error('stored pixel data shorter than its attributes say');
  const frame = await s.images.readRange(instance.file, s.key, aad(s), instance.pixelOffset + size * (n - 1), size);
  // Frames leave in little endian, whatever the (retired) big-endian syntax stored.
  return instance.transferSyntaxUid === TransferSyntax.ExplicitVrBigEndian && px.bitsAllocated === 16 ? frame.swap16() : frame;
}
