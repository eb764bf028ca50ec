// Each record type has its own content schema and retention period. Unknown
// types and content that does not fit are refused with the field named.
import { z } from 'zod';
import { FORMAT_RULES } from '../errors.ts';
import { isValidUid } from '../imaging/dicom/uids.ts';
import type { TaskType } from '../contract/tasks.ts';

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

/** A coded value (a DEMIS code system's code, with its display text). */
const coded = z.strictObject({
  system: z.string().trim().max(300).optional(),
  code: z.string().trim().min(1).max(64),
  display: z.string().trim().max(300).optional(),
});

/** A measure the office ordered for a case (or a contact): what, from when to when, on which legal basis. */
const measure = z
  .strictObject({
    kind: z.enum(['isolation', 'quarantine', 'activity-ban', 'observation', 'other']),
    from: date,
    until: date.optional(),
    /** E.g. `§30 IfSG`, `§28 Abs. 1 IfSG`, `§31 IfSG`. */
    legalBasis: text(200),
    note: text(1_000).optional(),
  })
  .refine((m) => !m.until || m.until >= m.from, {
    message: 'must not lie before `from`',
    path: ['until'],
    params: { code: 'date-order' },
  });

/**
 * An IfSG case: one per person and disease (issue 16). Accepting a notification creates or
 * updates it; the department's lists and numbers and the §11 transmission read its facts
 * from `ifsg_cases`, kept in step by src/infection/case-index.ts.
 */
const ifsgCaseContent = z.strictObject({
  /** DEMIS notification category (laboratory: pathogen; physician: disease), e.g. `cvdp`. */
  disease: coded,
  pathogen: coded.optional(),
  /** RKI case-definition category (Falldefinitionskategorie A–E). */
  category: z.enum(['A', 'B', 'C', 'D', 'E']).optional(),
  status: z.enum(['suspected', 'probable', 'confirmed', 'not-a-case']),
  onset: date.optional(),
  diagnosedOn: date.optional(),
  notifiedOn: date,
  /** The notifying laboratory or physician, as the notification names them. */
  notifier: text(500).optional(),
  hospitalised: z.boolean().optional(),
  hospitalisedFrom: date.optional(),
  died: z.boolean().optional(),
  diedOn: date.optional(),
  measures: z.array(measure).max(50).optional(),
  /** The inbox's notifications this case was made from or updated by. */
  notificationIds: z.array(z.uuid()).max(500).optional(),
  /** Studies of the archive that belong to the case. */
  studyUids: z
    .array(
      z
        .string()
        .max(64)
        .refine(isValidUid, { message: 'not a DICOM UID', params: { code: 'not-uid' } }),
    )
    .max(200)
    .optional(),
  outbreakId: z.uuid().optional(),
  notes: text().optional(),
});
export type IfsgCaseContent = z.infer<typeof ifsgCaseContent>;

// Issue 16: cases & contacts
/** How close the contact was (RKI's terms for contact tracing): `close` enge Kontaktperson, `other` sonstige Kontaktperson. */
export const CONTACT_CATEGORIES = ['close', 'other'] as const;
/** Where the exposure happened. */
export const CONTACT_SETTINGS = [
  'household',
  'healthcare',
  'community-facility',
  'school',
  'daycare',
  'work',
  'event',
  'travel',
  'other',
] as const;

/**
 * A contact person of an IfSG case (issue 16): a record in the CONTACT person's file, naming the
 * index case's record. The department's worklist and the case's contact list read its facts from
 * `ifsg_contacts`, kept in step by src/infection/contact-index.ts.
 */
const ifsgContactContent = z
  .strictObject({
    /** The index case's record (an `ifsg-case` of the same department). */
    indexCaseId: z.uuid(),
    category: z.enum(CONTACT_CATEGORIES),
    setting: z.enum(CONTACT_SETTINGS).optional(),
    lastExposure: date,
    /** The last day of follow-up: by default the last exposure plus the disease's longest incubation period. */
    followUpUntil: date,
    /** Quarantine (§30 IfSG) or observation (§29 IfSG) ordered for the contact. */
    measure: z
      .strictObject({
        kind: z.enum(['quarantine', 'observation']),
        until: date.optional(),
        legalBasis: text(200),
      })
      .optional(),
    state: z.enum(['active', 'ended', 'converted']),
    /** The case record this contact was converted into. */
    convertedCaseId: z.uuid().optional(),
    notes: text().optional(),
  })
  .refine((c) => c.followUpUntil >= c.lastExposure, {
    message: 'must not lie before `lastExposure`',
    path: ['followUpUntil'],
    params: { code: 'date-order' },
  });
export type IfsgContactContent = z.infer<typeof ifsgContactContent>;

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
      // Issue 17: letters — what the cover letter to the commissioning authority may say: the result in a few
      // words (e.g. "dienstfähig" / "nicht dienstfähig") and the date of the question; never the opinion itself.
      result: text(200).optional(),
      requestedOn: date.optional(),
    }),
  },
  'tb-screening': {
    retentionYears: 10,
    content: z.strictObject({
      date,
      method: z.enum(['chest-x-ray', 'igra', 'tuberculin-skin-test', 'sputum']),
      // Issue 17: tasks — `follow-up`: a control X-ray is due later (the rule below makes its task).
      result: z.enum(['pending', 'negative', 'positive', 'inconclusive', 'follow-up']),
      notes: text().optional(),
    }),
    // Issue 17: tasks
    taskRules: [
      {
        id: 'follow-up-x-ray',
        when: { field: 'result', equals: 'follow-up' },
        type: 'follow-up-exam',
        title: 'Röntgenkontrolle',
        due: { from: 'date', months: 6 },
      },
    ],
  },
  'ifsg-case': {
    retentionYears: 10,
    content: ifsgCaseContent,
  },
  // Issue 16: cases & contacts
  'ifsg-contact': {
    retentionYears: 10,
    content: ifsgContactContent,
  },
} as const;

export type RecordType = keyof typeof RECORD_TYPES;

// Issue 17: tasks
/**
 * A task a record type declares: while a version's `when.field` equals `when.equals`, the record's file has
 * one open task of `type` titled `title` (in German, as staff read it), due `due.months` after the date in
 * `due.from`, linked to the record. src/desk/task-rules.ts applies it after every version and delete.
 */
export interface TaskRule {
  /** Stable within its record type: the task is unique per record and rule. */
  id: string;
  when: { field: string; equals: string | boolean };
  type: TaskType;
  title: string;
  due: { from: string; months: number };
}

/** The task rules a record type declares (none for most). */
export function taskRulesOf(type: RecordType): readonly TaskRule[] {
  const t = RECORD_TYPES[type];
  return 'taskRules' in t ? t.taskRules : [];
}
export const recordTypeNames = Object.keys(RECORD_TYPES) as [RecordType, ...RecordType[]];

export function retainUntil(type: RecordType, from: Date): string {
  const d = new Date(from);
  d.setUTCFullYear(d.getUTCFullYear() + RECORD_TYPES[type].retentionYears);
  return d.toISOString();
}
