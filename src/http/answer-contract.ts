// Every route declares what it answers: a zod schema per success status in
// `schema.response` (src/contract), or — for bytes that are no JSON (DICOMweb,
// PDF, the web application, redirects) — `config.answers: { raw: why }`. The server
// refuses to start with a route that declares neither. The serializer checks each
// JSON answer against its schema (strict objects: a member the contract does not name
// is an error, never sent), so an answer the contract does not allow is a logged 500.
import type { RouteOptions } from 'fastify';

/** A route whose answer is not JSON; says what it sends instead. */
interface RawAnswer {
  raw: string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    answers?: RawAnswer;
  }
}

export class UndeclaredAnswerError extends Error {}

const SUCCESS = /^(2\d\d|2XX)$/;

export function assertAnswerDeclared(route: RouteOptions): void {
  const response = route.schema?.response as Record<string, unknown> | undefined;
  const declared = !!response && Object.keys(response).some((status) => SUCCESS.test(status));
  const raw = route.config?.answers;
  if (declared || (raw && typeof raw.raw === 'string' && raw.raw.length > 0)) return;
  throw new UndeclaredAnswerError(
    `Route ${route.method} ${route.url} declares no response schema (schema.response) nor a raw answer (config.answers); refusing to start`,
  );
}
