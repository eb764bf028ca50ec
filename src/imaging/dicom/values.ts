// Element values as JavaScript values, by VR (PS3.5 §6.2): text split into
// its backslash-separated values and stripped of insignificant padding, IS and
// DS as numbers, binary numbers in the dataset's byte order, bulk data left as
// bytes, sequences as their item datasets.
import { textDecoder, type TextDecode } from './text.ts';
import { SPECIFIC_CHARACTER_SET } from './element-header.ts';

export type Value = string[] | number[] | bigint[] | Buffer | Dataset[];

export interface Element {
  vr: string;
  /** The value bytes as they were in the dataset (for SQ: the items' bytes). */
  raw: Buffer;
  value: Value;
}

export type Dataset = Map<number, Element>;

/** VRs whose values use the Specific Character Set; all others are in the default repertoire. */
const CHARSET_VRS = new Set(['SH', 'LO', 'ST', 'LT', 'PN', 'UC', 'UT']);
/** Single-valued text, where a backslash is a character and leading spaces are significant. */
const SINGLE_TEXT_VRS = new Set(['ST', 'LT', 'UT', 'UR']);
const LEADING_SPACE_SIGNIFICANT = new Set(['ST', 'LT', 'UT', 'UC', 'PN']);
const STRING_VRS = new Set([
  'AE',
  'AS',
  'CS',
  'DA',
  'DS',
  'DT',
  'IS',
  'LO',
  'LT',
  'PN',
  'SH',
  'ST',
  'TM',
  'UC',
  'UI',
  'UR',
  'UT',
]);

const defaultRepertoire = textDecoder([]);

export const decoderFor = (ds: Dataset, inherited: TextDecode = defaultRepertoire): TextDecode => {
  const charset = ds.get(SPECIFIC_CHARACTER_SET);
  return charset ? textDecoder(charset.value as string[]) : inherited;
};

function strings(vr: string, raw: Buffer, decode: TextDecode): string[] {
  const text = (CHARSET_VRS.has(vr) ? decode : defaultRepertoire)(raw);
  const values = SINGLE_TEXT_VRS.has(vr) ? [text] : text.split('\\');
  const trimmed = values.map((v) =>
    LEADING_SPACE_SIGNIFICANT.has(vr) ? v.replace(/[ \0]+$/, '') : v.replace(/^ +|[ \0]+$/g, ''),
  );
  return trimmed.length === 1 && trimmed[0] === '' ? [] : trimmed;
}

function numbers(raw: Buffer, size: number, read: (at: number) => number): number[] {
  const out: number[] = [];
  for (let at = 0; at + size <= raw.length; at += size) out.push(read(at));
  return out;
}

/** The value of a non-sequence element; `decode` is the text decoder of the enclosing dataset. */
export function decodeValue(vr: string, raw: Buffer, decode: TextDecode, bigEndian: boolean): Value {
  if (STRING_VRS.has(vr)) {
    const values = strings(vr, raw, decode);
    return vr === 'IS' || vr === 'DS' ? values.map((v) => (v === '' ? NaN : Number(v))) : values;
  }
  const le = !bigEndian;
  switch (vr) {
    case 'US':
      return numbers(raw, 2, (at) => (le ? raw.readUInt16LE(at) : raw.readUInt16BE(at)));
    case 'SS':
      return numbers(raw, 2, (at) => (le ? raw.readInt16LE(at) : raw.readInt16BE(at)));
    case 'UL':
      return numbers(raw, 4, (at) => (le ? raw.readUInt32LE(at) : raw.readUInt32BE(at)));
    case 'SL':
      return numbers(raw, 4, (at) => (le ? raw.readInt32LE(at) : raw.readInt32BE(at)));
    case 'FL':
      return numbers(raw, 4, (at) => (le ? raw.readFloatLE(at) : raw.readFloatBE(at)));
    case 'FD':
      return numbers(raw, 8, (at) => (le ? raw.readDoubleLE(at) : raw.readDoubleBE(at)));
    case 'AT':
      return numbers(raw, 4, (at) =>
        le ? raw.readUInt16LE(at) * 0x10000 + raw.readUInt16LE(at + 2) : raw.readUInt32BE(at),
      );
    case 'SV':
    case 'UV': {
      const out: bigint[] = [];
      for (let at = 0; at + 8 <= raw.length; at += 8) {
        out.push(
          vr === 'SV'
            ? le
              ? raw.readBigInt64LE(at)
              : raw.readBigInt64BE(at)
            : le
              ? raw.readBigUInt64LE(at)
              : raw.readBigUInt64BE(at),
        );
      }
      return out;
    }
    default:
      return raw;
  }
}

/** The first value of an element as text, if it has one. */
export function textValue(ds: Dataset, tag: number): string | undefined {
  const v = ds.get(tag)?.value;
  return Array.isArray(v) && v.length > 0 ? String(v[0]) : undefined;
}

/** The first value of an element as a number (US, IS, DS, ...), if it has one that is a number. */
export function numberValue(ds: Dataset, tag: number): number | undefined {
  const v = ds.get(tag)?.value;
  const first = Array.isArray(v) ? v[0] : undefined;
  return typeof first === 'number' && !Number.isNaN(first) ? first : undefined;
}
