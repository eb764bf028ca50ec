// Passwords: argon2id hashes only, and a real strength estimator (zxcvbn-ts
// with German and English dictionaries) that also knows the user's own words.
import { hash, verify } from '@node-rs/argon2';
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import * as de from '@zxcvbn-ts/language-de';
import * as en from '@zxcvbn-ts/language-en';
import { KarteiError } from '../errors.ts';

const ARGON2ID = 2; // Algorithm.Argon2id; a const enum, not importable under isolatedModules
const OPTIONS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export const MIN_LENGTH = 12;
export const MAX_LENGTH = 256;
/** zxcvbn score 4: estimated at least 10^10 guesses. */
const MIN_SCORE = 4;

let estimator: ZxcvbnFactory | undefined;
function zxcvbn(): ZxcvbnFactory {
  estimator ??= new ZxcvbnFactory({
    dictionary: { ...common.dictionary, ...en.dictionary, ...de.dictionary },
    graphs: common.adjacencyGraphs,
    translations: en.translations,
  });
  return estimator;
}

export const hashPassword = (password: string) => hash(password, OPTIONS);

export const verifyPassword = (passwordHash: string, password: string) => verify(passwordHash, password);

/** A hash of a random string, verified against when the user is unknown so both cases take the same time. */
let decoy: Promise<string> | undefined;
export const decoyHash = () => (decoy ??= hashPassword(crypto.randomUUID()));

/** Refuses short, common and guessable passwords; `context` holds the user's and the office's own words. */
export function assertStrongPassword(password: string, context: string[], field = 'password'): void {
  if (password.length < MIN_LENGTH) {
    throw new KarteiError('weak-password', `${field}: at least ${MIN_LENGTH} characters are required`, { field });
  }
  const result = zxcvbn().check(password, contextWords(context));
  if (result.score < MIN_SCORE) {
    const hint = result.feedback.warning ? ` (${result.feedback.warning})` : '';
    throw new KarteiError('weak-password', `${field}: too easy to guess${hint}; use a longer passphrase of unrelated words`, { field });
  }
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
