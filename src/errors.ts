// One typed error for everything the API can refuse. Each code has a stable
// identifier, an HTTP status and a title; the global handler renders it as
// RFC 9457 problem+json. `detail` must never carry personal data or secrets.

export const ERROR_CATALOGUE = {
  'bad-request': { status: 400, title: 'Bad request' },
  'malformed-json': { status: 400, title: 'Malformed JSON body' },
  unauthenticated: { status: 401, title: 'Not authenticated' },
  'invalid-credentials': { status: 401, title: 'Invalid credentials' },
  'invalid-mfa-code': { status: 401, title: 'Invalid or reused code' },
  'invalid-setup-token': { status: 401, title: 'Invalid, expired or used setup token' },
  'invalid-enrolment-link': { status: 401, title: 'Invalid, expired or used enrolment link' },
  'sso-failed': { status: 401, title: 'Single sign-on failed' },
  'sso-not-linked': { status: 403, title: 'This identity is not linked to a Kartei account' },
  'csrf-missing': { status: 403, title: 'Missing or wrong CSRF token' },
  forbidden: { status: 403, title: 'Forbidden' },
  'token-scope': { status: 403, title: "Outside the API token's scope" },
  'not-found': { status: 404, title: 'Not found' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'not-acceptable': { status: 406, title: 'Not acceptable' },
  'already-set-up': { status: 409, title: 'Already set up' },
  conflict: { status: 409, title: 'Conflict' },
  'stale-version': { status: 409, title: 'The resource was changed by someone else' },
  'approval-pending': { status: 409, title: "Waiting for a second person's approval" },
  // Issue 16: person merge
  'person-merged': { status: 410, title: 'This file was merged into another' },
  'payload-too-large': { status: 413, title: 'Request body too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'validation-failed': { status: 422, title: 'Invalid input' },
  'weak-password': { status: 422, title: 'Password too weak' },
  'rate-limited': { status: 429, title: 'Too many attempts' },
  'internal-error': { status: 500, title: 'Internal error' },
  // Issue 19: s25-start-files
  'office-key-unavailable': {
    status: 500,
    title: "The office's key does not open with this server's key directory; nothing was read or changed",
  },
  // Issue 17: letters
  'letter-failed': { status: 500, title: 'The letter could not be made; nothing was stored' },
  'audit-unavailable': { status: 503, title: 'Audit log unavailable; the request was not carried out' },
  // Issue 19: ops
  'storage-full': { status: 503, title: 'Storage full; the request was not carried out' },
  // s27: the database (or the image store) did not answer a new connection in time, or refused it
  'service-unavailable': {
    status: 503,
    title: 'The database or the image store cannot be reached; the request was not carried out',
  },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export class KarteiError extends Error {
  readonly status: number;
  readonly title: string;
  readonly code: ErrorCode;
  readonly detail?: string;
  /** Extra members of the problem document (e.g. the current version on 409). */
  readonly extra?: Record<string, unknown>;
  /** Response headers that belong to the refusal (e.g. Retry-After on 429). */
  readonly headers?: Record<string, string>;
  constructor(code: ErrorCode, detail?: string, extra?: Record<string, unknown>, headers?: Record<string, string>) {
    super(detail ?? ERROR_CATALOGUE[code].title);
    this.code = code;
    this.detail = detail;
    this.extra = extra;
    this.headers = headers;
    this.status = ERROR_CATALOGUE[code].status;
    this.title = ERROR_CATALOGUE[code].title;
  }
}

export const problemType = (code: ErrorCode) => `https://kartei.invalid/problems/${code}`;

// Issue 19: ops
/** The error codes (Node, SQLite, PostgreSQL's SQLSTATE disk_full) that say a write found no space. */
const FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL', '53100']);

/** Whether `err` (or anything in its chain of causes) is a write that found no space: answered `storage-full`. */
export function isStorageFull(err: unknown): boolean {
  let e = err;
  for (let depth = 0; depth < 8 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && FULL_CODES.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * The machine codes of single invalid fields, in the `errors` member of a `validation-failed`,
 * `weak-password` or field-bearing `conflict` problem: `{field, code, params?}` for every
 * invalid field at once. Clients render these in their own language; docs/errors.md lists them.
 */
export const FIELD_CODES = [
  // from the schemas (zod)
  'required',
  'invalid-type',
  'too-short',
  'too-long',
  'too-small',
  'too-big',
  'too-few',
  'too-many',
  'invalid-format',
  'invalid-date',
  'not-one-of',
  'unknown-field',
  'duplicate',
  'no-nul',
  'username-chars',
  'icd10-format',
  'ae-title-format',
  'date-in-future',
  'date-order',
  'not-ip',
  'not-uid',
  'reason-too-short',
  'reason-repeated',
  'reason-not-words',
  'issuer-not-url',
  'issuer-has-extras',
  'issuer-not-https',
  'claim-chars',
  'claim-not-stable',
  'claim-not-subject',
  'invalid',
  // from the domain
  'must-be-future',
  'too-far-ahead',
  'department-unknown',
  'department-own',
  'department-required',
  'taken',
  'ae-title-taken',
  'password-too-short',
  'password-weak',
  'password-same',
  'current-password-wrong',
  'code-required',
  'code-wrong',
  'code-used',
  'admin-token-days',
  'client-secret-required',
  'device-needs-certificate',
  'host-not-loopback',
  'certificate-not-pem',
  'last-dpo',
  'already-decided',
  'already-ended',
  'passkey-unverified',
  'passkey-registered',
  'too-many-passkeys',
  'last-second-factor',
  'identity-linked-elsewhere',
  'study-other-file',
  'different-persons',
  // Issue 16: inbox
  'not-member',
  'not-in-department',
  'notification-closed',
  'person-required',
  'bundle-element',
  // Issue 16: outbreaks
  'not-a-case-record',
  'outbreak-other-department',
  'case-in-other-outbreak',
  // the DEMIS connection (issue 16)
  'url-not-https',
  'certificate-expired',
  'certificate-not-rsa',
  'key-unreadable',
  'key-not-matching',
  'pkcs12-unreadable',
  'pkcs12-password',
  // Issue 16: person merge
  'merge-self',
  'merge-other-department',
  'merge-pending',
  'already-merged',
  'merge-unreadable',
  'merge-own',
  // Issue 16: transmission
  'ags-format',
  'settings-missing',
  'nothing-to-transmit',
  // Issue 16: cases & contacts
  'case-unknown',
  'contacts-not-restricted',
  'contact-is-case',
  'already-recorded',
  'already-converted',
  'not-active',
  // Issue 17: documents
  'file-type-refused',
  'file-name-mismatch',
  'file-too-large',
  'mailroom-other-department',
  'already-assigned',
  // Issue 17: tasks
  'link-unknown',
  // Issue 17: letters
  'template-field-unknown',
  'template-syntax',
  'template-unknown',
  'record-required',
  'record-unsuitable',
  'certificate-not-negative',
  // Issue 17: import
  'import-unreadable',
  'import-empty',
  'import-too-many-rows',
  'import-not-checked',
  'import-running',
  'import-ended',
  'column-unknown',
  // Issue 17: attack
  'run-running',
] as const;

export type FieldCode = (typeof FIELD_CODES)[number];

/** The English rules of patterns, which the schemas show as their message and field-issues.ts maps to a code. */
export const FORMAT_RULES = {
  noNul: 'must not contain NUL characters',
  username: 'letters, digits and . _ @ - only',
  icd10: 'an ICD-10 code like A15.0, optionally with G, V, Z or A',
  aeTitle: '1 to 16 characters, no backslash or control characters',
} as const;

/** One invalid field: its dotted path, its code and what the message needs (a limit, the options…). */
export interface FieldError {
  field: string;
  code: FieldCode;
  params?: Record<string, string | number | string[]>;
}

/** An invalid field with the English sentence the problem's `detail` keeps for API clients. */
export interface FieldProblem extends FieldError {
  message: string;
}

/**
 * A refusal naming one or more fields: `field` is the first (as always), `detail` says each in
 * English, `errors` lists every one with its code.
 */
export function fieldsRefused(
  code: 'validation-failed' | 'weak-password' | 'conflict' | 'bad-request',
  problems: FieldProblem[],
  extra?: Record<string, unknown>,
): KarteiError {
  const errors: FieldError[] = problems.map(({ field, code, params }) =>
    params ? { field, code, params } : { field, code },
  );
  const detail = problems.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message)).join('; ');
  return new KarteiError(code, detail, { field: problems[0]?.field, errors, ...extra });
}

/** One invalid field: the common case. */
export const fieldRefused = (
  code: 'validation-failed' | 'weak-password' | 'conflict' | 'bad-request',
  field: string,
  fieldCode: FieldCode,
  message: string,
  params?: FieldError['params'],
) => fieldsRefused(code, [{ field, code: fieldCode, message, ...(params ? { params } : {}) }]);
