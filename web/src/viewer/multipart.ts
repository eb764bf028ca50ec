// The first part of a multipart/related answer (a WADO-RS frame), without a parser library.

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  outer: for (let i = from; i <= hay.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** The first part of a multipart/related body: its content type and bytes. */
export function firstPart(body: Uint8Array, boundary: string): { contentType: string; body: Uint8Array } {
  const enc = new TextEncoder();
  const start = indexOf(body, enc.encode(`--${boundary}`), 0);
  const headersEnd = indexOf(body, enc.encode('\r\n\r\n'), start);
  if (start < 0 || headersEnd < 0) throw new Error('malformed multipart frame answer');
  const headers = new TextDecoder().decode(body.subarray(start, headersEnd));
  const end = indexOf(body, enc.encode(`\r\n--${boundary}`), headersEnd + 4);
  return { contentType: /content-type:\s*([^\r\n]+)/i.exec(headers)?.[1] ?? '', body: body.subarray(headersEnd + 4, end < 0 ? body.length : end) };
}
