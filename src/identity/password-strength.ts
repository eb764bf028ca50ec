// The password strength estimate, free of Node-only code: the server refuses
// with it, and the web application's strength meter shows the same verdict
// before the form is sent.
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import * as de from '@zxcvbn-ts/language-de';
import * as en from '@zxcvbn-ts/language-en';

export const MIN_LENGTH = 12;
export const MAX_LENGTH = 256;
/** zxcvbn score 4: estimated at least 10^10 guesses. */
export const MIN_SCORE = 4;

/**
 * The built estimator holds ~70 MB of ranked dictionaries, and passwords are set rarely: it is
 * let go after this long unused and built again (~0.4 s) when next needed.
 */
export const ESTIMATOR_IDLE_MS = 5 * 60_000;
let estimator: ZxcvbnFactory | undefined;
let release: ReturnType<typeof setTimeout> | undefined;
function zxcvbn(): ZxcvbnFactory {
  estimator ??= new ZxcvbnFactory({
    dictionary: { ...common.dictionary, ...en.dictionary, ...de.dictionary },
    graphs: common.adjacencyGraphs,
    translations: en.translations,
  });
  clearTimeout(release);
  release = setTimeout(() => (estimator = undefined), ESTIMATOR_IDLE_MS);
  // In Node the timer must not keep a finished process alive (browsers have no unref).
  (release as { unref?: () => void }).unref?.();
  return estimator;
}

/** Whether the dictionaries are held in memory now. */
export const estimatorLoaded = () => estimator !== undefined;

export interface Strength {
  /** 0 (guessed at once) … 4 (strong enough); a password shorter than MIN_LENGTH scores 0. */
  score: number;
  acceptable: boolean;
  /** The estimator's English warning, if any. */
  warning: string;
}

/** Scores a password against the dictionaries and the user's and the office's own words. */
export function passwordStrength(password: string, context: string[]): Strength {
  if (password.length < MIN_LENGTH) return { score: 0, acceptable: false, warning: '' };
  const result = zxcvbn().check(password, contextWords(context));
  return { score: result.score, acceptable: result.score >= MIN_SCORE, warning: result.feedback.warning ?? '' };
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
      for (const order of [parts, [...parts].reverse()]) for (const sep of ['', ' ', '.', '-', '_']) out.add(order.join(sep));
    }
  }
  return [...out].filter((w) => w.length >= 3);
}
