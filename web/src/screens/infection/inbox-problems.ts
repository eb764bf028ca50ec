// Why the inbox refused a DEMIS bundle (issue 16), in the reader's language: each problem's stable code
// with its params (taken from the rules, never from the bundle) worded by `demis.problem.<code>`; a
// problem without a code (quarantined before the codes existed) shows its English `expected`.
import type { useT } from '../../i18n/i18n.ts';

type T = ReturnType<typeof useT>;

const CODES = [
  'media-type',
  'too-large',
  'encoding',
  'too-deep',
  'malformed-json',
  'malformed-xml',
  'xml-doctype',
  'xml-root',
  'namespace',
  'not-a-bundle',
  'profile',
  'identifier',
  'fixed',
  'instant',
  'date-time',
  'birth-date',
  'one-of',
  'code-system',
  'code-unknown',
  'reference',
  'missing',
  'first-entry',
  'same-subject',
  'related-unknown',
  'more-problems',
] as const;
type Code = (typeof CODES)[number];

const WHATS = [
  'notified-person',
  'notifier-role',
  'notifier-facility',
  'notifier-person',
  'notifier',
  'laboratory-report',
  'finding',
  'specimen',
  'diagnosis',
  'entries',
  'resource',
  'family-name',
  'given-name',
  'facility-name',
  'facility-address',
  'related-notification',
  'related-list',
  'test-code',
  'interpretation',
] as const;
type What = (typeof WHATS)[number];

export interface ProblemLike {
  code?: string;
  params?: Record<string, string | number>;
  expected: string;
}

const isCode = (c: string | undefined): c is Code => CODES.includes(c as Code);
const isWhat = (w: unknown): w is What => WHATS.includes(w as What);

/** A problem in words: its code's text with the params filled in, else what was expected (English). */
export function problemText(t: T, p: ProblemLike): string {
  if (!isCode(p.code)) return p.expected;
  const params: Record<string, string | number> = { ...p.params };
  if ('what' in params) params.what = isWhat(params.what) ? t(`demis.what.${params.what}`) : String(params.what);
  if (p.code === 'related-unknown')
    params.kind = t(params.kind === 'correction' ? 'demis.relates.correction' : 'demis.relates.follow-up');
  if (p.code === 'malformed-json' && params.position !== undefined) return t('demis.problem.malformed-json-at', params);
  return t(`demis.problem.${p.code}`, params);
}
