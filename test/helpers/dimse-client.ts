// A bare DIMSE requester for tests that DCMTK 3.6.7's tools cannot drive (getscu
// and movescu have no C-CANCEL and no TLS): it associates with the given contexts and roles,
// sends commands and datasets, and hands back whole messages as they arrive.
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { encodeAssociateRq, type RoleSelection } from '../../src/imaging/dicom/association.ts';
import { CommandField, decodeCommand, encodeCommand, Status, type Command } from '../../src/imaging/dicom/command.ts';
import { writeDataset } from '../../src/imaging/dicom/dataset-writer.ts';
import { Tag } from '../../src/imaging/dicom/tags.ts';
import {
  encodeAbort,
  encodeReleaseRq,
  PDataWriter,
  pDataPdus,
  PduReader,
  type Pdu,
} from '../../src/imaging/dicom/pdu.ts';
import { AbortSource } from '../../src/imaging/dicom/pdu-frame.ts';
import { APPLICATION_CONTEXT, QueryRetrieveSopClass, TransferSyntax } from '../../src/imaging/dicom/uids.ts';

export interface Message {
  contextId: number;
  command: Command;
  dataset?: Buffer;
}

export class DimseClient {
  private readonly reader = new PduReader(1 << 20);
  private readonly pdus: Pdu[] = [];
  private waiting: (() => void) | undefined;
  private commandParts: Buffer[] = [];
  private datasetParts: Buffer[] = [];
  private pending: { contextId: number; command: Command } | undefined;
  readonly messages: Message[] = [];

  private readonly socket: net.Socket;
  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d) => {
      this.pdus.push(...this.reader.push(d));
      this.waiting?.();
    });
    socket.on('close', () => this.waiting?.());
    socket.on('error', () => undefined);
  }

  static async associate(
    port: number,
    o: {
      calling: string;
      called: string;
      contexts: { id: number; abstractSyntax: string; transferSyntax: string }[];
      roles?: Map<string, RoleSelection>;
      /** Our certificate and key, and the CA the server's certificate must chain to (PEM files). */
      tls?: { certFile: string; keyFile: string; caFile: string };
    },
  ) {
    const socket = o.tls
      ? tls.connect({
          host: '127.0.0.1',
          port,
          cert: fs.readFileSync(o.tls.certFile),
          key: fs.readFileSync(o.tls.keyFile),
          ca: fs.readFileSync(o.tls.caFile),
        })
      : net.connect({ host: '127.0.0.1', port });
    await new Promise((r) => socket.once(o.tls ? 'secureConnect' : 'connect', r));
    // Without it, each small response (a C-STORE-RSP) waits for the peer's delayed ACK (~40 ms).
    socket.setNoDelay(true);
    const c = new DimseClient(socket);
    socket.write(
      encodeAssociateRq({
        protocolVersion: 1,
        calledAeTitle: o.called,
        callingAeTitle: o.calling,
        applicationContext: APPLICATION_CONTEXT,
        presentationContexts: o.contexts.map((x) => ({
          id: x.id,
          abstractSyntax: x.abstractSyntax,
          transferSyntaxes: [x.transferSyntax],
        })),
        maxPduLength: 1 << 20,
        implementationClassUid: '1.2.826.0.1.3680043.10.1234.9',
        roleSelections: o.roles ?? new Map(),
      }),
    );
    const answer = await c.nextPdu();
    if (answer.type !== 'associate-ac') throw new Error(`association not accepted: ${answer.type}`);
    return c;
  }

  private async nextPdu(): Promise<Pdu> {
    for (;;) {
      const pdu = this.pdus.shift();
      if (pdu) return pdu;
      if (this.socket.destroyed) throw new Error('connection closed');
      await new Promise<void>((r) => (this.waiting = r));
    }
  }

  send(contextId: number, command: Command, dataset?: Buffer) {
    for (const b of pDataPdus(contextId, true, encodeCommand({ ...command, hasDataset: !!dataset }), 1 << 20))
      this.socket.write(b);
    if (dataset) for (const b of pDataPdus(contextId, false, dataset, 1 << 20)) this.socket.write(b);
  }

  /** The command and only the first bytes of its dataset, with no last fragment: a message cut off mid-way. */
  sendUnfinished(contextId: number, command: Command, datasetPart: Buffer) {
    for (const b of pDataPdus(contextId, true, encodeCommand({ ...command, hasDataset: true }), 1 << 20))
      this.socket.write(b);
    for (const b of new PDataWriter(contextId, false, 1 << 14).push(datasetPart)) this.socket.write(b);
  }

  /** The next whole message (command and, if it has one, its dataset). */
  async next(): Promise<Message> {
    for (;;) {
      const pdu = await this.nextPdu();
      if (pdu.type !== 'p-data') throw new Error(`unexpected ${pdu.type}`);
      for (const pdv of pdu.pdvs) {
        if (pdv.isCommand) {
          // A peer that sends a command while a dataset is still due has cut that message off (PS3.7 forbids it).
          if (this.pending) throw new Error('a command arrived while a dataset was still due');
          this.commandParts.push(pdv.data);
          if (!pdv.isLast) continue;
          const command = decodeCommand(Buffer.concat(this.commandParts));
          this.commandParts = [];
          if (command.hasDataset) this.pending = { contextId: pdv.contextId, command };
          else this.messages.push({ contextId: pdv.contextId, command });
        } else {
          this.datasetParts.push(pdv.data);
          if (!pdv.isLast) continue;
          this.messages.push({ ...this.pending!, dataset: Buffer.concat(this.datasetParts) });
          this.datasetParts = [];
          this.pending = undefined;
        }
      }
      const m = this.messages.shift();
      if (m) return m;
    }
  }

  /** An A-ABORT of ours, the connection left open: closing it is the server's to do (PS3.8). */
  abort() {
    this.socket.write(encodeAbort(AbortSource.ServiceUser, 0));
  }

  /** Bytes as they are, e.g. a PDU out of turn. */
  writeRaw(bytes: Buffer) {
    this.socket.write(bytes);
  }

  /** Stops reading what the server sends (its writes back up); `resumeReading` goes on. */
  pauseReading() {
    this.socket.pause();
  }

  resumeReading() {
    this.socket.resume();
  }

  /** Lets go of the connection at once, without a release. */
  destroy() {
    this.socket.destroy();
  }

  /** Resolves once the connection has closed (by either side). */
  closed(): Promise<void> {
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.socket.once('close', () => resolve()));
  }

  async release() {
    this.socket.write(encodeReleaseRq());
    await this.nextPdu().catch(() => undefined);
    this.socket.destroy();
  }
}

/**
 * Associates as a C-GET requester that takes the study's instances itself (its storage SOP class as
 * SCP on context 3) and asks for the whole study on context 1.
 */
export async function getStudy(
  port: number,
  first: { sopClassUid: string; transferSyntax: string; studyInstanceUid: string },
  o: { calling: string; messageId?: number },
): Promise<DimseClient> {
  const c = await DimseClient.associate(port, {
    calling: o.calling,
    called: 'KARTEI',
    contexts: [
      studyRootContext(QueryRetrieveSopClass.StudyRootGet),
      { id: 3, abstractSyntax: first.sopClassUid, transferSyntax: first.transferSyntax },
    ],
    roles: new Map([[first.sopClassUid, { scu: false, scp: true }]]),
  });
  askForStudy(c, CommandField.CGetRq, QueryRetrieveSopClass.StudyRootGet, first.studyInstanceUid, {
    messageId: o.messageId ?? 1,
  });
  return c;
}

/** Associates as a C-MOVE requester and asks for the whole study to be moved to `destination`. */
export async function moveStudy(
  port: number,
  studyInstanceUid: string,
  o: { calling: string; destination: string },
): Promise<DimseClient> {
  const c = await DimseClient.associate(port, {
    calling: o.calling,
    called: 'KARTEI',
    contexts: [studyRootContext(QueryRetrieveSopClass.StudyRootMove)],
  });
  askForStudy(c, CommandField.CMoveRq, QueryRetrieveSopClass.StudyRootMove, studyInstanceUid, {
    messageId: 1,
    moveDestination: o.destination,
  });
  return c;
}

/** Context 1: a Study Root query/retrieve SOP class in Explicit VR Little Endian. */
const studyRootContext = (abstractSyntax: string) => ({
  id: 1,
  abstractSyntax,
  transferSyntax: TransferSyntax.ExplicitVrLittleEndian,
});

/** Sends a C-GET or C-MOVE request for the whole study on context 1. */
function askForStudy(
  c: DimseClient,
  commandField: number,
  sopClass: string,
  studyInstanceUid: string,
  o: { messageId: number; moveDestination?: string },
) {
  c.send(
    1,
    { commandField, hasDataset: true, affectedSopClassUid: sopClass, priority: 0, ...o },
    studyIdentifier(studyInstanceUid),
  );
}

/** A STUDY-level identifier naming one study. */
function studyIdentifier(studyInstanceUid: string): Buffer {
  return writeDataset(
    [
      { tag: Tag.QueryRetrieveLevel, vr: 'CS', value: 'STUDY' },
      { tag: Tag.StudyInstanceUid, vr: 'UI', value: studyInstanceUid },
    ],
    { encoding: 'explicit-le' },
  );
}

/** Answers a C-STORE sub-operation the requester received, with success unless told otherwise. */
export function answerStore(c: DimseClient, sub: Message, status: number = Status.Success): void {
  c.send(sub.contextId, {
    commandField: CommandField.CStoreRsp,
    hasDataset: false,
    messageIdBeingRespondedTo: sub.command.messageId,
    affectedSopClassUid: sub.command.affectedSopClassUid,
    affectedSopInstanceUid: sub.command.affectedSopInstanceUid,
    status,
  });
}
