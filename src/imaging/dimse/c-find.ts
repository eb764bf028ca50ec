// C-FIND at patient, study, series and image level (Patient Root and Study
// Root), confined to the device's department: the identifier's keys select,
// its empty keys ask for values; each match is one pending response. The
// query is audited with its match count, and each person's file it showed
// gets an event of its own for the access report.
import { KarteiError } from '../../errors.ts';
import { CommandField, Status, type Command } from '../dicom/command.ts';
import { readDataset } from '../dicom/dataset-reader.ts';
import { writeDataset, type WriteElement, type WriteValue } from '../dicom/dataset-writer.ts';
import { SPECIFIC_CHARACTER_SET } from '../dicom/element-header.ts';
import { Tag, vrOf } from '../dicom/tags.ts';
import { datasetLayout, QueryRetrieveSopClass } from '../dicom/uids.ts';
import { textValue, type Dataset } from '../dicom/values.ts';
import { findInstances, findSeries, findStudies, type InstanceMatch, type SeriesMatch, type StudyMatch, type StudyQuery } from '../study-query.ts';
import { gatedService, type DimseService, type MessageHandler } from './services.ts';
import type { AssociationScope } from './association-scope.ts';

const FIND_CLASSES = new Set<string>([QueryRetrieveSopClass.PatientRootFind, QueryRetrieveSopClass.StudyRootFind]);
/** Identifiers are a few hundred bytes; this bounds what a query may make us buffer. */
const MAX_IDENTIFIER = 64 * 1024;
/** Matches beyond this are not sent; the answer says so. */
export const MAX_MATCHES = 5_000;

type Level = 'PATIENT' | 'STUDY' | 'SERIES' | 'IMAGE';
type Values = Map<number, WriteValue>;

export const cFind: DimseService = {
  command: CommandField.CFindRq,
  access: { action: 'dicom.find', resource: 'department' },
  sopClasses: (uid) => FIND_CLASSES.has(uid),
  start: (scope, command, contextId) => new FindOperation(scope, command, contextId),
};

class FindOperation implements MessageHandler {
  private parts: Buffer[] = [];
  private size = 0;

  constructor(
    private readonly scope: AssociationScope,
    private readonly command: Command,
    private readonly contextId: number,
  ) {}

  data(chunk: Buffer) {
    this.size += chunk.length;
    if (this.size <= MAX_IDENTIFIER) this.parts.push(chunk);
  }

  async end() {
    const context = this.scope.contexts.get(this.contextId)!;
    const encoding = datasetLayout(context.transferSyntax);
    if (!FIND_CLASSES.has(this.command.affectedSopClassUid ?? '') || context.abstractSyntax !== this.command.affectedSopClassUid) {
      return this.answer(Status.SopClassNotSupported, 'SOP class not supported on this presentation context');
    }
    if (this.size > MAX_IDENTIFIER || (encoding !== 'implicit-le' && encoding !== 'explicit-le')) return this.answer(Status.OutOfResources, 'identifier too large');
    let identifier: Dataset;
    try {
      identifier = readDataset(Buffer.concat(this.parts), encoding);
    } catch {
      return this.answer(Status.CannotUnderstand, 'identifier cannot be read');
    }
    const level = textValue(identifier, Tag.QueryRetrieveLevel) as Level | undefined;
    if (!level || !['PATIENT', 'STUDY', 'SERIES', 'IMAGE'].includes(level)) return this.answer(Status.CannotUnderstand, 'missing or unknown QueryRetrieveLevel');
    if (level === 'PATIENT' && this.command.affectedSopClassUid !== QueryRetrieveSopClass.PatientRootFind) return this.answer(Status.CannotUnderstand, 'PATIENT level needs Patient Root');

    let results: Values[];
    try {
      results = await gatedService(this.scope, cFind, async (ctx) => {
        const { tenantId, device } = { tenantId: ctx.principal.tenantId, device: ctx.principal.device! };
        const { keyring } = this.scope.services;
        const q = queryOf(identifier);
        const studies = await findStudies(ctx.tx, keyring, tenantId, device.departmentId, q, MAX_MATCHES);
        const found = await valuesAt(level, studies, (s) => findSeries(ctx.tx, keyring, tenantId, device.departmentId, s, q), (s) => findInstances(ctx.tx, s, q));
        ctx.audit.detail = { level, matches: found.length };
        ctx.audit.hits = [...new Set(studies.flatMap((s) => (s.personId ? [s.personId] : [])))].map((personId) => ({ personId, departmentId: device.departmentId }));
        return found.slice(0, MAX_MATCHES);
      });
    } catch (e) {
      if (e instanceof KarteiError && (e.code === 'forbidden' || e.code === 'not-found')) return this.answer(Status.NotAuthorized, 'this device may not query');
      return this.answer(Status.UnableToProcess, 'query failed');
    }
    const requested = [...identifier.keys()].filter((t) => t !== SPECIFIC_CHARACTER_SET && t !== Tag.QueryRetrieveLevel);
    for (const values of results) {
      const elements: WriteElement[] = [{ tag: Tag.QueryRetrieveLevel, vr: 'CS', value: level }];
      for (const tag of requested) elements.push({ tag, vr: identifier.get(tag)!.vr === 'UN' ? (vrOf(tag) ?? 'UN') : identifier.get(tag)!.vr, value: values.get(tag) ?? null });
      this.answer(Status.Pending, '', writeDataset(elements, { encoding }));
    }
    this.answer(Status.Success, '');
  }

  private answer(status: number, comment: string, dataset?: Buffer) {
    this.scope.send(
      this.contextId,
      {
        commandField: CommandField.CFindRsp,
        hasDataset: !!dataset,
        affectedSopClassUid: this.command.affectedSopClassUid,
        messageIdBeingRespondedTo: this.command.messageId,
        status,
        ...(comment ? { errorComment: comment.slice(0, 64) } : {}),
      },
      dataset,
    );
  }
}

/** The identifier's matching keys (non-empty values; sequences are not matched). */
function queryOf(id: Dataset): StudyQuery {
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

const patientValues = (s: StudyMatch): Values =>
  new Map<number, WriteValue>([
    [Tag.PatientName, s.patient.name],
    [Tag.PatientId, s.patient.id],
    [Tag.PatientBirthDate, s.patient.birthDate],
    [Tag.PatientSex, s.patient.sex],
  ]);

const studyValues = (s: StudyMatch): Values =>
  new Map<number, WriteValue>([
    ...patientValues(s),
    [Tag.StudyInstanceUid, s.studyUid],
    [Tag.StudyDate, s.studyDate ?? ''],
    [Tag.StudyTime, s.studyTime ?? ''],
    [Tag.AccessionNumber, s.study.accessionNumber],
    [Tag.StudyId, s.study.studyId],
    [Tag.StudyDescription, s.study.description],
    [Tag.ReferringPhysicianName, s.study.referringPhysicianName],
    [Tag.ModalitiesInStudy, s.modalities],
    [Tag.NumberOfStudyRelatedSeries, s.seriesCount],
    [Tag.NumberOfStudyRelatedInstances, s.instanceCount],
  ]);

const seriesValues = (s: SeriesMatch): Values =>
  new Map<number, WriteValue>([
    ...studyValues(s.study),
    [Tag.SeriesInstanceUid, s.seriesUid],
    [Tag.Modality, s.modality ?? ''],
    [Tag.SeriesNumber, s.seriesNumber ?? null],
    [Tag.SeriesDescription, s.description],
    [Tag.BodyPartExamined, s.bodyPart],
    [Tag.NumberOfSeriesRelatedInstances, s.instanceCount],
  ]);

const instanceValues = (i: InstanceMatch): Values =>
  new Map<number, WriteValue>([
    ...seriesValues(i.series),
    [Tag.SopInstanceUid, i.sopInstanceUid],
    [Tag.SopClassUid, i.sopClassUid],
    [Tag.InstanceNumber, i.instanceNumber ?? null],
    [Tag.Rows, i.rows ?? null],
    [Tag.Columns, i.columns ?? null],
    [Tag.NumberOfFrames, i.frames ?? null],
  ]);

async function valuesAt(
  level: Level,
  studies: StudyMatch[],
  series: (s: StudyMatch[]) => Promise<SeriesMatch[]>,
  instances: (s: SeriesMatch[]) => Promise<InstanceMatch[]>,
): Promise<Values[]> {
  switch (level) {
    case 'PATIENT': {
      const byPatient = new Map<string, StudyMatch[]>();
      for (const s of studies) byPatient.set(s.patient.id, [...(byPatient.get(s.patient.id) ?? []), s]);
      return [...byPatient.values()].map((group) => new Map([...patientValues(group[0]!), [Tag.NumberOfPatientRelatedStudies, group.length]]));
    }
    case 'STUDY':
      return studies.map(studyValues);
    case 'SERIES':
      return (await series(studies)).map(seriesValues);
    case 'IMAGE':
      return (await instances(await series(studies))).map(instanceValues);
  }
}
