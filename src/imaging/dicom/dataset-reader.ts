// Reads a small dataset that is wholly in memory (a query or retrieve
// identifier, a command set, file meta information) into a Map of every
// element, sequences as their items' datasets. Empty values are kept: in a
// C-FIND identifier they ask for that attribute to be returned.
import {
  DatasetError,
  ITEM,
  ITEM_DELIMITER,
  MAX_DEPTH,
  readElementHeader,
  SEQUENCE_DELIMITER,
  SPECIFIC_CHARACTER_SET,
  UNDEFINED_LENGTH,
  type ElementHeader,
} from './element-header.ts';
import type { DatasetEncoding } from './uids.ts';
import { formatTag, vrOf as dictionaryVr } from './tags.ts';
import { decodeValue, decoderFor, type Dataset } from './values.ts';
import type { TextDecode } from './text.ts';

export interface ReadOptions {
  /** VRs for Implicit VR data; defaults to the archive's dictionary (tags.ts). */
  vrOf?: (tag: number) => string | undefined;
}

interface Context {
  buf: Buffer;
  vrOf: (tag: number) => string | undefined;
  bigEndian: boolean;
}

/** Throws DatasetError when the bytes are not one complete, well-formed dataset. */
export function readDataset(buf: Buffer, encoding: DatasetEncoding, options: ReadOptions = {}): Dataset {
  const ctx: Context = { buf, vrOf: options.vrOf ?? dictionaryVr, bigEndian: encoding === 'explicit-be' };
  return readElements(ctx, 0, buf.length, false, encoding, 0, undefined)[0];
}

/** Elements from `at` up to `limit`, or if `delimited` up to an item delimiter before it; returns the offset after them. */
function readElements(
  ctx: Context,
  at: number,
  limit: number,
  delimited: boolean,
  encoding: DatasetEncoding,
  depth: number,
  inherited: TextDecode | undefined,
): [Dataset, number] {
  const ds: Dataset = new Map();
  let decode = decoderFor(ds, inherited);
  let last = -1;
  while (delimited || at < limit) {
    const start = at;
    const h = header(ctx, at, limit, encoding);
    at += h.headerLength;
    if (h.tag === ITEM_DELIMITER && delimited) return [ds, afterDelimiter(h, at, start)];
    const fail = (why: string) => new DatasetError('malformed', `${why} (${formatTag(h.tag)})`, start);
    if (h.vr === '') throw fail('item or delimiter where an element belongs');
    if (h.tag <= last) throw fail('elements out of ascending order');
    last = h.tag;
    // UN of undefined length holds Implicit VR Little Endian (PS3.5 §6.2.2); OB/OW of undefined length is encapsulated pixel data.
    const fragments = h.length === UNDEFINED_LENGTH && (h.vr === 'OB' || h.vr === 'OW');
    if (h.vr === 'SQ' || fragments || (h.vr === 'UN' && h.length === UNDEFINED_LENGTH)) {
      if (depth >= MAX_DEPTH) throw fail(`nesting deeper than ${MAX_DEPTH}`);
      const nested = h.vr === 'UN' ? 'implicit-le' : encoding;
      const [items, after] = readItems(ctx, at, h.length, limit, nested, depth + 1, fragments ? undefined : decode);
      const raw = ctx.buf.subarray(at, after);
      ds.set(h.tag, { vr: h.vr, raw, value: fragments ? raw : items });
      at = after;
      continue;
    }
    if (h.length === UNDEFINED_LENGTH) throw fail(`undefined length for VR ${h.vr}`);
    const raw = valueBytes(ctx, at, h.length, limit, start);
    ds.set(h.tag, { vr: h.vr, raw, value: decodeValue(h.vr, raw, decode, ctx.bigEndian) });
    if (h.tag === SPECIFIC_CHARACTER_SET) decode = decoderFor(ds, inherited);
    at += h.length;
  }
  return [ds, at];
}

/** The items of a sequence as datasets, or with `decode` undefined, fragments that are only checked. */
function readItems(
  ctx: Context,
  at: number,
  length: number,
  outer: number,
  encoding: DatasetEncoding,
  depth: number,
  decode: TextDecode | undefined,
): [Dataset[], number] {
  const delimited = length === UNDEFINED_LENGTH;
  const limit = delimited ? outer : at + valueBytes(ctx, at, length, outer, at).length;
  const items: Dataset[] = [];
  while (delimited || at < limit) {
    const start = at;
    const h = header(ctx, at, limit, encoding);
    at += h.headerLength;
    if (h.tag === SEQUENCE_DELIMITER && delimited) return [items, afterDelimiter(h, at, start)];
    if (h.tag !== ITEM) throw new DatasetError('malformed', `${formatTag(h.tag)} where an item belongs`, start);
    if (h.length === UNDEFINED_LENGTH) {
      if (!decode) throw new DatasetError('malformed', 'fragment of undefined length', start);
      const [item, after] = readElements(ctx, at, limit, true, encoding, depth, decode);
      items.push(item);
      at = after;
      continue;
    }
    valueBytes(ctx, at, h.length, limit, start);
    if (decode) items.push(readElements(ctx, at, at + h.length, false, encoding, depth, decode)[0]);
    at += h.length;
  }
  return [items, at];
}

function header(ctx: Context, at: number, limit: number, encoding: DatasetEncoding): ElementHeader {
  const h = readElementHeader(ctx.buf.subarray(0, limit), at, encoding, ctx.vrOf);
  if (!h) throw new DatasetError('truncated', 'data ends inside an element header', at);
  return h;
}

function afterDelimiter(h: ElementHeader, after: number, start: number): number {
  if (h.length !== 0) throw new DatasetError('malformed', 'delimiter with a non-zero length', start);
  return after;
}

function valueBytes(ctx: Context, at: number, length: number, limit: number, start: number): Buffer {
  if (length % 2 !== 0) throw new DatasetError('malformed', `odd value length ${length}`, start);
  if (at + length > limit) throw new DatasetError('truncated', 'value runs past the end of its container', start);
  return ctx.buf.subarray(at, at + length);
}
