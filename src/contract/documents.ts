// Answers about a file's documents (uploads, generated letters) and a department's mail-room (issue 17):
// zod schemas the server checks its answers against; the browser reads their types.
import { z } from 'zod';
import { sensitivity } from './common.ts';

const documentItem = z.strictObject({
  id: z.string(),
  /** The file it is in; null for a scan in the mail-room. */
  personId: z.string().nullable(),
  kind: z.enum(['upload', 'generated']),
  sensitivity,
  version: z.number(),
  /** null where the caller may not read the document (restricted). */
  title: z.string().nullable(),
  fileName: z.string().nullable(),
  mediaType: z.string(),
  size: z.number(),
  /** Whether the browser can show it (PDF, JPEG, PNG, TIFF as PNG). */
  previewable: z.boolean(),
  templateId: z.string().nullable(),
  templateVersion: z.number().nullable(),
  recordId: z.string().nullable(),
  createdAt: z.string(),
  createdBy: z.string(),
  createdByName: z.string().nullable(),
  updatedAt: z.string(),
  updatedBy: z.string(),
  updatedByName: z.string().nullable(),
});

/** A file's documents, with what the caller may do there. */
export const fileDocuments = z.strictObject({
  items: z.array(documentItem),
  permissions: z.strictObject({
    add: z.boolean(),
    addRestricted: z.boolean(),
    delete: z.boolean(),
    deleteRestricted: z.boolean(),
  }),
  /** The largest file accepted, in bytes. */
  maxBytes: z.number(),
});

/** A department's mail-room. */
export const mailroomDocuments = z.strictObject({
  items: z.array(documentItem),
  permissions: z.strictObject({ delete: z.boolean() }),
  maxBytes: z.number(),
});

export const documentAdded = z.strictObject({ id: z.string(), version: z.number() });
export const scanAssigned = z.strictObject({ id: z.string(), personId: z.string() });

export type DocumentItem = z.infer<typeof documentItem>;
export type FileDocuments = z.infer<typeof fileDocuments>;
export type MailroomDocuments = z.infer<typeof mailroomDocuments>;
