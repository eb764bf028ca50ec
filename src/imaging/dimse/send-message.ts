// Sends one DIMSE message whose dataset streams in (an instance read from its
// sealed file): the command's PDUs, then the dataset cut into P-DATA PDUs of
// the peer's size. The PDUs made from one piece of the dataset go out in one
// write (corked), not one system call per PDU header and per data slice.
// Pieces marked releasable (plaintext-pieces.ts: decrypted for this message
// alone) are freed as soon as the socket has written every byte of them, or,
// after a write failed, once the socket has closed.
import { once } from 'node:events';
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
  writeAll(socket, pDataPdus(contextId, true, command, peerMaxPdu));
  const writer = new PDataWriter(contextId, false, peerMaxPdu);
  const sent = new WrittenPieces();
  for await (const chunk of dataset) {
    try {
      if (socket.writableNeedDrain) await once(socket, 'drain');
    } catch (e) {
      // The connection failed while this piece waited: it never reaches the socket.
      releasePiece(chunk);
      throw e;
    }
    sent.add(chunk);
    writeAll(socket, writer.push(chunk), sent);
  }
  writeAll(socket, writer.end(), sent);
}

function writeAll(socket: Socket, pdus: Buffer[], sent?: WrittenPieces) {
  if (pdus.length === 0) return;
  socket.cork();
  for (let i = 0; i < pdus.length - 1; i++) socket.write(pdus[i]!);
  if (sent) {
    // Writes finish in order: when the last one has, so have all bytes of these PDUs.
    const upTo = sent.out(pdus);
    socket.write(pdus.at(-1)!, (error) => (error ? sent.releaseAtClose(socket) : sent.release(upTo)));
  } else socket.write(pdus.at(-1)!);
  socket.uncork();
}

/**
 * The dataset's pieces by where they end in the dataset, and how many dataset bytes have been
 * handed to the socket: a piece is freed once a write that covers its last byte has finished
 * (the P-DATA writer may hold a piece's tail back for the next PDU), or after a failed write
 * once the socket has closed.
 */
class WrittenPieces {
  private readonly inFlight = new PiecesInFlight();
  private bytesOut = 0;

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

  release(upTo: number) {
    this.inFlight.releaseUpTo(upTo);
  }

  /**
   * A write failed (the socket is destroyed with it, and the writes queued behind it cancelled): once
   * the socket has closed, every piece handed to it is freed. By the socket's 'close' libuv has
   * finished or cancelled every write it queued and holds no piece, whatever the failure was.
   */
  releaseAtClose(socket: Socket) {
    const all = () => this.inFlight.releaseUpTo(Number.POSITIVE_INFINITY);
    if (socket.closed) return all();
    if (this.atClose) return;
    this.atClose = true;
    socket.once('close', all);
  }
  private atClose = false;
}
