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

/** A page answered: the `Link` to the next one when there is one, and its items. */
export function answerPage<T>(
  req: FastifyRequest,
  reply: FastifyReply,
  page: { items: T[]; next: string | number | null },
): T[] {
  linkNext(req, reply, page.next);
  return page.items;
}

/** A page of the audit log, newest first: a full one may have more behind it, below its last sequence number. */
export const auditPage = <T extends { seq: number }>(rows: T[], limit: number) => ({
  items: rows,
  next: rows.length === limit ? rows[rows.length - 1]!.seq : null,
});
