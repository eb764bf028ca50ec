// Keyset paging for long lists (a file's records, decided reviews): a page is
// `limit` items after an opaque cursor that names the last item shown by its
// time and id, so the database reads only the page, however long the list is.
// A cursor says where to continue, never what may be seen: every query still
// applies its own filters (file, department, visibility) to the next page.
import { z } from 'zod';

const PAGE_DEFAULT = 50;
const PAGE_MAX = 200;

export interface Cursor {
  at: string;
  id: string;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;
const ID = /^[0-9A-Za-z-]{1,64}$/;

function encodeCursor(c: Cursor): string {
  return Buffer.from(`${c.at}|${c.id}`, 'utf8').toString('base64url');
}

export function decodeCursor(s: string): Cursor | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(s)) return null;
  const [at, id, ...rest] = Buffer.from(s, 'base64url').toString('utf8').split('|');
  if (rest.length || !at || !id || !ISO.test(at) || !ID.test(id)) return null;
  return { at, id };
}

/** `limit` and `before` of a paged list: a bad cursor or limit answers 422 naming the field. */
export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(PAGE_MAX).default(PAGE_DEFAULT),
  /** Opaque: the `next` cursor of the page before (decoded with `decodeCursor`). */
  before: z
    .string()
    .max(200)
    .refine((x) => decodeCursor(x) !== null, 'not a cursor from a previous page')
    .optional(),
};

/** Of `limit + 1` rows read, the page's rows and the cursor after them. */
export function pageOf<R>(rows: R[], limit: number, cursorOf: (r: R) => Cursor): { rows: R[]; next: string | null } {
  const more = rows.length > limit;
  const shown = more ? rows.slice(0, limit) : rows;
  return { rows: shown, next: more ? encodeCursor(cursorOf(shown[shown.length - 1]!)) : null };
}
