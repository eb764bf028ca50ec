// A streaming pass over a dataset as it arrives: it keeps the values of the
// top-level elements the caller asks for, notes where the pixel data's value
// starts, and skips everything else by counting bytes, nested sequences and
// encapsulated fragments included. Memory is bounded by one wanted value, a
// header split across two chunks (under 12 bytes) and a stack of open
// undefined-length sequences and items (at most MAX_DEPTH).
import {
  DatasetError,
  ITEM,
  ITEM_DELIMITER,
  MAX_DEPTH,
  MAX_HEADER_LENGTH,
  PIXEL_DATA,
  readElementHeader,
  SEQUENCE_DELIMITER,
  SPECIFIC_CHARACTER_SET,
  UNDEFINED_LENGTH,
  type ElementHeader,
} from './element-header.ts';
import { datasetLayout, type DatasetEncoding } from './uids.ts';
import { formatTag, vrOf } from './tags.ts';
import { decodeValue, decoderFor, type Dataset } from './values.ts';

export interface PixelDataPosition {
  /** Stream offset of the first value byte (the first item tag when encapsulated). */
  offset: number;
  /** undefined: encapsulated, an undefined-length sequence of fragments. */
  length: number | undefined;
  vr: string;
}

export interface ScanResult {
  /** The wanted top-level elements that were present, and (0008,0005) when present. */
  elements: Dataset;
  pixelData?: PixelDataPosition;
  /** Bytes scanned. */
  length: number;
}

export interface ScanOptions {
  /** Longest wanted value accepted; a longer one is taken for a malformed length. */
  maxValueLength?: number;
}

const EMPTY = Buffer.alloc(0);

interface Frame {
  kind: 'sequence' | 'item';
  encoding: DatasetEncoding;
}

export class DatasetScanner {
  readonly #encoding: DatasetEncoding;
  readonly #wanted: ReadonlySet<number>;
  readonly #maxValueLength: number;
  readonly #stack: Frame[] = [];
  readonly #found = new Map<number, { vr: string; raw: Buffer }>();
  #pixelData: PixelDataPosition | undefined;
  /** Stream offset of the first byte not yet consumed; a carried partial header starts here. */
  #pos = 0;
  #carry = EMPTY;
  #skip = 0;
  #value: { tag: number; vr: string; bytes: Buffer; filled: number } | undefined;
  #lastTopTag = -1;
  #error: DatasetError | undefined;

  /** Throws DatasetError('unsupported') for a deflated or unknown transfer syntax: inflate or refuse first. */
  constructor(transferSyntax: string, wanted: Iterable<number>, options: ScanOptions = {}) {
    const layout = datasetLayout(transferSyntax);
    if (layout === undefined || layout === 'deflated') {
      throw new DatasetError('unsupported', `cannot scan transfer syntax ${transferSyntax}`);
    }
    this.#encoding = layout;
    this.#wanted = new Set([...wanted, SPECIFIC_CHARACTER_SET]);
    this.#maxValueLength = options.maxValueLength ?? 64 * 1024;
  }

  push(chunk: Buffer): void {
    if (this.#error) throw this.#error;
    try {
      this.#scan(chunk);
    } catch (e) {
      if (e instanceof DatasetError) this.#error = e;
      throw e;
    }
  }

  /** Throws DatasetError('truncated') if the data stopped inside an element, sequence or item. */
  end(): ScanResult {
    if (this.#error) throw this.#error;
    if (this.#carry.length > 0 || this.#skip > 0 || this.#value) {
      this.#error = new DatasetError('truncated', 'dataset ends inside an element', this.#pos);
      throw this.#error;
    }
    if (this.#stack.length > 0) {
      this.#error = new DatasetError(
        'truncated',
        `dataset ends inside ${this.#stack.length} open sequence(s) or item(s)`,
        this.#pos,
      );
      throw this.#error;
    }
    const bigEndian = this.#encoding === 'explicit-be';
    const elements: Dataset = new Map();
    const charset = this.#found.get(SPECIFIC_CHARACTER_SET);
    if (charset)
      elements.set(SPECIFIC_CHARACTER_SET, {
        ...charset,
        value: decodeValue('CS', charset.raw, decoderFor(elements), bigEndian),
      });
    const decode = decoderFor(elements);
    for (const [tag, { vr, raw }] of this.#found)
      elements.set(tag, { vr, raw, value: decodeValue(vr, raw, decode, bigEndian) });
    return { elements, ...(this.#pixelData ? { pixelData: this.#pixelData } : {}), length: this.#pos };
  }

  #scan(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - off);
        this.#skip -= n;
        this.#pos += n;
        off += n;
      } else if (this.#value) {
        const v = this.#value;
        const n = chunk.copy(v.bytes, v.filled, off);
        v.filled += n;
        this.#pos += n;
        off += n;
        if (v.filled === v.bytes.length) {
          this.#found.set(v.tag, { vr: v.vr, raw: v.bytes });
          this.#value = undefined;
        }
      } else {
        // A header split across chunks is joined from the carry and at most one header's worth of this chunk.
        const carried = this.#carry.length;
        const buf = carried ? Buffer.concat([this.#carry, chunk.subarray(off, off + MAX_HEADER_LENGTH)]) : chunk;
        const at = carried ? 0 : off;
        const encoding = this.#stack.at(-1)?.encoding ?? this.#encoding;
        const h = readElementHeader(buf, at, encoding, vrOf, this.#pos);
        if (!h) {
          this.#carry = Buffer.from(buf.subarray(at));
          return;
        }
        this.#carry = EMPTY;
        off += h.headerLength - carried;
        const start = this.#pos;
        this.#pos += h.headerLength;
        this.#element(h, start);
      }
    }
  }

  #element(h: ElementHeader, start: number): void {
    const frame = this.#stack.at(-1);
    const malformed = (why: string) => new DatasetError('malformed', `${why} (${formatTag(h.tag)})`, start);
    const delimiter = () => {
      if (h.length !== 0) throw malformed('delimiter with a non-zero length');
      this.#stack.pop();
    };
    if (frame?.kind === 'sequence') {
      if (h.tag === SEQUENCE_DELIMITER) {
        delimiter();
        return;
      }
      if (h.tag !== ITEM) throw malformed('expected an item or sequence delimiter');
      if (h.length === UNDEFINED_LENGTH) {
        this.#open('item', frame.encoding, start);
        return;
      }
      if (h.length % 2 !== 0) throw malformed('odd item length');
      this.#skip = h.length;
      return;
    }
    if (h.vr === '') {
      if (h.tag === ITEM_DELIMITER && frame) {
        delimiter();
        return;
      }
      throw malformed('item or delimiter outside a sequence');
    }
    const top = frame === undefined;
    if (top) {
      if (h.tag <= this.#lastTopTag) throw malformed('elements out of ascending order');
      this.#lastTopTag = h.tag;
      if (h.tag === PIXEL_DATA)
        this.#pixelData = { offset: this.#pos, length: h.length === UNDEFINED_LENGTH ? undefined : h.length, vr: h.vr };
    }
    const encoding = frame?.encoding ?? this.#encoding;
    if (h.length === UNDEFINED_LENGTH) {
      // UN of undefined length holds Implicit VR Little Endian (PS3.5 §6.2.2); OB/OW here is encapsulated pixel data.
      if (h.vr === 'SQ' || h.vr === 'OB' || h.vr === 'OW') {
        this.#open('sequence', encoding, start);
        return;
      }
      if (h.vr === 'UN') {
        this.#open('sequence', 'implicit-le', start);
        return;
      }
      throw malformed(`undefined length for VR ${h.vr}`);
    }
    if (h.length % 2 !== 0) throw malformed(`odd value length ${h.length}`);
    if (top && h.vr !== 'SQ' && this.#wanted.has(h.tag)) {
      if (h.length > this.#maxValueLength)
        throw malformed(`value length ${h.length} beyond the limit of ${this.#maxValueLength}`);
      if (h.length === 0) this.#found.set(h.tag, { vr: h.vr, raw: EMPTY });
      else this.#value = { tag: h.tag, vr: h.vr, bytes: Buffer.allocUnsafe(h.length), filled: 0 };
      return;
    }
    this.#skip = h.length;
  }

  #open(kind: Frame['kind'], encoding: DatasetEncoding, start: number): void {
    if (this.#stack.length >= MAX_DEPTH) throw new DatasetError('malformed', `nesting deeper than ${MAX_DEPTH}`, start);
    this.#stack.push({ kind, encoding });
  }
}
