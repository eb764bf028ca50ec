// What Kartei takes from a DEMIS notification bundle (§6/§7 IfSG, FHIR R4): the
// one shape the FHIR codec produces and the inbox, matching and cases consume.
// Pure types, no Node code. Absent elements are absent, never guessed.

/** `laboratory`: NotificationBundleLaboratory (§7, pathogen); `disease`: NotificationBundleDisease (§6). */
export type NotificationKind = 'laboratory' | 'disease';

/** A coded value as the bundle carries it (system and code), with its display text if given. */
export interface Coded {
  system: string;
  code: string;
  display?: string;
}

/** A postal address as given in the bundle (the notified person's or a notifier's). */
export interface PostalAddress {
  street?: string;
  postalCode?: string;
  city?: string;
  country?: string;
}

export interface NotifiedPerson {
  familyName?: string;
  givenName?: string;
  /** FHIR date: `YYYY`, `YYYY-MM` or `YYYY-MM-DD` (DEMIS allows a partial birth date). */
  birthDate?: string;
  sex?: 'female' | 'male' | 'diverse' | 'unknown';
  /** The person's residence (or current address) as notified. */
  address?: PostalAddress;
  /** Phone numbers and e-mail addresses as notified. */
  telecom?: string[];
}

/** Who notified: the laboratory (§7) or the physician / facility (§6). */
export interface Notifier {
  kind: 'laboratory' | 'physician' | 'facility' | 'other';
  /** Organisation name, e.g. "Labor Dr. Muster". */
  organisation?: string;
  /** A person's name where given (the physician, the lab's contact). */
  person?: string;
  address?: PostalAddress;
  telecom?: string[];
}

/** A reference to an earlier notification this one corrects or cancels. */
export interface RelatesTo {
  /** FHIR Composition.relatesTo.code: `replaces` (a correction), `appends` (an addition). */
  code: 'replaces' | 'appends' | 'transforms' | 'signs';
  /** The earlier notification's NotificationId (Composition.identifier.value). */
  notificationId: string;
}

export interface ParsedNotification {
  kind: NotificationKind;
  /** The bundle's profile URL as it claims it (with version if given). */
  profile: string;
  /** Bundle.identifier (NotificationBundleId): unique per bundle; what makes a fetch or upload idempotent. */
  bundleId: string;
  /** Composition.identifier (NotificationId): the notification; corrections refer to it. */
  notificationId: string;
  relatesTo?: RelatesTo;
  /**
   * The health office DEMIS routed the bundle to (Bundle.meta.tag of CodeSystem ResponsibleDepartment,
   * e.g. `1.11.0.11.09.`), where DEMIS set it: lets an office with several departments or a shared
   * installation see whose notification it is. Added by the codec; absent on hand-made bundles.
   */
  responsibleDepartment?: string;
  /**
   * Composition.status: `final`, `preliminary`, `amended`; `entered-in-error` cancels the
   * notification it relates to (or itself).
   */
  status: 'preliminary' | 'final' | 'amended' | 'entered-in-error';
  /** When it was notified (Composition.date), an ISO date-time. */
  notifiedAt: string;
  /**
   * The notification category: for a laboratory bundle the pathogen's notification category
   * (DEMIS CodeSystem notificationCategory, e.g. `cvdp`), for a disease bundle the disease
   * (notificationDiseaseCategory, e.g. `cvdd`). What a case is per person and disease by.
   */
  disease: Coded;
  /** The pathogen detected (laboratory) or named (disease), where given. */
  pathogen?: Coded;
  person: NotifiedPerson;
  notifier: Notifier;
  /** Laboratory: when the specimen was collected, its material, and the findings in words. */
  laboratory?: {
    specimenCollectedAt?: string;
    material?: Coded;
    /** Each finding: what was tested (method / analyte) and the result, as displayed. */
    findings: { test?: string; result?: string; interpretation?: string }[];
  };
  /** Disease: onset, diagnosis, hospitalisation and death where notified. */
  clinical?: {
    onset?: string;
    diagnosedAt?: string;
    hospitalised?: boolean;
    hospitalisedFrom?: string;
    died?: boolean;
    diedOn?: string;
    /** Condition.verificationStatus etc. in DEMIS's words, if present. */
    verification?: string;
  };
}

/**
 * What kind of problem a bundle has, stable for the screens to word in German (`demis.problem.<code>`
 * in web/src/i18n); its `params` come from the rules (code systems, allowed codes, limits), never
 * from the bundle.
 */
export type BundleProblemCode =
  | 'media-type'
  | 'too-large'
  | 'encoding'
  | 'too-deep'
  | 'malformed-json'
  | 'malformed-xml'
  | 'xml-doctype'
  | 'xml-root'
  | 'namespace'
  | 'not-a-bundle'
  | 'profile'
  | 'identifier'
  | 'fixed'
  | 'instant'
  | 'date-time'
  | 'birth-date'
  | 'one-of'
  | 'code-system'
  | 'code-unknown'
  | 'reference'
  | 'missing'
  | 'first-entry'
  | 'same-subject'
  | 'related-unknown'
  /** The line after the first problems of a bundle with very many: how many more were not listed (`params.count`). */
  | 'more-problems';

/** What a `reference` or `missing` problem names (`params.what`): worded by the screens (`demis.what.<what>`). */
export type BundleProblemWhat =
  | 'notified-person'
  | 'notifier-role'
  | 'notifier-facility'
  | 'notifier-person'
  | 'notifier'
  | 'laboratory-report'
  | 'finding'
  | 'specimen'
  | 'diagnosis'
  | 'entries'
  | 'resource'
  | 'family-name'
  | 'given-name'
  | 'facility-name'
  | 'facility-address'
  | 'related-notification'
  | 'related-list'
  | 'test-code'
  | 'interpretation';

/**
 * One reason a bundle is refused: the element's path (FHIRPath-like), a stable code with its params
 * (what the screens word), and what was expected there in English (logs, API clients).
 */
export interface BundleProblem {
  path: string;
  code: BundleProblemCode;
  params?: Record<string, string | number>;
  expected: string;
}
