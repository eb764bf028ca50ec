// C-FIND at patient, study, series and image level (Patient Root and Study
// Root), confined to the device's department: the identifier's keys select,
// its empty keys ask for values; each match is one pending response. The
// query is audited with its match count, and each person's file it showed
// gets an event of its own for the access report.
import { KarteiError } from '../../errors.ts';
import { CommandField, Status, type Command } from '../dicom/command.ts';
import { writeDataset, type WriteElement, type WriteValue } from '../dicom/dataset-writer.ts';
import { SPECIFIC_CHARACTER_SET } from '../dicom/element-header.ts';
import { Tag, vrOf } from '../dicom/tags.ts';
import { QueryRetrieveSopClass } from '../dicom/uids.ts';
import type { Dataset } from '../dicom/values.ts';
import { findInstances, findSeries, findStudies, type InstanceMatch, type SeriesMatch, type StudyMatch } from '../study-query.ts';
import { gatedService, type DimseService } from './services.ts';
import { IdentifierMessage, queryOf, type Level } from './identifier-message.ts';
import type { AssociationScope } from './association-scope.ts';

const FIND_CLASSES = new Set<string>([QueryRetrieveSopClass.PatientRootFind, QueryRetrieveSopClass.StudyRootFind]);
/** Matches beyond this are not sent; the answer says so. */
export const MAX_MATCHES = 5_000;

type Values = Map<number, WriteValue>;

export const cFind: DimseService = {
  command: CommandField.CFindRq,
  access: { action: 'dicom.find', resource: 'department' },
  sopClasses: (uid) => FIND_CLASSES.has(uid),
  start: (scope, command, contextId) => new FindOperation(scope, command, contextId),
};

class FindOperation extends IdentifierMessage {
  constructor(scope: AssociationScope, command: Command, contextId: number) {
    super(scope, command, contextId, FIND_CLASSES, CommandField.CFindRsp);
  }

  protected async run(identifier: Dataset, level: Level, encoding: 'implicit-le' | 'explicit-le') {
    let results: Values[];
    try {
      results = await gatedService(this.scope, cFind, async (ctx) => {
        const { tenantId, device } = { tenantId: ctx.principal.tenantId, device: ctx.principal.device! };
        const { keyring } = this.scope.services;
        const q = queryOf(identifier);
        const studies = await findStudies(ctx.tx, keyring, tenantId, device.departmentId, q, MAX_MATCHES);
        const found = await valuesAt(level, studies, (s) => findSeries(ctx.tx, keyring, tenantId, device.departmentId, s, q), (s) => findInstances(ctx.tx, s, q));
        ctx.audit.detail = { level, matches: found.length };
        ctx.audit.hits = linkedFiles(studies, device.departmentId);
        return found.slice(0, MAX_MATCHES);
      });
    } catch (e) {
      return this.answer(refusalStatus(e), 'query refused or failed');
    }
    const requested = [...identifier.keys()].filter((t) => t !== SPECIFIC_CHARACTER_SET && t !== Tag.QueryRetrieveLevel);
    for (const values of results) {
      const elements: WriteElement[] = [{ tag: Tag.QueryRetrieveLevel, vr: 'CS', value: level }];
      for (const tag of requested) elements.push({ tag, vr: identifier.get(tag)!.vr === 'UN' ? (vrOf(tag) ?? 'UN') : identifier.get(tag)!.vr, value: values.get(tag) ?? null });
      this.answer(Status.Pending, '', writeDataset(elements, { encoding }));
    }
    this.answer(Status.Success, '');
  }
}

/** The persons' files a query or retrieval showed, each audited on its own for the access report. */
export const linkedFiles = (studies: StudyMatch[], departmentId: string) =>
  [...new Set(studies.flatMap((s) => (s.personId ? [s.personId] : [])))].map((personId) => ({ personId, departmentId }));

/** A denial by the gate is "not authorized"; anything else a processing failure. */
export const refusalStatus = (e: unknown) => (e instanceof KarteiError && (e.code === 'forbidden' || e.code === 'not-found') ? Status.NotAuthorized : Status.UnableToProcess);

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
