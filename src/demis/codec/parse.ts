// The DEMIS FHIR codec's one entry point: a notification bundle as received (JSON or FHIR XML, as text
// or bytes) becomes either a ParsedNotification with its FHIR R4 Bundle, or the list of every problem
// (element path + what was expected). Refuses oversized and too deeply nested input before parsing,
// XML with a DOCTYPE (no entity expansion), and anything that is not a Bundle. Pure: no I/O.
import type { Bundle, FhirResource } from 'fhir/r4.js';
import type { BundleProblem, BundleProblemCode, ParsedNotification } from './notification.ts';
import { checkBundle } from './check-bundle.ts';
import { extractNotification } from './extract.ts';
import { fhirXmlToJson } from './fhir-xml.ts';

/** Bundles larger than this are refused unread (DEMIS bundles are a few hundred kB at most). */
export const MAX_BUNDLE_BYTES = 10 * 1024 * 1024;
/** Objects and arrays (JSON) or elements (XML) nested deeper than this are refused unread. */
export const MAX_NESTING = 100;
/** A refused bundle's problems listed at most (then one more saying how many were left out). */
const MAX_PROBLEMS = 200;

export type ParseResult =
  | { ok: true; notification: ParsedNotification; bundle: Bundle<FhirResource> }
  | { ok: false; problems: BundleProblem[] };

const JSON_TYPES = ['application/fhir+json', 'application/json', 'application/json+fhir'];
const XML_TYPES = ['application/fhir+xml', 'application/xml', 'text/xml', 'application/xml+fhir'];
/** A hand-uploaded file may come without a useful type; its first character tells. */
const UNTYPED = ['', 'application/octet-stream'];

export function parseNotificationBundle(body: string | Uint8Array, mediaType: string): ParseResult {
  const type = mediaType.split(';')[0]!.trim().toLowerCase();
  const format = JSON_TYPES.includes(type)
    ? 'json'
    : XML_TYPES.includes(type)
      ? 'xml'
      : UNTYPED.includes(type)
        ? sniff(body)
        : undefined;
  if (!format) {
    return refuse('Content-Type', 'media-type', 'application/fhir+json or application/fhir+xml (FHIR R4 JSON or XML)');
  }
  const size = typeof body === 'string' ? body.length : body.byteLength;
  if (size > MAX_BUNDLE_BYTES) {
    return refuse('Bundle', 'too-large', `a bundle of at most ${MAX_BUNDLE_BYTES / 1024 / 1024} MB`, {
      mb: MAX_BUNDLE_BYTES / 1024 / 1024,
    });
  }
  let text: string;
  try {
    text = typeof body === 'string' ? body : new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return refuse('Bundle', 'encoding', 'UTF-8 encoded text');
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);

  let value: unknown;
  if (format === 'json') {
    const parsed = parseJson(text);
    if (!parsed.ok) return parsed;
    value = parsed.value;
  } else {
    const parsed = fhirXmlToJson(text, MAX_NESTING);
    if (!parsed.ok) return parsed;
    value = parsed.value;
  }
  const { problems, checked } = checkBundle(value);
  if (problems.length > 0 || !checked) return { ok: false, problems: capped(problems) };
  return { ok: true, notification: extractNotification(checked), bundle: value as Bundle<FhirResource> };
}

/**
 * The first MAX_PROBLEMS problems and a line saying how many more: a crafted bundle of 100,000 broken
 * entries is not answered (and kept in the quarantine) with 100,000 reasons.
 */
function capped(problems: BundleProblem[]): BundleProblem[] {
  if (problems.length <= MAX_PROBLEMS) return problems;
  return [
    ...problems.slice(0, MAX_PROBLEMS),
    {
      path: 'Bundle',
      code: 'more-problems',
      params: { count: problems.length - MAX_PROBLEMS },
      expected: `a bundle with fewer problems (${problems.length - MAX_PROBLEMS} more are not listed)`,
    },
  ];
}

/** A file uploaded without a type: JSON if it starts with `{`, XML if with `<` (after a BOM and blanks). */
function sniff(body: string | Uint8Array): 'json' | 'xml' | undefined {
  const head = typeof body === 'string' ? body.slice(0, 64) : new TextDecoder().decode(body.subarray(0, 64));
  const first = head.replace(/^[\ufeff\s]+/, '')[0];
  return first === '{' ? 'json' : first === '<' ? 'xml' : undefined;
}

function refuse(
  path: string,
  code: BundleProblemCode,
  expected: string,
  params?: BundleProblem['params'],
): { ok: false; problems: BundleProblem[] } {
  return { ok: false, problems: [{ path, code, ...(params ? { params } : {}), expected }] };
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; problems: BundleProblem[] } {
  const depth = jsonDepth(text);
  if (depth > MAX_NESTING)
    return refuse('Bundle', 'too-deep', `JSON nested at most ${MAX_NESTING} levels deep`, { levels: MAX_NESTING });
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    // The engine's message quotes the input around the error; only its position is passed on.
    const position = /position (\d+)/.exec(String((error as Error).message))?.[1];
    return refuse(
      'Bundle',
      'malformed-json',
      `well-formed JSON${position ? ` (the error is at character ${position})` : ''}`,
      position ? { position: Number(position) } : undefined,
    );
  }
}

/** The deepest nesting of objects and arrays, counted in one pass that skips strings. */
function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c) i++;
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x7b || ch === 0x5b) {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > MAX_NESTING) return deepest;
    } else if (ch === 0x7d || ch === 0x5d) depth--;
  }
  return deepest;
}
