// Accept headers of DICOMweb requests (RFC 9110 12.5.1): which of the media
// types an answer can take the client will take, with its parameters
// (a multipart's `type`, a `transfer-syntax`).
import { KarteiError } from '../../errors.ts';

export interface MediaRange {
  type: string;
  params: Record<string, string>;
}

/** The ranges a client accepts (q > 0), in its order; no header accepts anything. */
function parseAccept(header: string | undefined): MediaRange[] {
  if (!header?.trim()) return [{ type: '*/*', params: {} }];
  const out: MediaRange[] = [];
  for (const part of header.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/)) {
    const [type, ...rest] = part.split(/;(?=(?:[^"]*"[^"]*")*[^"]*$)/);
    const params: Record<string, string> = {};
    for (const p of rest) {
      const eq = p.indexOf('=');
      if (eq > 0)
        params[p.slice(0, eq).trim().toLowerCase()] = p
          .slice(eq + 1)
          .trim()
          .replace(/^"|"$/g, '');
    }
    if (params.q !== undefined && !(Number(params.q) > 0)) continue;
    if (type?.trim()) out.push({ type: type.trim().toLowerCase(), params });
  }
  return out;
}

const covers = (range: string, type: string) =>
  range === type || range === '*/*' || (range.endsWith('/*') && type.startsWith(range.slice(0, -1)));

/** The first of `offered` the client accepts; 406 naming the offer otherwise. */
export function negotiate<T extends string>(header: string | undefined, offered: readonly T[]): T {
  const ranges = parseAccept(header);
  for (const range of ranges) {
    const match = offered.find((o) => covers(range.type, o));
    if (match) return match;
  }
  throw new KarteiError('not-acceptable', `Accept: this resource is sent as ${offered.join(' or ')}`, {
    field: 'Accept',
  });
}

/** The range under which a multipart/related answer of `partType` parts is accepted; 406 otherwise. */
export function acceptMultipart(header: string | undefined, partType: string): MediaRange {
  const hit = parseAccept(header).find(
    (r) => covers(r.type, 'multipart/related') && (!r.params.type || r.params.type.toLowerCase() === partType),
  );
  if (!hit)
    throw new KarteiError('not-acceptable', `Accept: this resource is sent as multipart/related; type="${partType}"`, {
      field: 'Accept',
    });
  return hit;
}
