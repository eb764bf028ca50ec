// TOTP (RFC 6238) second factor. A code is accepted once: the time step it
// belongs to is remembered and codes of that step or earlier are refused.
import * as OTPAuth from 'otpauth';

const PERIOD = 30;

export function newTotpSecret(): string {
  return new OTPAuth.Secret({ size: 20 }).base32;
}

export function totpUri(secret: string, account: string, issuer: string): string {
  return new OTPAuth.TOTP({
    issuer,
    label: account,
    secret: OTPAuth.Secret.fromBase32(secret),
    period: PERIOD,
  }).toString();
}

/** The time step the code belongs to, or null when it is wrong (±1 step of drift allowed). */
export function matchTotp(secret: string, code: string, now = Date.now()): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), period: PERIOD });
  const delta = totp.validate({ token: code, timestamp: now, window: 1 });
  if (delta === null) return null;
  return Math.floor(now / 1000 / PERIOD) + delta;
}
