// Answers about persons' files and their records: lists, a file's page, records and
// their versions, shares, emergency access and its review. zod schemas the server checks
// its answers against; the browser reads their types.
import { z } from 'zod';
import { sensitivity } from './common.ts';

export const personListItem = z.strictObject({
  id: z.string(),
  departmentId: z.string(),
  familyName: z.string(),
  givenName: z.string(),
  birthDate: z.string(),
});

const address = z.strictObject({
  street: z.string().optional(),
  postalCode: z.string().optional(),
  city: z.string().optional(),
  country: z.string().optional(),
});

export const person = z.strictObject({
  ...personListItem.shape,
  sex: z.enum(['female', 'male', 'diverse', 'unknown']).optional(),
  address: address.optional(),
  /** The DICOM Patient ID the department's devices send for this person: studies with it link to this file. */
  dicomPatientId: z.string().optional(),
  version: z.number(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

/** A person's file as its page shows it: with what the caller may do to it, as the policy decides. */
export const personFileView = z.strictObject({
  ...person.shape,
  /** What the policy allows the caller here, so that a screen offers only that. */
  permissions: z.strictObject({
    update: z.boolean(),
    createRecord: z.boolean(),
    createRestrictedRecord: z.boolean(),
    readRestricted: z.boolean(),
    share: z.boolean(),
    accessLog: z.boolean(),
  }),
  /** The caller's own running emergency access to this file (the server's word, so it survives a reload). */
  emergencyAccess: z.strictObject({ expiresAt: z.string() }).nullable(),
  /** For a member of the owning department who may not share: the heads who may. */
  shareAskHeads: z.array(z.string()).optional(),
});

const recordSummaryShape = {
  id: z.string(),
  personId: z.string(),
  type: z.string(),
  sensitivity,
  version: z.number(),
  createdAt: z.string(),
  createdBy: z.string(),
  updatedAt: z.string(),
};

/** A record as a file's list shows it (a page of them, newest first). */
export const recordListItem = z.strictObject({
  ...recordSummaryShape,
  createdByName: z.string().nullable(),
  updatedBy: z.string(),
  updatedByName: z.string().nullable(),
  /** Title or first line; null where the caller may not read the record. */
  title: z.string().nullable(),
});

const recordContent = z.record(z.string(), z.unknown());

export const recordView = z.strictObject({
  ...recordSummaryShape,
  content: recordContent,
  /** `restrict`: may mark this record restricted. */
  permissions: z.strictObject({ update: z.boolean(), restrict: z.boolean(), delete: z.boolean() }),
});

/** A record written on top of a known version: its new version. */
export const recordUpdated = z.strictObject({ id: z.string(), version: z.number() });

/** What a version answers besides its content or changes: its number, label and who made it when. */
const versionHead = {
  version: z.number(),
  sensitivity,
  createdAt: z.string(),
  createdBy: z.string(),
  createdByName: z.string().nullable(),
};

export const recordVersion = z.strictObject({
  ...versionHead,
  /** Fields changed against the version before ([] for the first; null where either is not the caller's to read). */
  changes: z.array(z.string()).nullable(),
});

/** One version's content (`GET /api/records/:id/versions/:version`). */
export const recordVersionContent = z.strictObject({
  ...versionHead,
  content: recordContent,
});

export const share = z.strictObject({
  id: z.string(),
  departmentId: z.string(),
  purpose: z.string(),
  until: z.string(),
  createdAt: z.string(),
});

/** A running emergency access: until when. From an emergency search's hit, the file it opened. */
export const breakGlassOpened = z.strictObject({ expiresAt: z.string() });
export const hitOpened = z.strictObject({ personId: z.string(), expiresAt: z.string() });

/** An emergency access waiting for review: a file opened by breaking the glass, or an emergency search. */
export const reviewItem = z.strictObject({
  id: z.string(),
  kind: z.enum(['break-glass', 'emergency-search']),
  /** The file opened (break-glass); null for a search. */
  personId: z.string().nullable(),
  /** The owning department of the file opened (break-glass); null for a search. */
  departmentId: z.string().nullable(),
  userId: z.string(),
  userName: z.string().nullable(),
  reason: z.string(),
  createdAt: z.string(),
  /** When the grant (or the search's hit handles) ends or ended. */
  expiresAt: z.string(),
  /** When a head or the DPO ended the grant early (break-glass), else null. */
  revokedAt: z.string().nullable(),
  /** Search only: how many files it showed, and which. */
  results: z.number().optional(),
  shownPersonIds: z.array(z.string()).optional(),
  /** Decided ones (`GET /api/reviews?state=decided`): the decision, who made it, when, and the comment. */
  decision: z.enum(['justified', 'unjustified']).optional(),
  reviewedBy: z.string().nullable().optional(),
  reviewedByName: z.string().nullable().optional(),
  reviewedAt: z.string().nullable().optional(),
  comment: z.string().nullable().optional(),
});

/** A review decided; an unjustified access still running ends with it (`endedAt`). */
export const reviewDecided = z.strictObject({
  id: z.string(),
  decision: z.enum(['justified', 'unjustified']),
  reviewedAt: z.string(),
  endedAt: z.string().optional(),
});

/**
 * One file an emergency search found (src/records/emergency-search.ts says why this and
 * no more): an opaque handle that breaks the glass for this caller only, for a few minutes;
 * the given name's first letter, to tell two hits apart; whether the family name matched
 * as typed or only as it sounds.
 */
const emergencyHit = z.strictObject({
  handle: z.string(),
  givenNameInitial: z.string(),
  match: z.enum(['exact', 'phonetic']),
});

/** The answer of an emergency search. */
export const emergencySearchAnswer = z.strictObject({
  /** The search's review id (it waits for the DPO's review). */
  searchId: z.string(),
  hits: z.array(emergencyHit),
  /** Until then the handles break the glass. */
  handlesExpireAt: z.string(),
  /** Emergency searches the caller has left in this hour. */
  searchesLeft: z.number(),
});

export const restrictedListing = z.strictObject({ restrictedListing: z.enum(['shown', 'hidden']) });

export type PersonListItem = z.infer<typeof personListItem>;
export type Address = z.infer<typeof address>;
export type Person = z.infer<typeof person>;
export type PersonFileView = z.infer<typeof personFileView>;
export type RecordListItem = z.infer<typeof recordListItem>;
export type RecordView = z.infer<typeof recordView>;
export type RecordVersion = z.infer<typeof recordVersion>;
export type RecordVersionContent = z.infer<typeof recordVersionContent>;
export type Share = z.infer<typeof share>;
export type ReviewItem = z.infer<typeof reviewItem>;
export type EmergencySearchAnswer = z.infer<typeof emergencySearchAnswer>;
