// Renders every error once, as RFC 9457 problem+json. Known errors keep their
// code and status; validation errors name every invalid field with a code; anything unexpected is
// a bare 500 whose details go only to the log, never to the client.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { fieldRefused, KarteiError, problemType, type ErrorCode } from '../errors.ts';
import { fromZodError, fromZodIssues, type ValidationIssue } from '../field-issues.ts';
import { OfficeKeyUnavailableError } from '../vault/keyring.ts'; // Issue 19: s25-start-files

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
  return new KarteiError('internal-error');
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
