// Each record type has its own content schema and retention period. Unknown
// types and content that does not fit are refused with the field named.
import { z } from 'zod';
import { FORMAT_RULES } from '../errors.ts';

const text = (max = 20_000) => z.string().trim().min(1).max(max);
const date = z.iso.date();
/**
 * ICD-10-GM as clinicians type it: any case, with its additional mark (G confirmed, V suspected,
 * Z state after, A excluded), e.g. `a15.0`, `A15.0 G`, `A15.0g`. Stored written one way
 * (`A15.0 G`, see normaliseIcd10): the schema itself stays a plain pattern, so the API description
 * can show it.
 */
const ICD10 = /^\s*([A-Za-z]\d{2}(?:\.\d{1,2})?)\s*([GgVvZzAa])?\s*$/;
const icd10 = z.string().max(20).regex(ICD10, FORMAT_RULES.icd10);

export function normaliseIcd10(code: string): string {
  const m = ICD10.exec(code);
  if (!m) return code;
  return m[2] ? `${m[1]!.toUpperCase()} ${m[2].toUpperCase()}` : m[1]!.toUpperCase();
}

export const RECORD_TYPES = {
  note: {
    retentionYears: 10,
    content: z.strictObject({ text: text() }),
  },
  examination: {
    retentionYears: 10,
    content: z.strictObject({
      date,
      reason: text(500),
      findings: text(),
      diagnoses: z.array(icd10).max(20).optional(),
    }),
  },
  notification: {
    retentionYears: 10,
    content: z.strictObject({
      disease: text(200),
      icd10: icd10.optional(),
      legalBasis: z.enum(['§6 IfSG', '§7 IfSG']),
      reportedAt: date,
      reporter: text(500).optional(),
      labConfirmed: z.boolean(),
      notes: text().optional(),
    }),
  },
  'expert-opinion': {
    retentionYears: 10,
    content: z.strictObject({
      question: text(2_000),
      requestedBy: text(500),
      opinion: text(50_000),
      date,
    }),
  },
  'tb-screening': {
    retentionYears: 10,
    content: z.strictObject({
      date,
      method: z.enum(['chest-x-ray', 'igra', 'tuberculin-skin-test', 'sputum']),
      result: z.enum(['pending', 'negative', 'positive', 'inconclusive']),
      notes: text().optional(),
    }),
  },
} as const;

export type RecordType = keyof typeof RECORD_TYPES;
export const recordTypeNames = Object.keys(RECORD_TYPES) as [RecordType, ...RecordType[]];

export function retainUntil(type: RecordType, from: Date): string {
  const d = new Date(from);
  d.setUTCFullYear(d.getUTCFullYear() + RECORD_TYPES[type].retentionYears);
  return d.toISOString();
}
