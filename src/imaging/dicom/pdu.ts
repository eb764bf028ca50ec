// Upper-layer PDUs off the wire and onto it (PS3.8 §9.3). The reader takes
// socket chunks as they come and hands out whole PDUs; a PDU that lies within
// one chunk is parsed in place, a P-DATA-TF that spans chunks is parsed across
// them (its values handed on in pieces, one per chunk they lie in), any other
// PDU that spans chunks is assembled once. P-DATA-TF values are subarrays of
// the received bytes, never copies: a copy is one more large buffer for the
// garbage collector per PDU (bench/RESULTS.md, 2026-12-05 03:45). The P-DATA
// writer cuts a message into PDUs the peer accepts, referencing the data
// rather than copying it.
import {
  parseAssociateAc,
  parseAssociateRj,
  parseAssociateRq,
  type AssociateAc,
  type AssociateRj,
  type AssociateRq,
} from './association.ts';
import { AbortReason, framePdu, LimitExceeded, PDU_HEADER_LENGTH, PduError, PduType } from './pdu-frame.ts';

/**
 * A presentation data value, or a piece of one: one fragment of a command or
 * dataset. A value that arrived across socket chunks comes as consecutive
 * pieces, only the last of which carries the value's `isLast`; a message is
 * the concatenation of its pieces either way.
 */
export interface Pdv {
  contextId: number;
  isCommand: boolean;
  isLast: boolean;
  data: Buffer;
}

export type Pdu =
  | { type: 'associate-rq'; rq: AssociateRq }
  | { type: 'associate-ac'; ac: AssociateAc }
  | { type: 'associate-rj'; rj: AssociateRj }
  | { type: 'p-data'; pdvs: Pdv[] }
  | { type: 'release-rq' }
  | { type: 'release-rp' }
  | { type: 'abort'; source: number; reason: number };

/** A-ASSOCIATE PDUs are not bound by the P-DATA limit; this bounds them instead (128 contexts of many syntaxes fit). */
const MAX_ASSOCIATE_PDU_LENGTH = 256 * 1024;
/** Item length, context ID, message control header. */
const PDV_HEADER_LENGTH = 6;

export class PduReader {
  readonly #maxPduLength: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #error: PduError | undefined;

  /** `maxPduLength`: the longest P-DATA-TF body we announced in our Maximum Length sub-item. */
  constructor(maxPduLength: number) {
    if (!(maxPduLength > 0)) throw new RangeError('the maximum PDU length to receive must be positive');
    this.#maxPduLength = maxPduLength;
  }

  /** The PDUs completed by `chunk`. After a PduError the stream is broken: abort and close. */
  push(chunk: Buffer): Pdu[] {
    if (this.#error) throw this.#error;
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    const out: Pdu[] = [];
    try {
      for (let pdu = this.#next(); pdu; pdu = this.#next()) out.push(pdu);
    } catch (e) {
      if (e instanceof PduError) this.#error = e;
      throw e;
    }
    return out;
  }

  /** Bytes received that do not yet form a whole PDU. */
  get buffered(): number {
    return this.#buffered;
  }

  /** The next whole PDU, if all of it has arrived. */
  #next(): Pdu | undefined {
    if (this.#buffered < PDU_HEADER_LENGTH) return undefined;
    const head = this.#chunks[0]!.length >= PDU_HEADER_LENGTH ? this.#chunks[0]! : this.#take(PDU_HEADER_LENGTH, false);
    const type = head[0]!;
    const length = head.readUInt32BE(2);
    if (type < PduType.AssociateRq || type > PduType.Abort)
      throw new PduError(`unknown PDU type 0x${type.toString(16)}`, AbortReason.UnrecognizedPdu);
    if (type >= PduType.ReleaseRq && length > 4)
      throw new PduError(`PDU of type ${type} with ${length} bytes instead of 4`, AbortReason.InvalidPduParameterValue);
    // A length beyond what we announced (P-DATA) or hold (A-ASSOCIATE) is refused before any of its body is kept.
    const limit = type === PduType.PData ? this.#maxPduLength : MAX_ASSOCIATE_PDU_LENGTH;
    if (length > limit) throw new LimitExceeded('pdu-length', limit, length, AbortReason.InvalidPduParameterValue);
    const total = PDU_HEADER_LENGTH + length;
    if (this.#buffered < total) return undefined;
    if (type === PduType.PData && this.#chunks[0]!.length < total) return this.#takeParts(total);
    return parsePdu(this.#take(total, true));
  }

  /** A P-DATA-TF of `n` bytes that spans chunks: parsed across them, its values subarrays of them. */
  #takeParts(n: number): Pdu {
    const parts: Buffer[] = [];
    for (let i = 0, left = n; left > 0; i++) {
      const c = this.#chunks[i]!;
      parts.push(c.length > left ? c.subarray(0, left) : c);
      left -= c.length;
    }
    this.#drop(n);
    return { type: 'p-data', pdvs: parsePdvParts(new Parts(parts, PDU_HEADER_LENGTH), n - PDU_HEADER_LENGTH) };
  }

  /** The first `n` buffered bytes: a subarray when the first chunk holds them all, else assembled once. */
  #take(n: number, consume: boolean): Buffer {
    const first = this.#chunks[0]!;
    let out = first;
    if (first.length >= n) out = first.subarray(0, n);
    else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      for (let i = 0; filled < n; i++) filled += this.#chunks[i]!.copy(out, filled, 0, n - filled);
    }
    if (consume) this.#drop(n);
    return out;
  }

  #drop(n: number): void {
    this.#buffered -= n;
    let whole = 0;
    for (let left = n; left > 0; ) {
      const c = this.#chunks[whole]!;
      if (c.length > left) {
        this.#chunks[whole] = c.subarray(left);
        break;
      }
      left -= c.length;
      whole++;
    }
    if (whole > 0) this.#chunks.splice(0, whole);
  }
}

const invalid = (why: string) => new PduError(why, AbortReason.InvalidPduParameterValue);

function parsePdu(pdu: Buffer): Pdu {
  const body = pdu.subarray(PDU_HEADER_LENGTH);
  const fixed4 = () => {
    if (body.length !== 4) throw invalid(`PDU type ${pdu[0]} with a body of ${body.length} bytes instead of 4`);
  };
  switch (pdu[0]) {
    case PduType.AssociateRq:
      return { type: 'associate-rq', rq: parseAssociateRq(body) };
    case PduType.AssociateAc:
      return { type: 'associate-ac', ac: parseAssociateAc(body) };
    case PduType.AssociateRj:
      return { type: 'associate-rj', rj: parseAssociateRj(body) };
    case PduType.PData:
      return { type: 'p-data', pdvs: parsePdvs(body) };
    case PduType.ReleaseRq:
      fixed4();
      return { type: 'release-rq' };
    case PduType.ReleaseRp:
      fixed4();
      return { type: 'release-rp' };
    default:
      fixed4();
      return { type: 'abort', source: body[2]!, reason: body[3]! };
  }
}

function parsePdvs(body: Buffer): Pdv[] {
  if (body.length === 0) throw invalid('P-DATA-TF without a PDV');
  const pdvs: Pdv[] = [];
  for (let at = 0; at < body.length; ) {
    if (body.length - at < PDV_HEADER_LENGTH) throw invalid('PDV header cut short by the end of its PDU');
    const end = at + 4 + body.readUInt32BE(at);
    if (end < at + PDV_HEADER_LENGTH || end > body.length) throw invalid('PDV length does not fit its PDU');
    const control = body[at + 5]!;
    pdvs.push({
      contextId: body[at + 4]!,
      isCommand: (control & 1) === 1,
      isLast: (control & 2) === 2,
      data: body.subarray(at + PDV_HEADER_LENGTH, end),
    });
    at = end;
  }
  return pdvs;
}

const NO_DATA = Buffer.alloc(0);

/** Received bytes in pieces, read front to back. */
class Parts {
  readonly #parts: Buffer[];
  #i = 0;
  #at: number;
  constructor(parts: Buffer[], skip: number) {
    this.#parts = parts;
    this.#at = skip;
  }

  #part(): Buffer {
    for (;;) {
      const p = this.#parts[this.#i]!;
      if (this.#at < p.length) return p;
      this.#at -= p.length;
      this.#i++;
    }
  }

  byte(): number {
    return this.#part()[this.#at++]!;
  }

  u32(): number {
    return ((this.byte() << 24) | (this.byte() << 16) | (this.byte() << 8) | this.byte()) >>> 0;
  }

  /** The next `n` bytes as subarrays of the pieces they lie in. */
  take(n: number): Buffer[] {
    const out: Buffer[] = [];
    while (n > 0) {
      const p = this.#part();
      const end = Math.min(p.length, this.#at + n);
      out.push(p.subarray(this.#at, end));
      n -= end - this.#at;
      this.#at = end;
    }
    return out;
  }
}

/** As parsePdvs, for a body of `length` bytes in pieces; a value across pieces is handed on as pieces. */
function parsePdvParts(body: Parts, length: number): Pdv[] {
  if (length === 0) throw invalid('P-DATA-TF without a PDV');
  const pdvs: Pdv[] = [];
  for (let left = length; left > 0; ) {
    if (left < PDV_HEADER_LENGTH) throw invalid('PDV header cut short by the end of its PDU');
    const size = 4 + body.u32();
    if (size < PDV_HEADER_LENGTH || size > left) throw invalid('PDV length does not fit its PDU');
    const contextId = body.byte();
    const control = body.byte();
    const isCommand = (control & 1) === 1;
    const pieces = body.take(size - PDV_HEADER_LENGTH);
    if (pieces.length === 0) pieces.push(NO_DATA);
    for (const [i, data] of pieces.entries())
      pdvs.push({ contextId, isCommand, isLast: (control & 2) === 2 && i === pieces.length - 1, data });
    left -= size;
  }
  return pdvs;
}

/** PDU size we send to a peer that announced no limit (Maximum Length 0). */
const UNLIMITED_PEER_PDU_LENGTH = 256 * 1024;

/**
 * Cuts one message (a command or a dataset, possibly arriving in chunks) into
 * P-DATA-TF PDUs of at most the peer's maximum length. Returns buffers to write
 * in order: per PDU a 12-byte header, then subarrays of the data. The last
 * fragment is held back until end(), which marks it last.
 */
export class PDataWriter {
  readonly #contextId: number;
  readonly #isCommand: boolean;
  readonly #maxData: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  constructor(contextId: number, isCommand: boolean, peerMaxPduLength: number) {
    const max = peerMaxPduLength === 0 ? UNLIMITED_PEER_PDU_LENGTH : peerMaxPduLength;
    if (max <= PDV_HEADER_LENGTH) throw new RangeError(`a maximum PDU length of ${max} leaves no room for data`);
    this.#contextId = contextId;
    this.#isCommand = isCommand;
    this.#maxData = max - PDV_HEADER_LENGTH;
  }

  push(data: Buffer): Buffer[] {
    if (data.length > 0) {
      this.#pending.push(data);
      this.#pendingBytes += data.length;
    }
    const out: Buffer[] = [];
    while (this.#pendingBytes > this.#maxData) out.push(...this.#pdu(this.#maxData, false));
    return out;
  }

  end(): Buffer[] {
    return this.#pdu(this.#pendingBytes, true);
  }

  #pdu(n: number, last: boolean): Buffer[] {
    const head = Buffer.allocUnsafe(PDU_HEADER_LENGTH + PDV_HEADER_LENGTH);
    head[0] = PduType.PData;
    head[1] = 0;
    head.writeUInt32BE(PDV_HEADER_LENGTH + n, 2);
    head.writeUInt32BE(2 + n, 6);
    head[10] = this.#contextId;
    head[11] = (this.#isCommand ? 1 : 0) | (last ? 2 : 0);
    const parts: Buffer[] = [head];
    this.#pendingBytes -= n;
    while (n > 0) {
      const c = this.#pending[0]!;
      if (c.length > n) {
        parts.push(c.subarray(0, n));
        this.#pending[0] = c.subarray(n);
        break;
      }
      parts.push(c);
      this.#pending.shift();
      n -= c.length;
    }
    return parts;
  }
}

/** A whole message as P-DATA-TF buffers to write in order (see PDataWriter). */
export function pDataPdus(contextId: number, isCommand: boolean, data: Buffer, peerMaxPduLength: number): Buffer[] {
  const writer = new PDataWriter(contextId, isCommand, peerMaxPduLength);
  return [...writer.push(data), ...writer.end()];
}

export const encodeReleaseRq = () => framePdu(PduType.ReleaseRq, Buffer.alloc(4));
export const encodeReleaseRp = () => framePdu(PduType.ReleaseRp, Buffer.alloc(4));
export const encodeAbort = (source: number, reason: number) => framePdu(PduType.Abort, Buffer.of(0, 0, source, reason));
