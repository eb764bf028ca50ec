// multipart/related bodies (RFC 2387), as WADO-RS sends instances and frames:
// each part streamed as it is read, so a study never sits in memory whole.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

export interface Part {
  contentType: string;
  body: Buffer | AsyncIterable<Buffer>;
}

export interface Multipart {
  contentType: string;
  stream: Readable;
}

export function multipartRelated(type: string, parts: AsyncIterable<Part> | Iterable<Part>): Multipart {
  const boundary = randomBytes(18).toString('base64url');
  async function* body() {
    for await (const part of parts) {
      yield Buffer.from(`--${boundary}\r\nContent-Type: ${part.contentType}\r\n\r\n`);
      if (Buffer.isBuffer(part.body)) yield part.body;
      else yield* part.body;
      yield Buffer.from('\r\n');
    }
    yield Buffer.from(`--${boundary}--\r\n`);
  }
  return { contentType: `multipart/related; type="${type}"; boundary=${boundary}`, stream: Readable.from(body(), { objectMode: false }) };
}
