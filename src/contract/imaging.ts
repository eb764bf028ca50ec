// Answers about images and devices outside DICOMweb: a file's studies, unassigned
// studies, the viewer's banner, linking, and the registered DICOM devices.
// zod schemas the server checks its answers against; the browser reads their types.
import { z } from 'zod';
import { department } from './common.ts';

const studySummaryShape = {
  studyUid: z.string(),
  studyDate: z.string().nullable(),
  description: z.string().nullable(),
  modalities: z.array(z.string()),
  seriesCount: z.number(),
  instanceCount: z.number(),
  /** What the viewer shows first: the lowest-numbered series' lowest-numbered image. */
  firstImage: z.strictObject({ seriesUid: z.string(), sopInstanceUid: z.string() }).nullable(),
};

export const studySummary = z.strictObject({
  ...studySummaryShape,
  /** Whether the caller may take the study off the file again (a physician of its department). */
  unlink: z.boolean().optional(),
});

/** The patient as a study's DICOM header names them (not a file's data). */
const studyPatient = z.strictObject({
  familyName: z.string(),
  givenName: z.string(),
  birthDate: z.string().nullable(),
  patientId: z.string(),
});

/** A study of a department linked to no file yet (GET /api/departments/:id/unassigned-studies). */
export const unassignedStudy = z.strictObject({ ...studySummaryShape, patient: studyPatient });

/** Whose study it is, for the viewer's banner (GET /api/studies/:uid): the linked file's person, else the header's. */
export const studyBanner = z.strictObject({
  studyUid: z.string(),
  studyDate: z.string().nullable(),
  studyTime: z.string().nullable(),
  description: z.string(),
  modalities: z.array(z.string()),
  department,
  /** Linked to a file; `person` is that file's person (null where the caller may not read the file, e.g. a DICOMweb token). */
  linked: z.boolean(),
  person: z
    .strictObject({ id: z.string(), familyName: z.string(), givenName: z.string(), birthDate: z.string() })
    .nullable(),
  patient: studyPatient,
});

export const studyLinked = z.strictObject({ studyUid: z.string(), personId: z.string() });

export const device = z.strictObject({
  id: z.string(),
  aeTitle: z.string(),
  departmentId: z.string(),
  permissions: z.array(z.enum(['store', 'find', 'retrieve'])),
  certificate: z.strictObject({ fingerprint256: z.string(), subject: z.string(), validTo: z.string() }).nullable(),
  host: z.string().nullable(),
  port: z.number().nullable(),
  createdAt: z.string(),
});

export type StudySummary = z.infer<typeof studySummary>;
export type UnassignedStudy = z.infer<typeof unassignedStudy>;
export type StudyBannerView = z.infer<typeof studyBanner>;
export type Device = z.infer<typeof device>;
