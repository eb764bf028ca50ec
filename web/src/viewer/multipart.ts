// The parts of a multipart/related answer (WADO-RS frames), without a parser library.

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  // The typed array's own indexOf finds candidates for the first byte natively; a frame is ~0.5 MB.
  for (
    let i = hay.indexOf(needle[0]!, from);
    i >= 0 && i <= hay.length - needle.length;
    i = hay.indexOf(needle[0]!, i + 1)
  ) {
    let j = 1;
    while (j < needle.length && hay[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

/** The parts of a multipart/related body (WADO-RS frames), in order: each one's content type and bytes. */
export function parts(body: Uint8Array, boundary: string): { contentType: string; body: Uint8Array }[] {
  const enc = new TextEncoder();
  const delimiter = enc.encode(`\r\n--${boundary}`);
  const out: { contentType: string; body: Uint8Array }[] = [];
  let start = indexOf(body, enc.encode(`--${boundary}`), 0);
  if (start < 0) throw new Error('malformed multipart frame answer');
  for (;;) {
    const lineEnd = start + delimiter.length - 2;
    // `--` after the boundary closes the body.
    if (body[lineEnd] === 0x2d && body[lineEnd + 1] === 0x2d) break;
    const headersEnd = indexOf(body, enc.encode('\r\n\r\n'), lineEnd);
    if (headersEnd < 0) throw new Error('malformed multipart frame answer');
    const headers = new TextDecoder().decode(body.subarray(lineEnd, headersEnd));
    const end = indexOf(body, delimiter, headersEnd + 4);
    if (end < 0) throw new Error('multipart frame answer cut short');
    out.push({
      contentType: /content-type:\s*([^\r\n]+)/i.exec(headers)?.[1] ?? '',
      body: body.subarray(headersEnd + 4, end),
    });
    start = end + 2;
  }
  if (out.length === 0) throw new Error('multipart frame answer without parts');
  return out;
}
