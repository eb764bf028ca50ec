// Renders every error once, as RFC 9457 problem+json. Known errors keep their
// code and status; validation errors name every invalid field with a code; anything unexpected is
// a bare 500 whose details go only to the log, never to the client.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { fieldRefused, KarteiError, problemType, type ErrorCode } from '../errors.ts';
import { fromZodError, fromZodIssues, type ValidationIssue } from '../field-issues.ts';
import { OfficeKeyUnavailableError } from '../vault/keyring.ts'; // Issue 19: s25-start-files
import { isConnectTimeout } from '../db/pg-connect.ts'; // s27

/** The neutral code for a client error Fastify raised itself, by status. */
const GENERIC_BY_STATUS: Record<number, ErrorCode> = {
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not-found',
  405: 'method-not-allowed',
  409: 'conflict',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
  422: 'validation-failed',
  429: 'rate-limited',
};

/** Maps anything thrown to a KarteiError; unknown errors become internal-error. */
export function toKarteiError(err: unknown): KarteiError {
  if (err instanceof KarteiError) return err;
  // Issue 19: s25-start-files — the office's key gone or not opening under this key directory's master.
  if (err instanceof OfficeKeyUnavailableError) return new KarteiError('office-key-unavailable');
  if (err instanceof ZodError) return fromZodError(err);
  const fe = err as FastifyError & { validationContext?: string };
  if (hasZodFastifySchemaValidationErrors(fe))
    return fromZodIssues(fe.validation as ValidationIssue[], fe.validationContext);
  if (fe.validation) return fieldRefused('validation-failed', fe.validationContext ?? 'body', 'invalid', fe.message);
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new KarteiError('malformed-json', 'body: not valid JSON', { field: 'body' });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new KarteiError('payload-too-large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new KarteiError('unsupported-media-type', 'Send application/json');
    case 'FST_ERR_RATE_LIMIT_EXCEEDED':
      return new KarteiError('rate-limited');
  }
  if (fe instanceof SyntaxError) return new KarteiError('malformed-json', 'body: not valid JSON', { field: 'body' });
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new KarteiError(GENERIC_BY_STATUS[fe.statusCode] ?? 'bad-request');
  }
  if (isServiceUnreachable(err))
    return new KarteiError('service-unavailable', undefined, undefined, { 'retry-after': '30' });
  return new KarteiError('internal-error');
}

/**
 * s27: the database (or the image store's S3) could not be reached or connected to: refused, closed, not
 * answering within the connection's time limit (src/db/pg-connect.ts), shutting down (the SQLite store closing:
 * `StoreClosed` in src/db/group-commit.ts), or out of connections —
 * reset or closed under a query — anywhere in the error's chain of causes. Nothing was carried out; the same
 * request may succeed later. (A client that went away mid-request, resetting its own connection, never
 * reads the answer.)
 */
const UNREACHABLE_CODES =
  /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|08[0-9A-Z]{3}|57P0[123]|53300|KARTEI_STORE_CLOSED)$/;
const UNREACHABLE_MESSAGES = new Set(['Connection terminated unexpectedly']);
function isServiceUnreachable(err: unknown): boolean {
  let e = err;
  for (let depth = 0; depth < 8 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && UNREACHABLE_CODES.test(code)) return true;
    if (isConnectTimeout(e) || (e instanceof Error && UNREACHABLE_MESSAGES.has(e.message))) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

export function sendProblem(reply: FastifyReply, e: KarteiError) {
  if (e.headers) reply.headers(e.headers);
  return reply
    .code(e.status)
    .type('application/problem+json')
    .send({
      type: problemType(e.code),
      title: e.title,
      status: e.status,
      detail: e.detail ?? e.title,
      code: e.code,
      ...e.extra,
    });
}

export function errorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply) {
  const e = toKarteiError(err);
  if (e.status >= 500) {
    // Log the class and code only: messages of driver errors can quote data.
    const cause = (err as { cause?: unknown }).cause ?? err;
    req.log.error(
      {
        err: { type: (cause as Error)?.constructor?.name, code: (cause as { code?: unknown })?.code },
        problem: e.code,
      },
      'request failed',
    );
  }
  return sendProblem(reply, e);
}
