// The shape C-FIND and C-GET (and later C-MOVE) share: a request whose
// dataset is a small identifier in one of the service's query/retrieve SOP
// classes. It is buffered (bounded), read, its level checked, and handed to
// the operation; every refusal is a DIMSE status with a comment.
import { Status, type Command } from '../dicom/command.ts';
import { LimitExceeded } from '../dicom/pdu-frame.ts';
import { readDataset } from '../dicom/dataset-reader.ts';
import { Tag } from '../dicom/tags.ts';
import { datasetLayout, QueryRetrieveSopClass } from '../dicom/uids.ts';
import { textValue, type Dataset } from '../dicom/values.ts';
import type { StudyQuery } from '../study-query.ts';
import type { Level } from '../match-attributes.ts';
import type { AssociationScope } from './association-scope.ts';
import type { MessageHandler } from './service-classes.ts';

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

export abstract class IdentifierMessage implements MessageHandler {
  private parts: Buffer[] = [];
  private size = 0;
  /** A C-CANCEL for this request arrived. */
  protected cancelled = false;

  protected readonly scope: AssociationScope;
  protected readonly command: Command;
  protected readonly contextId: number;
  private readonly sopClasses: ReadonlySet<string>;
  private readonly responseField: number;
  constructor(
    scope: AssociationScope,
    command: Command,
    contextId: number,
    sopClasses: ReadonlySet<string>,
    responseField: number,
  ) {
    this.scope = scope;
    this.command = command;
    this.contextId = contextId;
    this.sopClasses = sopClasses;
    this.responseField = responseField;
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
    if (!this.sopClasses.has(sopClass) || context.abstractSyntax !== sopClass)
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
        commandField: this.responseField,
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
