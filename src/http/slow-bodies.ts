// Slow request bodies (slowloris): a client that trickles an upload's body (documents, mail-room, import, DEMIS
// upload, STOW) would otherwise hold a socket, a file descriptor, a sealed temporary file or a buffer forever.
// Two bounds: each request body must move at least `minBytes` in every `windowMs` while the server waits for it
// (the socket is destroyed otherwise, and the upload's own clean-up removes its temporary file), and the whole
// request must arrive within REQUEST_CEILING_MS (Node's `requestTimeout`, generous for a 2 GB STOW on a slow LAN).
// A body the server itself is not reading yet (bytes waiting in the stream's buffer) never counts as slow.
import type { FastifyInstance } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';

export interface BodyRate {
  windowMs: number;
  minBytes: number;
}

/** At least 16 KiB in every 20 s (≈ 0.8 KiB/s): any real link manages that; a trickle does not. */
const BODY_RATE: BodyRate = { windowMs: 20_000, minBytes: 16 * 1024 };

/** The whole request (headers and body) within two hours: 2 GB at ≈ 2.3 Mbit/s. */
export const REQUEST_CEILING_MS = 2 * 60 * 60 * 1000;

const hasBody = (h: IncomingHttpHeaders) =>
  h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');

/** Ends the connection of a request whose body arrives slower than `rate` (see the file's comment). */
export function guardSlowBodies(app: FastifyInstance, rate: BodyRate = BODY_RATE): void {
  app.addHook('onRequest', (req, _reply, done) => {
    const raw = req.raw;
    const socket = raw.socket;
    // Only a real socket is watched (`app.inject` has none that counts bytes).
    if (raw.complete || !hasBody(raw.headers) || typeof socket?.bytesRead !== 'number') return done();
    let seen = socket.bytesRead;
    const timer = setInterval(() => {
      if (raw.complete || socket.destroyed) return clearInterval(timer);
      const now = socket.bytesRead;
      const serverBehind = raw.readableLength > 0;
      if (!serverBehind && now - seen < rate.minBytes) {
        clearInterval(timer);
        req.log.warn({ code: 'body-too-slow', bytes: now - seen, windowMs: rate.windowMs }, 'request body too slow');
        socket.destroy();
        return;
      }
      seen = now;
    }, rate.windowMs);
    timer.unref();
    raw.once('close', () => clearInterval(timer));
    done();
  });
}
