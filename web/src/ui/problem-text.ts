// What a refusal and a security finding say, in the user's language: the server sends
// stable codes with parameters (`errors: [{field, code, params}]`, a finding's `code`),
// never text for the screen; an unknown code gets a general sentence, never English.
import type { ApiError } from '../api/client.ts';
import type { Finding } from '../api/types.ts';
import { formatDate, formatDateTime, t, type MessageKey } from '../i18n/i18n.ts';
import { wordFinding } from '../../../src/contract/finding-texts.ts';

export interface FieldProblem {
  field: string;
  code: string;
  params?: Record<string, unknown>;
}

/** The invalid fields of a refusal: its `errors`, or (an older answer) the one `field` it named. */
export function fieldProblems(e: ApiError): FieldProblem[] {
  const list = e.problem.errors;
  if (Array.isArray(list))
    return list.filter((x): x is FieldProblem => typeof x?.field === 'string' && typeof x?.code === 'string');
  return e.field ? [{ field: e.field, code: 'unknown' }] : [];
}

/** Whether the server's dotted `path` names `field` (or a part of it, or a field inside it). */
export const namesField = (path: string, field: string) =>
  path === field || path.endsWith(`.${field}`) || path.startsWith(`${field}.`);

/** `key` if the dictionary has it, else `fallback`. */
function known(key: string, fallback: MessageKey): MessageKey {
  return t(key as MessageKey) === key ? fallback : (key as MessageKey);
}

const text = (v: unknown) => (Array.isArray(v) ? v.map(String).join(', ') : String(v));

/** One field's message: `problem.field.<code>` with its parameters; the estimator's feedback translated. */
export function fieldMessage(p: FieldProblem): string {
  const params = Object.fromEntries(Object.entries(p.params ?? {}).map(([k, v]) => [k, text(v)]));
  const main = t(known(`problem.field.${p.code}`, 'problem.field.unknown'), params);
  if (p.code !== 'password-weak') return main;
  const warning = typeof p.params?.warning === 'string' ? p.params.warning : '';
  const suggestions = Array.isArray(p.params?.suggestions) ? (p.params.suggestions as unknown[]).map(String) : [];
  return [passwordFeedback('warning', warning), main, ...suggestions.map((s) => passwordFeedback('suggestion', s))]
    .filter(Boolean)
    .join(' ');
}

/** One piece of zxcvbn's feedback by its key; '' for a key the dictionary does not know. */
export function passwordFeedback(kind: 'warning' | 'suggestion', key: string): string {
  if (!key) return '';
  const k = `password.${kind}.${key}`;
  return t(k as MessageKey) === k ? '' : t(k as MessageKey);
}

/** A finding's title and remedy in the user's language, its parameters written for the screen (src/contract/finding-texts.ts). */
export function findingText(f: Finding): { title: string; fix: string } {
  return wordFinding(f, {
    text: (key) => (t(key as MessageKey) === key ? undefined : t(key as MessageKey)),
    date: formatDate,
    dateTime: formatDateTime,
    count: String,
  });
}
