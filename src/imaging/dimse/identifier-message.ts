// The shape C-FIND, C-GET and C-MOVE share: a request whose dataset is a
// small identifier in one of the service's query/retrieve SOP classes. It is
// buffered (bounded), read, its level checked, and handed to the operation;
// every refusal is a DIMSE status with a comment. `queryRetrieveService`
// declares the three services the same way.
import { CommandField, Status, type Command } from '../dicom/command.ts';
import { LimitExceeded } from '../dicom/pdu-frame.ts';
import { readDataset } from '../dicom/dataset-reader.ts';
import { Tag } from '../dicom/tags.ts';
import { datasetLayout, QueryRetrieveSopClass } from '../dicom/uids.ts';
import { textValue, type Dataset } from '../dicom/values.ts';
import type { StudyQuery } from '../study-query.ts';
import type { Level } from '../match-attributes.ts';
import type { Action } from '../../access/policy.ts';
import type { AssociationScope } from './association-scope.ts';
import type { DimseService, MessageHandler } from './service-classes.ts';

/**
 * Identifiers are a few hundred bytes, a list of instance UIDs to retrieve some
 * kilobytes; a request sending more than this ends its association (A-ABORT).
 */
const MAX_IDENTIFIER = 1024 * 1024;

const LEVELS: readonly string[] = ['PATIENT', 'STUDY', 'SERIES', 'IMAGE'];
const PATIENT_ROOT = new Set<string>([
  QueryRetrieveSopClass.PatientRootFind,
  QueryRetrieveSopClass.PatientRootGet,
  QueryRetrieveSopClass.PatientRootMove,
]);

/** A query/retrieve service: its SOP classes and the CommandField of its responses besides the declaration. */
export interface QueryRetrieveService extends DimseService {
  classes: ReadonlySet<string>;
  responseField: number;
}

type OperationClass = new (scope: AssociationScope, command: Command, contextId: number) => MessageHandler;

/** The query/retrieve services side by side: request, response, the action they are decided as, their SOP classes. */
const QUERY_RETRIEVE = {
  find: [CommandField.CFindRq, CommandField.CFindRsp, 'dicom.find', ['PatientRootFind', 'StudyRootFind']],
  get: [CommandField.CGetRq, CommandField.CGetRsp, 'dicom.retrieve', ['PatientRootGet', 'StudyRootGet']],
  move: [CommandField.CMoveRq, CommandField.CMoveRsp, 'dicom.retrieve', ['PatientRootMove', 'StudyRootMove']],
} as const satisfies Record<string, readonly [number, number, Action, readonly (keyof typeof QueryRetrieveSopClass)[]]>;

/**
 * Declares a query/retrieve service on the device's own department. Each runs
 * alongside the association's reading: a C-CANCEL may arrive between its
 * responses, and C-GET awaits the responses to its sub-operations.
 */
export function queryRetrieveService(
  name: keyof typeof QUERY_RETRIEVE,
  Operation: OperationClass,
): QueryRetrieveService {
  const [command, responseField, action, sopClasses] = QUERY_RETRIEVE[name];
  const classes = new Set<string>(sopClasses.map((c) => QueryRetrieveSopClass[c]));
  const service: QueryRetrieveService = {
    command,
    access: { action, resource: 'department' },
    sopClasses: (uid) => classes.has(uid),
    alongside: true,
    start: (scope, command, contextId) => new Operation(scope, command, contextId),
    classes,
    responseField,
  };
  return service;
}

export abstract class IdentifierMessage implements MessageHandler {
  private parts: Buffer[] = [];
  private size = 0;
  /** A C-CANCEL for this request arrived. */
  protected cancelled = false;

  protected readonly scope: AssociationScope;
  protected readonly command: Command;
  protected readonly contextId: number;
  /** The service this operation answers for (`queryRetrieveService`). */
  protected abstract readonly service: QueryRetrieveService;
  constructor(scope: AssociationScope, command: Command, contextId: number) {
    this.scope = scope;
    this.command = command;
    this.contextId = contextId;
  }

  data(chunk: Buffer) {
    this.size += chunk.length;
    if (this.size > MAX_IDENTIFIER) throw new LimitExceeded('identifier', MAX_IDENTIFIER, this.size);
    this.parts.push(chunk);
  }

  cancel() {
    this.cancelled = true;
  }

  async end() {
    // Over the limit, the association was aborted: nothing to answer.
    if (this.size > MAX_IDENTIFIER) return;
    const context = this.scope.contexts.get(this.contextId)!;
    const encoding = datasetLayout(context.transferSyntax);
    const sopClass = this.command.affectedSopClassUid ?? '';
    if (!this.service.classes.has(sopClass) || context.abstractSyntax !== sopClass)
      return this.answer(Status.SopClassNotSupported, 'SOP class not supported on this presentation context');
    if (encoding !== 'implicit-le' && encoding !== 'explicit-le')
      return this.answer(Status.CannotUnderstand, 'identifier transfer syntax not supported');
    let identifier: Dataset;
    try {
      identifier = readDataset(Buffer.concat(this.parts), encoding);
    } catch {
      return this.answer(Status.CannotUnderstand, 'identifier cannot be read');
    }
    const level = textValue(identifier, Tag.QueryRetrieveLevel);
    if (!level || !LEVELS.includes(level))
      return this.answer(Status.CannotUnderstand, 'missing or unknown QueryRetrieveLevel');
    if (level === 'PATIENT' && !PATIENT_ROOT.has(sopClass))
      return this.answer(Status.CannotUnderstand, 'PATIENT level needs Patient Root');
    return this.run(identifier, level as Level, encoding);
  }

  protected abstract run(identifier: Dataset, level: Level, encoding: 'implicit-le' | 'explicit-le'): Promise<void>;

  protected answer(status: number, comment: string, dataset?: Buffer, counts?: Partial<Command>) {
    this.scope.send(
      this.contextId,
      {
        commandField: this.service.responseField,
        hasDataset: !!dataset,
        affectedSopClassUid: this.command.affectedSopClassUid,
        messageIdBeingRespondedTo: this.command.messageId,
        status,
        ...counts,
        ...(comment ? { errorComment: comment.slice(0, 64) } : {}),
      },
      dataset,
    );
  }
}

/** The identifier's matching keys (non-empty values; sequences are not matched). */
export function queryOf(id: Dataset): StudyQuery {
  const text = (tag: number) => textValue(id, tag);
  const list = (tag: number) => {
    const v = id.get(tag)?.value;
    return Array.isArray(v) && v.length > 0 ? (v as string[]) : undefined;
  };
  return {
    patientId: text(Tag.PatientId),
    patientName: text(Tag.PatientName),
    studyUids: list(Tag.StudyInstanceUid),
    accessionNumber: text(Tag.AccessionNumber),
    studyDate: text(Tag.StudyDate),
    modality: text(Tag.Modality) ?? text(Tag.ModalitiesInStudy),
    seriesUids: list(Tag.SeriesInstanceUid),
    sopInstanceUids: list(Tag.SopInstanceUid),
  };
}
