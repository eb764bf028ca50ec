// One association, from A-ASSOCIATE-RQ to release or abort. The caller is
// identified as a registered device (pinned certificate or loopback host)
// before anything is negotiated; refusals are audited. Messages are handled
// strictly one after another, and the socket is read only as fast as each
// dataset reaches the disk.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { DEPLOYMENT_CHAIN } from '../../db/schema.ts';
import {
  encodeAssociateAc,
  encodeAssociateRj,
  RejectReason,
  RejectResult,
  RejectSource,
  type AssociateRq,
} from '../dicom/association.ts';
import {
  CommandError,
  CommandField,
  decodeCommand,
  encodeCommand,
  MAX_COMMAND_LENGTH,
  Status,
  type Command,
} from '../dicom/command.ts';
import { negotiate, type AcceptedContext } from '../dicom/negotiation.ts';
import { encodeAbort, encodeReleaseRp, pDataPdus, PduReader, type Pdu, type Pdv } from '../dicom/pdu.ts';
import { AbortReason, AbortSource, LimitExceeded, PduError } from '../dicom/pdu-frame.ts';
import { isStorageSopClass, TransferSyntax } from '../dicom/uids.ts';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from '../dicom/implementation.ts';
import type { AssociationScope } from './association-scope.ts';
import { ConnectionClosed, MessageCut, sendMessage } from './send-message.ts';
import type { DimseService, MessageHandler } from './service-classes.ts';
import type { DimseDeps, DimseListenerOptions } from './dimse-deps.ts';
import type { DicomConfig } from '../../config/config.ts';
import type { AssociationLimits, Release } from './association-limits.ts';
import { DEPARTMENT_KEY_REFRESH_MS } from '../../vault/department-versions.ts'; // Issue 19: keys-online

/** The answer when a device or an address holds as many associations as it may (PS3.8 Table 9-21). */
export const LOCAL_LIMIT_EXCEEDED = {
  result: RejectResult.Transient,
  source: RejectSource.Presentation,
  reason: RejectReason.LocalLimitExceeded,
};

/** How long a connection may take to send its A-ASSOCIATE-RQ. */
const ASSOCIATION_TIMEOUT_MS = 30_000;
const CLOSE_GRACE_MS = 5_000;

/** The largest P-DATA-TF PDU we accept: large PDUs mean fewer headers per megabyte. */
export const OUR_MAX_PDU_LENGTH = 1 << 20;

/** Transfer syntaxes we accept, best first; datasets are stored as received, so compressed ones are welcome. */
const TRANSFER_SYNTAXES = [
  TransferSyntax.ExplicitVrLittleEndian,
  TransferSyntax.ImplicitVrLittleEndian,
  TransferSyntax.JpegBaseline,
  TransferSyntax.JpegExtended,
  TransferSyntax.JpegLossless,
  TransferSyntax.JpegLosslessSv1,
  TransferSyntax.JpegLsLossless,
  TransferSyntax.JpegLsNearLossless,
  TransferSyntax.Jpeg2000Lossless,
  TransferSyntax.Jpeg2000,
  TransferSyntax.RleLossless,
  TransferSyntax.DeflatedExplicitVrLittleEndian,
];

interface Message {
  contextId: number;
  handler: MessageHandler;
}

export class AssociationHandler {
  private readonly reader = new PduReader(OUR_MAX_PDU_LENGTH);
  private scope: AssociationScope | undefined;
  private peerMaxPdu = 0;
  private commandParts: Buffer[] = [];
  private commandBytes = 0;
  private message: Message | undefined;
  /** A service running alongside further messages (C-GET), and the responses it waits for. */
  /** The query or retrieval running alongside, if any: its request's message ID, so a C-CANCEL can reach it. */
  private background: { messageId: number; handler: MessageHandler; done: Promise<void> } | undefined;
  private readonly awaiting = new Map<number, (response: Command) => void>();
  private lastMessageId = 0;
  private artim: NodeJS.Timeout | undefined;
  private done = false;
  /** Gives back this association's place among its device's (see AssociationLimits). */
  private releaseDevice: Release | undefined;

  private readonly socket: Socket;
  private readonly opts: DimseListenerOptions & {
    aeTitle: string;
    tls?: DicomConfig['tls'];
    limits?: AssociationLimits;
  };
  /** The service classes this listener offers, by the CommandField of their request. */
  private readonly serviceClasses: ReadonlyMap<number, DimseService>;
  constructor(
    socket: Socket,
    opts: DimseListenerOptions & { aeTitle: string; tls?: DicomConfig['tls']; limits?: AssociationLimits },
    serviceClasses: ReadonlyMap<number, DimseService>,
  ) {
    this.socket = socket;
    this.opts = opts;
    this.serviceClasses = serviceClasses;
  }

  async run(): Promise<void> {
    // PS3.8's ARTIM: an association request must arrive soon after the connection.
    this.artim = setTimeout(() => this.socket.destroy(), this.opts.associationTimeoutMs ?? ASSOCIATION_TIMEOUT_MS);
    this.socket.once('close', () => clearTimeout(this.artim));
    try {
      // Leaving the loop must not destroy the socket: an A-ABORT or A-RELEASE-RP just written would be lost to a reset
      // when unread input is still queued (a flooding peer). close() below lets it go after reading out the rest.
      for await (const chunk of this.socket.iterator({ destroyOnReturn: false })) {
        await this.consume(chunk as Buffer);
        if (this.done) return;
      }
    } catch {
      // The connection failed or was cut (reset, timeout): the association ends here.
    } finally {
      // A dataset cut off is never finished: what arrived of it is dropped, not stored, queried or moved.
      await this.message?.handler.abandon?.().catch(() => undefined);
      // Nothing is read any more, and nobody is left to answer: what runs alongside stops.
      this.stopAlongside();
      await this.background?.done;
      // The device's place is given back once nothing runs for it any more (a C-MOVE's instance in flight included),
      // not at the socket's close: a device that aborts and reconnects cannot run more than its limit at once.
      this.releaseDevice?.();
      this.close();
    }
  }

  /** Handles the PDUs a chunk completes; a protocol error is answered with A-ABORT inside the loop, so it gets out. */
  private async consume(chunk: Buffer) {
    try {
      for (const pdu of this.reader.push(chunk)) {
        await this.onPdu(pdu);
        if (this.done) return;
      }
    } catch (e) {
      // Audited before the A-ABORT leaves (the socket is not read meanwhile): when the peer sees it, it is on record.
      if (e instanceof LimitExceeded) await this.auditLimit(e);
      await this.abort(e instanceof PduError ? e.abortReason : AbortReason.NotSpecified);
      if (e instanceof LimitExceeded || (!(e instanceof PduError) && !(e instanceof CommandError))) this.opts.log?.(e);
    }
  }

  /** A peer that sent more than a limit allows was aborted: on its tenant's chain once it is known, else the deployment's. */
  private async auditLimit(e: LimitExceeded) {
    const device = this.scope?.device;
    const detail = {
      why: 'limit-exceeded',
      limit: e.limit,
      max: e.max,
      size: e.size,
      ...(this.scope ? { callingAe: this.scope.callingAeTitle } : {}),
    };
    await this.opts.deps
      .audit({
        tenantId: device?.tenantId ?? DEPLOYMENT_CHAIN,
        actorId: device?.device.id ?? null,
        action: 'dicom.abort',
        resourceType: 'association',
        outcome: 'denied',
        detail,
      })
      .catch((err) => this.opts.log?.(err));
  }

  /** Lets what was written (an A-ABORT, an A-RELEASE-RP) reach the peer, then lets go of the socket. */
  private close() {
    // What still arrives is read and dropped, so the peer's close is seen at once and no reset overtakes our last PDU.
    this.socket.resume();
    if (!this.socket.writableEnded && !this.socket.destroyed) this.socket.end();
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  private async onPdu(pdu: Pdu) {
    switch (pdu.type) {
      case 'associate-rq':
        if (this.scope) return this.abort(AbortReason.UnexpectedPdu);
        return this.associate(pdu.rq);
      case 'p-data':
        if (!this.scope) return this.abort(AbortReason.UnexpectedPdu);
        for (const pdv of pdu.pdvs) await this.onPdv(pdv);
        return;
      case 'release-rq':
        // The requester leaves while its query or retrieval runs: it stops first. Nothing is read while we wait
        // here, so a C-GET waiting for a sub-operation's answer would otherwise wait for good.
        this.stopAlongside();
        await this.background?.done;
        return this.last(encodeReleaseRp());
      case 'abort':
        // PS3.8 (AA-3): the peer's A-ABORT ends the association and we close the connection at once, whether or not
        // the peer does; what runs alongside stops (`stopAlongside`, again when the read loop ends).
        this.done = true;
        this.stopAlongside();
        this.socket.destroy();
        return;
      default:
        return this.abort(AbortReason.UnexpectedPdu);
    }
  }

  private async associate(rq: AssociateRq) {
    const { deps } = this.opts;
    const tls = this.socket as TLSSocket;
    const certificateFingerprint = tls.encrypted ? tls.getPeerCertificate()?.fingerprint256 : undefined;
    const caller = {
      callingAeTitle: rq.callingAeTitle,
      remoteAddress: this.socket.remoteAddress ?? '',
      certificateFingerprint,
    };
    const who = await deps.identifyDevice(caller);
    const calledOk = rq.calledAeTitle === this.opts.aeTitle;
    if (!who.ok || !calledOk) {
      const why = !who.ok ? who.why : 'wrong-called-ae';
      await auditRefusedAssociation(
        deps,
        who.ok ? who.tenantId : (who.tenantId ?? DEPLOYMENT_CHAIN),
        who.ok ? who.device.id : who.deviceId,
        { callingAe: rq.callingAeTitle, calledAe: rq.calledAeTitle, why },
        this.socket.remoteAddress,
      );
      const reason =
        why === 'wrong-called-ae' ? RejectReason.CalledAeTitleNotRecognized : RejectReason.CallingAeTitleNotRecognized;
      return this.last(encodeAssociateRj({ result: RejectResult.Permanent, source: RejectSource.ServiceUser, reason }));
    }
    const place = this.opts.limits ? this.opts.limits.claimDevice(who.device.id) : () => undefined;
    if (!place) {
      await this.auditAssociation(who.tenantId, who.device.id, 'denied', {
        callingAe: rq.callingAeTitle,
        why: 'too-many-associations',
        limit: 'device',
        max: this.opts.limits!.perDevice,
      });
      this.opts.log?.(
        new Error(
          `DICOM association of ${rq.callingAeTitle} refused: ${this.opts.limits!.perDevice} associations held`,
        ),
      );
      return this.last(encodeAssociateRj(LOCAL_LIMIT_EXCEEDED));
    }
    this.releaseDevice = place;
    if (this.socket.destroyed) place();
    const negotiated = negotiate(rq, {
      acceptedAbstractSyntaxes: (uid) => [...this.serviceClasses.values()].some((s) => s.sopClasses(uid)),
      // Only storage keeps datasets as they come; everything else is read by us, uncompressed.
      transferSyntaxPreference: (abstractSyntax) =>
        isStorageSopClass(abstractSyntax) ? TRANSFER_SYNTAXES : TRANSFER_SYNTAXES.slice(0, 2),
      ourMaxPduLength: OUR_MAX_PDU_LENGTH,
      implementationClassUid: IMPLEMENTATION_CLASS_UID,
      implementationVersionName: IMPLEMENTATION_VERSION_NAME,
    });
    if (!negotiated.accepted) {
      place();
      return this.last(encodeAssociateRj(negotiated.rj));
    }
    await this.auditAssociation(who.tenantId, who.device.id, 'allowed', {
      callingAe: rq.callingAeTitle,
      tls: !!certificateFingerprint,
      contexts: negotiated.contexts.size,
    });
    this.peerMaxPdu = rq.maxPduLength;
    this.scope = this.scopeFor(who, rq.callingAeTitle, negotiated.contexts, negotiated.ac.roleSelections);
    clearTimeout(this.artim);
    this.socket.write(encodeAssociateAc(negotiated.ac));
  }

  private scopeFor(
    device: AssociationScope['device'],
    callingAeTitle: string,
    contexts: Map<number, AcceptedContext>,
    roles: AssociationScope['roles'],
  ): AssociationScope {
    const { deps } = this.opts;
    const departmentId = device.principal.device!.departmentId;
    // Fetched once per association: every stored or retrieved instance needs it.
    let key: Promise<Buffer> | undefined;
    let keyAt = 0; // Issue 19: keys-online
    return {
      deps,
      device,
      callingAeTitle,
      aeTitle: this.opts.aeTitle,
      tls: this.opts.tls,
      contexts,
      roles,
      // Issue 19: keys-online — looked up again after the keyring's refresh time: a long association
      // seals under a rotated department key's new version too, as every request does.
      departmentKey: () => {
        if (!key || Date.now() - keyAt > DEPARTMENT_KEY_REFRESH_MS) {
          key = deps.departmentKey(device.tenantId, departmentId);
          keyAt = Date.now();
        }
        return key;
      },
      send: (contextId: number, command: Command, dataset?: Buffer) => {
        // After our last PDU (an A-ABORT, A-RELEASE-RP) nothing more goes out: a write after it would also destroy
        // the socket before that PDU reached a peer that reads slowly.
        if (this.done || this.socket.writableEnded || this.socket.destroyed) return;
        this.socket.cork();
        for (const b of pDataPdus(
          contextId,
          true,
          encodeCommand({ ...command, hasDataset: !!dataset }),
          this.peerMaxPdu,
        ))
          this.socket.write(b);
        if (dataset) for (const b of pDataPdus(contextId, false, dataset, this.peerMaxPdu)) this.socket.write(b);
        process.nextTick(() => this.socket.uncork());
      },
      request: async (contextId: number, command: Command, dataset: AsyncIterable<Buffer>) => {
        this.lastMessageId = (this.lastMessageId % 0xffff) + 1;
        const messageId = this.lastMessageId;
        const answered = new Promise<Command>((resolve) => this.awaiting.set(messageId, resolve));
        try {
          await sendMessage(
            this.socket,
            contextId,
            encodeCommand({ ...command, messageId, hasDataset: true }),
            dataset,
            this.peerMaxPdu,
          );
        } catch (e) {
          // Not sent whole: no answer is awaited for it.
          this.awaiting.delete(messageId);
          if (!(e instanceof MessageCut)) throw e;
          // Half a message went out (a stored file failed mid-way): the requester would read our next command as
          // the rest of it. The association ends with our A-ABORT, and what runs on it stops.
          this.opts.log?.(e);
          void this.abort(AbortReason.NotSpecified);
          throw new ConnectionClosed(e);
        }
        return answered;
      },
    };
  }

  private async onPdv(pdv: Pdv) {
    if (!this.scope!.contexts.has(pdv.contextId))
      throw new PduError('PDV on a presentation context that was not accepted', AbortReason.InvalidPduParameterValue);
    if (pdv.isCommand) {
      if (this.message) throw new PduError('command while a dataset was expected', AbortReason.UnexpectedPdu);
      // A command set is small: fragments beyond its limit end the association instead of piling up.
      this.commandBytes += pdv.data.length;
      if (this.commandBytes > MAX_COMMAND_LENGTH)
        throw new LimitExceeded('command-set', MAX_COMMAND_LENGTH, this.commandBytes);
      this.commandParts.push(pdv.data);
      if (pdv.isLast) await this.onCommand(pdv.contextId, decodeCommand(Buffer.concat(this.commandParts)));
      return;
    }
    const message = this.message;
    if (!message || message.contextId !== pdv.contextId)
      throw new PduError('dataset without its command', AbortReason.UnexpectedPdu);
    await message.handler.data(pdv.data);
    if (pdv.isLast) {
      this.message = undefined;
      await message.handler.end();
    }
  }

  private async onCommand(contextId: number, command: Command) {
    this.commandParts = [];
    this.commandBytes = 0;
    if (command.commandField & 0x8000) {
      // A response to one of our sub-operations.
      const resolve = this.awaiting.get(command.messageIdBeingRespondedTo ?? -1);
      if (!resolve) throw new PduError('response to nothing we asked', AbortReason.UnexpectedPdu);
      this.awaiting.delete(command.messageIdBeingRespondedTo!);
      return resolve(command);
    }
    if (command.commandField === CommandField.CCancelRq) {
      // No answer of its own: the cancelled operation ends with status Cancel. A late cancel finds nothing.
      const running = this.background;
      if (running && running.messageId === command.messageIdBeingRespondedTo) running.handler.cancel?.();
      return;
    }
    const service = this.serviceClasses.get(command.commandField);
    const handler: MessageHandler = service
      ? service.start(this.scope!, command, contextId)
      : unsupported(this.scope!, command, contextId);
    const finish = service?.alongside ? () => this.runAlongside(command.messageId ?? -1, handler) : () => handler.end();
    if (command.hasDataset)
      this.message = {
        contextId,
        handler: { data: (c) => handler.data(c), end: finish, abandon: async () => handler.abandon?.() },
      };
    else await finish();
  }

  /**
   * The requester is gone or leaving: the query or retrieval running alongside is cancelled (it stops before its next
   * instance, which is neither opened nor decrypted), and what waits for an answer from the requester fails now.
   */
  private stopAlongside() {
    this.background?.handler.cancel?.();
    for (const [id, resolve] of this.awaiting) resolve(failedAnswer(id));
    this.awaiting.clear();
  }

  /** One operation at a time runs alongside (no asynchronous operations are negotiated). */
  private async runAlongside(messageId: number, handler: MessageHandler) {
    if (this.background)
      throw new PduError('a second query or retrieval before the first ended', AbortReason.UnexpectedPdu);
    const done = handler
      .end()
      .catch((e) => this.opts.log?.(e))
      .finally(() => (this.background = undefined));
    this.background = { messageId, handler, done };
  }

  private auditAssociation(
    tenantId: string,
    deviceId: string | null,
    outcome: 'allowed' | 'denied',
    detail: Record<string, string | number | boolean>,
  ) {
    return auditAssociation(this.opts.deps, tenantId, deviceId, outcome, detail);
  }

  private abort(reason: number) {
    return this.last(encodeAbort(AbortSource.ServiceProvider, reason));
  }

  /**
   * Sends the association's last PDU and waits until it is handed to the
   * network: leaving the read loop destroys the socket, and with it anything
   * still queued.
   */
  private last(pdu: Buffer): Promise<void> {
    if (this.done) return Promise.resolve();
    this.done = true;
    // A peer that does not read would keep it from ever being flushed (and a sender waiting to drain waiting for
    // good): the socket goes after the grace time whether or not it was.
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end(pdu, () => resolve());
    });
  }
}

/** What a request of ours waiting for its answer gets when none can come any more. */
function failedAnswer(messageId: number): Command {
  return { commandField: 0, hasDataset: false, messageIdBeingRespondedTo: messageId, status: Status.ProcessingFailure };
}

/** An association accepted or refused, on the device's tenant chain (the deployment's when no device is known). */
function auditAssociation(
  deps: Pick<DimseDeps, 'audit'>,
  tenantId: string,
  deviceId: string | null,
  outcome: 'allowed' | 'denied',
  detail: Record<string, string | number | boolean>,
) {
  return deps.audit({
    tenantId,
    actorId: deviceId,
    action: 'dicom.associate',
    resourceType: 'association',
    outcome,
    detail,
  });
}

/** A refused association or TLS handshake: aggregated per source and minute, so a flood cannot fill the disk. */
export function auditRefusedAssociation(
  deps: Pick<DimseDeps, 'auditAttempt'>,
  tenantId: string,
  deviceId: string | null,
  detail: { why: string } & Record<string, string | number | boolean>,
  address: string | undefined,
) {
  return deps.auditAttempt(
    { tenantId, actorId: deviceId, action: 'dicom.associate', resourceType: 'association', outcome: 'denied', detail },
    address,
    detail.why,
  );
}

/** A request no service answers: its dataset is dropped and the answer says so. */
function unsupported(scope: AssociationScope, command: Command, contextId: number): MessageHandler {
  return {
    data() {},
    async end() {
      scope.send(contextId, {
        commandField: command.commandField | 0x8000,
        hasDataset: false,
        messageIdBeingRespondedTo: command.messageId,
        status: Status.UnrecognizedOperation,
      });
    },
  };
}
