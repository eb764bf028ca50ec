// The query string of a QIDO-RS search (PS3.18 8.3.4) as a StudyQuery:
// matching keys by keyword or tag, UID lists, date ranges, and the paging
// parameters. A key the archive does not match on is refused naming it,
// rather than silently ignored, so a search never answers more than asked.
import { KarteiError } from '../../errors.ts';
import { isValidUid } from '../dicom/uids.ts';
import type { StudyQuery } from '../study-query.ts';

export interface QidoSearch {
  query: StudyQuery;
  limit: number;
  offset: number;
}

/** The most matches one answer carries; `limit` may ask for fewer. */
const QIDO_MAX_RESULTS = 1_000;

type TextKey = 'patientId' | 'patientName' | 'accessionNumber' | 'studyDate' | 'modality';
type UidKey = 'studyUids' | 'seriesUids' | 'sopInstanceUids';

const TEXT_KEYS: Record<string, TextKey> = {
  PatientID: 'patientId',
  '00100020': 'patientId',
  PatientName: 'patientName',
  '00100010': 'patientName',
  AccessionNumber: 'accessionNumber',
  '00080050': 'accessionNumber',
  StudyDate: 'studyDate',
  '00080020': 'studyDate',
  ModalitiesInStudy: 'modality',
  '00080061': 'modality',
  Modality: 'modality',
  '00080060': 'modality',
};
const UID_KEYS: Record<string, UidKey> = {
  StudyInstanceUID: 'studyUids',
  '0020000D': 'studyUids',
  SeriesInstanceUID: 'seriesUids',
  '0020000E': 'seriesUids',
  SOPInstanceUID: 'sopInstanceUids',
  '00080018': 'sopInstanceUids',
};
/** Accepted and answered with the default attributes of each level, which the archive always returns. */
const IGNORED = new Set(['includefield']);

/** A key's entry by keyword or tag (hex, any case); own entries only, so `constructor` is no key. */
const lookup = <T>(map: Record<string, T>, field: string): T | undefined =>
  Object.hasOwn(map, field)
    ? map[field]
    : Object.hasOwn(map, field.toUpperCase())
      ? map[field.toUpperCase()]
      : undefined;

const DATE_RANGE = /^(\d{8})?(-(\d{8})?)?$/;

const refuse = (field: string, why: string) => new KarteiError('bad-request', `${field}: ${why}`, { field });

function single(field: string, value: string | string[]): string {
  if (Array.isArray(value)) throw refuse(field, 'given more than once');
  return value;
}

function count(field: string, value: string | string[], min: number, max: number): number {
  const text = single(field, value);
  const n = /^\d{1,9}$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) throw refuse(field, `must be a whole number from ${min} to ${max}`);
  return n;
}

export function parseQidoQuery(params: Record<string, string | string[] | undefined>): QidoSearch {
  const query: StudyQuery = {};
  let limit = QIDO_MAX_RESULTS;
  let offset = 0;
  for (const [field, value] of Object.entries(params)) {
    if (value === undefined) continue;
    const textKey = lookup(TEXT_KEYS, field);
    const uidKey = lookup(UID_KEYS, field);
    if (field === 'limit') limit = count(field, value, 1, QIDO_MAX_RESULTS);
    else if (field === 'offset') offset = count(field, value, 0, 1e9);
    else if (field === 'fuzzymatching') {
      if (single(field, value) !== 'false') throw refuse(field, 'fuzzy matching is not supported');
    } else if (IGNORED.has(field)) continue;
    else if (textKey) {
      const text = single(field, value);
      if (text.length > 64) throw refuse(field, 'longer than 64 characters');
      const key = textKey;
      if (key === 'studyDate' && !DATE_RANGE.test(text))
        throw refuse(field, 'a date YYYYMMDD or a range YYYYMMDD-YYYYMMDD');
      if (query[key] !== undefined && query[key] !== text) throw refuse(field, 'given twice with different values');
      query[key] = text;
    } else if (uidKey) {
      // UID list matching: several UIDs separated by commas or backslashes (PS3.18 8.3.4.1).
      const uids = (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(/[,\\]/));
      if (uids.length > 100) throw refuse(field, 'more than 100 UIDs');
      const bad = uids.find((u) => !isValidUid(u));
      if (bad !== undefined) throw refuse(field, 'not a DICOM UID');
      query[uidKey] = uids;
    } else throw refuse(field, 'not a supported query key');
  }
  return { query, limit, offset };
}
