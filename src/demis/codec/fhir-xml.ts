// FHIR R4 XML → the JSON shape of the same resource, so one checker serves both formats. Elements
// in the namespace http://hl7.org/fhir; primitives carry their value in a `value` attribute (with
// `id`/extensions going to the `_name` twin as in FHIR JSON); a resource sits inside its container
// element (entry.resource, contained); repeating elements become arrays by the R4 cardinalities of
// the resources DEMIS bundles use (ARRAY_* below); booleans and numbers get their JSON types; the
// narrative's xhtml `div` is dropped. Safe: a DOCTYPE (and so any entity) is refused before parsing,
// only XML's five predefined entities and character references are decoded, nesting is limited.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { BundleProblem, BundleProblemCode } from './notification.ts';

const FHIR_NS = 'http://hl7.org/fhir';

type XmlNode = Record<string, unknown> & { ':@'?: Record<string, string> };
type Result = { ok: true; value: Record<string, unknown> } | { ok: false; problems: BundleProblem[] };

const refuse = (code: BundleProblemCode, expected: string, params?: BundleProblem['params']): Result => ({
  ok: false,
  problems: [{ path: 'Bundle', code, ...(params ? { params } : {}), expected }],
});

export function fhirXmlToJson(text: string, maxNesting: number): Result {
  // FHIR forbids DTDs; refusing them outright rules out entity expansion (billion laughs) and XXE.
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) {
    return refuse('xml-doctype', 'FHIR XML without a DOCTYPE or entity declarations (FHIR does not allow them)');
  }
  const valid = XMLValidator.validate(text, { allowBooleanAttributes: false });
  if (valid !== true) {
    // The validator's message may quote the input; only the line number is passed on.
    return refuse('malformed-xml', `well-formed XML (the error is on line ${valid.err.line})`, {
      line: valid.err.line,
    });
  }
  let nodes: XmlNode[];
  try {
    nodes = new XMLParser({
      preserveOrder: true,
      ignoreAttributes: false,
      attributeNamePrefix: '',
      parseAttributeValue: false,
      parseTagValue: false,
      processEntities: false,
      htmlEntities: false,
      ignoreDeclaration: true,
      ignorePiTags: true,
      trimValues: true,
      maxNestedTags: maxNesting,
    }).parse(text) as XmlNode[];
  } catch {
    return refuse('too-deep', `FHIR XML nested at most ${maxNesting} levels deep`, { levels: maxNesting });
  }
  const roots = nodes.filter((n) => elementName(n) !== undefined);
  const root = roots[0];
  const name = root && elementName(root);
  if (!root || !name || roots.length !== 1) return refuse('xml-root', 'one FHIR resource as the document element');
  if (attributes(root).xmlns !== FHIR_NS)
    return refuse('namespace', `the FHIR namespace ${FHIR_NS} on the document element`, { namespace: FHIR_NS });
  return { ok: true, value: resource(name, children(root, name)) };
}

function elementName(node: XmlNode): string | undefined {
  return Object.keys(node).find((k) => k !== ':@' && k !== '#text' && !k.startsWith('?'));
}

function attributes(node: XmlNode): Record<string, string> {
  return node[':@'] ?? {};
}

function children(node: XmlNode, name: string): XmlNode[] {
  const list = node[name];
  return Array.isArray(list) ? (list as XmlNode[]) : [];
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** XML's predefined entities and character references; anything else stays as written. */
function decode(value: string): string {
  return value.replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);/g, (whole, ref: string) => {
    if (ref[0] !== '#') return ENTITIES[ref] ?? whole;
    const code = ref[1] === 'x' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
    return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

interface Context {
  resourceType: string;
  /** 1 for the resource's own elements, 2 for theirs, … */
  depth: number;
  /** The element this one is inside (`''` at the resource's top level). */
  parent: string;
}

function resource(resourceType: string, nodes: XmlNode[]): Record<string, unknown> {
  return { resourceType, ...elements(nodes, { resourceType, depth: 1, parent: '' }) };
}

/** The child elements of one element or resource, converted and grouped by name. */
function elements(nodes: XmlNode[], ctx: Context): Record<string, unknown> {
  const values = new Map<string, unknown[]>();
  const twins = new Map<string, (Record<string, unknown> | null)[]>();
  for (const node of nodes) {
    const name = elementName(node);
    if (!name || name === 'div') continue;
    const attrs = attributes(node);
    const kids = children(node, name).filter((k) => elementName(k) !== undefined);
    let value: unknown;
    let twin: Record<string, unknown> | null = null;
    const inner = kids.length === 1 ? elementName(kids[0]!) : undefined;
    if (inner && /^[A-Z]/.test(inner)) {
      // A resource in its container element: entry.resource, contained, parameter.resource.
      value = resource(inner, children(kids[0]!, inner));
    } else if ('value' in attrs || (PRIMITIVES.has(name) && kids.every((k) => elementName(k) === 'extension'))) {
      // A primitive; without a value attribute (e.g. a birthDate with only a data-absent-reason
      // extension) it exists in JSON only as its `_name` twin.
      value = attrs.value === undefined ? undefined : primitive(decode(attrs.value), name, ctx.parent);
      const extra = elements(kids, { ...ctx, depth: ctx.depth + 1, parent: name });
      if (attrs.id !== undefined) extra.id = decode(attrs.id);
      if (Object.keys(extra).length) twin = extra;
    } else {
      const object: Record<string, unknown> = {};
      for (const [key, raw] of Object.entries(attrs)) {
        if (key !== 'xmlns' && !key.startsWith('xmlns:')) object[key] = decode(raw);
      }
      value = { ...object, ...elements(kids, { ...ctx, depth: ctx.depth + 1, parent: name }) };
    }
    if (!values.has(name)) {
      values.set(name, []);
      twins.set(name, []);
    }
    values.get(name)!.push(value);
    twins.get(name)!.push(twin);
  }
  const out: Record<string, unknown> = {};
  for (const [name, list] of values) {
    const twinList = twins.get(name)!;
    const many = list.length > 1 || repeats(name, ctx);
    if (list.some((v) => v !== undefined)) out[name] = many ? list.map((v) => (v === undefined ? null : v)) : list[0];
    if (twinList.some((t) => t !== null)) out[`_${name}`] = many ? twinList : twinList[0];
  }
  return out;
}

// Elements that repeat (0..*) wherever they occur in the R4 resources and data types DEMIS uses.
const ARRAY_ALWAYS = new Set([
  'extension',
  'modifierExtension',
  'coding',
  'given',
  'prefix',
  'suffix',
  'line',
  'profile',
  'tag',
  'security',
  'telecom',
  'entry',
  'link',
  'section',
  'item',
  'answer',
  'note',
  'interpretation',
  'result',
  'relatesTo',
  'category',
  'evidence',
  'detail',
  'contact',
  'basedOn',
  'performer',
  'reasonCode',
  'reasonReference',
  'component',
  'referenceRange',
  'hasMember',
  'derivedFrom',
  'focus',
  'conclusionCode',
  'presentedForm',
  'media',
  'imagingStudy',
  'resultsInterpreter',
  'stage',
  'diagnosis',
  'location',
  'participant',
  'episodeOfCare',
  'account',
  'statusHistory',
  'classHistory',
  'container',
  'parent',
  'processing',
  'condition',
  'qualification',
  'communication',
  'generalPractitioner',
  'protocolApplied',
  'targetDisease',
  'reaction',
  'education',
  'programEligibility',
  'subpotentReason',
  'alias',
  'endpoint',
  'specialty',
  'healthcareService',
  'availableTime',
  'notAvailable',
  'daysOfWeek',
  'contained',
  'attester',
  'event',
  'target',
  'agent',
  'entity',
  'policy',
  'parameter',
  'part',
  'issue',
  'expression',
]);
// Elements that repeat only as a top-level element of some resources (elsewhere they are single).
const ARRAY_AT_TOP: Record<string, readonly string[]> = {
  address: ['Patient', 'Organization', 'Practitioner', 'RelatedPerson', 'Person', 'Location'],
  name: ['Patient', 'Practitioner', 'RelatedPerson', 'Person'],
  type: ['Organization', 'Encounter', 'Location', 'HealthcareService'],
  specimen: ['DiagnosticReport', 'ServiceRequest'],
  partOf: ['Observation', 'QuestionnaireResponse', 'Procedure', 'MedicationAdministration'],
  bodySite: ['Condition', 'Procedure', 'ServiceRequest'],
  request: ['Specimen'],
  code: ['PractitionerRole'],
  signature: ['Provenance'],
};
// Top-level elements that are single although the name usually repeats.
const SINGLE_AT_TOP: Record<string, readonly string[]> = {
  identifier: ['Bundle', 'Composition', 'QuestionnaireResponse'],
  author: ['QuestionnaireResponse'],
};

function repeats(name: string, ctx: Context): boolean {
  if (ctx.depth === 1 && SINGLE_AT_TOP[name]?.includes(ctx.resourceType)) return false;
  if (ARRAY_ALWAYS.has(name)) return true;
  if (name === 'author') return true;
  if (name === 'identifier') return ctx.depth === 1 || ctx.parent === 'qualification';
  if (name === 'code' && ctx.parent === 'evidence') return true;
  return ctx.depth === 1 && (ARRAY_AT_TOP[name]?.includes(ctx.resourceType) ?? false);
}

// Primitive elements DEMIS senders may leave without a value but with an extension (data-absent-reason),
// told apart from data types that carry only extensions (an address with only its AddressUse).
const PRIMITIVES = new Set([
  'birthDate',
  'gender',
  'family',
  'given',
  'line',
  'city',
  'postalCode',
  'country',
  'district',
  'state',
  'onsetDateTime',
  'recordedDate',
  'collectedDateTime',
  'receivedTime',
  'occurrenceDateTime',
  'valueDate',
  'valueDateTime',
  'valueString',
  'deceasedBoolean',
  'deceasedDateTime',
]);

const BOOLEANS = new Set([
  'active',
  'experimental',
  'primarySource',
  'isSubpotent',
  'doNotPerform',
  'userSelected',
  'preferred',
  'caseSensitive',
  'abstract',
  'inactive',
]);
const NUMBERS = new Set(['total', 'rank', 'sequence', 'count', 'numberOfSeries', 'numberOfInstances']);
// `value` is a decimal inside a Quantity (and its kinds: Age, Duration, Count, Distance, Money, SimpleQuantity).
const QUANTITY_PARENT =
  /(Quantity|quantity|Age|age|Duration|duration|Count|Distance|Money)$|^(low|high|numerator|denominator)$/;

function primitive(value: string, name: string, parent: string): unknown {
  const isBoolean = name.endsWith('Boolean') || BOOLEANS.has(name);
  if (isBoolean && (value === 'true' || value === 'false')) return value === 'true';
  const isNumber =
    /(Integer|Decimal|PositiveInt|UnsignedInt)$/.test(name) ||
    NUMBERS.has(name) ||
    (name === 'value' && QUANTITY_PARENT.test(parent));
  if (isNumber && /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(value)) return Number(value);
  return value;
}
