// Reading an untrusted FHIR bundle (parsed JSON, not yet known to be valid): type-safe accessors
// that answer `undefined` instead of throwing, FHIR date formats, and the bundle's reference index
// (resolving `Patient/123`, `urn:uuid:…` and absolute URLs to the entry they point at).

export type Json = Record<string, unknown>;

export function asObject(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

/** FHIR repeats as an array; a single value is read as a one-element list (lenient on input, not on output). */
export function asList(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

export function asObjects(value: unknown): Json[] {
  return asList(value)
    .map(asObject)
    .filter((o): o is Json => o !== undefined);
}

/** A non-empty string (trimmed emptiness counts as absent). */
export function asText(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/** FHIR `date`: YYYY, YYYY-MM or YYYY-MM-DD. */
export const FHIR_DATE = /^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$/;
/** FHIR `dateTime`: a date, or a full date with time and zone. */
export const FHIR_DATE_TIME =
  /^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01])(T([01]\d|2[0-3]):[0-5]\d(:([0-5]\d|60)(\.\d{1,9})?)?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00)))?)?)?$/;
/** FHIR `instant`: a full date-time with seconds and zone. */
export const FHIR_INSTANT =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00))$/;

export interface Coding {
  system?: string;
  code?: string;
  display?: string;
}

/** The codings of a CodeableConcept (or of a bare Coding), as far as they are objects. */
export function codings(concept: unknown): Coding[] {
  const object = asObject(concept);
  if (!object) return [];
  const list = 'coding' in object ? asObjects(object.coding) : [object];
  return list.map((c) => ({ system: asText(c.system), code: asText(c.code), display: asText(c.display) }));
}

export function hasCoding(concept: unknown, system: string, code?: string): boolean {
  return codings(concept).some((c) => c.system === system && (code === undefined || c.code === code));
}

/** A profile URL without its `|version` suffix. */
export function profileBase(url: string): string {
  const bar = url.indexOf('|');
  return bar === -1 ? url : url.slice(0, bar);
}

export function claimsProfile(resource: Json, base: string): boolean {
  return asList(asObject(resource.meta)?.profile).some((p) => typeof p === 'string' && profileBase(p) === base);
}

/** One entry of the bundle: where it is, and the resource it holds. */
export interface Located {
  index: number;
  resource: Json;
  type: string;
  /** The element path of the resource, e.g. `Bundle.entry[1].resource(Patient)`. */
  path: string;
}

/** The bundle's entries by the URLs a reference may use to name them. */
export class EntryIndex {
  readonly entries: Located[] = [];
  private readonly byUrl = new Map<string, Located>();

  constructor(entries: unknown) {
    asList(entries).forEach((entry, index) => {
      const object = asObject(entry);
      const resource = asObject(object?.resource);
      const type = asText(resource?.resourceType);
      if (!object || !resource || !type) return;
      const located: Located = { index, resource, type, path: `Bundle.entry[${index}].resource(${type})` };
      this.entries.push(located);
      const fullUrl = asText(object.fullUrl);
      const id = asText(resource.id);
      if (fullUrl) {
        this.byUrl.set(fullUrl, located);
        // https://demis.rki.de/fhir/Patient/123 is also reachable as Patient/123.
        const tail = /(?:^|\/)([A-Z][A-Za-z]+\/[^/]+)$/.exec(fullUrl)?.[1];
        if (tail && !this.byUrl.has(tail)) this.byUrl.set(tail, located);
      }
      if (id && !this.byUrl.has(`${type}/${id}`)) this.byUrl.set(`${type}/${id}`, located);
    });
  }

  /** The entry a Reference points at, if it is in the bundle (a version suffix `/_history/n` is ignored). */
  resolve(reference: unknown): Located | undefined {
    const ref = asText(asObject(reference)?.reference);
    if (!ref) return undefined;
    const plain = ref.replace(/\/_history\/[^/]+$/, '');
    return this.byUrl.get(plain) ?? this.byUrl.get(/([A-Z][A-Za-z]+\/[^/]+)$/.exec(plain)?.[1] ?? '');
  }

  ofType(type: string): Located[] {
    return this.entries.filter((e) => e.type === type);
  }
}
