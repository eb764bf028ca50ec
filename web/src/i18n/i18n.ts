// The one i18n layer: every string the user sees comes from a dictionary here.
// German is the default; English is selectable and kept complete by its type.
import { useSyncExternalStore } from 'react';
import { de, type Messages } from './de.ts';

export type Lang = 'de' | 'en';
export type MessageKey = keyof Messages;

const LANG_KEY = 'kartei.lang';
const loaded: Partial<Record<Lang, Messages>> = { de };
let lang: Lang = localStorage.getItem(LANG_KEY) === 'en' ? 'en' : 'de';
const listeners = new Set<() => void>();

async function load(l: Lang): Promise<void> {
  if (!loaded[l]) loaded[l] = (await import('./en.ts')).en;
}

/** Loads the chosen language before the first render. */
export async function initI18n(): Promise<void> {
  await load(lang);
  document.documentElement.lang = lang;
}

export async function setLang(l: Lang): Promise<void> {
  await load(l);
  lang = l;
  localStorage.setItem(LANG_KEY, l);
  document.documentElement.lang = l;
  for (const f of listeners) f();
}

export function currentLang(): Lang {
  return lang;
}

/**
 * The message for `key`, with `{name}` placeholders filled from `params`. With `n` of 1 a
 * message `key.one` is taken where the dictionary has one ("1 result", not "1 results").
 */
export function t(key: MessageKey, params?: Record<string, string | number>): string {
  const dict = loaded[lang] ?? de;
  const one = params?.n === 1 ? (dict as Record<string, string>)[`${key}.one`] : undefined;
  const text = one ?? dict[key] ?? key;
  return params ? text.replace(/\{(\w+)\}/g, (m, p: string) => (p in params ? String(params[p]) : m)) : text;
}

/** Re-renders the caller when the language changes; returns `t`. */
export function useT(): typeof t {
  useSyncExternalStore(
    (f) => {
      listeners.add(f);
      return () => listeners.delete(f);
    },
    () => lang,
  );
  return t;
}

/**
 * A date as ISO (`2024-03-01`, or an instant) or as DICOM writes it (`20240301`). Instants are shown
 * as the office's day (Europe/Berlin, as the server counts days: src/infection/incubation.ts), whatever
 * the browser machine's time zone; a calendar date is shown as it is.
 */
export function formatDate(iso: string): string {
  const day = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(iso);
  // A calendar date at noon UTC is that same date in Berlin.
  const d = day ? new Date(`${day[1]}-${day[2]}-${day[3]}T12:00:00Z`) : new Date(iso);
  return d.toLocaleDateString(lang === 'de' ? 'de-DE' : 'en-GB', DAY);
}

/** One way everywhere, with four-digit years, in the office's time: 04.12.2026 18:40 (German), 04/12/2026, 18:40 (English). */
export function formatDateTime(iso: string): string {
  return new Date(iso)
    .toLocaleString(lang === 'de' ? 'de-DE' : 'en-GB', { ...DAY, hour: '2-digit', minute: '2-digit' })
    .replace(/^(\d{2}\.\d{2}\.\d{4}),/, '$1');
}

const DAY = { day: '2-digit', month: '2-digit', year: 'numeric', timeZone: 'Europe/Berlin' } as const;
