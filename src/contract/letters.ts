// Issue 17: letters — letter templates (their content is also what an admin sends), the field catalogue a
// template may use, letters made in a file, and bulk runs with their progress. zod schemas the server checks
// its answers against; the browser reads their types. Imports only zod.
import { z } from 'zod';

export const LETTER_TEMPLATE_KINDS = [
  'invitation',
  'certificate-36',
  'isolation-order-30',
  'expert-opinion-cover',
  'other',
] as const;
export type LetterTemplateKind = (typeof LETTER_TEMPLATE_KINDS)[number];

const line = (max: number) => z.string().trim().max(max);

/** What a template says: letterhead, return line, reference, subject, body and signature (fields allowed in all). */
export const templateContent = z.strictObject({
  name: line(200).min(1),
  letterhead: z.strictObject({
    officeName: line(200).min(1),
    addressLines: z.array(line(200)).max(4),
    phone: line(100).optional(),
    email: line(200).optional(),
  }),
  /** The return address above the recipient in the window, e.g. "Gesundheitsamt · Marktplatz 1 · 12345 Musterstadt". */
  senderLine: line(200),
  /** Reference ("Unser Zeichen"), e.g. "TB-{{record.date}}". */
  reference: line(200).optional(),
  subject: line(300).min(1),
  body: z.string().max(20_000).trim().min(1),
  /** The signature block, e.g. "Im Auftrag\n{{user.displayName}}". */
  signature: z.string().max(1_000).trim(),
});
export type TemplateContent = z.infer<typeof templateContent>;

const templateFacts = {
  id: z.string(),
  /** Null: the office's, offered to every department. */
  departmentId: z.string().nullable(),
  kind: z.enum(LETTER_TEMPLATE_KINDS),
  version: z.number(),
  active: z.boolean(),
  name: z.string(),
  updatedAt: z.string(),
};

export const templateList = z.strictObject({ items: z.array(z.strictObject(templateFacts)) });

const catalogueField = z.strictObject({
  name: z.string(),
  label: z.string(),
  from: z.enum(['person', 'context', 'record']),
});

export const templateView = z.strictObject({
  ...templateFacts,
  content: templateContent,
  /** The record type its letters are made for (null: none), and whether one must be chosen. */
  recordType: z.string().nullable(),
  recordRequired: z.boolean(),
  /** The fields this kind offers (the field picker). */
  fields: z.array(catalogueField),
  versions: z.array(
    z.strictObject({
      version: z.number(),
      createdAt: z.string(),
      createdBy: z.string(),
      createdByName: z.string().nullable(),
    }),
  ),
});

export const templateCatalogue = z.strictObject({
  kinds: z.array(
    z.strictObject({
      kind: z.enum(LETTER_TEMPLATE_KINDS),
      recordType: z.string().nullable(),
      recordRequired: z.boolean(),
      fields: z.array(catalogueField),
    }),
  ),
});

/** The templates a department may make letters from (the office's and its own, active only). */
export const usableTemplates = z.strictObject({
  items: z.array(
    z.strictObject({
      id: z.string(),
      departmentId: z.string().nullable(),
      kind: z.enum(LETTER_TEMPLATE_KINDS),
      version: z.number(),
      name: z.string(),
      recordType: z.string().nullable(),
      recordRequired: z.boolean(),
    }),
  ),
});

export const templateSaved = z.strictObject({ id: z.string(), version: z.number() });

/** A letter made: the document in the file, and the template version it was made from. */
export const letterMade = z.strictObject({
  documentId: z.string(),
  documentVersion: z.number(),
  templateId: z.string(),
  templateVersion: z.number(),
  /** False when the same request key had made it already (a retry): nothing new was made. */
  created: z.boolean(),
});

const RUN_STATES = ['running', 'finished'] as const;
const RUN_ITEM_STATES = ['pending', 'done', 'failed'] as const;

const runFacts = {
  id: z.string(),
  departmentId: z.string(),
  templateId: z.string(),
  templateVersion: z.number(),
  templateName: z.string(),
  source: z.enum(['persons', 'outbreak']),
  outbreakId: z.string().nullable(),
  state: z.enum(RUN_STATES),
  total: z.number(),
  done: z.number(),
  failed: z.number(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
};

export const runList = z.strictObject({ items: z.array(z.strictObject(runFacts)) });

export const runView = z.strictObject({
  ...runFacts,
  /** Per file: ids and outcome; the names only of files the caller may read (after the run, in the file's list). */
  items: z.array(
    z.strictObject({
      personId: z.string(),
      state: z.enum(RUN_ITEM_STATES),
      documentId: z.string().nullable(),
      /** The document's version this run made (a file's letters from one template are versions of one document). */
      documentVersion: z.number().nullable(),
      /** The refusal's code (e.g. `not-found`, `record-required`, `generation-failed`). */
      error: z.string().nullable(),
      familyName: z.string().nullable(),
      givenName: z.string().nullable(),
    }),
  ),
});

export type TemplateListItem = z.infer<typeof templateList>['items'][number];
export type TemplateView = z.infer<typeof templateView>;
export type TemplateCatalogue = z.infer<typeof templateCatalogue>;
export type UsableTemplate = z.infer<typeof usableTemplates>['items'][number];
export type LetterMade = z.infer<typeof letterMade>;
export type LetterRunListItem = z.infer<typeof runList>['items'][number];
export type LetterRunView = z.infer<typeof runView>;
