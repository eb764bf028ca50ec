// The DICOM file format (PS3.10 §7.1): a 128-byte preamble, "DICM", and the
// file meta information (group 0002, always Explicit VR Little Endian) in
// front of the dataset exactly as it arrived over the network, in the transfer
// syntax the meta information names.
import { writeDataset } from './dataset-writer.ts';
import { readDataset } from './dataset-reader.ts';
import { DatasetError, readElementHeader } from './element-header.ts';
import { textValue } from './values.ts';

export interface FileMeta {
  mediaStorageSopClassUid: string;
  mediaStorageSopInstanceUid: string;
  transferSyntaxUid: string;
  implementationClassUid: string;
  implementationVersionName?: string;
  sourceAeTitle?: string;
}

const PREAMBLE_LENGTH = 128;
const MAGIC = Buffer.from('DICM', 'latin1');
const META_START = PREAMBLE_LENGTH + MAGIC.length;
/** (0002,0000) UL: an 8-byte explicit header and a 4-byte value. */
const GROUP_LENGTH_ELEMENT = 12;
/** Meta information is a few hundred bytes; a longer group length is not a DICOM file we take. */
const MAX_META_LENGTH = 64 * 1024;

const TAGS = {
  groupLength: 0x00020000,
  version: 0x00020001,
  mediaStorageSopClassUid: 0x00020002,
  mediaStorageSopInstanceUid: 0x00020003,
  transferSyntaxUid: 0x00020010,
  implementationClassUid: 0x00020012,
  implementationVersionName: 0x00020013,
  sourceAeTitle: 0x00020016,
} as const;

export function part10Header(meta: FileMeta): Buffer {
  const group = writeDataset([
    { tag: TAGS.version, vr: 'OB', value: Buffer.of(0, 1) },
    { tag: TAGS.mediaStorageSopClassUid, vr: 'UI', value: meta.mediaStorageSopClassUid },
    { tag: TAGS.mediaStorageSopInstanceUid, vr: 'UI', value: meta.mediaStorageSopInstanceUid },
    { tag: TAGS.transferSyntaxUid, vr: 'UI', value: meta.transferSyntaxUid },
    { tag: TAGS.implementationClassUid, vr: 'UI', value: meta.implementationClassUid },
    ...(meta.implementationVersionName
      ? [{ tag: TAGS.implementationVersionName, vr: 'SH', value: meta.implementationVersionName }]
      : []),
    ...(meta.sourceAeTitle ? [{ tag: TAGS.sourceAeTitle, vr: 'AE', value: meta.sourceAeTitle }] : []),
  ]);
  const groupLength = writeDataset([{ tag: TAGS.groupLength, vr: 'UL', value: group.length }]);
  return Buffer.concat([Buffer.alloc(PREAMBLE_LENGTH), MAGIC, groupLength, group]);
}

export interface Part10Header {
  meta: FileMeta;
  /** Where the dataset starts. */
  datasetOffset: number;
}

/**
 * The meta information at the start of a file, or undefined while `start`
 * (the file's first bytes) does not yet hold all of it. Throws DatasetError
 * for anything that is not a Part 10 file with a group length and the three
 * UIDs that say what the dataset is.
 */
export function parsePart10Header(start: Buffer): Part10Header | undefined {
  if (start.length < META_START + GROUP_LENGTH_ELEMENT) return undefined;
  if (!start.subarray(PREAMBLE_LENGTH, META_START).equals(MAGIC))
    throw new DatasetError('malformed', 'no DICM prefix: not a DICOM file');
  const first = readElementHeader(start, META_START, 'explicit-le', () => undefined);
  if (first?.tag !== TAGS.groupLength || first.vr !== 'UL' || first.length !== 4) {
    throw new DatasetError('malformed', 'file meta information does not start with its group length', META_START);
  }
  const length = start.readUInt32LE(META_START + 8);
  if (length > MAX_META_LENGTH)
    throw new DatasetError('malformed', `file meta information of ${length} bytes`, META_START);
  const datasetOffset = META_START + GROUP_LENGTH_ELEMENT + length;
  if (start.length < datasetOffset) return undefined;
  const group = readDataset(start.subarray(META_START, datasetOffset), 'explicit-le');
  const text = (tag: number) => textValue(group, tag);
  if ([...group.keys()].some((tag) => tag < 0x00020000 || tag > 0x0002ffff)) {
    throw new DatasetError(
      'malformed',
      'file meta information group length covers elements outside group 0002',
      META_START,
    );
  }
  const required = (tag: number, name: string) => {
    const v = text(tag);
    if (!v) throw new DatasetError('malformed', `file meta information without ${name}`, META_START);
    return v;
  };
  const implementationVersionName = text(TAGS.implementationVersionName);
  const sourceAeTitle = text(TAGS.sourceAeTitle);
  return {
    meta: {
      mediaStorageSopClassUid: required(TAGS.mediaStorageSopClassUid, 'MediaStorageSOPClassUID'),
      mediaStorageSopInstanceUid: required(TAGS.mediaStorageSopInstanceUid, 'MediaStorageSOPInstanceUID'),
      transferSyntaxUid: required(TAGS.transferSyntaxUid, 'TransferSyntaxUID'),
      implementationClassUid: text(TAGS.implementationClassUid) ?? '',
      ...(implementationVersionName ? { implementationVersionName } : {}),
      ...(sourceAeTitle ? { sourceAeTitle } : {}),
    },
    datasetOffset,
  };
}
