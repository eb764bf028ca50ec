// Passwords: argon2id hashes only, and a real strength estimator (zxcvbn-ts
// with German and English dictionaries) that also knows the user's own words.
import { hash, verify } from '@node-rs/argon2';
import { fieldRefused } from '../errors.ts';
import { MIN_LENGTH } from './password-strength.ts';
import { passwordStrength } from './password-estimator.ts';

const ARGON2ID = 2; // Algorithm.Argon2id; a const enum, not importable under isolatedModules
const OPTIONS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export { MIN_LENGTH, MAX_LENGTH } from './password-strength.ts';

export const hashPassword = (password: string) => hash(password, OPTIONS);

export const verifyPassword = (passwordHash: string, password: string) => verify(passwordHash, password);

/** A hash of a random string, verified against when the user is unknown so both cases take the same time. */
let decoy: Promise<string> | undefined;
export const decoyHash = () => (decoy ??= hashPassword(crypto.randomUUID()));

/** Refuses short, common and guessable passwords; `context` holds the user's and the office's own words. */
export function assertStrongPassword(password: string, context: string[], field = 'password'): void {
  if (password.length < MIN_LENGTH) {
    throw fieldRefused('weak-password', field, 'password-too-short', `at least ${MIN_LENGTH} characters are required`, {
      min: MIN_LENGTH,
    });
  }
  const result = passwordStrength(password, context);
  if (!result.acceptable) {
    // The estimator's feedback as its keys (the screens translate them): warning, then suggestions.
    const hint = result.warning ? ` (${result.warning})` : '';
    const params = { ...(result.warning ? { warning: result.warning } : {}), suggestions: result.suggestions };
    throw fieldRefused(
      'weak-password',
      field,
      'password-weak',
      `too easy to guess${hint}; use a longer passphrase of unrelated words`,
      params,
    );
  }
}
