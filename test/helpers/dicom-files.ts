// Valid DICOM test instances, as a bare dataset and as a Part 10 file: a
// patient, a study, a series, an image with deterministic pixel data, and the
// things a scanner has to step over (a private block, sequences nested two
// deep, a decoy PatientName inside an item). Fast enough for benchmarks.
import { randomBytes } from 'node:crypto';
import { writeDataset, type WriteElement } from '../../src/imaging/dicom/dataset-writer.ts';
import { part10Header } from '../../src/imaging/dicom/part10.ts';
import { Tag } from '../../src/imaging/dicom/tags.ts';
import { StorageSopClass, TransferSyntax } from '../../src/imaging/dicom/uids.ts';

export interface InstanceOptions {
  /** Default: explicit. */
  syntax?: 'implicit' | 'explicit';
  sopClassUid?: string;
  patientName?: string;
  /** Default: ASCII, or ISO_IR 192 (UTF-8) when a name needs it. */
  characterSet?: 'ISO_IR 100' | 'ISO_IR 192';
  patientId?: string;
  birthDate?: string;
  sex?: 'M' | 'F' | 'O';
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
  sopInstanceUid?: string;
  modality?: string;
  /** Default: Thorax. */
  studyDescription?: string;
  instanceNumber?: number;
  rows?: number;
  columns?: number;
  bitsAllocated?: 8 | 16;
  frames?: number;
  /** NumberOfFrames as written, whatever the pixel data holds (for lying senders). */
  claimedFrames?: number;
  pixels?: 'random' | 'gradient';
  /** Seed of the pseudo-random pixels. */
  seed?: number;
  /** Default true: sequences and items of undefined length, the harder case for a scanner. */
  undefinedLengthSequences?: boolean;
}

export interface TestInstance {
  file: Buffer;
  dataset: Buffer;
  transferSyntax: string;
  sopClassUid: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  pixelDataLength: number;
}

export const IMPLEMENTATION_CLASS_UID = '1.2.826.0.1.3680043.10.1234.1';

/** A fresh UID under 2.25 (PS3.5 §B.2): a random 128-bit number in decimal. */
export const newUid = () => `2.25.${BigInt(`0x${randomBytes(16).toString('hex')}`)}`;

/** xorshift32 over whole words: about a gigabyte a second, and the same bytes for the same seed. */
function randomPixels(length: number, seed: number): Buffer {
  const buf = Buffer.alloc(length + 3 - ((length + 3) % 4));
  const words = new Uint32Array(buf.buffer, buf.byteOffset, buf.length / 4);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return buf.subarray(0, length);
}

function gradientPixels(rows: number, columns: number, frames: number, bytesPerPixel: number): Buffer {
  const buf = Buffer.alloc(rows * columns * frames * bytesPerPixel);
  const max = bytesPerPixel === 2 ? 4095 : 255;
  for (let f = 0, at = 0; f < frames; f++) {
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < columns; x++, at += bytesPerPixel) {
        const v = Math.round(((x + y + f) / (rows + columns + frames)) * max);
        if (bytesPerPixel === 2) buf.writeUInt16LE(v, at);
        else buf[at] = v;
      }
    }
  }
  return buf;
}

export function makeInstance(o: InstanceOptions = {}): TestInstance {
  const transferSyntax =
    o.syntax === 'implicit' ? TransferSyntax.ImplicitVrLittleEndian : TransferSyntax.ExplicitVrLittleEndian;
  const sopClassUid = o.sopClassUid ?? StorageSopClass.Ct;
  const sopInstanceUid = o.sopInstanceUid ?? newUid();
  const studyInstanceUid = o.studyInstanceUid ?? newUid();
  const seriesInstanceUid = o.seriesInstanceUid ?? newUid();
  const rows = o.rows ?? 64;
  const columns = o.columns ?? 64;
  const bits = o.bitsAllocated ?? 16;
  const frames = o.frames ?? 1;
  const pixelBytes = rows * columns * frames * (bits / 8);
  const pixels =
    o.pixels === 'gradient' ? gradientPixels(rows, columns, frames, bits / 8) : randomPixels(pixelBytes, o.seed ?? 1);

  const elements: WriteElement[] = [
    { tag: Tag.ImageType, vr: 'CS', value: ['ORIGINAL', 'PRIMARY', 'AXIAL'] },
    { tag: Tag.SopClassUid, vr: 'UI', value: sopClassUid },
    { tag: Tag.SopInstanceUid, vr: 'UI', value: sopInstanceUid },
    { tag: Tag.StudyDate, vr: 'DA', value: '20240115' },
    { tag: Tag.StudyTime, vr: 'TM', value: '101500' },
    { tag: Tag.AccessionNumber, vr: 'SH', value: 'ACC0001' },
    { tag: Tag.Modality, vr: 'CS', value: o.modality ?? 'CT' },
    { tag: Tag.ReferringPhysicianName, vr: 'PN', value: 'Hausarzt^Heinz' },
    { tag: Tag.StudyDescription, vr: 'LO', value: o.studyDescription ?? 'Thorax' },
    { tag: Tag.SeriesDescription, vr: 'LO', value: 'Thorax 1.0 axial' },
    {
      tag: Tag.ReferencedImageSequence,
      vr: 'SQ',
      value: [
        [
          { tag: Tag.ReferencedSopClassUid, vr: 'UI', value: sopClassUid },
          { tag: Tag.ReferencedSopInstanceUid, vr: 'UI', value: '1.2.3.4.5' },
          { tag: Tag.PatientName, vr: 'PN', value: 'Decoy^Nested' },
          {
            tag: Tag.OtherPatientIdsSequence,
            vr: 'SQ',
            value: [[{ tag: Tag.PatientId, vr: 'LO', value: 'NESTED-2' }], []],
          },
        ],
      ],
    },
    { tag: 0x00090010, vr: 'LO', value: 'KARTEI TEST' },
    { tag: 0x00091001, vr: 'LO', value: 'private value' },
    { tag: 0x00091002, vr: 'OB', value: Buffer.from([1, 2, 3]) },
    { tag: Tag.PatientName, vr: 'PN', value: o.patientName ?? 'Test^Patient' },
    { tag: Tag.PatientId, vr: 'LO', value: o.patientId ?? 'PID-0001' },
    { tag: Tag.PatientBirthDate, vr: 'DA', value: o.birthDate ?? '19700101' },
    { tag: Tag.PatientSex, vr: 'CS', value: o.sex ?? 'O' },
    {
      tag: Tag.OtherPatientIdsSequence,
      vr: 'SQ',
      value: [
        [
          { tag: Tag.PatientId, vr: 'LO', value: 'OTHER-1' },
          { tag: Tag.IssuerOfPatientId, vr: 'LO', value: 'KIS' },
        ],
      ],
    },
    { tag: Tag.BodyPartExamined, vr: 'CS', value: 'CHEST' },
    { tag: Tag.StudyInstanceUid, vr: 'UI', value: studyInstanceUid },
    { tag: Tag.SeriesInstanceUid, vr: 'UI', value: seriesInstanceUid },
    { tag: Tag.StudyId, vr: 'SH', value: '1' },
    { tag: Tag.SeriesNumber, vr: 'IS', value: 1 },
    { tag: Tag.InstanceNumber, vr: 'IS', value: o.instanceNumber ?? 1 },
    { tag: Tag.SamplesPerPixel, vr: 'US', value: 1 },
    { tag: Tag.PhotometricInterpretation, vr: 'CS', value: 'MONOCHROME2' },
    ...(frames > 1 || o.claimedFrames ? [{ tag: Tag.NumberOfFrames, vr: 'IS', value: o.claimedFrames ?? frames }] : []),
    { tag: Tag.Rows, vr: 'US', value: rows },
    { tag: Tag.Columns, vr: 'US', value: columns },
    { tag: Tag.BitsAllocated, vr: 'US', value: bits },
    { tag: Tag.BitsStored, vr: 'US', value: bits === 16 ? 12 : 8 },
    { tag: Tag.HighBit, vr: 'US', value: bits === 16 ? 11 : 7 },
    { tag: Tag.PixelRepresentation, vr: 'US', value: 0 },
    { tag: Tag.WindowCenter, vr: 'DS', value: [40, 400] },
    { tag: Tag.WindowWidth, vr: 'DS', value: [400, 1500] },
    { tag: Tag.RescaleIntercept, vr: 'DS', value: -1024 },
    { tag: Tag.RescaleSlope, vr: 'DS', value: 1 },
    { tag: Tag.PixelData, vr: bits === 16 ? 'OW' : 'OB', value: pixels },
  ];
  const dataset = writeDataset(elements, {
    encoding: o.syntax === 'implicit' ? 'implicit-le' : 'explicit-le',
    ...(o.characterSet ? { characterSet: o.characterSet } : {}),
    undefinedLengthSequences: o.undefinedLengthSequences ?? true,
  });
  const header = part10Header({
    mediaStorageSopClassUid: sopClassUid,
    mediaStorageSopInstanceUid: sopInstanceUid,
    transferSyntaxUid: transferSyntax,
    implementationClassUid: IMPLEMENTATION_CLASS_UID,
    implementationVersionName: 'KARTEI_TEST',
    sourceAeTitle: 'GENERATOR',
  });
  return {
    file: Buffer.concat([header, dataset]),
    dataset,
    transferSyntax,
    sopClassUid,
    sopInstanceUid,
    studyInstanceUid,
    seriesInstanceUid,
    pixelDataLength: pixels.length,
  };
}

/**
 * An instance in JPEG Baseline: the attributes of an 8-bit `makeInstance`, its
 * pixel data replaced by encapsulated pixel data (an empty Basic Offset Table,
 * then the given JPEG bytes as one fragment per frame).
 */
export function makeJpegInstance(jpegFrames: Buffer[], o: InstanceOptions = {}): TestInstance {
  const plain = makeInstance({ ...o, bitsAllocated: 8, frames: jpegFrames.length, syntax: 'explicit' });
  const attributes = plain.dataset.subarray(0, plain.dataset.length - plain.pixelDataLength - 12);
  const item = (value: Buffer) => {
    const padded = value.length % 2 ? Buffer.concat([value, Buffer.of(0)]) : value;
    const h = Buffer.alloc(8);
    h.writeUInt16LE(0xfffe, 0);
    h.writeUInt16LE(0xe000, 2);
    h.writeUInt32LE(padded.length, 4);
    return Buffer.concat([h, padded]);
  };
  const pixelHeader = Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x42, 0, 0, 0xff, 0xff, 0xff, 0xff]);
  const delimiter = Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]);
  const pixels = Buffer.concat([item(Buffer.alloc(0)), ...jpegFrames.map(item), delimiter]);
  const dataset = Buffer.concat([attributes, pixelHeader, pixels]);
  const header = part10Header({
    mediaStorageSopClassUid: plain.sopClassUid,
    mediaStorageSopInstanceUid: plain.sopInstanceUid,
    transferSyntaxUid: TransferSyntax.JpegBaseline,
    implementationClassUid: IMPLEMENTATION_CLASS_UID,
  });
  return {
    ...plain,
    file: Buffer.concat([header, dataset]),
    dataset,
    transferSyntax: TransferSyntax.JpegBaseline,
    pixelDataLength: pixels.length,
  };
}

/** Stores one Part 10 file through STOW-RS as `client` (anything with the harness Client's `call`); answers the reply. */
export function stowFile(
  client: {
    call(
      method: string,
      url: string,
      body?: unknown,
      headers?: Record<string, string>,
    ): Promise<{ status: number; body: unknown }>;
  },
  file: Buffer,
) {
  const b = 'kartei-test-stow';
  return client.call(
    'POST',
    '/dicom-web/studies',
    Buffer.concat([
      Buffer.from(`--${b}\r\nContent-Type: application/dicom\r\n\r\n`),
      file,
      Buffer.from(`\r\n--${b}--\r\n`),
    ]),
    { 'content-type': `multipart/related; type="application/dicom"; boundary=${b}` },
  );
}
