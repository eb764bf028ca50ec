// The password strength estimate, free of Node-only code: the server refuses
// with it, and the web application's strength meter shows the same verdict
// before the form is sent. Each side loads the dictionaries its own way
// (the server: password-estimator.ts; the browser: web/src/ui/password-estimator.ts)
// and hands them to `estimatorOf`.
import type * as Core from '@zxcvbn-ts/core';
import type * as Common from '@zxcvbn-ts/language-common';
import type * as De from '@zxcvbn-ts/language-de';
import type * as En from '@zxcvbn-ts/language-en';

export const MIN_LENGTH = 12;
export const MAX_LENGTH = 256;
/** zxcvbn score 4: estimated at least 10^10 guesses. */
const MIN_SCORE = 4;

/** zxcvbn-ts and its German and English dictionaries, as loaded. */
export interface EstimatorModules {
  core: typeof Core;
  common: typeof Common;
  en: typeof En;
  de: typeof De;
}

export type Estimator = Core.ZxcvbnFactory;

/** Builds the estimator (~0.4 s; ~70 MB of ranked dictionaries once built). */
export function estimatorOf({ core, common, en, de }: EstimatorModules): Estimator {
  return new core.ZxcvbnFactory({
    dictionary: { ...common.dictionary, ...en.dictionary, ...de.dictionary },
    graphs: common.adjacencyGraphs,
    // Feedback as its keys (`topTen`, `anotherWord`…), which the screens translate: zxcvbn's own text is English.
    translations: keysOf(en.translations),
  });
}

/** Each translation replaced by its own key. */
function keysOf<T extends Record<string, Record<string, unknown>>>(translations: T): T {
  return Object.fromEntries(
    Object.entries(translations).map(([group, texts]) => [
      group,
      Object.fromEntries(Object.keys(texts).map((k) => [k, k])),
    ]),
  ) as T;
}

export interface Strength {
  /** 0 (guessed at once) … 4 (strong enough); a password shorter than MIN_LENGTH scores 0. */
  score: number;
  acceptable: boolean;
  /** The estimator's warning as its key (`topTen`, `userInputs`…), or ''. */
  warning: string;
  /** Its suggestions as their keys (`anotherWord`, `capitalization`…). */
  suggestions: string[];
}

/** Scores a password against the dictionaries and the user's and the office's own words. */
export function strengthWith(estimator: () => Estimator, password: string, context: string[]): Strength {
  if (password.length < MIN_LENGTH) return { score: 0, acceptable: false, warning: '', suggestions: [] };
  const result = estimator().check(password, contextWords(context));
  return {
    score: result.score,
    acceptable: result.score >= MIN_SCORE,
    warning: result.feedback.warning ?? '',
    suggestions: result.feedback.suggestions,
  };
}

/**
 * The context strings, their words, and those words joined by each common separator in
 * either order: the estimator otherwise scores `hannelore_krzyzanowski1` for the user
 * `hannelore.krzyzanowski` as several unrelated pieces (and so as strong).
 */
function contextWords(context: string[]): string[] {
  const out = new Set<string>();
  for (const c of context) {
    const parts = c.split(/[\s._@-]+/).filter(Boolean);
    out.add(c);
    for (const p of parts) out.add(p);
    if (parts.length > 1) {
      for (const order of [parts, [...parts].reverse()])
        for (const sep of ['', ' ', '.', '-', '_']) out.add(order.join(sep));
    }
  }
  return [...out].filter((w) => w.length >= 3);
}
