// Issue 17: letters — the field catalogue: which `{{fields}}` a letter template of each kind may use, and
// where each one's value comes from (the person's file, the record the letter is made for, the sender).
// A template naming a field its kind does not offer is refused when saved, and again when a letter is made.
// Each record field names the ONE content key it reads (`key`): the expert opinion's cover letter reaches
// only its result, the commissioning authority and the date of the question — never the opinion or a
// diagnosis (test/desk/template-fields.test.ts walks every field of every kind to prove it).
import type { LetterTemplateKind } from '../contract/letters.ts';
import type { RecordType } from '../records/record-types.ts';

export type TemplateKind = LetterTemplateKind;

/** What a letter is filled from: all of it read inside the gate, for the file the gate decided on. */
export interface FillSource {
  person: {
    familyName: string;
    givenName: string;
    birthDate: string;
    sex?: string;
    address?: { street?: string; postalCode?: string; city?: string; country?: string };
  };
  /** The record's current content (of the kind's record type), when the letter is made for one. */
  record?: Record<string, unknown>;
  user: { displayName: string };
  department: { name: string };
  /** Today in the office's time zone, YYYY-MM-DD. */
  today: string;
}

interface FieldBase {
  /** The name written in a template, e.g. `person.familyName`. */
  name: string;
  /** German label for the admin screen's field picker. */
  label: string;
}
/** A field of the person's file, the sender or the day. */
interface PlainField extends FieldBase {
  from: 'person' | 'context';
  value: (s: FillSource) => string;
}
/** A field of the record: exactly one content key, shown as `format` says. */
interface RecordField extends FieldBase {
  from: 'record';
  key: string;
  format: 'text' | 'date' | 'method' | 'result' | 'coded' | 'measure';
  /** For `measure`: which part of the record's first isolation measure. */
  part?: 'from' | 'until' | 'legalBasis';
}
export type CatalogueField = PlainField | RecordField;

/** 2026-12-04 → 04.12.2026 (no time zone: a date stays the date it is). */
export function germanDate(iso: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso);
  return m ? `${m[3]}.${m[2]}.${m[1]}` : iso;
}

const SALUTATION: Record<string, string> = { female: 'Sehr geehrte Frau', male: 'Sehr geehrter Herr' };

const PERSON_FIELDS: PlainField[] = [
  { name: 'person.familyName', label: 'Familienname', from: 'person', value: (s) => s.person.familyName },
  { name: 'person.givenName', label: 'Vorname', from: 'person', value: (s) => s.person.givenName },
  { name: 'person.birthDate', label: 'Geburtsdatum', from: 'person', value: (s) => germanDate(s.person.birthDate) },
  {
    name: 'person.salutation',
    label: 'Anrede (Sehr geehrte Frau …,)',
    from: 'person',
    value: (s) => {
      const word = SALUTATION[s.person.sex ?? ''];
      return word ? `${word} ${s.person.familyName},` : `Guten Tag ${s.person.givenName} ${s.person.familyName},`;
    },
  },
  { name: 'person.street', label: 'Straße', from: 'person', value: (s) => s.person.address?.street ?? '' },
  {
    name: 'person.postalCode',
    label: 'Postleitzahl',
    from: 'person',
    value: (s) => s.person.address?.postalCode ?? '',
  },
  { name: 'person.city', label: 'Ort', from: 'person', value: (s) => s.person.address?.city ?? '' },
];

const CONTEXT_FIELDS: PlainField[] = [
  { name: 'today', label: 'Heutiges Datum', from: 'context', value: (s) => germanDate(s.today) },
  {
    name: 'user.displayName',
    label: 'Name der Bearbeiterin / des Bearbeiters',
    from: 'context',
    value: (s) => s.user.displayName,
  },
  { name: 'department.name', label: 'Name der Abteilung', from: 'context', value: (s) => s.department.name },
];

const METHOD: Record<string, string> = {
  'chest-x-ray': 'Röntgenaufnahme der Lunge (Thorax)',
  igra: 'Interferon-Gamma-Test (IGRA)',
  'tuberculin-skin-test': 'Tuberkulin-Hauttest',
  sputum: 'Sputumuntersuchung',
};
const RESULT: Record<string, string> = {
  pending: 'ausstehend',
  negative: 'ohne Befund',
  positive: 'mit Befund',
  inconclusive: 'nicht eindeutig',
};

/** Per kind: the record type it is made for (null: none), whether one is required, and its record fields. */
export const KIND_RECORDS: Record<
  TemplateKind,
  { recordType: RecordType | null; required: boolean; fields: RecordField[] }
> = {
  invitation: {
    recordType: 'tb-screening',
    required: false,
    fields: [
      { name: 'record.date', label: 'Termin (Datum der Untersuchung)', from: 'record', key: 'date', format: 'date' },
    ],
  },
  'certificate-36': {
    recordType: 'tb-screening',
    required: true,
    fields: [
      { name: 'record.date', label: 'Datum der Untersuchung', from: 'record', key: 'date', format: 'date' },
      { name: 'record.method', label: 'Untersuchungsmethode', from: 'record', key: 'method', format: 'method' },
      { name: 'record.result', label: 'Ergebnis', from: 'record', key: 'result', format: 'result' },
    ],
  },
  'isolation-order-30': {
    recordType: 'ifsg-case',
    required: true,
    fields: [
      { name: 'record.disease', label: 'Krankheit', from: 'record', key: 'disease', format: 'coded' },
      {
        name: 'record.isolationFrom',
        label: 'Absonderung ab',
        from: 'record',
        key: 'measures',
        format: 'measure',
        part: 'from',
      },
      {
        name: 'record.isolationUntil',
        label: 'Absonderung bis',
        from: 'record',
        key: 'measures',
        format: 'measure',
        part: 'until',
      },
      {
        name: 'record.legalBasis',
        label: 'Rechtsgrundlage der Absonderung',
        from: 'record',
        key: 'measures',
        format: 'measure',
        part: 'legalBasis',
      },
    ],
  },
  // The commissioning authority learns the result only: never the opinion's text, never a diagnosis.
  'expert-opinion-cover': {
    recordType: 'expert-opinion',
    required: true,
    fields: [
      { name: 'record.result', label: 'Ergebnis des Gutachtens', from: 'record', key: 'result', format: 'text' },
      {
        name: 'record.requestedBy',
        label: 'Auftraggebende Stelle',
        from: 'record',
        key: 'requestedBy',
        format: 'text',
      },
      { name: 'record.requestedOn', label: 'Datum der Anfrage', from: 'record', key: 'requestedOn', format: 'date' },
    ],
  },
  other: { recordType: null, required: false, fields: [] },
};

/** Every field a template of `kind` may name. */
export function catalogue(kind: TemplateKind): CatalogueField[] {
  return [...PERSON_FIELDS, ...CONTEXT_FIELDS, ...KIND_RECORDS[kind].fields];
}

/** The first isolation measure of a case (the order is about isolation). */
function isolation(record: Record<string, unknown>): Record<string, unknown> | undefined {
  const measures = record.measures;
  if (!Array.isArray(measures)) return undefined;
  return measures.find((m) => m && typeof m === 'object' && (m as { kind?: unknown }).kind === 'isolation') as
    | Record<string, unknown>
    | undefined;
}

/** A record field's value: only its own key of the record is read. */
function recordValue(f: RecordField, record: Record<string, unknown> | undefined): string {
  if (!record) return '';
  const v = record[f.key];
  switch (f.format) {
    case 'text':
      return typeof v === 'string' ? v : '';
    case 'date':
      return typeof v === 'string' ? germanDate(v) : '';
    case 'method':
      return typeof v === 'string' ? (METHOD[v] ?? v) : '';
    case 'result':
      return typeof v === 'string' ? (RESULT[v] ?? v) : '';
    case 'coded': {
      const c = v as { display?: string; code?: string } | undefined;
      return c?.display ?? c?.code ?? '';
    }
    case 'measure': {
      const m = isolation(record);
      const part = m?.[f.part ?? 'from'];
      if (typeof part !== 'string') return '';
      return f.part === 'legalBasis' ? part : germanDate(part);
    }
  }
}

/** The value of one catalogue field for this letter. */
export function fieldValue(f: CatalogueField, s: FillSource): string {
  return f.from === 'record' ? recordValue(f, s.record) : f.value(s);
}
