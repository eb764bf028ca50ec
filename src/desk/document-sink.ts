// Issue 17: where a generated letter or certificate goes — the file's documents (src/desk/documents*,
// sealed with the file's key). The letters code against this; the documents module implements it and
// the composition root (src/services.ts) hands one to the other.
import type { GateContext } from '../access/gate.ts';

export interface GeneratedDocument {
  /** The file the gate decided on (a file action); the document is stored in it. */
  personId: string;
  /** Shown in the file's list of documents, e.g. "Einladung zur Röntgenuntersuchung". */
  title: string;
  /** The name it downloads under, e.g. `Einladung-04.12.2026.pdf`. */
  fileName: string;
  mediaType: 'application/pdf';
  bytes: Buffer;
  /** The template and its version it was made from (listed with the document, and audited). */
  template: { id: string; version: number };
  /** The record it was made for, if any. */
  recordId?: string;
}

export interface DocumentSink {
  /** Seals and stores the document in the file, in the gate's transaction; answers its id and version. */
  addGenerated(ctx: GateContext, doc: GeneratedDocument): Promise<{ documentId: string; version: number }>;
}
