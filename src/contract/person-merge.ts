// Answers about merging two files found to be one person (issue 16): a merge, and a file's merges with
// its counts (for comparing two files) and whether the caller may merge into it. zod schemas the server
// checks its answers against; the browser reads their types. Free of Node code.
import { z } from 'zod';

const mergeState = z.enum(['pending', 'confirmed', 'undone']);

export const personMerge = z.strictObject({
  id: z.string(),
  departmentId: z.string(),
  /** The file that stays and now holds the records. */
  survivorId: z.string(),
  /** The file whose records moved; it answers "merged into" while the merge is pending or confirmed. */
  absorbedId: z.string(),
  state: mergeState,
  /** How many records and studies moved. */
  records: z.number(),
  studies: z.number(),
  createdBy: z.string(),
  createdByName: z.string().nullable(),
  createdAt: z.string(),
  decidedBy: z.string().nullable(),
  decidedByName: z.string().nullable(),
  decidedAt: z.string().nullable(),
  version: z.number(),
  /** Whether the caller may confirm it now (a physician or head who did not merge) or undo it. */
  confirm: z.boolean(),
  undo: z.boolean(),
});

export const personMerges = z.strictObject({
  merges: z.array(personMerge),
  /** The file's live records and linked studies. */
  counts: z.strictObject({ records: z.number(), studies: z.number() }),
  /** Whether the caller may merge another file into this one. */
  mayMerge: z.boolean(),
});

export type PersonMerge = z.infer<typeof personMerge>;
export type PersonMerges = z.infer<typeof personMerges>;
