// The `Link: <…>; rel="next"` header of a paged list: the same request with the
// cursor of the next page, present only when more items exist. The answer itself
// stays the array the API promises.
import type { FastifyReply, FastifyRequest } from 'fastify';

export function linkNext(
  req: FastifyRequest,
  reply: FastifyReply,
  next: string | number | null,
  param = 'before',
): void {
  if (next === null) return;
  const url = new URL(req.url, 'http://kartei.invalid');
  url.searchParams.set(param, String(next));
  reply.header('link', `<${url.pathname}${url.search}>; rel="next"`);
}
