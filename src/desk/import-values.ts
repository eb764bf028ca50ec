// What one row of an import becomes (issue 17): its cells, read through the mapping, as a person's data
// and optionally a record's content — or the reason it is refused. Dates come as German (04.12.1961),
// ISO (1961-12-04) or Excel serial numbers; sexes in German or English words. Pure: no keys, no database.
import type { IMPORT_RECORD_FIELDS, ImportMapping, ImportReason } from '../contract/import.ts';
import type { PersonData } from '../records/persons.ts';
import { RECORD_TYPES } from '../records/record-types.ts';

export type ParsedDate = { ok: true; date: string } | { ok: false; why: 'invalid' | 'future' };

/** Excel's day 0 (1899-12-30: its serials count 1900 as a leap year, so from day 61 on this is exact). */
const EXCEL_EPOCH = Date.UTC(1899, 11, 30);

/** A date as offices write it: 04.12.1961 (also 4.12.1961), 1961-12-04, or an Excel serial (22619). */
export function parseImportDate(value: string, today = new Date().toISOString().slice(0, 10)): ParsedDate {
  const v = value.trim();
  let y: number;
  let m: number;
  let d: number;
  const de = /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/.exec(v);
  const iso = /^(\d{4})-(\d{2})-(\d{2})(?:[T ][\d:.]+Z?)?$/.exec(v);
  if (de) [d, m, y] = [Number(de[1]), Number(de[2]), Number(de[3])];
  else if (iso) [y, m, d] = [Number(iso[1]), Number(iso[2]), Number(iso[3])];
  else if (/^\d{2,5}(?:[.,]0+)?$/.test(v)) {
    const serial = Number.parseInt(v, 10);
    // Before 1900-03-01 Excel's serials are off by its phantom 29.02.1900: no birth date of today's files lies there.
    if (serial < 61) return { ok: false, why: 'invalid' };
    const at = new Date(EXCEL_EPOCH + serial * 86_400_000);
    [y, m, d] = [at.getUTCFullYear(), at.getUTCMonth() + 1, at.getUTCDate()];
  } else return { ok: false, why: 'invalid' };
  const at = new Date(Date.UTC(y, m - 1, d));
  if (at.getUTCFullYear() !== y || at.getUTCMonth() !== m - 1 || at.getUTCDate() !== d || y < 1850)
    return { ok: false, why: 'invalid' };
  const date = `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
  return date > today ? { ok: false, why: 'future' } : { ok: true, date };
}

const SEXES: Record<string, PersonData['sex']> = {
  w: 'female',
  weiblich: 'female',
  f: 'female',
  female: 'female',
  frau: 'female',
  m: 'male',
  männlich: 'male',
  maennlich: 'male',
  male: 'male',
  mann: 'male',
  d: 'diverse',
  divers: 'diverse',
  diverse: 'diverse',
  x: 'diverse',
  u: 'unknown',
  unbekannt: 'unknown',
  unknown: 'unknown',
  o: 'unknown',
  'ohne angabe': 'unknown',
};

/** A sex as written (w, weiblich, m, männlich, d, divers, unbekannt …); undefined when empty, null when unknown to us. */
export function parseSex(value: string): PersonData['sex'] | null | undefined {
  const v = value.trim().toLowerCase();
  if (!v) return undefined;
  return SEXES[v] ?? null;
}

/** German and English words for the TB screening's closed values. */
const RECORD_WORDS: Record<string, Record<string, string>> = {
  method: {
    röntgen: 'chest-x-ray',
    'röntgen-thorax': 'chest-x-ray',
    'röntgen thorax': 'chest-x-ray',
    thoraxröntgen: 'chest-x-ray',
    igra: 'igra',
    'tuberkulin-hauttest': 'tuberculin-skin-test',
    thst: 'tuberculin-skin-test',
    sputum: 'sputum',
  },
  result: {
    ausstehend: 'pending',
    negativ: 'negative',
    unauffällig: 'negative',
    positiv: 'positive',
    auffällig: 'positive',
    unklar: 'inconclusive',
    'nicht eindeutig': 'inconclusive',
    kontrolle: 'follow-up',
    kontrollbedürftig: 'follow-up',
    wiedervorlage: 'follow-up',
  },
};

/** The Unicode replacement character: a byte of the file that was not UTF-8. */
const REPLACEMENT = '\uFFFD';
/** UTF-8 read as Windows-1252 (MÃ¼ller): the wrong encoding was chosen. */
const MOJIBAKE =
  /[ÃÂ][\u0080-\u00BF\u0152\u0153\u0160\u0161\u0178\u017D\u017E\u0192\u02C6\u02DC\u2013-\u203A\u20AC\u2122]/;

export type RowPlan =
  | { ok: false; reason: ImportReason }
  | {
      ok: true;
      person: PersonData;
      record?: { type: keyof typeof IMPORT_RECORD_FIELDS; content: Record<string, unknown> };
    };

/** What a row becomes under `mapping`: a person (and record), or the first reason it cannot be. */
export function planRow(cells: string[], mapping: ImportMapping, today?: string): RowPlan {
  const cell = (i: number | undefined) => (i === undefined ? '' : (cells[i] ?? '').trim());
  const used = [
    ...Object.values(mapping.person),
    ...(mapping.record ? Object.values(mapping.record.fields) : []),
  ] as number[];
  for (const i of used) {
    const v = cells[i] ?? '';
    if (v.includes(REPLACEMENT) || MOJIBAKE.test(v)) return { ok: false, reason: 'encoding-invalid' };
  }
  const p = mapping.person;
  const familyName = cell(p.familyName);
  const givenName = cell(p.givenName);
  const birth = cell(p.birthDate);
  if (!familyName) return { ok: false, reason: 'family-name-missing' };
  if (!givenName) return { ok: false, reason: 'given-name-missing' };
  if (!birth) return { ok: false, reason: 'birth-date-missing' };
  const date = parseImportDate(birth, today);
  if (!date.ok) return { ok: false, reason: date.why === 'future' ? 'birth-date-in-future' : 'birth-date-invalid' };
  const sex = parseSex(cell(p.sex));
  if (sex === null) return { ok: false, reason: 'sex-invalid' };
  const address = {
    ...(cell(p.street) ? { street: cell(p.street) } : {}),
    ...(cell(p.postalCode) ? { postalCode: cell(p.postalCode) } : {}),
    ...(cell(p.city) ? { city: cell(p.city) } : {}),
    ...(cell(p.country) ? { country: cell(p.country) } : {}),
  };
  const person: PersonData = {
    familyName,
    givenName,
    birthDate: date.date,
    ...(sex ? { sex } : {}),
    ...(cell(p.dicomPatientId) ? { dicomPatientId: cell(p.dicomPatientId) } : {}),
    ...(Object.keys(address).length ? { address } : {}),
  };
  const tooLong =
    familyName.length > 200 ||
    givenName.length > 200 ||
    (person.dicomPatientId?.length ?? 0) > 64 ||
    (address.street?.length ?? 0) > 200 ||
    (address.postalCode?.length ?? 0) > 20 ||
    (address.city?.length ?? 0) > 200 ||
    (address.country?.length ?? 0) > 100;
  if (tooLong) return { ok: false, reason: 'value-too-long' };
  if (!mapping.record) return { ok: true, person };
  const { type, fields } = mapping.record;
  const content: Record<string, unknown> = {};
  for (const [field, col] of Object.entries(fields)) {
    const v = cell(col);
    if (!v) continue;
    if (field === 'date') {
      const d = parseImportDate(v, today);
      if (!d.ok) return { ok: false, reason: 'record-date-invalid' };
      content.date = d.date;
    } else content[field] = RECORD_WORDS[field]?.[v.toLowerCase()] ?? v;
  }
  const checked = RECORD_TYPES[type].content.safeParse(content);
  if (!checked.success) {
    // A field the type needs that the row leaves empty (zod 4 does not echo the input): not in the content.
    const missing = checked.error.issues.some((i) => i.path.length === 1 && !(String(i.path[0]) in content));
    return { ok: false, reason: missing ? 'record-value-missing' : 'record-value-invalid' };
  }
  return { ok: true, person, record: { type, content: checked.data as Record<string, unknown> } };
}
