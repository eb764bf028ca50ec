// The form of each record type. The server's schema (src/records/record-types.ts)
// decides what is valid; this table only lays the fields out and labels them.
import type { MessageKey } from '../i18n/i18n.ts';
import { officeToday } from '../i18n/office-day.ts';

type FieldKind = 'text' | 'long' | 'date' | 'bool' | 'codes' | { options: readonly string[] };

export interface RecordField {
  name: string;
  kind: FieldKind;
  optional?: boolean;
}

export const RECORD_FORMS: Record<string, readonly RecordField[]> = {
  note: [{ name: 'text', kind: 'long' }],
  examination: [
    { name: 'date', kind: 'date' },
    { name: 'reason', kind: 'text' },
    { name: 'findings', kind: 'long' },
    { name: 'diagnoses', kind: 'codes', optional: true },
  ],
  notification: [
    { name: 'disease', kind: 'text' },
    { name: 'icd10', kind: 'text', optional: true },
    { name: 'legalBasis', kind: { options: ['§6 IfSG', '§7 IfSG'] } },
    { name: 'reportedAt', kind: 'date' },
    { name: 'reporter', kind: 'text', optional: true },
    { name: 'labConfirmed', kind: 'bool' },
    { name: 'notes', kind: 'long', optional: true },
  ],
  'expert-opinion': [
    { name: 'question', kind: 'long' },
    { name: 'requestedBy', kind: 'text' },
    { name: 'opinion', kind: 'long' },
    { name: 'date', kind: 'date' },
    // Issue 17: letters — what the cover letter to the commissioning authority may say.
    { name: 'result', kind: 'text', optional: true },
    { name: 'requestedOn', kind: 'date', optional: true },
  ],
  'tb-screening': [
    { name: 'date', kind: 'date' },
    { name: 'method', kind: { options: ['chest-x-ray', 'igra', 'tuberculin-skin-test', 'sputum'] } },
    // Issue 17: tasks — `follow-up` makes the task "Röntgenkontrolle" six months after the date (the record type's rule).
    { name: 'result', kind: { options: ['pending', 'negative', 'positive', 'inconclusive', 'follow-up'] } },
    { name: 'notes', kind: 'long', optional: true },
  ],
};

export const RECORD_TYPES = Object.keys(RECORD_FORMS);

export const typeLabel = (type: string) => `recordType.${type}` as MessageKey;
export const fieldLabel = (type: string, field: string) => `field.${type}.${field}` as MessageKey;
export const optionLabel = (option: string) => `option.${option}` as MessageKey;

/** What the form holds: strings and booleans, as typed. */
export type FormValues = Record<string, string | boolean>;

export function emptyValues(type: string): FormValues {
  const today = officeToday();
  return Object.fromEntries(
    (RECORD_FORMS[type] ?? []).map((f) => [
      f.name,
      f.kind === 'bool' ? false : f.kind === 'date' ? today : typeof f.kind === 'object' ? f.kind.options[0]! : '',
    ]),
  );
}

export function valuesOf(type: string, content: Record<string, unknown>): FormValues {
  const out = emptyValues(type);
  for (const f of RECORD_FORMS[type] ?? []) {
    const v = content[f.name];
    if (v === undefined) out[f.name] = f.kind === 'bool' ? false : '';
    else out[f.name] = Array.isArray(v) ? v.join(', ') : (v as string | boolean);
  }
  return out;
}

/** The content to send: empty optional fields left out, code lists split. */
export function contentOf(type: string, values: FormValues): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of RECORD_FORMS[type] ?? []) {
    const v = values[f.name];
    if (f.kind === 'codes') {
      // Commas, semicolons or spaces separate codes; a space before an additional mark (G, V, Z, A) does not.
      const codes = String(v ?? '')
        .split(/[,;]+/)
        .flatMap((part) => part.trim().split(/\s+(?![GVZAgvza]\b)/))
        .filter(Boolean);
      if (codes.length || !f.optional) out[f.name] = codes;
    } else if (typeof v === 'string' && v.trim() === '' && (f.optional || f.kind === 'date'))
      continue; // an empty date: "required", not "no date"
    else out[f.name] = v;
  }
  return out;
}
