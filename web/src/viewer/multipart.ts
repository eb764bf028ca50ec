// The first part of a multipart/related answer (a WADO-RS frame), without a parser library.

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  // The typed array's own indexOf finds candidates for the first byte natively; a frame is ~0.5 MB.
  for (let i = hay.indexOf(needle[0]!, from); i >= 0 && i <= hay.length - needle.length; i = hay.indexOf(needle[0]!, i + 1)) {
    let j = 1;
    while (j < needle.length && hay[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
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
