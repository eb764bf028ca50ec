// Issue 17: import — what the import of an office's existing data (CSV, XLSX) takes and answers: a job,
// its mapping of columns to fields, the dry run's and the import's outcome per row. Shared with the web.
import { z } from 'zod';

/** The person's fields a column can be mapped to. */
export const IMPORT_PERSON_FIELDS = [
  'familyName',
  'givenName',
  'birthDate',
  'sex',
  'street',
  'postalCode',
  'city',
  'country',
  'dicomPatientId',
] as const;

/** The record types a row may bring along, and the fields of each a column can fill. */
export const IMPORT_RECORD_FIELDS = {
  note: ['text'],
  'tb-screening': ['date', 'method', 'result', 'notes'],
  examination: ['date', 'reason', 'findings'],
} as const;
export type ImportRecordType = keyof typeof IMPORT_RECORD_FIELDS;

/** A column by its position (0 = the first). */
const column = z.int().min(0).max(499);

export const importMapping = z.strictObject({
  person: z
    .strictObject({
      familyName: column,
      givenName: column,
      birthDate: column,
      sex: column.optional(),
      street: column.optional(),
      postalCode: column.optional(),
      city: column.optional(),
      country: column.optional(),
      dicomPatientId: column.optional(),
    })
    .describe('Which column holds which field of the person (family name, given name and birth date are needed).'),
  record: z
    .strictObject({
      type: z.enum(Object.keys(IMPORT_RECORD_FIELDS) as [ImportRecordType, ...ImportRecordType[]]),
      fields: z.record(z.string().max(40), column),
    })
    .optional()
    .describe('One record per row of this type, its fields from these columns.'),
});
export type ImportMapping = z.infer<typeof importMapping>;

export const IMPORT_OUTCOMES = ['created', 'matched', 'refused'] as const;
export type ImportOutcome = (typeof IMPORT_OUTCOMES)[number];

/**
 * Why a row was matched or refused: `existing-person` (a file of the department with the same family
 * name, given name — Müller = Mueller — and birth date, or the same DICOM Patient ID), `earlier-row`
 * (the same person as an earlier row of the file); refusals name the field that is wrong.
 */
export const IMPORT_REASONS = [
  'existing-person',
  'earlier-row',
  'family-name-missing',
  'given-name-missing',
  'birth-date-missing',
  'birth-date-invalid',
  'birth-date-in-future',
  'sex-invalid',
  'value-too-long',
  'encoding-invalid',
  'record-date-invalid',
  'record-value-invalid',
  'record-value-missing',
  // The row failed on write and was undone alone: its matched file was merged away meanwhile, or the write refused.
  'file-merged',
  'write-failed',
] as const;
export type ImportReason = (typeof IMPORT_REASONS)[number];

const IMPORT_STATES = ['uploaded', 'checked', 'running', 'done', 'discarded'] as const;

const counts = z.strictObject({ created: z.int(), matched: z.int(), refused: z.int() });

export const importJob = z.strictObject({
  id: z.uuid(),
  departmentId: z.uuid(),
  state: z.enum(IMPORT_STATES),
  version: z.int(),
  format: z.enum(['csv', 'xlsx']),
  size: z.int(),
  /** What the CSV looked like, and what it is read as (the user may choose the other). */
  detectedEncoding: z.enum(['utf-8', 'windows-1252']).nullable(),
  encoding: z.enum(['utf-8', 'windows-1252']).nullable(),
  delimiter: z.enum([';', ',', '\t']).nullable(),
  rowCount: z.int(),
  /** Rows the import has committed. */
  position: z.int(),
  /** After the dry run: what it would do; after the import: what it did. */
  counts,
  /** The import is running in this server right now (otherwise a `running` job was interrupted: start resumes it). */
  active: z.boolean(),
  createdBy: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  finishedAt: z.string().nullable(),
});
export type ImportJob = z.infer<typeof importJob>;

/** A job with its columns, its first rows and its mapping, while the upload is kept. */
export const importJobDetail = importJob.extend({
  columns: z.array(z.string()),
  preview: z.array(z.strictObject({ rowNumber: z.int(), cells: z.array(z.string()) })),
  mapping: importMapping.nullable(),
});
export type ImportJobDetail = z.infer<typeof importJobDetail>;

export const importJobList = z.strictObject({ items: z.array(importJob) });

const importRow = z.strictObject({
  rowNumber: z.int(),
  /** What the dry run said. */
  planned: z.enum(IMPORT_OUTCOMES),
  plannedReason: z.enum(IMPORT_REASONS).nullable(),
  /** What the import did (null until it reached the row). */
  outcome: z.enum(IMPORT_OUTCOMES).nullable(),
  reason: z.enum(IMPORT_REASONS).nullable(),
  personId: z.uuid().nullable(),
  recordId: z.uuid().nullable(),
});
export type ImportRow = z.infer<typeof importRow>;
export const importRowList = z.strictObject({ items: z.array(importRow), total: z.int() });
