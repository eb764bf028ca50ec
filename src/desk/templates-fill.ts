// Issue 17: letters — finding and filling the `{{fields}}` of a letter template. One pass: a value is put in
// as literal text and never read again for fields (a name containing `{{today}}` stays that text); control
// characters in values are dropped. A field the kind's catalogue (template-fields.ts) does not offer, or a
// `{{` without its `}}`, is a problem naming the part of the template and the line and column.
import type { FieldProblem } from '../errors.ts';
import { catalogue, fieldValue, type FillSource, type TemplateKind } from './template-fields.ts';

const FIELD = /\{\{\s*([^{}]*?)\s*\}\}/g;

interface FieldUse {
  name: string;
  line: number;
  column: number;
}

/** Where each line begins, for line and column of an offset. */
function position(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset; i++)
    if (text[i] === '\n') {
      line++;
      start = i + 1;
    }
  return { line, column: offset - start + 1 };
}

/** The fields a text names, in order, and where an opening `{{` has no closing `}}`. */
export function scanFields(text: string): { uses: FieldUse[]; unclosed: { line: number; column: number } | null } {
  const uses: FieldUse[] = [];
  let rest = '';
  let last = 0;
  for (const m of text.matchAll(FIELD)) {
    uses.push({ name: m[1]!, ...position(text, m.index) });
    rest += text.slice(last, m.index);
    last = m.index + m[0].length;
  }
  rest += text.slice(last);
  // Anything left with `{{` in it was not a whole field.
  const open = text.indexOf('{{', 0);
  let unclosed: { line: number; column: number } | null = null;
  if (rest.includes('{{')) {
    // Find the first `{{` outside a matched field.
    const matched = [...text.matchAll(FIELD)].map((m) => [m.index, m.index + m[0].length] as const);
    for (let i = open; i >= 0; i = text.indexOf('{{', i + 1))
      if (!matched.some(([a, b]) => i >= a && i < b)) {
        unclosed = position(text, i);
        break;
      }
  }
  return { uses, unclosed };
}

/** The texts of a template that may hold fields, by their path in the template (for the problem's `field`). */
export type TemplateTexts = Record<string, string>;

/** Every unknown field and unclosed `{{` of a template of `kind`, each naming its part, line and column. */
export function templateProblems(kind: TemplateKind, texts: TemplateTexts, prefix = ''): FieldProblem[] {
  const known = new Set(catalogue(kind).map((f) => f.name));
  const problems: FieldProblem[] = [];
  for (const [part, text] of Object.entries(texts)) {
    const { uses, unclosed } = scanFields(text);
    for (const u of uses)
      if (!known.has(u.name))
        problems.push({
          field: `${prefix}${part}`,
          code: 'template-field-unknown',
          message: `unknown field {{${u.name.slice(0, 80)}}} at line ${u.line}, column ${u.column} (not offered for ${kind})`,
          params: { name: u.name.slice(0, 80), line: u.line, column: u.column },
        });
    if (unclosed)
      problems.push({
        field: `${prefix}${part}`,
        code: 'template-syntax',
        message: `"{{" without "}}" at line ${unclosed.line}, column ${unclosed.column}`,
        params: { line: unclosed.line, column: unclosed.column },
      });
  }
  return problems;
}

/** A value as it goes into the letter: no control characters (a line break becomes a space). */
export function cleanValue(v: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
  return v.replace(/[\r\n\t]+/g, ' ').replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '');
}

/** The text with every field replaced by its value, in one pass. Throws on a field the kind does not offer. */
export function fillText(kind: TemplateKind, text: string, source: FillSource): string {
  const fields = new Map(catalogue(kind).map((f) => [f.name, f]));
  return text.replace(FIELD, (_whole, name: string) => {
    const f = fields.get(name);
    if (!f) throw new Error(`unknown field ${name}`);
    return cleanValue(fieldValue(f, source));
  });
}
