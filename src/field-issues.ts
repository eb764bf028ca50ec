// Schema issues (zod 4, from a route's schema or a domain parse) turned into one problem that
// names every invalid field with a stable field code (src/errors.ts FIELD_CODES) and the
// parameters its message needs; the English `detail` stays for API clients.
import type { ZodError } from 'zod';
import {
  FIELD_CODES,
  FORMAT_RULES,
  fieldsRefused,
  type FieldCode,
  type FieldError,
  type FieldProblem,
  type KarteiError,
} from './errors.ts';

export interface ValidationIssue {
  instancePath?: string;
  message?: string;
  keyword?: string;
  params?: {
    keys?: string[];
    origin?: string;
    minimum?: number | bigint;
    maximum?: number | bigint;
    format?: string;
    values?: unknown[];
    expected?: string;
    params?: { code?: string; [k: string]: unknown };
  };
}

/** Patterns whose own message names a rule the field codes know. */
const FORMAT_CODES: Record<string, FieldCode> = {
  [FORMAT_RULES.noNul]: 'no-nul',
  [FORMAT_RULES.username]: 'username-chars',
  [FORMAT_RULES.icd10]: 'icd10-format',
  [FORMAT_RULES.aeTitle]: 'ae-title-format',
};

function pathOf(context: string | undefined, parts: string[]): string {
  const path = parts.join('.');
  return context === 'body' || !context ? path || 'body' : path ? `${context}.${path}` : context;
}

const num = (n: number | bigint | undefined) => Number(n ?? 0);

/** The field code of one schema issue, with what its message needs. */
function codeOf(issue: ValidationIssue): Pick<FieldError, 'code' | 'params'> {
  const p = issue.params ?? {};
  switch (issue.keyword) {
    case 'invalid_type':
      return /received undefined$/.test(issue.message ?? '')
        ? { code: 'required' }
        : { code: 'invalid-type', params: { expected: String(p.expected ?? '') } };
    case 'too_small':
      if (p.origin === 'string')
        return num(p.minimum) <= 1 ? { code: 'required' } : { code: 'too-short', params: { min: num(p.minimum) } };
      if (p.origin === 'array' || p.origin === 'set') return { code: 'too-few', params: { min: num(p.minimum) } };
      return { code: 'too-small', params: { min: num(p.minimum) } };
    case 'too_big':
      if (p.origin === 'string') return { code: 'too-long', params: { max: num(p.maximum) } };
      if (p.origin === 'array' || p.origin === 'set') return { code: 'too-many', params: { max: num(p.maximum) } };
      return { code: 'too-big', params: { max: num(p.maximum) } };
    case 'invalid_format':
      if (p.format === 'date' || p.format === 'datetime') return { code: 'invalid-date' };
      return { code: FORMAT_CODES[issue.message ?? ''] ?? 'invalid-format' };
    case 'invalid_union': {
      // A date or an instant (`z.iso.datetime().or(z.iso.date())`): every branch refused the format.
      const branches = (p as { errors?: { code?: string; format?: string }[][] }).errors ?? [];
      const dates =
        branches.length > 0 &&
        branches.every((b) =>
          b.some((i) => i.code === 'invalid_format' && (i.format === 'date' || i.format === 'datetime')),
        );
      return { code: dates ? 'invalid-date' : 'invalid' };
    }
    case 'invalid_value':
      return { code: 'not-one-of', params: { options: (p.values ?? []).map(String) } };
    case 'custom': {
      const { code, ...params } = p.params ?? {};
      const known = (FIELD_CODES as readonly string[]).includes(code ?? '') ? (code as FieldCode) : 'invalid';
      return Object.keys(params).length > 0 ? { code: known, params: params as FieldError['params'] } : { code: known };
    }
    default:
      return { code: 'invalid' };
  }
}

/** Every invalid field of a request, once each (its first issue), in the schema's order. */
export function fromZodIssues(issues: ValidationIssue[], context?: string): KarteiError {
  const problems: FieldProblem[] = [];
  const seen = new Set<string>();
  const add = (problem: FieldProblem) => {
    if (seen.has(problem.field)) return;
    seen.add(problem.field);
    problems.push(problem);
  };
  for (const issue of issues) {
    const parts = (issue.instancePath ?? '').split('/').filter(Boolean);
    if (issue.keyword === 'unrecognized_keys') {
      for (const key of issue.params?.keys ?? [])
        add({ field: pathOf(context, [...parts, key]), code: 'unknown-field', message: 'unknown field' });
      continue;
    }
    add({ field: pathOf(context, parts), ...codeOf(issue), message: issue.message ?? 'invalid' });
  }
  if (problems.length === 0) problems.push({ field: pathOf(context, []), code: 'invalid', message: 'invalid' });
  return fieldsRefused('validation-failed', problems);
}

/** A ZodError thrown by a domain function, as the same problem: `prefix` puts its fields under e.g. `content`. */
export function fromZodError(err: ZodError, prefix: string[] = []): KarteiError {
  return fromZodIssues(
    err.issues.map((i) => {
      const { path, code, message, ...params } = i as unknown as { path: PropertyKey[]; code: string; message: string };
      return {
        instancePath: `/${[...prefix, ...path.map(String)].join('/')}`,
        message,
        keyword: code,
        params: params as ValidationIssue['params'],
      };
    }),
  );
}
