// multipart/related bodies (RFC 2387), as WADO-RS sends instances and frames:
// each part streamed as it is read, so a study never sits in memory whole.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { ReadAhead } from '../read-ahead.ts';

export interface Part {
  contentType: string;
  body: Buffer | AsyncIterable<Buffer>;
}

export interface Multipart {
  contentType: string;
  stream: Readable;
}

export function multipartRelated(type: string, parts: Iterable<Part>): Multipart {
  const boundary = randomBytes(18).toString('base64url');
  async function* body() {
    const list = [...parts];
    // Each part's body is read ahead of the socket (read-ahead.ts), and the next part starts while this one
    // is sent: opening and reading a file then overlaps with writing the one before.
    const bodies = list.map((p) => (Buffer.isBuffer(p.body) ? undefined : new ReadAhead(p.body)));
    try {
      for (let i = 0; i < list.length; i++) {
        bodies[i + 1]?.start();
        yield Buffer.from(`--${boundary}\r\nContent-Type: ${list[i]!.contentType}\r\n\r\n`);
        yield* bodies[i] ?? [list[i]!.body as Buffer];
        yield Buffer.from('\r\n');
      }
      yield Buffer.from(`--${boundary}--\r\n`);
    } finally {
      // A client that goes away leaves started parts behind: they close their files.
      await Promise.all(bodies.map((b) => b?.stop()));
    }
  }
  return { contentType: `multipart/related; type="${type}"; boundary=${boundary}`, stream: Readable.from(body(), { objectMode: false }) };
}
