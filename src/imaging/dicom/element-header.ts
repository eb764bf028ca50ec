// The one parser of data element headers (PS3.5 §7.1): tag, VR and value
// length in any of the three layouts, plus the item and delimiter tags of
// §7.5 that carry no VR even in Explicit VR. The streaming scanner and the
// in-memory reader both stand on it.
import type { DatasetEncoding } from './uids.ts';
import { formatTag } from './tags.ts';

export const UNDEFINED_LENGTH = 0xffffffff;
export const ITEM = 0xfffee000;
export const ITEM_DELIMITER = 0xfffee00d;
export const SEQUENCE_DELIMITER = 0xfffee0dd;
export const PIXEL_DATA = 0x7fe00010;
export const SPECIFIC_CHARACTER_SET = 0x00080005;

/** The longest header: tag, VR, two reserved bytes and a 32-bit length. */
export const MAX_HEADER_LENGTH = 12;

/** Sequences nested deeper than this are refused rather than followed. */
export const MAX_DEPTH = 32;

/** VRs whose explicit header has two reserved bytes and a 32-bit length (PS3.5 Table 7.1-1). */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const SHORT_VRS = new Set([
  'AE',
  'AS',
  'AT',
  'CS',
  'DA',
  'DS',
  'DT',
  'FD',
  'FL',
  'IS',
  'LO',
  'LT',
  'PN',
  'SH',
  'SL',
  'SS',
  'ST',
  'TM',
  'UI',
  'UL',
  'US',
]);

export const isKnownVr = (vr: string) => LONG_VRS.has(vr) || SHORT_VRS.has(vr);
export const hasLongLength = (vr: string) => LONG_VRS.has(vr);

export interface ElementHeader {
  tag: number;
  /** From the data in Explicit VR, from `vrOf` (else UN) in Implicit VR, '' for items and delimiters. */
  vr: string;
  length: number;
  headerLength: number;
}

export type DatasetErrorKind = 'truncated' | 'malformed' | 'unsupported';

/** A dataset we cannot read: cut short, breaking PS3.5, or in a layout we do not scan. */
export class DatasetError extends Error {
  readonly kind: DatasetErrorKind;
  /** Stream offset of the element at fault. */
  readonly offset?: number;
  constructor(kind: DatasetErrorKind, message: string, offset?: number) {
    super(offset === undefined ? message : `${message} at byte ${offset}`);
    this.kind = kind;
    this.offset = offset;
  }
}

/** Tags are numbers `group * 0x10000 + element`, kept positive (no 32-bit bitwise arithmetic). */
const tagAt = (buf: Buffer, at: number, bigEndian: boolean) =>
  bigEndian
    ? buf.readUInt16BE(at) * 0x10000 + buf.readUInt16BE(at + 2)
    : buf.readUInt16LE(at) * 0x10000 + buf.readUInt16LE(at + 2);

/** The header at `at`, or undefined when `buf` ends before it does. */
export function readElementHeader(
  buf: Buffer,
  at: number,
  encoding: DatasetEncoding,
  vrOf: (tag: number) => string | undefined,
  offset = at,
): ElementHeader | undefined {
  if (buf.length - at < 8) return undefined;
  const bigEndian = encoding === 'explicit-be';
  const tag = tagAt(buf, at, bigEndian);
  const length32 = () => (bigEndian ? buf.readUInt32BE(at + 4) : buf.readUInt32LE(at + 4));
  if (tag >= 0xfffe0000 && tag < 0xffff0000) return { tag, vr: '', length: length32(), headerLength: 8 };
  if (encoding === 'implicit-le') return { tag, vr: vrOf(tag) ?? 'UN', length: length32(), headerLength: 8 };
  const vr = buf.toString('latin1', at + 4, at + 6);
  if (SHORT_VRS.has(vr))
    return { tag, vr, length: bigEndian ? buf.readUInt16BE(at + 6) : buf.readUInt16LE(at + 6), headerLength: 8 };
  if (!LONG_VRS.has(vr))
    throw new DatasetError('malformed', `unknown VR ${JSON.stringify(vr)} in ${formatTag(tag)}`, offset);
  if (buf.length - at < 12) return undefined;
  return { tag, vr, length: bigEndian ? buf.readUInt32BE(at + 8) : buf.readUInt32LE(at + 8), headerLength: 12 };
}
