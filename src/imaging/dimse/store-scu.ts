// Our side of an outgoing association, for C-MOVE: we connect to a
// registered destination (over TLS with our certificate when the destination
// has one pinned, checking its fingerprint; else only to its loopback host),
// propose what we are about to send, and send instances as C-STORE requests,
// one at a time, each answered before the next.
import fs from 'node:fs';
import net, { isIP } from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import { encodeAssociateRq, ContextResult, type AssociateAc } from '../dicom/association.ts';
import {
  CommandField,
  decodeCommand,
  encodeCommand,
  MAX_COMMAND_LENGTH,
  Priority,
  Status,
  type Command,
} from '../dicom/command.ts';
import { encodeAbort, encodeReleaseRq, PduReader, type Pdu } from '../dicom/pdu.ts';
import { AbortSource } from '../dicom/pdu-frame.ts';
import { APPLICATION_CONTEXT } from '../dicom/uids.ts';
import type { DicomConfig } from '../../config/config.ts';
import type { Device } from '../device-registry.ts';
import { TLS_POLICY } from '../../config/tls-policy.ts';
import { isLoopback } from '../../config/config.ts';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from '../dicom/implementation.ts';
import { OUR_MAX_PDU_LENGTH } from './association-handler.ts';
import { ConnectionClosed, MessageCut, sendMessage } from './send-message.ts';

const TIMEOUT_MS = 30_000;
/** A destination answers each C-STORE with one small response: more PDUs waiting than this is a flood, not an answer. */
const MAX_PENDING_PDUS = 16;

class StoreScuError extends Error {}

/**
 * Whether we may connect to `device` where it is registered: an IP address (or `localhost`), not
 * a name whose answer could change; without a pinned certificate only a loopback one, since then
 * nothing else proves who answers.
 */
export function reachableDestination(device: Pick<Device, 'host' | 'certificate'>): boolean {
  const host = device.host ?? '';
  if (isIP(host) === 0 && host !== 'localhost') return false;
  return !!device.certificate || isLoopback(host);
}

export class StoreScu {
  private readonly reader = new PduReader(OUR_MAX_PDU_LENGTH);
  private readonly pending: Pdu[] = [];
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  private contexts = new Map<string, number>();
  private peerMaxPdu = 0;
  private messageId = 0;

  private readonly socket: net.Socket;
  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setTimeout(TIMEOUT_MS, () => socket.destroy(new StoreScuError('destination timed out')));
    socket.on('data', (chunk: Buffer) => {
      try {
        this.pending.push(...this.reader.push(chunk));
        if (this.pending.length > MAX_PENDING_PDUS) throw new StoreScuError('destination sends PDUs nobody asked for');
      } catch (e) {
        this.failure = e as Error;
        socket.destroy();
      }
      this.wake?.();
    });
    socket.on('error', (e) => (this.failure ??= e));
    socket.on('close', () => {
      this.failure ??= new StoreScuError('destination closed the connection');
      this.wake?.();
    });
  }

  /** Opens an association to `device` offering each (SOP class, transfer syntax) we will send. */
  static async open(
    device: Device,
    ours: { aeTitle: string; tls?: DicomConfig['tls'] },
    offers: { sopClass: string; transferSyntax: string }[],
    /** How long connecting and the TLS handshake may take (tests shorten it). */
    connectTimeoutMs = TIMEOUT_MS,
  ): Promise<StoreScu> {
    if (!device.host || !device.port) throw new StoreScuError('destination has no host and port');
    if (!reachableDestination(device))
      throw new StoreScuError('destination is neither on loopback nor known by a pinned certificate');
    const unique = [...new Map(offers.map((o) => [`${o.sopClass} ${o.transferSyntax}`, o])).values()];
    if (unique.length > 128) throw new StoreScuError('more than 128 kinds of instance in one move');
    const socket = device.certificate
      ? tls.connect({
          host: device.host,
          port: device.port,
          ...TLS_POLICY,
          ...(ours.tls
            ? {
                cert: fs.readFileSync(ours.tls.certFile),
                key: fs.readFileSync(ours.tls.keyFile),
                ca: fs.readFileSync(ours.tls.caFile),
              }
            : {}),
          // The destination is known by its pinned certificate, not by a host name.
          checkServerIdentity: (_host, cert) =>
            cert.fingerprint256 === device.certificate!.fingerprint256
              ? undefined
              : new StoreScuError('destination certificate is not the registered one'),
        })
      : net.connect({ host: device.host, port: device.port });
    // A destination that does not accept the connection or finish its handshake in time is given up, like one that
    // stops answering later (the StoreScu's own timeout).
    const connecting = setTimeout(
      () => socket.destroy(new StoreScuError('destination did not connect in time')),
      connectTimeoutMs,
    );
    try {
      await once(socket, device.certificate ? 'secureConnect' : 'connect');
    } finally {
      clearTimeout(connecting);
    }
    const scu = new StoreScu(socket);
    const rq = encodeAssociateRq({
      protocolVersion: 1,
      calledAeTitle: device.aeTitle,
      callingAeTitle: ours.aeTitle,
      applicationContext: APPLICATION_CONTEXT,
      presentationContexts: unique.map((o, i) => ({
        id: 2 * i + 1,
        abstractSyntax: o.sopClass,
        transferSyntaxes: [o.transferSyntax],
      })),
      maxPduLength: OUR_MAX_PDU_LENGTH,
      implementationClassUid: IMPLEMENTATION_CLASS_UID,
      implementationVersionName: IMPLEMENTATION_VERSION_NAME,
      roleSelections: new Map(),
    });
    socket.write(rq);
    const answer = await scu.next();
    if (answer.type !== 'associate-ac') {
      socket.destroy();
      throw new StoreScuError(
        answer.type === 'associate-rj' ? 'destination rejected the association' : `unexpected ${answer.type}`,
      );
    }
    scu.accept(answer.ac, unique);
    return scu;
  }

  private accept(ac: AssociateAc, offered: { sopClass: string; transferSyntax: string }[]) {
    this.peerMaxPdu = ac.maxPduLength;
    for (const pc of ac.presentationContexts) {
      const o = offered[(pc.id - 1) / 2];
      if (o && pc.result === ContextResult.Acceptance) this.contexts.set(`${o.sopClass} ${o.transferSyntax}`, pc.id);
    }
  }

  /** Sends one instance; its dataset is streamed. Returns the destination's status. */
  async store(
    sopClass: string,
    sopInstance: string,
    transferSyntax: string,
    dataset: AsyncIterable<Buffer>,
  ): Promise<number> {
    const contextId = this.contexts.get(`${sopClass} ${transferSyntax}`);
    if (contextId === undefined) return Status.SopClassNotSupported;
    const command: Command = {
      commandField: CommandField.CStoreRq,
      hasDataset: true,
      affectedSopClassUid: sopClass,
      affectedSopInstanceUid: sopInstance,
      messageId: ++this.messageId,
      priority: Priority.Medium,
    };
    try {
      await sendMessage(this.socket, contextId, encodeCommand(command), dataset, this.peerMaxPdu);
    } catch (e) {
      if (!(e instanceof MessageCut)) throw e;
      // Half a message went out (a stored file failed mid-way): this association cannot carry another one.
      this.abort();
      throw new ConnectionClosed(e);
    }
    const parts: Buffer[] = [];
    let size = 0;
    for (;;) {
      // A destination that aborted, closed or stopped answering takes no further instance: the move stops there.
      let pdu: Pdu;
      try {
        pdu = await this.next();
      } catch (e) {
        this.socket.destroy();
        throw new ConnectionClosed(e);
      }
      if (pdu.type !== 'p-data') {
        this.socket.destroy();
        throw new ConnectionClosed(new StoreScuError(`unexpected ${pdu.type} from the destination`));
      }
      for (const pdv of pdu.pdvs) {
        if (pdv.isCommand) size += pdv.data.length;
        if (!pdv.isCommand || size > MAX_COMMAND_LENGTH) {
          this.socket.destroy();
          throw new StoreScuError(
            pdv.isCommand ? 'response command set over its limit' : 'a dataset in answer to a C-STORE',
          );
        }
        parts.push(pdv.data);
        if (pdv.isCommand && pdv.isLast) return decodeCommand(Buffer.concat(parts)).status ?? Status.ProcessingFailure;
      }
    }
  }

  async release(): Promise<void> {
    // Aborted or gone: nothing more is said (the A-ABORT's own timer lets go of the socket).
    if (this.socket.destroyed || this.socket.writableEnded) return;
    this.socket.write(encodeReleaseRq());
    await this.next().catch(() => undefined);
    this.socket.destroy();
  }

  /** Ends the association with an A-ABORT of ours, and lets go of the socket soon after. */
  abort() {
    if (!this.socket.destroyed && !this.socket.writableEnded) this.socket.end(encodeAbort(AbortSource.ServiceUser, 0));
    setTimeout(() => this.socket.destroy(), 1_000).unref();
  }

  private async next(): Promise<Pdu> {
    while (this.pending.length === 0) {
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
    return this.pending.shift()!;
  }
}
