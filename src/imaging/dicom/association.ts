// The A-ASSOCIATE PDUs (PS3.8 §9.3.2–9.3.4, user information per PS3.7 Annex
// D.3.3): request, accept and reject, parsed from a PDU body and encoded into
// a whole PDU. Variable items are type, reserved byte, 16-bit big-endian
// length; unknown items and sub-items are skipped, as PS3.8 asks.
import { AbortReason, framePdu, PduError, PduType } from './pdu-frame.ts';

export interface RoleSelection {
  scu: boolean;
  scp: boolean;
}

interface UserInformation {
  /** Longest P-DATA-TF PDU body the sender accepts; 0 means no limit. */
  maxPduLength: number;
  implementationClassUid: string;
  implementationVersionName?: string;
  /** Outstanding operations; absent means one at a time each way. */
  asyncOps?: { invoked: number; performed: number };
  /** Roles per SOP class, from the requester's point of view. */
  roleSelections: Map<string, RoleSelection>;
  /** Service-class application information per SOP class. */
  extendedNegotiation?: Map<string, Buffer>;
}

interface AssociateCommon extends UserInformation {
  protocolVersion: number;
  calledAeTitle: string;
  callingAeTitle: string;
  applicationContext: string;
}

interface ProposedContext {
  id: number;
  abstractSyntax: string;
  transferSyntaxes: string[];
}

export interface AssociateRq extends AssociateCommon {
  presentationContexts: ProposedContext[];
}

export const ContextResult = {
  Acceptance: 0,
  UserRejection: 1,
  NoReason: 2,
  AbstractSyntaxNotSupported: 3,
  TransferSyntaxesNotSupported: 4,
} as const;
export type ContextResult = (typeof ContextResult)[keyof typeof ContextResult];

export interface ContextAnswer {
  id: number;
  result: ContextResult;
  /** Significant only when accepted. */
  transferSyntax: string;
}

export interface AssociateAc extends AssociateCommon {
  presentationContexts: ContextAnswer[];
}

export const RejectResult = { Permanent: 1, Transient: 2 } as const;
export const RejectSource = { ServiceUser: 1, Acse: 2, Presentation: 3 } as const;
/** Reasons by source: service user 1, 2, 3, 7; ACSE 1, 2; presentation 2, 3 (PS3.8 Table 9-21). */
export const RejectReason = {
  NoReasonGiven: 1,
  ApplicationContextNotSupported: 2,
  CallingAeTitleNotRecognized: 3,
  CalledAeTitleNotRecognized: 7,
  ProtocolVersionNotSupported: 2,
  TemporaryCongestion: 2,
  LocalLimitExceeded: 3,
} as const;

export interface AssociateRj {
  result: number;
  source: number;
  reason: number;
}

const Item = {
  ApplicationContext: 0x10,
  ProposedContext: 0x20,
  AcceptedContext: 0x21,
  AbstractSyntax: 0x30,
  TransferSyntax: 0x40,
  UserInformation: 0x50,
  MaxLength: 0x51,
  ImplementationClassUid: 0x52,
  AsyncOps: 0x53,
  RoleSelection: 0x54,
  ImplementationVersionName: 0x55,
  ExtendedNegotiation: 0x56,
} as const;

/** Protocol version, reserved, called AE, calling AE, 32 reserved bytes. */
const FIXED_LENGTH = 68;
const invalid = (why: string) => new PduError(why, AbortReason.InvalidPduParameterValue);

function* items(buf: Buffer): Generator<[type: number, body: Buffer]> {
  let at = 0;
  while (at < buf.length) {
    if (buf.length - at < 4) throw invalid('truncated item header');
    const end = at + 4 + buf.readUInt16BE(at + 2);
    if (end > buf.length) throw invalid(`item 0x${buf[at]!.toString(16)} runs past its container`);
    yield [buf[at]!, buf.subarray(at + 4, end)];
    at = end;
  }
}

/** UIDs should not be padded in PDUs, but some peers pad them with NUL or a space. */
const uid = (b: Buffer) => b.toString('latin1').replace(/[\0 ]+$/, '');
/** AE titles and the implementation version name are space-padded; the padding is not significant. */
const trimmed = (b: Buffer) => b.toString('latin1').trim();

function parseUserInformation(body: Buffer): UserInformation {
  const info: UserInformation = { maxPduLength: 0, implementationClassUid: '', roleSelections: new Map() };
  for (const [type, sub] of items(body)) {
    switch (type) {
      case Item.MaxLength:
        if (sub.length !== 4) throw invalid('maximum length sub-item is not 4 bytes');
        info.maxPduLength = sub.readUInt32BE(0);
        break;
      case Item.ImplementationClassUid:
        info.implementationClassUid = uid(sub);
        break;
      case Item.ImplementationVersionName:
        info.implementationVersionName = trimmed(sub);
        break;
      case Item.AsyncOps:
        if (sub.length !== 4) throw invalid('asynchronous operations sub-item is not 4 bytes');
        info.asyncOps = { invoked: sub.readUInt16BE(0), performed: sub.readUInt16BE(2) };
        break;
      case Item.RoleSelection: {
        const [sopClass, rest] = uidPrefixed(sub);
        if (rest.length !== 2) throw invalid('role selection sub-item has no roles');
        info.roleSelections.set(sopClass, { scu: rest[0] === 1, scp: rest[1] === 1 });
        break;
      }
      case Item.ExtendedNegotiation: {
        const [sopClass, rest] = uidPrefixed(sub);
        info.extendedNegotiation ??= new Map();
        info.extendedNegotiation.set(sopClass, Buffer.from(rest));
        break;
      }
    }
  }
  return info;
}

function uidPrefixed(sub: Buffer): [string, Buffer] {
  if (sub.length < 2 || sub.length < 2 + sub.readUInt16BE(0)) throw invalid('UID length runs past its sub-item');
  const end = 2 + sub.readUInt16BE(0);
  return [uid(sub.subarray(2, end)), sub.subarray(end)];
}

function parseCommon(body: Buffer, contextItem: number, onContext: (body: Buffer) => void): AssociateCommon {
  if (body.length < FIXED_LENGTH) throw invalid('A-ASSOCIATE PDU shorter than its fixed fields');
  let applicationContext: string | undefined;
  let user: UserInformation | undefined;
  for (const [type, item] of items(body.subarray(FIXED_LENGTH))) {
    if (type === Item.ApplicationContext) applicationContext = uid(item);
    else if (type === contextItem) onContext(item);
    else if (type === Item.UserInformation) user = parseUserInformation(item);
  }
  if (applicationContext === undefined) throw invalid('no application context item');
  if (user === undefined) throw invalid('no user information item');
  return {
    protocolVersion: body.readUInt16BE(0),
    calledAeTitle: trimmed(body.subarray(4, 20)),
    callingAeTitle: trimmed(body.subarray(20, 36)),
    applicationContext,
    ...user,
  };
}

/** Presentation context IDs are odd, 1–255, each used once (PS3.8 §9.3.2.2). */
function checkId(id: number, seen: Set<number>): number {
  if (id % 2 === 0 || seen.has(id)) throw invalid(`presentation context ID ${id} is even or repeated`);
  seen.add(id);
  return id;
}

/** `body`: the PDU after its 6-byte header. */
export function parseAssociateRq(body: Buffer): AssociateRq {
  const presentationContexts: ProposedContext[] = [];
  const ids = new Set<number>();
  const common = parseCommon(body, Item.ProposedContext, (item) => {
    if (item.length < 4) throw invalid('presentation context item shorter than 4 bytes');
    let abstractSyntax: string | undefined;
    const transferSyntaxes: string[] = [];
    for (const [type, sub] of items(item.subarray(4))) {
      if (type === Item.AbstractSyntax) abstractSyntax = uid(sub);
      else if (type === Item.TransferSyntax) transferSyntaxes.push(uid(sub));
    }
    if (abstractSyntax === undefined || transferSyntaxes.length === 0) {
      throw invalid(`presentation context ${item[0]} without an abstract syntax or transfer syntax`);
    }
    presentationContexts.push({ id: checkId(item[0]!, ids), abstractSyntax, transferSyntaxes });
  });
  return { ...common, presentationContexts };
}

export function parseAssociateAc(body: Buffer): AssociateAc {
  const presentationContexts: ContextAnswer[] = [];
  const ids = new Set<number>();
  const common = parseCommon(body, Item.AcceptedContext, (item) => {
    if (item.length < 4) throw invalid('presentation context item shorter than 4 bytes');
    const result = item[2]!;
    if (result > ContextResult.TransferSyntaxesNotSupported) throw invalid(`presentation context result ${result}`);
    let transferSyntax = '';
    for (const [type, sub] of items(item.subarray(4))) if (type === Item.TransferSyntax) transferSyntax = uid(sub);
    presentationContexts.push({ id: checkId(item[0]!, ids), result: result as ContextResult, transferSyntax });
  });
  return { ...common, presentationContexts };
}

export function parseAssociateRj(body: Buffer): AssociateRj {
  if (body.length !== 4) throw invalid('A-ASSOCIATE-RJ body is not 4 bytes');
  return { result: body[1]!, source: body[2]!, reason: body[3]! };
}

function item(type: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  if (body.length > 0xffff) throw new RangeError(`item 0x${type.toString(16)} longer than 65535 bytes`);
  const head = Buffer.alloc(4);
  head[0] = type;
  head.writeUInt16BE(body.length, 2);
  return Buffer.concat([head, body]);
}

const ascii = (s: string) => Buffer.from(s, 'latin1');
const u16 = (n: number) => Buffer.of(n >> 8, n & 0xff);
const uidPrefix = (s: string) => Buffer.concat([u16(s.length), ascii(s)]);

function encodeUserInformation(u: UserInformation): Buffer {
  const max = Buffer.alloc(4);
  max.writeUInt32BE(u.maxPduLength);
  return item(
    Item.UserInformation,
    item(Item.MaxLength, max),
    item(Item.ImplementationClassUid, ascii(u.implementationClassUid)),
    ...(u.asyncOps ? [item(Item.AsyncOps, u16(u.asyncOps.invoked), u16(u.asyncOps.performed))] : []),
    ...[...u.roleSelections].map(([sop, r]) =>
      item(Item.RoleSelection, uidPrefix(sop), Buffer.of(r.scu ? 1 : 0, r.scp ? 1 : 0)),
    ),
    ...(u.implementationVersionName ? [item(Item.ImplementationVersionName, ascii(u.implementationVersionName))] : []),
    ...[...(u.extendedNegotiation ?? [])].map(([sop, info]) => item(Item.ExtendedNegotiation, uidPrefix(sop), info)),
  );
}

function encodeAssociate(type: number, a: AssociateCommon, contexts: Buffer[]): Buffer {
  const fixed = Buffer.alloc(FIXED_LENGTH, 0);
  fixed.writeUInt16BE(a.protocolVersion, 0);
  fixed.write(a.calledAeTitle.padEnd(16, ' '), 4, 16, 'latin1');
  fixed.write(a.callingAeTitle.padEnd(16, ' '), 20, 16, 'latin1');
  const body = Buffer.concat([
    fixed,
    item(Item.ApplicationContext, ascii(a.applicationContext)),
    ...contexts,
    encodeUserInformation(a),
  ]);
  return framePdu(type, body);
}

export function encodeAssociateRq(rq: AssociateRq): Buffer {
  return encodeAssociate(
    PduType.AssociateRq,
    rq,
    rq.presentationContexts.map((pc) =>
      item(
        Item.ProposedContext,
        Buffer.of(pc.id, 0, 0, 0),
        item(Item.AbstractSyntax, ascii(pc.abstractSyntax)),
        ...pc.transferSyntaxes.map((ts) => item(Item.TransferSyntax, ascii(ts))),
      ),
    ),
  );
}

export function encodeAssociateAc(ac: AssociateAc): Buffer {
  return encodeAssociate(
    PduType.AssociateAc,
    ac,
    ac.presentationContexts.map((pc) =>
      item(
        Item.AcceptedContext,
        Buffer.of(pc.id, 0, pc.result, 0),
        item(Item.TransferSyntax, ascii(pc.transferSyntax)),
      ),
    ),
  );
}

export function encodeAssociateRj(rj: AssociateRj): Buffer {
  return framePdu(PduType.AssociateRj, Buffer.of(0, rj.result, rj.source, rj.reason));
}
