// The DICOM JSON model (PS3.18 F.2): what QIDO-RS and WADO-RS metadata
// answer. Keys are the tags as eight hex digits, values lists by VR: person
// names as {Alphabetic, Ideographic, Phonetic}, IS/DS as numbers, binary
// values inline in base64 (pixel data is left to the caller, as a URI).
import type { WriteValue } from '../dicom/dataset-writer.ts';
import { vrOf } from '../dicom/tags.ts';
import type { Dataset, Element } from '../dicom/values.ts';
import type { Values } from '../match-attributes.ts';

interface JsonAttribute {
  vr: string;
  Value?: unknown[];
  InlineBinary?: string;
  BulkDataURI?: string;
}
export type DicomJson = Record<string, JsonAttribute>;

const BINARY_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);

export const jsonTag = (tag: number) => tag.toString(16).toUpperCase().padStart(8, '0');

/** `Family^Given=Ideographic=Phonetic` as the three component groups the JSON model names. */
function personName(value: string) {
  const [alphabetic, ideographic, phonetic] = value.split('=');
  return {
    ...(alphabetic ? { Alphabetic: alphabetic } : {}),
    ...(ideographic ? { Ideographic: ideographic } : {}),
    ...(phonetic ? { Phonetic: phonetic } : {}),
  };
}

function jsonValues(vr: string, values: readonly unknown[]): unknown[] | undefined {
  if (values.length === 0) return undefined;
  switch (vr) {
    case 'PN':
      return values.map((v) => personName(String(v)));
    case 'IS':
    case 'DS':
      return values.map((v) => (v === '' || Number.isNaN(Number(v)) ? null : Number(v)));
    case 'AT':
      return values.map((v) => jsonTag(Number(v)));
    case 'SV':
    case 'UV':
      return values.map((v) => (Number.isSafeInteger(Number(v)) ? Number(v) : String(v)));
    default:
      return [...values];
  }
}

const attribute = (vr: string, value: unknown[] | undefined): JsonAttribute => (value ? { vr, Value: value } : { vr });

/** Match attributes (match-attributes.ts) as one DICOM JSON object. */
export function valuesToJson(values: Values): DicomJson {
  const out: DicomJson = {};
  for (const tag of [...values.keys()].sort((a, b) => a - b)) {
    const v: WriteValue = values.get(tag)!;
    const vr = vrOf(tag) ?? 'UN';
    const list = v === null || v === '' ? [] : Array.isArray(v) ? v : [v];
    out[jsonTag(tag)] = attribute(vr, jsonValues(vr, list));
  }
  return out;
}

/** A dataset read by dataset-reader.ts as DICOM JSON, binary values inline. */
export function datasetToJson(ds: Dataset): DicomJson {
  const out: DicomJson = {};
  for (const tag of [...ds.keys()].sort((a, b) => a - b)) {
    // Group lengths are deprecated and say nothing in JSON.
    if ((tag & 0xffff) === 0) continue;
    out[jsonTag(tag)] = elementToJson(ds.get(tag)!);
  }
  return out;
}

function elementToJson(el: Element): JsonAttribute {
  if (el.vr === 'SQ') {
    const items = el.value as Dataset[];
    return attribute('SQ', items.length ? items.map((item) => datasetToJson(item)) : undefined);
  }
  if (BINARY_VRS.has(el.vr) || Buffer.isBuffer(el.value)) {
    const bytes = Buffer.isBuffer(el.value) ? el.value : el.raw;
    return bytes.length ? { vr: el.vr, InlineBinary: bytes.toString('base64') } : { vr: el.vr };
  }
  return attribute(el.vr, jsonValues(el.vr, el.value as unknown[]));
}
