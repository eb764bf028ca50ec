// What the `kartei` command says to a person, German first: the language is German unless
// KARTEI_LANG=en asks for English (anything else is refused). Texts live in messages-de.ts and
// messages-en.ts with `{name}` placeholders; dates, times and counts are written as the language
// writes them (04.12.2026, 14:03 Uhr; 1.234), in the office's time zone (Europe/Berlin, as the
// server counts days and the web application shows them). Machine output (JSON, a bare token or
// id the operator pipes on) and the server's JSON log stay as they are.
import { fill, FINDING_TEXTS_DE, FINDING_TEXTS_EN, type FindingWording } from '../contract/finding-texts.ts';
import { MESSAGES_DE, type CliMessageKey } from './messages-de.ts';
import { MESSAGES_EN } from './messages-en.ts';

export type CliLang = 'de' | 'en';

/** The environment variable that chooses the language. */
const LANG_VARIABLE = 'KARTEI_LANG';

/** KARTEI_LANG holds neither `de` nor `en`: said in both languages, since neither was chosen. */
export class LangError extends Error {}

/** The language KARTEI_LANG asks for: German when it is unset or empty; a refusal for anything but de or en. */
export function cliLang(env: NodeJS.ProcessEnv = process.env): CliLang {
  const v = env[LANG_VARIABLE];
  if (v === undefined || v === '') return 'de';
  if (v === 'de' || v === 'en') return v;
  throw new LangError(
    `${LANG_VARIABLE} muss de oder en sein (gesetzt: „${v}“); ohne ${LANG_VARIABLE} spricht Kartei Deutsch.\n` +
      `kartei: ${LANG_VARIABLE} must be de or en (got "${v}"); without ${LANG_VARIABLE} Kartei speaks German.`,
  );
}

let lang: CliLang = 'de';

export function currentCliLang(): CliLang {
  return lang;
}

/** Sets the language of everything the command prints from now on (the `kartei` entry point, once). */
export function setCliLang(l: CliLang): void {
  lang = l;
}

/** The message `key` in the chosen language, its `{name}` placeholders filled. */
export function msg(key: CliMessageKey, params: Record<string, string | number> = {}): string {
  return fill((lang === 'en' ? MESSAGES_EN : MESSAGES_DE)[key], params);
}

const locale = () => (lang === 'en' ? 'en-GB' : 'de-DE');
const ZONE = 'Europe/Berlin';

/** A day: 04.12.2026 (German), 04/12/2026 (English); a calendar date (2026-12-04) as it is. */
function formatDay(when: string | Date): string {
  const day = typeof when === 'string' ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(when) : null;
  // A calendar date at noon UTC is that same date in Berlin.
  const d = day ? new Date(`${day[1]}-${day[2]}-${day[3]}T12:00:00Z`) : new Date(when);
  if (Number.isNaN(d.getTime())) return String(when);
  return d.toLocaleDateString(locale(), { day: '2-digit', month: '2-digit', year: 'numeric', timeZone: ZONE });
}

/** A moment: 04.12.2026, 14:03 Uhr (German), 04/12/2026, 14:03 (English). */
export function formatMoment(when: string | Date): string {
  const d = new Date(when);
  if (Number.isNaN(d.getTime())) return String(when);
  const s = d.toLocaleString(locale(), {
    day: '2-digit',
    month: '2-digit',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZone: ZONE,
  });
  return lang === 'en' ? s : `${s} Uhr`;
}

/** A count: 1.234 (German), 1,234 (English). */
export function formatCount(n: number): string {
  return n.toLocaleString(locale());
}

/** A decimal with `digits` places: 1,5 (German), 1.5 (English). */
function formatDecimal(n: number, digits = 1): string {
  return n.toLocaleString(locale(), { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Seconds from milliseconds: „1,5 s“. */
export const formatSeconds = (ms: number) => `${formatDecimal(ms / 1000)} s`;

/** Megabytes from bytes: „12,3 MB“. */
export const formatMb = (bytes: number) => `${formatDecimal(bytes / 1024 / 1024)} MB`;

/** The security report's texts (src/contract/finding-texts.ts) in the chosen language. */
export function findingWording(): FindingWording {
  const texts: Record<string, string> = lang === 'en' ? FINDING_TEXTS_EN : FINDING_TEXTS_DE;
  return { text: (key) => texts[key], date: formatDay, dateTime: formatMoment, count: formatCount };
}
