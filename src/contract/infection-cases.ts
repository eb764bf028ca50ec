// Answers about IfSG cases and their contacts (issue 16): a department's case list, a case's
// contacts, the follow-up worklist and a contact's follow-up entries. zod schemas the server checks
// its answers against; the browser reads their types. Free of Node code.
import { z } from 'zod';
import { sensitivity } from './common.ts';

const coded = z.strictObject({ system: z.string().optional(), code: z.string(), display: z.string().optional() });

/** Who a row is about, decrypted for the page only. */
const personShape = {
  personId: z.string(),
  familyName: z.string(),
  givenName: z.string(),
  birthDate: z.string(),
};

/** One case of a department's list. */
export const caseListItem = z.strictObject({
  recordId: z.string(),
  ...personShape,
  disease: coded,
  status: z.enum(['suspected', 'probable', 'confirmed', 'not-a-case']),
  category: z.string().nullable(),
  sensitivity,
  notifiedOn: z.string(),
  reportingWeek: z.string(),
  outbreakId: z.string().nullable(),
  /** The latest end of the measures still running (isolation…); null when none runs or none has an end. */
  measuresUntil: z.string().nullable(),
  /** How many measures are still running. */
  openMeasures: z.number(),
});

/** A contact of a case, as the case screen lists it. */
const contactItem = z.strictObject({
  recordId: z.string(),
  ...personShape,
  version: z.number(),
  sensitivity,
  category: z.enum(['close', 'other']),
  setting: z.string().optional(),
  lastExposure: z.string(),
  followUpUntil: z.string(),
  measure: z
    .strictObject({ kind: z.enum(['quarantine', 'observation']), until: z.string().optional(), legalBasis: z.string() })
    .optional(),
  state: z.enum(['active', 'ended', 'converted']),
  convertedCaseId: z.string().optional(),
  notes: z.string().optional(),
  /** The day of the latest follow-up entry, if any. */
  lastFollowUp: z.string().nullable(),
});

/** A case's contacts, and the days of follow-up its disease implies (what a new contact's end is prefilled with). */
export const caseContacts = z.strictObject({
  followUpDays: z.number(),
  contacts: z.array(contactItem),
});

export const contactCreated = z.strictObject({ id: z.string(), personId: z.string(), followUpUntil: z.string() });

/** One row of the follow-up worklist. */
export const followUpDue = z.strictObject({
  contactRecordId: z.string(),
  ...personShape,
  caseRecordId: z.string(),
  lastExposure: z.string(),
  followUpUntil: z.string(),
  /** The day of the latest entry, if any. */
  lastEntryDay: z.string().nullable(),
  /** Days of the period up to yesterday without an entry since the latest one (0 when due today only). */
  daysMissed: z.number(),
  /** Which day of the follow-up period the asked-for day is (1 = the day after the exposure). */
  dayOfPeriod: z.number(),
  periodDays: z.number(),
});

/** One follow-up entry of a contact (newest first). */
export const followUpEntry = z.strictObject({
  id: z.string(),
  day: z.string(),
  byUser: z.string(),
  byName: z.string().nullable(),
  createdAt: z.string(),
  symptoms: z.boolean(),
  which: z.string().optional(),
  reached: z.enum(['phone', 'in-person', 'message']),
  note: z.string().optional(),
});

export const followUpRecorded = z.strictObject({ id: z.string(), day: z.string() });

export const contactConverted = z.strictObject({
  caseRecordId: z.string(),
  /** False when the person already had a case of that disease, which the contact now points to. */
  created: z.boolean(),
});

export type CaseListItem = z.infer<typeof caseListItem>;
export type ContactItem = z.infer<typeof contactItem>;
export type CaseContacts = z.infer<typeof caseContacts>;
export type FollowUpDue = z.infer<typeof followUpDue>;
export type ContactConverted = z.infer<typeof contactConverted>;
