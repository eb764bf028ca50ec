// The shapes of API answers that the web application reads as well: free of
// Node code, so that server and browser type-check against one definition.

export interface AuditEntry {
  seq: number;
  at: string;
  actorId: string | null;
  /** The actor's display name, when the actor is a user of the office. */
  actorName: string | null;
  action: string;
  resourceType: string;
  resourceId: string | null;
  personId: string | null;
  outcome: 'allowed' | 'denied' | 'error';
  reason: string | null;
  /**
   * Non-personal facts of the event (ids, role names, counts, codes), e.g. the
   * roles and memberships a grant gave or took, a result count, a refusal's code.
   */
  detail: Record<string, string | number | boolean> | null;
}

export interface AccessCount {
  /** The UTC day, YYYY-MM-DD. */
  day: string;
  departmentId: string | null;
  count: number;
}

/** An emergency access waiting for review: a file opened by breaking the glass, or an emergency search. */
export interface ReviewItem {
  id: string;
  kind: 'break-glass' | 'emergency-search';
  /** The file opened (break-glass); null for a search. */
  personId: string | null;
  /** The owning department of the file opened (break-glass); null for a search. */
  departmentId: string | null;
  userId: string;
  userName: string | null;
  reason: string;
  createdAt: string;
  /** When the grant (or the search's hit handles) ends or ended. */
  expiresAt: string;
  /** When a head or the DPO ended the grant early (break-glass), else null. */
  revokedAt: string | null;
  /** Search only: how many files it showed, and which. */
  results?: number;
  shownPersonIds?: string[];
  /** Decided ones (`GET /api/reviews?state=decided`): the decision, who made it, when, and the comment. */
  decision?: 'justified' | 'unjustified';
  reviewedBy?: string | null;
  reviewedByName?: string | null;
  reviewedAt?: string | null;
  comment?: string | null;
}

/**
 * One file an emergency search found (src/records/emergency-search.ts says why this and
 * no more): an opaque handle that breaks the glass for this caller only, for a few minutes;
 * the given name's first letter, to tell two hits apart; whether the family name matched
 * as typed or only as it sounds.
 */
export interface EmergencyHit {
  handle: string;
  givenNameInitial: string;
  match: 'exact' | 'phonetic';
}

/** The answer of an emergency search. */
export interface EmergencySearchAnswer {
  /** The search's review id (it waits for the DPO's review). */
  searchId: string;
  hits: EmergencyHit[];
  /** Until then the handles break the glass. */
  handlesExpireAt: string;
  /** Emergency searches the caller has left in this hour. */
  searchesLeft: number;
}

export interface ApiToken {
  id: string;
  name: string;
  createdAt: string;
  expiresAt: string;
  lastUsedAt: string | null;
  /** What the token may be used for (`TOKEN_SCOPES`). */
  scopes: string[];
  /** Minted before scopes existed: DICOMweb only, to be replaced. */
  legacy: boolean;
}

/** A grant or reset link waiting for the caller's approval (`GET /api/approvals`). */
export interface ApprovalView {
  id: string;
  /** A membership in a department, a tenant role, or a reset link for lost credentials. */
  kind: 'membership' | 'role' | 'enrolment';
  userId: string;
  departmentId?: string;
  role: string | null;
  requestedBy: string;
  requestedAt: string;
  /** `pending`, or `exempt`: the office's first DPO, granted without approval and shown to the DPOs after it. */
  state: 'pending' | 'exempt';
  /** Display names of the account and of whoever asked, so the approver knows whom it concerns. */
  userName: string;
  requestedByName: string;
}

/** A one-time enrolment link, shown once (`POST /api/admin/users`, `GET /api/admin/users/:id/enrolment`). */
export interface EnrolmentLink {
  token: string;
  url: string;
  expiresAt: string;
}

/** A file the DPO's search for an access report found: what identifies it, nothing of its contents. */
export interface DisclosureHit {
  id: string;
  familyName: string;
  givenName: string;
  birthDate: string;
  departmentId: string;
  departmentName: string;
}

/** What a line of an access report says was done (src/audit/access-narrative.ts maps the actions). */
export type AccessAct =
  | 'file.opened'
  | 'file.created'
  | 'file.updated'
  | 'file.found'
  | 'file.found-emergency'
  | 'file.found-dpo'
  | 'file.shared'
  | 'file.other'
  | 'records.read'
  | 'records.versions'
  | 'records.created'
  | 'records.updated'
  | 'records.deleted'
  | 'images.viewed'
  | 'images.metadata'
  | 'images.found'
  | 'images.stored'
  | 'images.sent'
  | 'images.linked'
  | 'shares.viewed'
  | 'share.ended'
  | 'emergency.opened'
  | 'emergency.reviewed'
  | 'emergency.ended'
  | 'report.viewed';

/** On what ground an access was made: the file's own department, a share for a purpose, an emergency access with its reason, the DPO's oversight. */
export interface AccessGround {
  kind: 'department' | 'share' | 'emergency' | 'emergency-search' | 'dpo' | 'device' | 'unknown';
  /** The department whose membership or share gave the access. */
  department?: string;
  /** A share's purpose, or an emergency access's reason. */
  text?: string;
}

/** One line of an access report: who did what to which department's file, when, on what ground; repeated reads of one visit folded. */
export interface AccessLine {
  /** The first and the last event folded into the line. */
  at: string;
  until: string;
  /** The department keeping the file. */
  fileDepartment: string;
  actor: { kind: 'user' | 'device' | 'unknown'; name: string; role: 'clerk' | 'physician' | 'head' | 'dpo' | 'admin' | null; department: string | null };
  act: AccessAct;
  count: number;
  outcome: 'allowed' | 'denied';
  /** Null for a refused attempt (it had none). */
  ground: AccessGround | null;
}

/** An access report (Art. 15 GDPR) over one or more files of one person. */
export interface AccessReportAnswer {
  office: string;
  madeAt: string;
  persons: { familyName: string; givenName: string; birthDate: string; department: string }[];
  lines: AccessLine[];
  /** Events that were no access (input refused before anything was read, or failed and undone), left out. */
  leftOut: number;
}
