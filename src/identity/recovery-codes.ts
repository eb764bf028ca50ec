// One-time recovery codes, given once when the second factor is enrolled: each
// stands in for a TOTP code at one login. They carry 60 random bits, so their
// SHA-256 is stored (like session tokens), and a code is spent by a conditional
// update that only one of several concurrent logins can win.
import { randomInt } from 'node:crypto';
import type { Tx } from '../db/connect.ts';
import { tokenHash } from './tokens.ts';

const RECOVERY_CODES = 10;
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
const GROUPS = 3;
const GROUP_LENGTH = 4;

/** `xxxx-xxxx-xxxx`, lower-case letters and digits without look-alikes. */
export const RECOVERY_CODE = /^[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}$/;

function newCode(): string {
  const groups: string[] = [];
  for (let g = 0; g < GROUPS; g++) {
    let s = '';
    for (let i = 0; i < GROUP_LENGTH; i++) s += ALPHABET[randomInt(ALPHABET.length)];
    groups.push(s);
  }
  return groups.join('-');
}

/** Replaces the user's recovery codes with a fresh set and returns it (shown once). */
export async function newRecoveryCodes(tx: Tx, tenantId: string, userId: string, now: string): Promise<string[]> {
  await tx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
  const codes = Array.from({ length: RECOVERY_CODES }, newCode);
  await tx
    .insertInto('recovery_codes')
    .values(
      codes.map((c) => ({
        code_hash: tokenHash(c),
        tenant_id: tenantId,
        user_id: userId,
        created_at: now,
        used_at: null,
      })),
    )
    .execute();
  return codes;
}

/** Spends one of the user's unused codes; false if it is not one, or already spent. */
export async function spendRecoveryCode(tx: Tx, userId: string, code: string, now: string): Promise<boolean> {
  const normalised = code.trim().toLowerCase();
  if (!RECOVERY_CODE.test(normalised)) return false;
  const spent = await tx
    .updateTable('recovery_codes')
    .set({ used_at: now })
    .where('code_hash', '=', tokenHash(normalised))
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return Number(spent.numUpdatedRows) === 1;
}
