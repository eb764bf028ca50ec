// DIMSE-C command sets (PS3.7 §9.3, Annex E): group 0000 in Implicit VR
// Little Endian, CommandGroupLength first. Encoded and read with the dataset
// writer and reader; a command that breaks the rules raises CommandError,
// which the server answers with a failure status or an abort.
import { writeDataset } from './dataset-writer.ts';
import { readDataset } from './dataset-reader.ts';
import { DatasetError } from './element-header.ts';
import { formatTag } from './tags.ts';
import type { Dataset } from './values.ts';

export const CommandField = {
  CStoreRq: 0x0001,
  CStoreRsp: 0x8001,
  CGetRq: 0x0010,
  CGetRsp: 0x8010,
  CFindRq: 0x0020,
  CFindRsp: 0x8020,
  CMoveRq: 0x0021,
  CMoveRsp: 0x8021,
  CEchoRq: 0x0030,
  CEchoRsp: 0x8030,
  CCancelRq: 0x0fff,
} as const;

export const Priority = { Medium: 0, High: 1, Low: 2 } as const;

/** Status codes (PS3.7 Annex C and the C-STORE/C-FIND/C-MOVE/C-GET service definitions in PS3.4). */
export const Status = {
  Success: 0x0000,
  Pending: 0xff00,
  PendingWithOptionalKeysUnsupported: 0xff01,
  Cancel: 0xfe00,
  CoercionOfDataElements: 0xb000,
  SubOperationsCompleteWithFailures: 0xb000,
  ElementsDiscarded: 0xb006,
  DataSetDoesNotMatchSopClassWarning: 0xb007,
  OutOfResources: 0xa700,
  OutOfResourcesNumberOfMatches: 0xa701,
  OutOfResourcesSubOperations: 0xa702,
  MoveDestinationUnknown: 0xa801,
  DataSetDoesNotMatchSopClass: 0xa900,
  CannotUnderstand: 0xc000,
  UnableToProcess: 0xc001,
  ProcessingFailure: 0x0110,
  SopClassNotSupported: 0x0122,
  NotAuthorized: 0x0124,
  DuplicateInvocation: 0x0210,
  UnrecognizedOperation: 0x0211,
  MistypedArgument: 0x0212,
} as const;

export type StatusCategory = 'success' | 'pending' | 'cancel' | 'warning' | 'failure';

/** PS3.7 C.1: the meaning of a status code by its range. */
export function statusCategory(status: number): StatusCategory {
  if (status === Status.Success) return 'success';
  if (status === 0xff00 || status === 0xff01) return 'pending';
  if (status === Status.Cancel) return 'cancel';
  if (status === 0x0001 || status === 0x0107 || status === 0x0116 || (status & 0xf000) === 0xb000) return 'warning';
  return 'failure';
}

export interface Command {
  commandField: number;
  /** False when CommandDataSetType is 0101H: no dataset follows. */
  hasDataset: boolean;
  affectedSopClassUid?: string;
  requestedSopClassUid?: string;
  messageId?: number;
  messageIdBeingRespondedTo?: number;
  moveDestination?: string;
  priority?: number;
  status?: number;
  /** Tags, `group * 0x10000 + element`. */
  offendingElement?: number[];
  errorComment?: string;
  affectedSopInstanceUid?: string;
  requestedSopInstanceUid?: string;
  remainingSuboperations?: number;
  completedSuboperations?: number;
  failedSuboperations?: number;
  warningSuboperations?: number;
  moveOriginatorAeTitle?: string;
  moveOriginatorMessageId?: number;
}

type Field = Exclude<keyof Command, 'hasDataset'>;

const FIELDS: readonly [Field, number, string][] = [
  ['affectedSopClassUid', 0x00000002, 'UI'],
  ['requestedSopClassUid', 0x00000003, 'UI'],
  ['commandField', 0x00000100, 'US'],
  ['messageId', 0x00000110, 'US'],
  ['messageIdBeingRespondedTo', 0x00000120, 'US'],
  ['moveDestination', 0x00000600, 'AE'],
  ['priority', 0x00000700, 'US'],
  ['status', 0x00000900, 'US'],
  ['offendingElement', 0x00000901, 'AT'],
  ['errorComment', 0x00000902, 'LO'],
  ['affectedSopInstanceUid', 0x00001000, 'UI'],
  ['requestedSopInstanceUid', 0x00001001, 'UI'],
  ['remainingSuboperations', 0x00001020, 'US'],
  ['completedSuboperations', 0x00001021, 'US'],
  ['failedSuboperations', 0x00001022, 'US'],
  ['warningSuboperations', 0x00001023, 'US'],
  ['moveOriginatorAeTitle', 0x00001030, 'AE'],
  ['moveOriginatorMessageId', 0x00001031, 'US'],
];

const GROUP_LENGTH = 0x00000000;
const DATA_SET_TYPE = 0x00000800;
const NO_DATASET = 0x0101;
/** A command set is a few hundred bytes; ErrorComment (LO) is the longest free value. A peer's fragments beyond this end the association. */
export const MAX_COMMAND_LENGTH = 4096;

const VRS = new Map<number, string>([
  [GROUP_LENGTH, 'UL'],
  [DATA_SET_TYPE, 'US'],
  ...FIELDS.map(([, tag, vr]) => [tag, vr] as [number, string]),
]);

/** Fields each command must carry besides CommandField and CommandDataSetType (PS3.7 §9.3). */
const REQUIRED: Record<number, readonly Field[]> = {
  [CommandField.CStoreRq]: ['affectedSopClassUid', 'messageId', 'priority', 'affectedSopInstanceUid'],
  [CommandField.CFindRq]: ['affectedSopClassUid', 'messageId', 'priority'],
  [CommandField.CGetRq]: ['affectedSopClassUid', 'messageId', 'priority'],
  [CommandField.CMoveRq]: ['affectedSopClassUid', 'messageId', 'priority', 'moveDestination'],
  [CommandField.CEchoRq]: ['affectedSopClassUid', 'messageId'],
  [CommandField.CCancelRq]: ['messageIdBeingRespondedTo'],
  [CommandField.CStoreRsp]: ['messageIdBeingRespondedTo', 'status'],
  [CommandField.CFindRsp]: ['messageIdBeingRespondedTo', 'status'],
  [CommandField.CGetRsp]: ['messageIdBeingRespondedTo', 'status'],
  [CommandField.CMoveRsp]: ['messageIdBeingRespondedTo', 'status'],
  [CommandField.CEchoRsp]: ['messageIdBeingRespondedTo', 'status'],
};

/** Requests that always carry an identifier or the instance. */
const WITH_DATASET = new Set<number>([
  CommandField.CStoreRq,
  CommandField.CFindRq,
  CommandField.CGetRq,
  CommandField.CMoveRq,
]);

export class CommandError extends Error {
  /** The element at fault, for OffendingElement. */
  readonly tag?: number;
  constructor(message: string, tag?: number) {
    super(message);
    this.tag = tag;
  }
}

export function encodeCommand(command: Command): Buffer {
  const elements = FIELDS.flatMap(([field, tag, vr]) => {
    const value = command[field];
    if (value === undefined) return [];
    // The command set has no character set: keep ErrorComment to the default repertoire, within LO's 64 characters.
    const clean =
      field === 'errorComment'
        ? String(value)
            .replace(/[^\x20-\x5b\x5d-\x7e]/g, '?')
            .slice(0, 64)
        : value;
    return [{ tag, vr, value: clean }];
  });
  elements.push({ tag: DATA_SET_TYPE, vr: 'US', value: command.hasDataset ? 0x0000 : NO_DATASET });
  const body = writeDataset(elements, { encoding: 'implicit-le' });
  const groupLength = writeDataset([{ tag: GROUP_LENGTH, vr: 'UL', value: body.length }], { encoding: 'implicit-le' });
  return Buffer.concat([groupLength, body]);
}

/** Throws CommandError for anything that is not a well-formed command set. */
export function decodeCommand(buf: Buffer): Command {
  if (buf.length > MAX_COMMAND_LENGTH) throw new CommandError(`command set of ${buf.length} bytes`);
  let ds: Dataset;
  try {
    ds = readDataset(buf, 'implicit-le', { vrOf: (tag) => VRS.get(tag) });
  } catch (e) {
    if (e instanceof DatasetError) throw new CommandError(`malformed command set: ${e.message}`);
    throw e;
  }
  const [first] = ds.keys();
  const groupLength = single(ds, GROUP_LENGTH);
  if (first !== GROUP_LENGTH || groupLength !== buf.length - 12)
    throw new CommandError('CommandGroupLength missing or wrong', GROUP_LENGTH);
  const outside = [...ds.keys()].find((tag) => tag > 0x0000ffff);
  if (outside !== undefined) throw new CommandError(`${formatTag(outside)} in a command set`, outside);

  const commandField = single(ds, 0x00000100);
  const dataSetType = single(ds, DATA_SET_TYPE);
  if (commandField === undefined) throw new CommandError('no CommandField', 0x00000100);
  if (dataSetType === undefined) throw new CommandError('no CommandDataSetType', DATA_SET_TYPE);
  const command: Command = { commandField, hasDataset: dataSetType !== NO_DATASET };
  for (const [field, tag, vr] of FIELDS) {
    const el = ds.get(tag);
    if (!el || field === 'commandField') continue;
    const value = el.value as string[] | number[];
    if (field === 'offendingElement') command.offendingElement = value as number[];
    else if (vr === 'US') command[field as 'messageId'] = single(ds, tag);
    else command[field as 'affectedSopClassUid'] = (value[0] as string | undefined) ?? '';
  }
  for (const field of REQUIRED[commandField] ?? []) {
    const tag = FIELDS.find(([f]) => f === field)![1];
    if (command[field] === undefined || command[field] === '') throw new CommandError(`${field} missing`, tag);
  }
  if (WITH_DATASET.has(commandField) && !command.hasDataset)
    throw new CommandError('request without its dataset', DATA_SET_TYPE);
  return command;
}

/** The one number of a US or UL element; CommandError if it has another length. */
function single(ds: Dataset, tag: number): number | undefined {
  const el = ds.get(tag);
  if (!el) return undefined;
  const value = el.value as number[];
  if (value.length !== 1 || el.raw.length !== (el.vr === 'UL' ? 4 : 2))
    throw new CommandError(`${formatTag(tag)} is not one ${el.vr} value`, tag);
  return value[0];
}
