// Sends one DIMSE message whose dataset streams in (an instance read from its
// sealed file): the command's PDUs, then the dataset cut into P-DATA PDUs of
// the peer's size. The PDUs made from one piece of the dataset go out in one
// write (corked), not one system call per PDU header and per data slice.
// Pieces marked releasable (plaintext-pieces.ts: decrypted for this message
// alone) are freed as soon as the socket has written every byte of them; what
// a message that did not get through still holds, once the socket has closed.
// A connection that closes mid-message ends the sending (no piece more is
// read or decrypted for it) with `ConnectionClosed`. The dataset's first piece
// is read before the command goes out, so a file that cannot be read at all
// fails with nothing sent; one that fails later leaves the message half-sent,
// which PS3.8 has no way to take back: `MessageCut`, and the caller must end
// the association.
import type { Socket } from 'node:net';
import { pDataPdus, PDataWriter } from '../dicom/pdu.ts';
import { PiecesInFlight, releasePiece } from '../plaintext-pieces.ts';

export async function sendMessage(
  socket: Socket,
  contextId: number,
  command: Buffer,
  dataset: AsyncIterable<Buffer>,
  peerMaxPdu: number,
): Promise<void> {
  if (socket.destroyed || socket.writableEnded) throw new ConnectionClosed();
  // Built before a piece is taken: a PDU size they refuse fails with nothing read or sent.
  const commandPdus = pDataPdus(contextId, true, command, peerMaxPdu);
  const writer = new PDataWriter(contextId, false, peerMaxPdu);
  const pieces = dataset[Symbol.asyncIterator]();
  // A file that cannot be opened or read fails here: nothing of the message has gone out, the association goes on.
  const first = await pieces.next();
  if (socket.destroyed || socket.writableEnded) {
    if (!first.done) releasePiece(first.value);
    await pieces.return?.().catch(() => undefined);
    throw new ConnectionClosed();
  }
  writeAll(socket, commandPdus);
  const sent = new WrittenPieces(socket);
  try {
    for await (const chunk of startingWith(first, pieces)) {
      try {
        if (socket.writableNeedDrain || socket.destroyed || socket.writableEnded) await drained(socket);
      } catch (e) {
        // The connection closed while this piece waited: it never reaches the socket.
        releasePiece(chunk);
        throw e;
      }
      sent.add(chunk);
      writeAll(socket, writer.push(chunk), sent);
    }
    if (socket.destroyed || socket.writableEnded) throw new ConnectionClosed();
    writeAll(socket, writer.end(), sent);
  } catch (e) {
    if (e instanceof ConnectionClosed) throw e;
    throw new MessageCut(e);
  } finally {
    sent.ended();
  }
}

/** The rest of an iteration whose first result was taken already; closing it closes the source. */
function startingWith<T>(first: IteratorResult<T>, rest: AsyncIterator<T>): AsyncIterable<T> {
  let pending: IteratorResult<T> | undefined = first;
  const iterator: AsyncIterator<T> = {
    next: () => {
      const r = pending;
      pending = undefined;
      return r ? Promise.resolve(r) : rest.next();
    },
    return: async (value?: unknown) => (rest.return ? rest.return(value) : { done: true, value: value as T }),
  };
  return { [Symbol.asyncIterator]: () => iterator };
}

/**
 * The dataset failed after the command (and maybe part of the dataset) went out: the peer waits for the rest of a
 * message that will not come. The association cannot carry another message; its owner aborts it.
 */
export class MessageCut extends Error {
  constructor(cause: unknown) {
    super('a message was cut off mid-way: its dataset failed after the command went out', { cause });
  }
}

/** The connection closed (or failed) while a message was being sent: nothing more can be sent on it. */
export class ConnectionClosed extends Error {
  constructor(cause?: unknown) {
    super('the connection closed while a message was being sent', cause === undefined ? {} : { cause });
  }
}

/** Until the socket can take more; refused once it has closed or failed (a closed socket never drains). */
function drained(socket: Socket): Promise<void> {
  // An ended socket never emits 'drain' again: our side has sent its last PDU.
  if (socket.destroyed || socket.writableEnded) return Promise.reject(new ConnectionClosed());
  return new Promise<void>((resolve, reject) => {
    const settle = (e?: Error) => {
      socket.off('drain', ok);
      socket.off('close', gone);
      socket.off('error', failed);
      if (e) reject(new ConnectionClosed(e));
      else resolve();
    };
    const ok = () => settle();
    const gone = () => settle(new Error('closed'));
    const failed = (e: Error) => settle(e);
    socket.on('drain', ok);
    socket.on('close', gone);
    socket.on('error', failed);
  });
}

function writeAll(socket: Socket, pdus: Buffer[], sent?: WrittenPieces) {
  if (pdus.length === 0) return;
  socket.cork();
  for (let i = 0; i < pdus.length - 1; i++) socket.write(pdus[i]!);
  if (sent) {
    // Writes finish in order: when the last one has, so have all bytes of these PDUs.
    const upTo = sent.out(pdus);
    socket.write(pdus.at(-1)!, (error) => (error ? sent.failed() : sent.release(upTo)));
  } else socket.write(pdus.at(-1)!);
  socket.uncork();
}

/**
 * The dataset's pieces by where they end in the dataset, and how many dataset bytes have been
 * handed to the socket: a piece is freed once a write that covers its last byte has finished
 * (the P-DATA writer may hold a piece's tail back for the next PDU). When the message is over
 * (sent, or given up), what no write will cover is freed as soon as every byte handed on is
 * written; on a connection that failed or closed, once the socket has closed — by then libuv has
 * finished or cancelled every write it queued and holds no piece. Nothing waits on a socket that
 * stays open (no listener per message on a long association).
 */
class WrittenPieces {
  private readonly inFlight = new PiecesInFlight();
  /** Dataset bytes handed to writes, and those whose writes have finished. */
  private bytesOut = 0;
  private written = 0;
  private over = false;
  private waitingForClose = false;

  private readonly socket: Socket;
  constructor(socket: Socket) {
    this.socket = socket;
  }

  add(piece: Buffer) {
    this.inFlight.add(piece);
  }

  /** Counts the dataset bytes in these PDUs (each a 12-byte header naming its length, then its data). */
  out(pdus: Buffer[]): number {
    for (let i = 0; i < pdus.length; ) {
      let data = pdus[i]!.readUInt32BE(2) - 6;
      this.bytesOut += data;
      for (i++; data > 0; i++) data -= pdus[i]!.length;
    }
    return this.bytesOut;
  }

  /** A write has finished: the pieces that end within it are freed, and at the end of a message all the rest. */
  release(upTo: number) {
    this.written = upTo;
    this.inFlight.releaseUpTo(upTo);
    if (this.over && this.written >= this.bytesOut) this.all();
  }

  /** A write failed, and the socket is destroyed with it: everything is freed once it has closed. */
  failed() {
    if (this.waitingForClose) return;
    this.waitingForClose = true;
    this.socket.once('close', () => this.all());
  }

  /** The message is sent or given up. */
  ended() {
    this.over = true;
    if (this.inFlight.empty) return;
    // `closed` is set in `destroy()` itself, which closes the descriptor at once: no write can follow.
    if (this.socket.closed || this.written >= this.bytesOut) return this.all();
    // A write still in flight frees the rest when it finishes, or, failing, at the socket's close.
    if (this.socket.destroyed) this.failed();
  }

  private all() {
    this.inFlight.releaseUpTo(Number.POSITIVE_INFINITY);
  }
}
