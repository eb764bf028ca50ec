// Answers about a department's outbreaks and its numbers (issue 16): the list, one outbreak with
// its timeline and cases, and cases per disease, reporting week, status and outbreak. zod schemas
// the server checks its answers against; the browser reads their types. Imports only zod.
import { z } from 'zod';

export const OUTBREAK_SETTINGS = [
  'school',
  'daycare',
  'nursing-home',
  'hospital-ward',
  'event',
  'household',
  'workplace',
  'community-facility',
  'other',
] as const;
export const OUTBREAK_STATES = ['open', 'closed'] as const;
export const CASE_STATUSES = ['suspected', 'probable', 'confirmed', 'not-a-case'] as const;

/** Live cases by status (deleted cases are not counted; restricted ones are: a count names nobody). */
const statusCounts = z.strictObject({
  suspected: z.number(),
  probable: z.number(),
  confirmed: z.number(),
  'not-a-case': z.number(),
});

const outbreakFacts = {
  id: z.string(),
  departmentId: z.string(),
  version: z.number(),
  name: z.string(),
  setting: z.enum(OUTBREAK_SETTINGS),
  periodFrom: z.string(),
  periodUntil: z.string().nullable(),
  state: z.enum(OUTBREAK_STATES),
  createdAt: z.string(),
  updatedAt: z.string(),
};

const outbreakListItem = z.strictObject({
  ...outbreakFacts,
  counts: statusCounts,
  /** All live cases, whatever their status. */
  cases: z.number(),
});

export const outbreakList = z.strictObject({ items: z.array(outbreakListItem) });

const timelineEntry = z.strictObject({
  id: z.string(),
  day: z.string(),
  text: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
  createdByName: z.string().nullable(),
});

const outbreakCase = z.strictObject({
  /** The case's record id. */
  id: z.string(),
  personId: z.string(),
  familyName: z.string(),
  givenName: z.string(),
  birthDate: z.string(),
  status: z.enum(CASE_STATUSES),
  sensitivity: z.enum(['normal', 'restricted']),
  notifiedOn: z.string(),
  reportingWeek: z.string(),
  /** The case record's version (what removing it from the outbreak builds on). */
  version: z.number(),
  onset: z.string().nullable(),
  disease: z.strictObject({ system: z.string().optional(), code: z.string(), display: z.string().optional() }),
});

// Issue 16: seams
/** A contact person of one of the outbreak's cases (its record of type `ifsg-contact`). */
const outbreakContact = z.strictObject({
  /** The contact's record id. */
  id: z.string(),
  personId: z.string(),
  familyName: z.string(),
  givenName: z.string(),
  birthDate: z.string(),
  /** The index case (one of the outbreak's cases). */
  caseId: z.string(),
  state: z.enum(['active', 'ended', 'converted']),
  sensitivity: z.enum(['normal', 'restricted']),
  lastExposure: z.string(),
  followUpUntil: z.string(),
});

const dateSpan = z.strictObject({ first: z.string().nullable(), last: z.string().nullable() });

export const outbreakView = z.strictObject({
  ...outbreakFacts,
  description: z.string().nullable(),
  createdBy: z.string(),
  updatedBy: z.string(),
  counts: statusCounts,
  cases: z.number(),
  timeline: z.array(timelineEntry),
  /** The cases the caller may read, newest notification first (at most 500). */
  caseList: z.array(outbreakCase),
  /** Live cases not in `caseList`: restricted ones the caller may not read, and any beyond 500. */
  casesNotListed: z.number(),
  /** Dates of notification over all live cases. */
  notified: dateSpan,
  /** Dates of onset over the listed cases (onset is inside the case record, read only where listed). */
  onset: dateSpan,
  // Issue 16: seams
  /** Live contacts of the outbreak's live cases by state (restricted ones too: counted, never named). */
  contactCounts: z.strictObject({ active: z.number(), ended: z.number(), converted: z.number() }),
  /** The contacts the caller may read, the latest exposure first (at most 500). */
  contactList: z.array(outbreakContact),
  /** Contacts not in `contactList`: restricted ones the caller may not read, and any beyond 500. */
  contactsNotListed: z.number(),
});

export const outbreakCaseChanged = z.strictObject({
  caseId: z.string(),
  /** The case record's version now (unchanged when it already was, or was not, in the outbreak). */
  caseVersion: z.number(),
  outbreakId: z.string().nullable(),
});

const weekCounts = z.array(z.number());

export const departmentNumbers = z.strictObject({
  from: z.string(),
  to: z.string(),
  /** Every reporting week (ISO week, `2026-W49`) from `from` to `to`; each `counts` array follows it. */
  weeks: z.array(z.string()),
  /** Cases per disease and week, without those found to be no case ("not-a-case", counted apart). */
  diseases: z.array(
    z.strictObject({
      disease: z.strictObject({ system: z.string().optional(), code: z.string(), display: z.string().optional() }),
      counts: weekCounts,
      total: z.number(),
      notACase: z.number(),
    }),
  ),
  weekTotals: weekCounts,
  total: z.number(),
  notACase: z.number(),
  /** Every status, "not-a-case" included. */
  byStatus: z.array(z.strictObject({ status: z.enum(CASE_STATUSES), counts: weekCounts, total: z.number() })),
  /** Cases (without "not-a-case") per outbreak with any in the range; outbreakId null: in none. */
  byOutbreak: z.array(
    z.strictObject({
      outbreakId: z.string().nullable(),
      name: z.string().nullable(),
      counts: weekCounts,
      total: z.number(),
    }),
  ),
});

export type OutbreakListItem = z.infer<typeof outbreakListItem>;
export type OutbreakView = z.infer<typeof outbreakView>;
export type DepartmentNumbers = z.infer<typeof departmentNumbers>;
export type OutbreakSetting = (typeof OUTBREAK_SETTINGS)[number];
