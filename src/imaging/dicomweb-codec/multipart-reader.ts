// A streaming reader of multipart/related bodies (RFC 2046 5.1.1), as STOW-RS
// receives instances: parts are handed on chunk by chunk as they arrive, so
// memory is bounded by one chunk and the boundary, never by an instance.
import { KarteiError } from '../../errors.ts';

export interface PartHandler {
  data(chunk: Buffer): Promise<void>;
  end(): Promise<void>;
  /** The body broke off inside this part. */
  abort(): Promise<void>;
}

/** Longest preamble and header block accepted before the body is taken for malformed. */
const MAX_HEAD = 16 * 1024;
const EMPTY: Buffer = Buffer.alloc(0);
const CRLF = Buffer.from('\r\n');
const HEADERS_END = Buffer.from('\r\n\r\n');

const malformed = (why: string) => new KarteiError('bad-request', `body: ${why}`, { field: 'body' });

export class MultipartReader {
  private buf: Buffer = EMPTY;
  private state: 'preamble' | 'after-boundary' | 'headers' | 'body' | 'done' = 'preamble';
  private part: PartHandler | undefined;
  private readonly first: Buffer;
  private readonly delimiter: Buffer;

  private readonly onPart: (headers: Record<string, string>) => PartHandler;
  constructor(boundary: string, onPart: (headers: Record<string, string>) => PartHandler) {
    this.onPart = onPart;
    this.first = Buffer.from(`--${boundary}`);
    this.delimiter = Buffer.from(`\r\n--${boundary}`);
  }

  async push(chunk: Buffer): Promise<void> {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (await this.step());
  }

  /** The body has ended: it must have ended with the closing boundary. */
  async finish(): Promise<void> {
    if (this.state !== 'done') {
      await this.abort();
      throw malformed('ends before the closing boundary');
    }
  }

  /** Lets the part in progress, if any, clean up after a body that broke off. */
  async abort(): Promise<void> {
    const part = this.part;
    this.part = undefined;
    await part?.abort();
  }

  /** Advances as far as the buffered bytes allow; false when it needs more. */
  private async step(): Promise<boolean> {
    switch (this.state) {
      case 'preamble': {
        const at = this.buf.indexOf(this.first);
        if (at < 0) {
          if (this.buf.length > MAX_HEAD) throw malformed('no boundary where the first part belongs');
          return false;
        }
        this.buf = this.buf.subarray(at + this.first.length);
        this.state = 'after-boundary';
        return true;
      }
      case 'after-boundary': {
        if (this.buf.length < 2) return false;
        if (this.buf[0] === 0x2d && this.buf[1] === 0x2d) {
          this.state = 'done';
          this.buf = EMPTY;
          return false;
        }
        if (!this.buf.subarray(0, 2).equals(CRLF)) throw malformed('a boundary not followed by a line break');
        // The line break stays: a part without headers then starts with the empty line (CRLF CRLF).
        this.state = 'headers';
        return true;
      }
      case 'headers': {
        const end = this.buf.indexOf(HEADERS_END);
        if (end < 0) {
          if (this.buf.length > MAX_HEAD) throw malformed('part headers too long');
          return false;
        }
        this.part = this.onPart(parseHeaders(this.buf.subarray(2, end).toString('latin1')));
        this.buf = this.buf.subarray(end + HEADERS_END.length);
        this.state = 'body';
        return true;
      }
      case 'body': {
        const at = this.buf.indexOf(this.delimiter);
        if (at < 0) {
          const keep = this.delimiter.length - 1;
          if (this.buf.length > keep) {
            await this.part!.data(this.buf.subarray(0, this.buf.length - keep));
            this.buf = this.buf.subarray(this.buf.length - keep);
          }
          return false;
        }
        if (at > 0) await this.part!.data(this.buf.subarray(0, at));
        await this.part!.end();
        this.part = undefined;
        this.buf = this.buf.subarray(at + this.delimiter.length);
        this.state = 'after-boundary';
        return true;
      }
      case 'done':
        // The epilogue is ignored.
        this.buf = EMPTY;
        return false;
    }
  }
}

function parseHeaders(block: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) out[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return out;
}
