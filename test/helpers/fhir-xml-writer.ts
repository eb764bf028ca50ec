// FHIR JSON → FHIR XML for tests (the reverse of src/demis/codec/fhir-xml.ts, written independently):
// lets a test hand the same bundle to the codec in both formats. Primitives as `value` attributes with
// their `_name` twins as `id` attribute and extension children, `id`/`url` of data types as attributes,
// resources inside their container element; the narrative's `div` is left out.

const xmlEscape = (value: string) =>
  value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

type Json = Record<string, unknown>;

export function toFhirXml(resource: Json): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${resourceXml(resource, true)}`;
}

function resourceXml(resource: Json, root = false): string {
  const type = String(resource.resourceType);
  return `<${type}${root ? ' xmlns="http://hl7.org/fhir"' : ''}>${children(resource, true)}</${type}>`;
}

function children(object: Json, isResource: boolean): string {
  let out = '';
  for (const [key, value] of Object.entries(object)) {
    if (key.startsWith('_') && !(key.slice(1) in object)) {
      out += element(key.slice(1), undefined, value as Json); // a primitive with only extensions
      continue;
    }
    if (key === 'resourceType' || key.startsWith('_') || key === 'div') continue;
    if (!isResource && (key === 'id' || key === 'url')) continue; // attributes, written by element()
    const values = Array.isArray(value) ? value : [value];
    const twin = object[`_${key}`];
    const twins = Array.isArray(twin) ? twin : [twin];
    values.forEach((v, i) => {
      out += element(key, v, twins[i] as Json | null | undefined);
    });
  }
  return out;
}

function element(name: string, value: unknown, twin: Json | null | undefined): string {
  if (name === 'resource' || name === 'contained') return `<${name}>${resourceXml(value as Json)}</${name}>`;
  if (typeof value === 'object' && value !== null) {
    const o = value as Json;
    const attrs = `${typeof o.id === 'string' ? ` id="${xmlEscape(o.id)}"` : ''}${typeof o.url === 'string' ? ` url="${xmlEscape(o.url)}"` : ''}`;
    return `<${name}${attrs}>${children(o, false)}</${name}>`;
  }
  const id = twin && typeof twin.id === 'string' ? ` id="${xmlEscape(twin.id)}"` : '';
  const inner = twin ? children(twin, false) : '';
  const attr = value === undefined || value === null ? '' : ` value="${xmlEscape(String(value))}"`;
  return `<${name}${id}${attr}${inner ? `>${inner}</${name}>` : '/>'}`;
}
