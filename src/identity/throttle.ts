// Failed-login throttling per account and per client address, kept in the
// database so that several app instances share it. Subjects are blind
// indexes: neither the attempted name nor the address is stored.
import { sql } from 'kysely';
import type { Db } from '../db/connect.ts';
import { KarteiError } from '../errors.ts';

export const WINDOW_MS = 15 * 60_000;
export const LIMITS = { account: 5, address: 20 } as const;

export interface Subjects {
  account: string;
  address: string;
}

export async function assertNotThrottled(db: Db, s: Subjects, now = Date.now()): Promise<void> {
  const since = new Date(now - WINDOW_MS).toISOString();
  const rows = await db
    .selectFrom('login_failures')
    .select(['subject', sql<number>`count(*)`.as('n')])
    .where('subject', 'in', [s.account, s.address])
    .where('at', '>', since)
    .groupBy('subject')
    .execute();
  const count = (subject: string) => Number(rows.find((r) => r.subject === subject)?.n ?? 0);
  if (count(s.account) >= LIMITS.account || count(s.address) >= LIMITS.address) {
    throw new KarteiError('rate-limited', `Too many failed attempts; try again in ${WINDOW_MS / 60_000} minutes`);
  }
}

export async function recordFailure(db: Db, s: Subjects, now = Date.now()): Promise<void> {
  const at = new Date(now).toISOString();
  await db.insertInto('login_failures').values([{ subject: s.account, at }, { subject: s.address, at }]).execute();
  await db.deleteFrom('login_failures').where('at', '<=', new Date(now - WINDOW_MS).toISOString()).execute();
}

export async function clearAccountFailures(db: Db, s: Subjects): Promise<void> {
  await db.deleteFrom('login_failures').where('subject', '=', s.account).execute();
}
