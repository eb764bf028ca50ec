// Issue 17: letters — what the letter screens share: where a document made from a template opens (the
// documents part's download of the file's document) and the kinds of templates in the order they are offered.
import type { LetterTemplateKind } from '../../api/types.ts';

/** The address a stored document opens at (the file's documents, src/http/routes/documents.ts). */
export const documentAddress = (documentId: string) => `/api/documents/${encodeURIComponent(documentId)}/content`;

export const TEMPLATE_KINDS: LetterTemplateKind[] = [
  'invitation',
  'certificate-36',
  'isolation-order-30',
  'expert-opinion-cover',
  'other',
];
