// Issue 17: letters — what the letter screens share: where a document made from a template opens (the
// documents part's download of the file's document) and the kinds of templates in the order they are offered.
import type { LetterTemplateKind } from '../../api/types.ts';

/**
 * Where a stored letter opens in the browser: the file's document at the version the letter made (the same template
 * again in a file is a new version of its document), shown inline (src/http/routes/documents.ts).
 */
export const documentAddress = (documentId: string, version?: number | null) =>
  `/api/documents/${encodeURIComponent(documentId)}/preview${version ? `?version=${version}` : ''}`;

export const TEMPLATE_KINDS: LetterTemplateKind[] = [
  'invitation',
  'certificate-36',
  'isolation-order-30',
  'expert-opinion-cover',
  'other',
];
