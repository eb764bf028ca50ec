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
  'token-scope': { status: 403, title: 'Outside the API token\'s scope' },
  'not-found': { status: 404, title: 'Not found' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'not-acceptable': { status: 406, title: 'Not acceptable' },
  'already-set-up': { status: 409, title: 'Already set up' },
  conflict: { status: 409, title: 'Conflict' },
  'stale-version': { status: 409, title: 'The resource was changed by someone else' },
  'approval-pending': { status: 409, title: 'Waiting for a second person\'s approval' },
  'payload-too-large': { status: 413, title: 'Request body too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'validation-failed': { status: 422, title: 'Invalid input' },
  'weak-password': { status: 422, title: 'Password too weak' },
  'rate-limited': { status: 429, title: 'Too many attempts' },
  'internal-error': { status: 500, title: 'Internal error' },
  'audit-unavailable': { status: 503, title: 'Audit log unavailable; the request was not carried out' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export class KarteiError extends Error {
  readonly status: number;
  readonly title: string;
  constructor(
    readonly code: ErrorCode,
    readonly detail?: string,
    /** Extra members of the problem document (e.g. the current version on 409). */
    readonly extra?: Record<string, unknown>,
    /** Response headers that belong to the refusal (e.g. Retry-After on 429). */
    readonly headers?: Record<string, string>,
  ) {
    super(detail ?? ERROR_CATALOGUE[code].title);
    this.status = ERROR_CATALOGUE[code].status;
    this.title = ERROR_CATALOGUE[code].title;
  }
}

export const problemType = (code: ErrorCode) => `https://kartei.invalid/problems/${code}`;
