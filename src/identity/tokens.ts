// Bearer secrets (session, challenge, setup, CSRF) are random and only their
// SHA-256 is stored, so a database copy cannot be replayed.
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

export const newToken = () => randomBytes(32).toString('base64url');
// One-shot hashing: every authenticated request hashes its token.
export const tokenHash = (token: string) => hash('sha256', token, 'hex');

export function sameHash(token: string, expectedHash: string): boolean {
  const a = Buffer.from(tokenHash(token), 'hex');
  const b = Buffer.from(expectedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
