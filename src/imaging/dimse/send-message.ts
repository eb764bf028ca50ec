// Sends one DIMSE message whose dataset streams in (an instance read from its
// sealed file): the command's PDUs, then the dataset cut into P-DATA PDUs of
// the peer's size. The PDUs made from one piece of the dataset go out in one
// write (corked), not one system call per PDU header and per data slice.
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { pDataPdus, PDataWriter } from '../dicom/pdu.ts';

export async function sendMessage(
  socket: Socket,
  contextId: number,
  command: Buffer,
  dataset: AsyncIterable<Buffer>,
  peerMaxPdu: number,
): Promise<void> {
  writeAll(socket, pDataPdus(contextId, true, command, peerMaxPdu));
  const writer = new PDataWriter(contextId, false, peerMaxPdu);
  for await (const chunk of dataset) {
    if (socket.writableNeedDrain) await once(socket, 'drain');
    writeAll(socket, writer.push(chunk));
  }
  writeAll(socket, writer.end());
}

function writeAll(socket: Socket, pdus: Buffer[]) {
  socket.cork();
  for (const b of pdus) socket.write(b);
  socket.uncork();
}
