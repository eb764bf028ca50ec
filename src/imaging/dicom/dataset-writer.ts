// Encodes a dataset from a list of elements in Implicit or Explicit VR Little
// Endian (PS3.5 §7): sorted by tag, every value padded to even length (UI
// with NUL, other text with a space, bytes with 0). Text goes out as UTF-8 with
// (0008,0005) ISO_IR 192 when any value needs more than ASCII, unless the
// caller asks for Latin-1.
import {
  hasLongLength,
  isKnownVr,
  ITEM,
  ITEM_DELIMITER,
  SEQUENCE_DELIMITER,
  SPECIFIC_CHARACTER_SET,
  UNDEFINED_LENGTH,
} from './element-header.ts';
import { formatTag } from './tags.ts';

export type WriteValue =
  | string
  | number
  | bigint
  | Buffer
  | readonly (string | number | bigint)[]
  /** SQ: the items, each a list of elements. */
  | readonly (readonly WriteElement[])[]
  /** An empty value. */
  | null;

export interface WriteElement {
  tag: number;
  vr: string;
  value: WriteValue;
}

export interface WriteOptions {
  encoding?: 'implicit-le' | 'explicit-le';
  /** Latin-1 text; by default ASCII, or UTF-8 when needed. */
  characterSet?: 'ISO_IR 100' | 'ISO_IR 192';
  /** Sequences and items with undefined length and delimiters, instead of defined lengths. */
  undefinedLengthSequences?: boolean;
}

const BINARY: Record<string, [size: number, write: (b: Buffer, v: number | bigint, at: number) => void]> = {
  US: [2, (b, v, at) => b.writeUInt16LE(Number(v), at)],
  SS: [2, (b, v, at) => b.writeInt16LE(Number(v), at)],
  UL: [4, (b, v, at) => b.writeUInt32LE(Number(v), at)],
  SL: [4, (b, v, at) => b.writeInt32LE(Number(v), at)],
  FL: [4, (b, v, at) => b.writeFloatLE(Number(v), at)],
  FD: [8, (b, v, at) => b.writeDoubleLE(Number(v), at)],
  AT: [
    4,
    (b, v, at) => {
      b.writeUInt16LE(Math.floor(Number(v) / 0x10000), at);
      b.writeUInt16LE(Number(v) % 0x10000, at + 2);
    },
  ],
  SV: [8, (b, v, at) => b.writeBigInt64LE(BigInt(v), at)],
  UV: [8, (b, v, at) => b.writeBigUInt64LE(BigInt(v), at)],
};

interface Encoded {
  parts: Buffer[];
  length: number;
}

interface Writer {
  explicit: boolean;
  undefinedLength: boolean;
  text: (s: string) => Buffer;
}

export function writeDataset(elements: readonly WriteElement[], options: WriteOptions = {}): Buffer {
  const own = elements.filter((e) => e.tag !== SPECIFIC_CHARACTER_SET);
  const charset = options.characterSet ?? (own.some(needsUnicode) ? 'ISO_IR 192' : undefined);
  const w: Writer = {
    explicit: (options.encoding ?? 'explicit-le') === 'explicit-le',
    undefinedLength: options.undefinedLengthSequences ?? false,
    text: charset === 'ISO_IR 100' ? latin1 : (s) => Buffer.from(s, 'utf8'),
  };
  const all = charset ? [...own, { tag: SPECIFIC_CHARACTER_SET, vr: 'CS', value: charset }] : own;
  const { parts, length } = encodeElements(w, all);
  return Buffer.concat(parts, length);
}

function latin1(s: string): Buffer {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the range is all of Latin-1, control characters included
  if (/[^\x00-\xff]/.test(s)) throw new RangeError('text outside Latin-1 cannot be written as ISO_IR 100');
  return Buffer.from(s, 'latin1');
}

const isItems = (v: WriteValue): v is readonly (readonly WriteElement[])[] =>
  Array.isArray(v) && v.length > 0 && Array.isArray(v[0]);

function needsUnicode(e: WriteElement): boolean {
  const v = e.value;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the range is all of ASCII, control characters included
  if (typeof v === 'string') return /[^\x00-\x7f]/.test(v);
  if (isItems(v)) return v.some((item) => item.some(needsUnicode));
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the range is all of ASCII, control characters included
  return Array.isArray(v) && v.some((x) => typeof x === 'string' && /[^\x00-\x7f]/.test(x));
}

function encodeElements(w: Writer, elements: readonly WriteElement[]): Encoded {
  const sorted = [...elements].sort((a, b) => a.tag - b.tag);
  const parts: Buffer[] = [];
  let length = 0;
  sorted.forEach((e, i) => {
    if (i > 0 && sorted[i - 1]!.tag === e.tag) throw new RangeError(`${formatTag(e.tag)} given twice`);
    if (!isKnownVr(e.vr)) throw new RangeError(`${formatTag(e.tag)}: unknown VR ${JSON.stringify(e.vr)}`);
    const encoded = e.vr === 'SQ' ? encodeSequence(w, e) : encodePlain(w, e);
    parts.push(...encoded.parts);
    length += encoded.length;
  });
  return { parts, length };
}

/** Items and delimiters (vr '') have the 8-byte header in both layouts. */
function header(w: Writer, tag: number, vr: string, length: number): Buffer {
  const explicitVr = w.explicit && vr !== '';
  const long = explicitVr && hasLongLength(vr);
  const b = Buffer.alloc(long ? 12 : 8);
  b.writeUInt16LE(Math.floor(tag / 0x10000), 0);
  b.writeUInt16LE(tag % 0x10000, 2);
  if (!explicitVr) b.writeUInt32LE(length, 4);
  else if (long) {
    b.write(vr, 4, 'latin1');
    b.writeUInt32LE(length, 8);
  } else {
    if (length > 0xffff) throw new RangeError(`${formatTag(tag)}: ${length} bytes do not fit VR ${vr}`);
    b.write(vr, 4, 'latin1');
    b.writeUInt16LE(length, 6);
  }
  return b;
}

function encodeSequence(w: Writer, e: WriteElement): Encoded {
  const items = isItems(e.value) ? e.value : [];
  const parts: Buffer[] = [];
  let length = 0;
  const add = (b: Buffer) => {
    parts.push(b);
    length += b.length;
  };
  for (const item of items) {
    const body = encodeElements(w, item);
    add(header(w, ITEM, '', w.undefinedLength ? UNDEFINED_LENGTH : body.length));
    body.parts.forEach(add);
    if (w.undefinedLength) add(header(w, ITEM_DELIMITER, '', 0));
  }
  if (w.undefinedLength) add(header(w, SEQUENCE_DELIMITER, '', 0));
  const head = header(w, e.tag, 'SQ', w.undefinedLength ? UNDEFINED_LENGTH : length);
  return { parts: [head, ...parts], length: head.length + length };
}

function encodePlain(w: Writer, e: WriteElement): Encoded {
  const value = valueBytes(w, e);
  const padded =
    value.length % 2 === 0 ? [value] : [value, Buffer.of(e.vr === 'UI' || Buffer.isBuffer(e.value) ? 0 : 0x20)];
  const length = value.length + padded.length - 1;
  const head = header(w, e.tag, e.vr, length);
  return { parts: [head, ...padded], length: head.length + length };
}

function valueBytes(w: Writer, e: WriteElement): Buffer {
  const v = e.value;
  if (v === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(v)) return v;
  if (isItems(v)) throw new RangeError(`${formatTag(e.tag)}: items given for VR ${e.vr}`);
  const values = Array.isArray(v) ? v : [v];
  const binary = BINARY[e.vr];
  if (binary) {
    const [size, write] = binary;
    const b = Buffer.alloc(size * values.length);
    values.forEach((x, i) => {
      write(b, typeof x === 'string' ? Number(x) : x, i * size);
    });
    return b;
  }
  return w.text(values.map((x) => (typeof x === 'number' && e.vr === 'DS' ? decimalString(x) : String(x))).join('\\'));
}

/** DS allows 16 characters; shorten the decimal form of a number until it fits. */
function decimalString(n: number): string {
  let s = String(n);
  for (let digits = 15; s.length > 16 && digits > 0; digits--) s = n.toPrecision(digits).replace(/\.?0+(e|$)/, '$1');
  return s;
}
