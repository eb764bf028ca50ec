// The §11 IfSG transmission (issue 16): the pseudonymised case data a health office sends to the
// state authority (and on to the RKI), and the answers of its routes. The payload schema is the
// server's judge before anything is sealed and offered for download; docs/transmission-11.schema.json
// is the same format for the recipient, and docs/transmission-11.md says why each field may leave.
// Free of Node code: the web application imports this module too.
import { z } from 'zod';

const isoDate = z.iso.date();
const uuid = z.uuid();

/** The Amtlicher Gemeindeschlüssel of the office's district (Kreis): 5 digits, or 8 (with the municipality). */
export const AGS_PATTERN = /^(\d{5}|\d{8})$/;

/** A coded value as the DEMIS code systems give it: no free text beyond the code's display. */
const coded = z.strictObject({
  system: z.string().max(300).nullable(),
  code: z.string().min(1).max(64),
  display: z.string().max(300).nullable(),
});

/** What the case data of a new or changed case holds: exactly these keys, every one always present. */
export const TRANSMITTED_CASE_KEYS = [
  'change',
  'caseId',
  'version',
  'districtCode',
  'sex',
  'birthMonth',
  'disease',
  'pathogen',
  'category',
  'status',
  'onset',
  'diagnosedOn',
  'notifiedOn',
  'reportingWeek',
  'hospitalised',
  'hospitalisedFrom',
  'died',
  'diedOn',
  'outbreakId',
] as const;

/** A withdrawn case carries only what names it and why it went. */
export const WITHDRAWN_CASE_KEYS = ['change', 'caseId', 'version', 'withdrawal'] as const;

const reportedCase = z.strictObject({
  /** `new`: the recipient has not got it (or it was withdrawn and is a case again); `changed`: it changed since it was sent. */
  change: z.enum(['new', 'changed']),
  /** The office's own case id: the id of the case record, random, derived from nothing about the person. */
  caseId: uuid,
  /** The case's revision in the files: 1 when first sent, one more with every later entry for it (no gaps). */
  version: z.number().int().positive(),
  districtCode: z.string().regex(AGS_PATTERN),
  sex: z.enum(['female', 'male', 'diverse', 'unknown']),
  /** Month and year of birth, `1961-04`: never the day. */
  birthMonth: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/),
  disease: coded,
  pathogen: coded.nullable(),
  category: z.enum(['A', 'B', 'C', 'D', 'E']).nullable(),
  status: z.enum(['suspected', 'probable', 'confirmed']),
  onset: isoDate.nullable(),
  diagnosedOn: isoDate.nullable(),
  notifiedOn: isoDate,
  /** The reporting week (Meldewoche), ISO 8601: `2026-W49`. */
  reportingWeek: z.string().regex(/^\d{4}-W(0[1-9]|[1-4]\d|5[0-3])$/),
  hospitalised: z.boolean().nullable(),
  hospitalisedFrom: isoDate.nullable(),
  died: z.boolean().nullable(),
  diedOn: isoDate.nullable(),
  /** The outbreak's id in the office: a pseudonym, the same for every case of that outbreak. */
  outbreakId: uuid.nullable(),
});

const withdrawnCase = z.strictObject({
  change: z.literal('withdrawn'),
  caseId: uuid,
  version: z.number().int().positive(),
  /** `not-a-case`: the office found it is none; `deleted`: the case record was deleted (e.g. entered twice). */
  withdrawal: z.enum(['not-a-case', 'deleted']),
});

const transmittedCase = z.discriminatedUnion('change', [reportedCase, withdrawnCase]);
export type TransmittedCase = z.infer<typeof transmittedCase>;

/** One transmission as a file: what the office sends, the same bytes at every download. */
export const transmissionPayload = z.strictObject({
  format: z.literal('kartei-ifsg-11'),
  formatVersion: z.literal(1),
  transmissionId: uuid,
  /** 1, 2, 3 … per department: a gap or a repeat tells the recipient that a file is missing or doubled. */
  sequence: z.number().int().positive(),
  previousTransmissionId: uuid.nullable(),
  createdAt: z.iso.datetime(),
  /** The sending health office's district (AGS). */
  districtCode: z.string().regex(AGS_PATTERN),
  /** The recipient as the office names it (its state authority). */
  recipient: z.string().min(1).max(200),
  counts: z.strictObject({
    new: z.number().int().nonnegative(),
    changed: z.number().int().nonnegative(),
    withdrawn: z.number().int().nonnegative(),
  }),
  cases: z.array(transmittedCase),
});
export type TransmissionPayload = z.infer<typeof transmissionPayload>;

/** A department's transmission settings; `version` 0 while none are saved. */
export const transmissionSettings = z.strictObject({
  districtCode: z.string().nullable(),
  recipient: z.string().nullable(),
  version: z.number().int().nonnegative(),
  updatedAt: z.string().nullable(),
});

const counts = z.strictObject({
  new: z.number().int().nonnegative(),
  changed: z.number().int().nonnegative(),
  withdrawn: z.number().int().nonnegative(),
});

/** What the next transmission would contain. */
export const transmissionPreview = z.strictObject({
  counts,
  /** Whether the settings (district code, recipient) are saved, without which nothing can be sent. */
  configured: z.boolean(),
  lastTransmission: z.strictObject({ id: z.string(), sequence: z.number(), createdAt: z.string() }).nullable(),
});

const transmissionListItem = z.strictObject({
  id: z.string(),
  sequence: z.number(),
  createdAt: z.string(),
  createdBy: z.string(),
  createdByName: z.string().nullable(),
  counts,
  /** SHA-256 of the file's bytes (hex): what a download must match. */
  sha256: z.string(),
});

export const transmissionList = z.strictObject({ items: z.array(transmissionListItem) });
export const transmissionCreated = transmissionListItem;

export type TransmissionSettings = z.infer<typeof transmissionSettings>;
export type TransmissionPreview = z.infer<typeof transmissionPreview>;
export type TransmissionListItem = z.infer<typeof transmissionListItem>;
