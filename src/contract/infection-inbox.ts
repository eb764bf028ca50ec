// Answers of the DEMIS inbox (issue 16): a department's notifications, one notification with its
// versions, suggested files, the quarantine of refused bundles, and what an import did. zod schemas
// the server checks its answers against; the browser reads their types. Free of Node code.
import { z } from 'zod';

const coded = z.strictObject({ system: z.string(), code: z.string(), display: z.string().optional() });
const address = z.strictObject({
  street: z.string().optional(),
  postalCode: z.string().optional(),
  city: z.string().optional(),
  country: z.string().optional(),
});

/** A notification's facts as the bundle gave them (src/demis/codec/notification.ts). */
const notificationFacts = z.strictObject({
  kind: z.enum(['laboratory', 'disease']),
  profile: z.string(),
  bundleId: z.string(),
  notificationId: z.string(),
  relatesTo: z
    .strictObject({ code: z.enum(['replaces', 'appends', 'transforms', 'signs']), notificationId: z.string() })
    .optional(),
  status: z.enum(['preliminary', 'final', 'amended', 'entered-in-error']),
  notifiedAt: z.string(),
  disease: coded,
  pathogen: coded.optional(),
  person: z.strictObject({
    familyName: z.string().optional(),
    givenName: z.string().optional(),
    birthDate: z.string().optional(),
    sex: z.enum(['female', 'male', 'diverse', 'unknown']).optional(),
    address: address.optional(),
    telecom: z.array(z.string()).optional(),
  }),
  notifier: z.strictObject({
    kind: z.enum(['laboratory', 'physician', 'facility', 'other']),
    organisation: z.string().optional(),
    person: z.string().optional(),
    address: address.optional(),
    telecom: z.array(z.string()).optional(),
  }),
  laboratory: z
    .strictObject({
      specimenCollectedAt: z.string().optional(),
      material: coded.optional(),
      findings: z.array(
        z.strictObject({
          test: z.string().optional(),
          result: z.string().optional(),
          interpretation: z.string().optional(),
        }),
      ),
    })
    .optional(),
  clinical: z
    .strictObject({
      onset: z.string().optional(),
      diagnosedAt: z.string().optional(),
      hospitalised: z.boolean().optional(),
      hospitalisedFrom: z.string().optional(),
      died: z.boolean().optional(),
      diedOn: z.string().optional(),
      verification: z.string().optional(),
    })
    .optional(),
});
export type NotificationFacts = z.infer<typeof notificationFacts>;

const notificationState = z.enum(['new', 'assigned', 'matched', 'closed']);

/** One row of a department's inbox, newest first. The person as notified, decrypted for the page only. */
export const notificationListItem = z.strictObject({
  id: z.string(),
  departmentId: z.string(),
  kind: z.enum(['laboratory', 'disease']),
  disease: coded,
  notifiedAt: z.string(),
  receivedAt: z.string(),
  state: notificationState,
  /** The current version cancels the notification (entered-in-error). */
  cancelled: z.boolean(),
  /** More than one version was received (a correction). */
  corrected: z.boolean(),
  /** A correction or cancellation came after it was accepted into a case: the case needs a look. */
  caseReview: z.boolean(),
  assigneeId: z.string().nullable(),
  assigneeName: z.string().nullable(),
  person: z.strictObject({
    familyName: z.string().optional(),
    givenName: z.string().optional(),
    birthDate: z.string().optional(),
  }),
  personId: z.string().nullable(),
  caseRecordId: z.string().nullable(),
  version: z.number(),
});
export type NotificationListItem = z.infer<typeof notificationListItem>;

/** One received version of a notification: its bundle's facts and what changed against the one before. */
const notificationVersion = z.strictObject({
  version: z.number(),
  bundleId: z.string(),
  status: z.string(),
  relatesCode: z.string().nullable(),
  notifiedAt: z.string(),
  receivedAt: z.string(),
  source: z.enum(['demis', 'upload']),
  /** The version whose facts are current (the newest by Composition.date). */
  current: z.boolean(),
  /** Dotted names of the facts that differ from the version before it (by Composition.date); [] for the first. */
  changes: z.array(z.string()),
  facts: notificationFacts,
});

export const notificationDetail = z.strictObject({
  ...notificationListItem.shape,
  /** DEMIS NotificationId of the first bundle. */
  notificationId: z.string(),
  facts: notificationFacts,
  versions: z.array(notificationVersion),
  linkedPerson: z
    .strictObject({ id: z.string(), familyName: z.string(), givenName: z.string(), birthDate: z.string() })
    .nullable(),
  closeReason: z.string().nullable(),
  permissions: z.strictObject({ createPerson: z.boolean() }),
});
export type NotificationDetail = z.infer<typeof notificationDetail>;

/** A file of the inbox's department that may be the notified person, with the score and what agreed. */
export const personMatch = z.strictObject({
  personId: z.string(),
  score: z.number(),
  agreed: z.array(z.enum(['link', 'family', 'phonetic', 'given', 'birth'])),
  familyName: z.string(),
  givenName: z.string(),
  birthDate: z.string(),
  address: address.optional(),
});
export type PersonMatch = z.infer<typeof personMatch>;

/** What an import did: a new notification, a new version of one, nothing (seen before), or quarantined. */
export const importAnswer = z.strictObject({
  outcome: z.enum(['created', 'version', 'duplicate', 'quarantined']),
  notificationId: z.string().optional(),
  quarantineId: z.string().optional(),
});
export type ImportAnswer = z.infer<typeof importAnswer>;

/** A notification after an edit: its new edit version and state. */
export const notificationChanged = z.strictObject({
  id: z.string(),
  version: z.number(),
  state: notificationState,
  personId: z.string().nullable(),
  caseRecordId: z.string().nullable(),
});
export type NotificationChanged = z.infer<typeof notificationChanged>;

/**
 * Why a bundle was refused: the element's path, a stable `code` with `params` (from the rules, never from
 * the bundle) that the screens word in German, and `expected` in English. Entries quarantined before the
 * codes existed (issue 16: seams) have `expected` only.
 */
const bundleProblem = z.strictObject({
  path: z.string(),
  code: z.string().optional(),
  params: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
  expected: z.string(),
});

export const quarantineItem = z.strictObject({
  id: z.string(),
  departmentId: z.string(),
  receivedAt: z.string(),
  source: z.enum(['demis', 'upload']),
  mediaType: z.string(),
  problemCount: z.number(),
  state: z.enum(['open', 'dismissed']),
});
export type QuarantineItem = z.infer<typeof quarantineItem>;

export const quarantineDetail = z.strictObject({
  ...quarantineItem.shape,
  problems: z.array(bundleProblem),
  /** The bundle as received (UTF-8 text; replacement characters where it was not). */
  raw: z.string(),
  decidedAt: z.string().nullable(),
  decidedByName: z.string().nullable(),
  reason: z.string().nullable(),
});
export type QuarantineDetail = z.infer<typeof quarantineDetail>;

/** A member of the department a notification may be assigned to. */
export const inboxMember = z.strictObject({ id: z.string(), displayName: z.string() });
export type InboxMember = z.infer<typeof inboxMember>;
