// The attributes a match returns at each query level (PS3.4 C.6 and the
// QIDO-RS defaults of PS3.18 10.6.3), shared by C-FIND and QIDO-RS.
import type { WriteValue } from './dicom/dataset-writer.ts';
import { Tag } from './dicom/tags.ts';
import type { InstanceMatch, SeriesMatch, StudyMatch } from './study-query.ts';

export type Values = Map<number, WriteValue>;
export type Level = 'PATIENT' | 'STUDY' | 'SERIES' | 'IMAGE';

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

export async function valuesAt(
  level: Level,
  studies: StudyMatch[],
  series: (s: StudyMatch[]) => Promise<SeriesMatch[]>,
  instances: (s: SeriesMatch[]) => Promise<InstanceMatch[]>,
): Promise<Values[]> {
  switch (level) {
    case 'PATIENT': {
      const byPatient = new Map<string, StudyMatch[]>();
      for (const s of studies) byPatient.set(s.patient.id, [...(byPatient.get(s.patient.id) ?? []), s]);
      return [...byPatient.values()].map(
        (group) => new Map([...patientValues(group[0]!), [Tag.NumberOfPatientRelatedStudies, group.length]]),
      );
    }
    case 'STUDY':
      return studies.map(studyValues);
    case 'SERIES':
      return (await series(studies)).map(seriesValues);
    case 'IMAGE':
      return (await instances(await series(studies))).map(instanceValues);
  }
}
