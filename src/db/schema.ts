// The database schema as Kysely sees it. Columns ending in `_enc` hold vault
// ciphertext (never plaintext); `*_index` / `digest` hold keyed blind indexes.
// Timestamps are ISO-8601 UTC strings so that both dialects compare them alike
// (the login throttle's counters alone keep milliseconds, for arithmetic in SQL).
import type { ColumnType, Generated } from 'kysely';

/** The two databases Kysely runs on: SQLite for one office, PostgreSQL for several. */
export type Dialect = 'sqlite' | 'postgres';

interface TenantsTable {
  id: string;
  name: string;
  created_at: string;
  // Issue 19: offices (migration 037) — the office's own host name (null: none), its name folded for uniqueness.
  host: ColumnType<string | null, string | null | undefined, never>;
  name_key: ColumnType<string | null, string | null | undefined, never>;
}

interface SetupTokenTable {
  id: number;
  token_hash: string;
  expires_at: string;
  used_at: string | null;
  // Issue 19: instances (migration 039) — the instance that printed the link (null: none recorded).
  issued_by: ColumnType<string | null, string | null | undefined, string | null>;
}

// Issue 19: offices (migration 037) — an office's one-time setup token, by its SHA-256.
interface OfficeSetupTokensTable {
  token_hash: string;
  tenant_id: string;
  expires_at: string;
  used_at: string | null;
}

interface DepartmentsTable {
  id: string;
  tenant_id: string;
  code: string;
  name: string;
  created_at: string;
  /** `shown`, or `hidden`: members who may not read the department's restricted records do not see them listed at all (type and dates included). */
  restricted_listing: Generated<string>;
}

export interface UsersTable {
  id: string;
  tenant_id: string;
  username_index: string;
  username_enc: Buffer;
  display_name_enc: Buffer;
  password_hash: string;
  totp_secret_enc: Buffer | null;
  totp_last_step: number;
  active: number;
  created_at: string;
  updated_at: string;
  /** Who chose the password: `self`, `admin` (from before enrolment links; a critical finding) or `none` (not enrolled yet). */
  password_origin: string;
  /** When the credentials were last replaced through a reset link. */
  credentials_reset_at: string | null;
  /** 1 until the person has been told, at a login, that their credentials were reset. */
  reset_notice: number;
}

interface EnrolmentsTable {
  id: string;
  tenant_id: string;
  user_id: string;
  /** `initial` (a new account) or `reset` (a lost password or second factor). */
  purpose: string;
  requested_by: string;
  requested_at: string;
  /** A reset waits for this approval; an initial enrolment has none. */
  approval_id: string | null;
  /** Hash of the link's token; null until the link is issued. */
  token_hash: string | null;
  expires_at: string | null;
  used_at: string | null;
  cancelled_at: string | null;
}

interface ApprovalsTable {
  id: string;
  tenant_id: string;
  /** `membership`, `role` or `enrolment`. */
  kind: string;
  user_id: string;
  department_id: string | null;
  role: string | null;
  requested_by: string;
  requested_at: string;
  /** `pending`, `approved`, `rejected`, `withdrawn`, or `exempt` (the office's first DPO, flagged to every DPO after it). */
  state: string;
  decided_by: string | null;
  decided_at: string | null;
}

interface RecoveryCodesTable {
  code_hash: string;
  tenant_id: string;
  user_id: string;
  created_at: string;
  used_at: string | null;
}

/** A WebAuthn credential of a user (src/identity/passkeys.ts): a second factor beside TOTP. */
export interface PasskeysTable {
  id: string;
  tenant_id: string;
  user_id: string;
  /** The credential's id as the authenticator gives it (base64url); unique across the deployment. */
  credential_id: string;
  /** The COSE public key. */
  public_key: Buffer;
  /** The authenticator's signature counter; only moves forward (0 = the authenticator keeps none). */
  counter: number;
  /** The name the person gave it, sealed with the office's key. */
  name_enc: Buffer;
  /** JSON array of transports (usb, nfc, ble, internal, hybrid), a hint for the browser. */
  transports: string;
  device_type: string;
  backed_up: number;
  created_at: string;
  last_used_at: string | null;
}

/** A registration ceremony under way: its challenge (hashed) is bound to the user and the session that started it. */
interface PasskeyRegistrationsTable {
  challenge_hash: string;
  tenant_id: string;
  user_id: string;
  session_hash: string;
  /** The challenge itself (base64url), which the verification compares with the browser's. */
  challenge: string;
  expires_at: string;
  used_at: string | null;
}

interface TenantRolesTable {
  user_id: string;
  tenant_id: string;
  role: string;
}

interface MembershipsTable {
  user_id: string;
  tenant_id: string;
  department_id: string;
  role: string;
}

interface SessionsTable {
  token_hash: string;
  tenant_id: string;
  user_id: string;
  csrf_hash: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  revoked_at: string | null;
}

interface LoginChallengesTable {
  token_hash: string;
  tenant_id: string;
  user_id: string;
  kind: string;
  secret_enc: Buffer | null;
  expires_at: string;
  used_at: string | null;
  /** Codes tried on this challenge (it dies at 5). */
  attempts: Generated<number>;
  /** `sso` when the challenge follows a single sign-on whose identity provider did not prove a second factor. */
  via: string | null;
  /** The WebAuthn challenge offered with it when the user has passkeys (base64url; a nonce, not a secret). */
  webauthn_challenge: string | null;
}

/** One throttle counter per blind-indexed subject (src/identity/throttle.ts); times in ms since the epoch. */
interface LoginThrottleTable {
  subject: string;
  failures: number;
  last_failure_at: number;
  window_started_at: number;
  trusted_until: number;
}

interface DataKeysTable {
  id: string;
  tenant_id: string;
  scope: string;
  owner_id: string;
  wrapped: Buffer;
  created_at: string;
  destroyed_at: string | null;
  // Issue 19: keys — the id of the key this one is wrapped under (migration 034); null: the master in master.key.
  wrapped_by: string | null;
  /** A department key's version (migration 034); null: 1. */
  key_version: number | null;
}

interface PersonsTable {
  id: string;
  tenant_id: string;
  department_id: string;
  version: number;
  created_at: string;
  created_by: string;
  updated_at: string;
  /** Issue 16: person merge (migration 026). The file this one was merged into, while that merge is pending or confirmed. */
  merged_into: string | null;
  /** The merge this file is part of: while pending on both files, once confirmed on the absorbed one only. */
  merge_id: string | null;
}

interface PersonVersionsTable {
  person_id: string;
  version: number;
  tenant_id: string;
  data_enc: Buffer;
  created_at: string;
  created_by: string;
}

interface PersonIndexTable {
  tenant_id: string;
  person_id: string;
  kind: string;
  digest: string;
}

export interface RecordsTable {
  id: string;
  tenant_id: string;
  person_id: string;
  type: string;
  sensitivity: string;
  version: number;
  created_at: string;
  created_by: string;
  updated_at: string;
  deleted_at: string | null;
  deleted_by: string | null;
  delete_reason_enc: Buffer | null;
  retain_until: string | null;
}

interface RecordVersionsTable {
  record_id: string;
  version: number;
  tenant_id: string;
  sensitivity: string;
  content_enc: Buffer;
  created_at: string;
  created_by: string;
}

interface SharesTable {
  id: string;
  tenant_id: string;
  person_id: string;
  from_department_id: string;
  to_department_id: string;
  purpose_enc: Buffer;
  until: string;
  created_at: string;
  created_by: string;
  revoked_at: string | null;
  revoked_by: string | null;
}

export interface BreakGlassTable {
  id: string;
  tenant_id: string;
  person_id: string;
  department_id: string;
  user_id: string;
  reason_enc: Buffer;
  created_at: string;
  expires_at: string;
  decision: string | null;
  comment_enc: Buffer | null;
  reviewed_by: string | null;
  reviewed_at: string | null;
  /** Migration 011: the grant ended early by a head or the DPO, or by an "unjustified" review (expires_at then moved to that time). */
  revoked_at: string | null;
  revoked_by: string | null;
}

/**
 * Migration 011: an emergency search (files of other departments by family name
 * and birth date, with a reason). It is an emergency access of its own: it waits
 * for the DPO's review, and its rows count the caller's searches for the rate limit.
 */
interface EmergencySearchesTable {
  id: string;
  tenant_id: string;
  user_id: string;
  reason_enc: Buffer;
  created_at: string;
  /** Until then the hits' handles open the glass. */
  expires_at: string;
  results: number;
  decision: string | null;
  comment_enc: Buffer | null;
  reviewed_by: string | null;
  reviewed_at: string | null;
}

/** Migration 011: one file an emergency search showed, behind an opaque handle (the row id) for its caller only. */
interface EmergencyHitsTable {
  id: string;
  tenant_id: string;
  search_id: string;
  user_id: string;
  person_id: string;
  department_id: string;
  expires_at: string;
}

export interface AuditEventsTable {
  tenant_id: string;
  seq: number;
  at: string;
  actor_id: string | null;
  action: string;
  resource_type: string;
  resource_id: string | null;
  person_id: string | null;
  department_id: string | null;
  outcome: string;
  reason_enc: Buffer | null;
  detail: string | null;
  prev_hash: string;
  hash: string;
}

interface AuditHeadsTable {
  tenant_id: string;
  seq: number;
  hash: string;
}

interface AuditCheckpointsTable {
  tenant_id: string;
  seq: number;
  hash: string;
  at: string;
  key_id: string;
  signature: string;
  // Issue 19: audit — migration 033: what a checkpoint signed since then covers (NULL in older ones).
  /** The sequence number of the checkpoint this one continues from (0: the chain's start). */
  from_seq: number | null;
  /** That checkpoint's hash (the genesis hash at the start). */
  prev_hash: string | null;
  /** SHA-256 of the events after `from_seq` up to `seq` as stored (`src/audit/batch-digest.ts`). */
  digest: string | null;
}

export interface DevicesTable {
  id: string;
  tenant_id: string;
  department_id: string;
  ae_title: string;
  /** Comma-separated: store, find, retrieve. */
  permissions: string;
  /** SHA-256 fingerprint of the pinned client certificate (colon-separated hex, as Node prints it). */
  cert_fingerprint: string | null;
  cert_subject: string | null;
  cert_expires_at: string | null;
  /** Address associations must come from (loopback setups), and with `port`, where C-MOVE sends to. */
  host: string | null;
  port: number | null;
  /**
   * `cert:<fingerprint>` or `host:<normalised loopback address>`: with the AE title, what identifies
   * the device across the deployment (unique together; migration 010). Set at registration.
   */
  identity_key: string | null;
  created_at: string;
  created_by: string;
}

interface ApiTokensTable {
  id: string;
  tenant_id: string;
  user_id: string;
  name: string;
  token_hash: string;
  created_at: string;
  expires_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  /** Migration 015: the token's scopes, space-separated (`TOKEN_SCOPES`). */
  scopes: string;
  /** 1 for a token minted before scopes existed (given `dicomweb:read dicomweb:store`); the doctor lists them. */
  legacy: number;
}

export interface StudiesTable {
  id: string;
  tenant_id: string;
  department_id: string;
  study_uid: string;
  /** The person's file the study belongs to, once linked. */
  person_id: string | null;
  /** Patient name, ID, birth date and sex as received (department key). */
  patient_enc: Buffer;
  /** Accession number, study ID, description, referring physician (department key). */
  study_enc: Buffer;
  study_date: string | null;
  study_time: string | null;
  /** Backslash-separated modalities of its series. */
  modalities: string;
  created_at: string;
  updated_at: string;
}

export interface StudyIndexTable {
  tenant_id: string;
  study_id: string;
  kind: string;
  digest: string;
}

export interface SeriesTable {
  id: string;
  tenant_id: string;
  study_id: string;
  series_uid: string;
  modality: string | null;
  series_number: number | null;
  /** Series description, body part (department key). */
  series_enc: Buffer;
  created_at: string;
}

export interface InstancesTable {
  id: string;
  tenant_id: string;
  department_id: string;
  study_id: string;
  series_id: string;
  sop_instance_uid: string;
  sop_class_uid: string;
  transfer_syntax_uid: string;
  instance_number: number | null;
  rows: number | null;
  columns: number | null;
  frames: number | null;
  bits_allocated: number | null;
  /** Null for instances indexed before it was recorded. */
  samples_per_pixel: number | null;
  /** Where the pixel data value starts in the stored file, and its length (null: undefined length). */
  pixel_offset: number | null;
  pixel_length: number | null;
  /** Path of the sealed Part 10 file under the blob root. */
  file: string;
  size: number;
  received_from: string;
  created_at: string;
}

export interface Database {
  studies: StudiesTable;
  study_index: StudyIndexTable;
  series: SeriesTable;
  instances: InstancesTable;
  devices: DevicesTable;
  api_tokens: ApiTokensTable;
  tenants: TenantsTable;
  setup_token: SetupTokenTable;
  // Issue 19: offices
  office_setup_tokens: OfficeSetupTokensTable;
  departments: DepartmentsTable;
  users: UsersTable;
  tenant_roles: TenantRolesTable;
  memberships: MembershipsTable;
  sessions: SessionsTable;
  login_challenges: LoginChallengesTable;
  login_throttle: LoginThrottleTable;
  data_keys: DataKeysTable;
  persons: PersonsTable;
  person_versions: PersonVersionsTable;
  person_index: PersonIndexTable;
  records: RecordsTable;
  record_versions: RecordVersionsTable;
  shares: SharesTable;
  break_glass: BreakGlassTable;
  emergency_searches: EmergencySearchesTable;
  emergency_hits: EmergencyHitsTable;
  audit_events: AuditEventsTable;
  audit_heads: AuditHeadsTable;
  audit_checkpoints: AuditCheckpointsTable;
  enrolments: EnrolmentsTable;
  approvals: ApprovalsTable;
  recovery_codes: RecoveryCodesTable;
  sso_configs: SsoConfigsTable;
  sso_logins: SsoLoginsTable;
  sso_identities: SsoIdentitiesTable;
  passkeys: PasskeysTable;
  passkey_registrations: PasskeyRegistrationsTable;
  ifsg_cases: IfsgCasesTable;
  // Issue 16: inbox
  demis_notifications: DemisNotificationsTable;
  demis_notification_versions: DemisNotificationVersionsTable;
  demis_quarantine: DemisQuarantineTable;
  // Issue 16: outbreaks
  outbreaks: OutbreaksTable;
  outbreak_events: OutbreakEventsTable;
  // Issue 16: person merge
  person_merges: PersonMergesTable;
  // Issue 16: transmission
  transmission_settings: TransmissionSettingsTable;
  transmissions: TransmissionsTable;
  transmitted_cases: TransmittedCasesTable;
  // Issue 16: cases & contacts
  ifsg_contacts: IfsgContactsTable;
  contact_follow_ups: ContactFollowUpsTable;
  // Issue 17: documents
  documents: DocumentsTable;
  document_versions: DocumentVersionsTable;
  // Issue 17: tasks
  tasks: TasksTable;
  // Issue 17: letters
  letter_templates: LetterTemplatesTable;
  letter_template_versions: LetterTemplateVersionsTable;
  letter_generations: LetterGenerationsTable;
  letter_runs: LetterRunsTable;
  letter_run_items: LetterRunItemsTable;
}

// Issue 17: documents
/**
 * Migration 028: a document of a file (upload or generated), or a scan in a department's mail-room
 * (`person_id` null). Ids, kinds, states and dates only; the delete reason is sealed (src/desk/documents*.ts).
 */
interface DocumentsTable {
  id: string;
  tenant_id: string;
  department_id: string;
  person_id: string | null;
  /** upload | generated */
  kind: string;
  /** normal | restricted */
  sensitivity: string;
  /** The current version. */
  version: number;
  template_id: string | null;
  record_id: string | null;
  created_at: string;
  created_by: string;
  updated_at: string;
  updated_by: string;
  deleted_at: string | null;
  deleted_by: string | null;
  delete_reason_enc: Buffer | null;
  retain_until: string | null;
}

/**
 * Migration 028: one version of a document. `name_enc` ({title, fileName}) is sealed with the version's own
 * random data key; `data_key_enc` is that key wrapped with the file's person key (the department key in the
 * mail-room); the bytes are a sealed file named by document id and version.
 */
interface DocumentVersionsTable {
  document_id: string;
  version: number;
  tenant_id: string;
  media_type: string;
  size: number;
  name_enc: Buffer;
  data_key_enc: Buffer;
  template_version: number | null;
  created_at: string;
  created_by: string;
}

// Issue 17: tasks
/**
 * Migration 029: a task of a person's file (`person_id`) or of a department (`person_id` null). Title and
 * note sealed with the person key (a file's task) or the department key (a department's).
 */
export interface TasksTable {
  id: string;
  tenant_id: string;
  department_id: string;
  person_id: string | null;
  version: number;
  /** follow-up-exam | expert-opinion | letter | call | other (src/contract/tasks.ts TASK_TYPES) */
  type: string;
  /** normal | restricted: decided like a record of the file. */
  sensitivity: string;
  title_enc: Buffer;
  note_enc: Buffer | null;
  /** ISO date (the office's calendar day). */
  due_date: string;
  /** A member of the department, or null: the whole department. */
  assignee_id: string | null;
  /** open | done | cancelled */
  state: string;
  /** record | notification | study, with its id. */
  link_kind: string | null;
  link_id: string | null;
  /** `manual` or `rule:<recordType>:<ruleId>`. */
  source: string;
  /** `<recordId>:<ruleId>` for a rule's task (unique), else null. */
  rule_key: string | null;
  /** The due date the rule last set: a task whose date was moved by hand keeps it. */
  rule_due: string | null;
  /** 1 while the rule (not a person) cancelled it: only then does the rule open it again. */
  rule_cancelled: number;
  created_at: string;
  created_by: string;
  updated_at: string;
  updated_by: string;
  closed_at: string | null;
  closed_by: string | null;
}

// Issue 16: outbreaks
/** Migration 024: a department's outbreak; name and description sealed with the department key. */
interface OutbreaksTable {
  id: string;
  tenant_id: string;
  department_id: string;
  version: number;
  name_enc: Buffer;
  description_enc: Buffer | null;
  /** school | daycare | nursing-home | hospital-ward | event | household | workplace | community-facility | other */
  setting: string;
  period_from: string;
  period_until: string | null;
  /** open | closed */
  state: string;
  created_at: string;
  created_by: string;
  updated_at: string;
  updated_by: string;
}

/** Migration 024: an outbreak's timeline, append-only; each entry's text sealed with the department key. */
interface OutbreakEventsTable {
  id: string;
  tenant_id: string;
  outbreak_id: string;
  /** The day the entry is about (ISO date). */
  day: string;
  text_enc: Buffer;
  created_by: string;
  created_at: string;
}

// Issue 16: person merge
/**
 * Migration 026: two files of one department found to be one person, merged (src/records/person-merge.ts).
 * Ids and states only: nothing here names anyone.
 */
interface PersonMergesTable {
  id: string;
  tenant_id: string;
  department_id: string;
  /** The file that stays and now holds the records. */
  survivor_id: string;
  /** The file whose records moved; kept (hidden) with its own data versions and key. */
  absorbed_id: string;
  /** pending | confirmed | undone */
  state: string;
  /** JSON `{records: string[], studies: string[]}`: what moved, so that undo moves exactly that back. */
  moved: string;
  created_by: string;
  created_at: string;
  decided_by: string | null;
  decided_at: string | null;
  version: number;
}

/**
 * Migration 020 (issue 16): what lists, counts and the §11 transmission select an IfSG case by,
 * beside its record (type `ifsg-case`), kept in step in the same transaction (src/infection/case-index.ts).
 * Nothing here names the person; the disease is a keyed digest (and sealed with the department key for its label).
 */
interface IfsgCasesTable {
  /** The case's record. */
  record_id: string;
  tenant_id: string;
  department_id: string;
  person_id: string;
  /** `digest(indexKey, 'disease', code)`: equal for equal disease codes of one office, meaningless without the key. */
  disease_digest: string;
  /** The disease as coded ({system, code, display}), sealed with the department key. */
  disease_enc: Buffer;
  /** suspected | probable | confirmed | not-a-case */
  status: string;
  /** The RKI case-definition category (A–E), if set. */
  category: string | null;
  /** The record's sensitivity: lists leave out what the caller may not read. */
  sensitivity: string;
  /** The date of notification (ISO date). */
  notified_on: string;
  /** Its reporting week (Meldewoche) as ISO week, `2026-W49`. */
  reporting_week: string;
  outbreak_id: string | null;
  /** The record's version this row reflects. */
  version: number;
  created_at: string;
  /** When a version was last written (what the §11 transmission's "changed since" compares). */
  changed_at: string;
  /** When the case record was deleted (withdrawn from the next transmission). */
  deleted_at: string | null;
}

/**
 * An office's single sign-on with its district's OpenID provider (migration 014).
 * Read before an office is known (the public "is there SSO" answer, a start
 * without `office`): not walled by tenant. The client secret is sealed with the
 * tenant key.
 */
export interface SsoConfigsTable {
  tenant_id: string;
  issuer: string;
  client_id: string;
  client_secret_enc: Buffer;
  /** The ID token claim that names the person stably (`sub` unless configured). */
  subject_claim: string;
  /** JSON arrays: an `acr` of the first or any `amr` of the second proves the provider's second factor. */
  acr_values: string;
  amr_values: string;
  enabled: number;
  updated_at: string;
  updated_by: string;
}

/**
 * One started sign-on (or link): looked up by the hash of its `state` at the
 * callback, before an office is known, so not walled by tenant. Single-use,
 * 10 minutes. The PKCE verifier and nonce are sealed under a key derived from
 * the browser's binding cookie, so neither the database alone nor another
 * browser can complete it.
 */
interface SsoLoginsTable {
  state_hash: string;
  tenant_id: string;
  browser_hash: string;
  secrets_enc: Buffer;
  /** Set when a signed-in user links their identity; null for a sign-on. */
  link_user_id: string | null;
  /** The session that asked for the link: it must still be live at the callback. */
  link_session_hash: string | null;
  created_at: string;
  expires_at: string;
  used_at: string | null;
  /** After a sign-on that needed no Kartei code: the session it made, and its CSRF token (sealed) until fetched once. */
  session_hash: string | null;
  handover_enc: Buffer | null;
  handed_over_at: string | null;
}

/** A Kartei account's identity at the office's provider: a keyed hash of (office, issuer, claim, value). */
interface SsoIdentitiesTable {
  user_id: string;
  tenant_id: string;
  subject_index: string;
  linked_at: string;
}

/**
 * The audit chain of events no tenant can be named for (a failed login with an
 * unknown name, a wrong setup token). It is verified like every tenant's.
 */
export const DEPLOYMENT_CHAIN = 'deployment';

/** Tables whose rows belong to one tenant; PostgreSQL walls them with row-level security. */
export const CORE_TENANT_TABLES = [
  'departments',
  'data_keys',
  'persons',
  'person_versions',
  'person_index',
  'records',
  'record_versions',
  'shares',
  'break_glass',
  'audit_events',
  'audit_heads',
  'audit_checkpoints',
] as const;

/** The account lifecycle's tenant tables (enrolment links are looked up before a tenant is known). */
export const ACCOUNT_TENANT_TABLES = ['approvals', 'recovery_codes'] as const;

/** Passkeys and their registration ceremonies (a login reads passkeys once the challenge named the office). */
export const PASSKEY_TENANT_TABLES = ['passkeys', 'passkey_registrations'] as const;

/** The image archive's tenant tables (the device registry is looked up before a tenant is known). */
export const IMAGING_TENANT_TABLES = ['studies', 'study_index', 'series', 'instances'] as const;

/** Migration 011's tenant tables: the emergency search and the files it showed. */
export const EMERGENCY_TENANT_TABLES = ['emergency_searches', 'emergency_hits'] as const;

/** Migration 014's tenant table: linked identities (the configuration and started sign-ons are read before an office is known). */
export const SSO_TENANT_TABLES = ['sso_identities'] as const;

/**
 * An office's connection to DEMIS (migration 021, src/demis/connection/): read by the poller
 * for every office at once, so not walled by tenant. `credentials_enc` holds the client secret,
 * the password, the office's DEMIS user, the certificate and its private key, sealed with the
 * tenant key; `last_error_enc` what a server answered, sealed too. `position` is the
 * `_lastUpdated` of the last notification imported, `position_ids` (JSON) the ids of those
 * imported at exactly that instant.
 */
interface DemisConnectionsTable {
  tenant_id: string;
  token_url: string;
  clearing_url: string;
  client_id: string;
  credentials_enc: Buffer;
  cert_not_after: string;
  department_id: string;
  poll_interval_s: number;
  enabled: number;
  position: string | null;
  position_ids: string;
  last_poll_at: string | null;
  last_success_at: string | null;
  last_imported: number;
  last_error_enc: Buffer | null;
  failures: number;
  next_poll_at: string | null;
  updated_at: string;
  updated_by: string;
  // Issue 19: instances (migration 039) — the instance polling the office now (null: nobody).
  polled_by: ColumnType<string | null, string | null | undefined, string | null>;
}

// Declaration merging: issue 16's DEMIS connection table joins the schema here, in one block.
export interface Database {
  demis_connections: DemisConnectionsTable;
}

// Issue 16: transmission
/** Migration 025: the tenant tables of the §11 transmission. */
export const TRANSMISSION_TENANT_TABLES = ['transmission_settings', 'transmissions', 'transmitted_cases'] as const;

/** Migration 025: a department's §11 settings: its district (AGS) and the recipient, set by its physicians and head. */
interface TransmissionSettingsTable {
  department_id: string;
  tenant_id: string;
  /** Amtlicher Gemeindeschlüssel of the office's district, 5 or 8 digits: names an office, no person. */
  district_code: string;
  /** The recipient (the state authority) as the office names it, sealed with the department key. */
  recipient_enc: Buffer;
  version: number;
  updated_at: string;
  updated_by: string;
}

/** Migration 025: one §11 transmission a department made: counts, and the file sealed to download it again. */
interface TransmissionsTable {
  id: string;
  tenant_id: string;
  department_id: string;
  /** 1, 2, 3 … per department (unique with it). */
  sequence: number;
  created_at: string;
  created_by: string;
  new_count: number;
  changed_count: number;
  withdrawn_count: number;
  /** The file's bytes, sealed with the department key. */
  payload_enc: Buffer;
  /** SHA-256 (hex) of the file's bytes. */
  payload_sha256: string;
}

/** Migration 025: what the recipient has of each case: the versions last sent, and whether it was withdrawn. */
interface TransmittedCasesTable {
  /** The case's record. */
  record_id: string;
  tenant_id: string;
  department_id: string;
  /** The case record's version last sent. */
  last_version: number;
  /** The case's revision in the files (1, 2, 3 … with every new, changed or withdrawn entry sent). */
  revision: number;
  /** The person whose facts were last sent (a case moved to another file by a merge is compared anew). */
  person_id: string;
  /** The person's file version when it was last sent: a later one may have changed sex or birth month. */
  person_version: number;
  /** The person facts last sent ({sex, birthMonth}), sealed with the department key. */
  person_enc: Buffer;
  last_transmission_id: string;
  /** 1 once sent as withdrawn (then never again, unless it is a case again). */
  withdrawn: number;
}

// Issue 16: cases & contacts
/**
 * Migration 023: what the worklist and a case's contact list select a contact by, beside its record
 * (type `ifsg-contact` in the contact person's file), kept in step in the same transaction
 * (src/infection/contact-index.ts). Nothing here names the person or says anything clinical.
 */
interface IfsgContactsTable {
  /** The contact's record. */
  record_id: string;
  tenant_id: string;
  department_id: string;
  /** The contact person (whose file holds the record). */
  person_id: string;
  /** The index case's record. */
  case_record_id: string;
  /** The last exposure (ISO date): the follow-up runs from the day after. */
  last_exposure: string;
  /** The last day of follow-up (ISO date). */
  follow_up_until: string;
  /** active | ended | converted */
  state: string;
  sensitivity: string;
  /** The case record the contact was converted into. */
  converted_case_id: string | null;
  version: number;
  created_at: string;
  changed_at: string;
  deleted_at: string | null;
}

/** Migration 023: one follow-up of a contact on one day (append-only; one per contact and day). */
interface ContactFollowUpsTable {
  id: string;
  tenant_id: string;
  contact_record_id: string;
  /** The day the contact was asked (ISO date). */
  day: string;
  /** Who asked. */
  by_user: string;
  created_at: string;
  /** {symptoms, which?, reached, note?}, sealed with the key of the person `person_id`. */
  entry_enc: Buffer;
  /** Issue 16: seams (migration 027): whose key sealed the entry (the contact's file when written; a merge moves contacts). */
  person_id: string | null;
}

// Issue 16: inbox
/**
 * Migration 022: a notification in a department's DEMIS inbox (src/infection/notification-import.ts).
 * Its facts are in its versions, sealed; here only what the inbox filters and orders by.
 */
export interface DemisNotificationsTable {
  id: string;
  tenant_id: string;
  department_id: string;
  /** DEMIS NotificationId (Composition.identifier) of the first bundle: a UUID DEMIS made. */
  notification_id: string;
  /** laboratory | disease */
  kind: string;
  /** The version whose facts are current: the newest by Composition.date, not the last to arrive. */
  current_version: number;
  /** How many versions were received. */
  versions: number;
  /** new | assigned | matched | closed */
  state: string;
  /** 1 when the current version is a cancellation (Composition.status entered-in-error). */
  cancelled: number;
  /** 1 when a correction or cancellation arrived after the notification was accepted into a case. */
  case_review: number;
  assignee_id: string | null;
  /** `digest(indexKey, 'disease', code)` of the current version's notification category. */
  disease_digest: string;
  /** Composition.date of the current version (a date of work, ISO). */
  notified_at: string;
  /** When the first version arrived. */
  received_at: string;
  person_id: string | null;
  case_record_id: string | null;
  /** Why it was closed without a case, sealed with the department key. */
  close_reason_enc: Buffer | null;
  /** Edits (assign, link, accept, close) name it; a stale one is refused. */
  version: number;
  updated_at: string;
}

/** One bundle received for a notification (the first, corrections, cancellations). */
interface DemisNotificationVersionsTable {
  notification_row_id: string;
  /** 1, 2, … in the order of arrival. */
  version: number;
  tenant_id: string;
  department_id: string;
  /** Bundle.identifier: unique per department, the idempotency key of an import. */
  bundle_id: string;
  /** This bundle's own NotificationId (a follow-up has its own and relates to the earlier one). */
  notification_id: string;
  /** Composition.relatesTo.code, if it relates to an earlier notification. */
  relates_code: string | null;
  /** Composition.status */
  status: string;
  /** Composition.date: what orders the versions. */
  notified_at: string;
  /** demis | upload */
  source: string;
  media_type: string;
  received_at: string;
  /** The user who uploaded it, or `demis:<departmentId>`. */
  received_by: string;
  /** The raw bundle, sealed with the department key. */
  bundle_enc: Buffer;
  /** The ParsedNotification, sealed with the department key. */
  parsed_enc: Buffer;
}

/** A refused bundle kept for a person to look at. */
interface DemisQuarantineTable {
  id: string;
  tenant_id: string;
  department_id: string;
  received_at: string;
  received_by: string;
  source: string;
  media_type: string;
  /** Keyed digest of the bytes: the same broken file twice is one entry. */
  content_digest: string;
  bundle_enc: Buffer;
  /** BundleProblem[], sealed with the department key. */
  problems_enc: Buffer;
  problem_count: number;
  /** open | dismissed */
  state: string;
  decided_by: string | null;
  decided_at: string | null;
  /** The dismissal's reason, sealed. */
  decision_enc: Buffer | null;
}

// Issue 17: letters
/** Migration 030: an office's (department null) or a department's letter template; kind and current version plain. */
interface LetterTemplatesTable {
  id: string;
  tenant_id: string;
  department_id: string | null;
  /** invitation | certificate-36 | isolation-order-30 | expert-opinion-cover | other */
  kind: string;
  version: number;
  /** 1: offered for letters; 0: retired (kept for the letters made from it). */
  active: number;
  created_at: string;
  created_by: string;
  updated_at: string;
  updated_by: string;
}

/** Every saved version of a template, never changed: name, letterhead and wording sealed with the office's key. */
interface LetterTemplateVersionsTable {
  template_id: string;
  version: number;
  tenant_id: string;
  content_enc: Buffer;
  created_at: string;
  created_by: string;
}

/** One letter made: ids only; the request key (unique per office) makes a retry or a double click no second letter. */
interface LetterGenerationsTable {
  id: string;
  tenant_id: string;
  request_key: string;
  person_id: string;
  template_id: string;
  template_version: number;
  record_id: string | null;
  document_id: string;
  document_version: number;
  run_id: string | null;
  created_at: string;
  created_by: string;
}

/** A bulk run of one template version over files of a department: counts and state, nothing that names anyone. */
interface LetterRunsTable {
  id: string;
  tenant_id: string;
  department_id: string;
  template_id: string;
  template_version: number;
  /** persons | outbreak */
  source: string;
  outbreak_id: string | null;
  /** running | finished */
  state: string;
  total: number;
  done: number;
  failed: number;
  created_at: string;
  created_by: string;
  finished_at: string | null;
  // Issue 19: instances (migration 039) — the instance working through the run now (null: nobody).
  runner: ColumnType<string | null, string | null | undefined, string | null>;
}

/** One file of a bulk run (run + person unique): pending | done | failed, the document made or the refusal's code. */
interface LetterRunItemsTable {
  run_id: string;
  person_id: string;
  tenant_id: string;
  seq: number;
  state: string;
  document_id: string | null;
  error: string | null;
  updated_at: string;
}

// Issue 17: import
export interface Database {
  import_jobs: ImportJobsTable;
  import_rows: ImportRowsTable;
}

/** Migration 031: the tenant tables of the import. */
export const IMPORT_TENANT_TABLES = ['import_jobs', 'import_rows'] as const;

/** Migration 031: a department's import of a CSV or XLSX file (src/desk/import-jobs.ts). Nothing here names anyone. */
interface ImportJobsTable {
  id: string;
  tenant_id: string;
  department_id: string;
  /** uploaded | checked (dry run done) | running | done | discarded */
  state: string;
  version: number;
  /** csv | xlsx */
  format: string;
  /** The upload's size in bytes. */
  size: number;
  /** What the upload looked like: utf-8 | windows-1252 (CSV only). */
  detected_encoding: string | null;
  /** The encoding the rows are read in (the detected one unless the user chose another). */
  encoding: string | null;
  /** The CSV's delimiter: `;`, `,` or a tab. */
  delimiter: string | null;
  /** The uploaded file, sealed with the department key; null once the job has ended or was discarded. */
  upload_enc: Buffer | null;
  /** Which column is which field (ImportMapping), sealed with the department key. */
  mapping_enc: Buffer | null;
  /** Data rows in the file (without the header). */
  row_count: number;
  /** Rows the import has committed (a restart continues here). */
  position: number;
  created_count: number;
  matched_count: number;
  refused_count: number;
  created_by: string;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  // Issue 19: instances (migration 039) — the instance running the import now (null: nobody).
  runner: ColumnType<string | null, string | null | undefined, string | null>;
}

/** Migration 031: one row of an import: what the dry run said and what the import did. Ids and codes only. */
interface ImportRowsTable {
  job_id: string;
  /** The row's number in the file (the header is row 1, the first data row 2), as a spreadsheet shows it. */
  row_number: number;
  tenant_id: string;
  /** created | matched | refused */
  dry_outcome: string;
  dry_reason: string | null;
  /** What the import did; null until it reached the row. */
  outcome: string | null;
  reason: string | null;
  /** The person created or matched (the dry run's match, then the import's). */
  person_id: string | null;
  /** The record written for the row, if the mapping has one. */
  record_id: string | null;
}

// Issue 18: gate3
export interface Database {
  store_upgrades: StoreUpgradesTable;
}

/** Migration 032: a one-time upgrade of the stored data that has finished for every office (not a tenant table). */
interface StoreUpgradesTable {
  /** The upgrade's name, e.g. `person-index-links`. */
  name: string;
  done_at: string;
}

// Issue 19: instances
export interface Database {
  server_instances: ServerInstancesTable;
}

/** Migration 039: one row per start of a server on this database (not a tenant table; src/db/instances.ts). */
interface ServerInstancesTable {
  id: string;
  /** The same for every start from one data directory. */
  data_dir_id: string;
  host: string;
  pid: number;
  version: string;
  /** The last migration this instance's code knows. */
  schema_level: string;
  /** A one-way digest of the key directory's key ids: equal when the instances can read each other's data. */
  key_fingerprint: string;
  /** Where sealed files live (KARTEI_STORAGE: files, database, s3), when the configuration says. */
  storage: string | null;
  /** JSON array of the addresses it listens on. */
  listen: string;
  started_at: string;
  heartbeat_at: string;
  /** Set by an orderly stop; null while it runs, or after a crash. */
  stopped_at: string | null;
  /** Migration 041: the host's clock surely off the database's at the last heartbeat, ms (> 0 ahead); null before. */
  clock_skew_ms: Generated<number | null>;
}

// Issue 18: principal cache
export interface Database {
  principal_version: PrincipalVersionTable;
}

/** Migration 042 (SQLite only): one row whose `v` every change to what a principal is made of sets anew (not a tenant table). */
interface PrincipalVersionTable {
  id: number;
  v: number;
}
