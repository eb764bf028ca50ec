// Login throttling that holds under concurrency and locks out no bystander
// (issue 13). Counters live in the database (`login_throttle`), so several app
// instances share them; subjects are blind indexes, so neither a name nor an
// address is stored.
//
// - Counted before checked. An attempt first reserves a failure on each of its
//   counters with one conditional upsert (`INSERT … ON CONFLICT DO UPDATE …
//   WHERE allowed RETURNING`): the row moves only if the subject may try now,
//   and SQLite's single writer or PostgreSQL's row lock (the WHERE is evaluated
//   again on the locked row) makes that one step, so of any number of parallel
//   requests at most the allowed number reach argon2 or the TOTP check. A
//   refused attempt is not counted; it answers 429 with Retry-After and is
//   audited. Counters are reserved address first, account last, so a refusal
//   never has to undo an account's reservation.
// - Accounts slow down, they never lock: 5 failures are free, then each attempt
//   waits 1 s, 2 s, 4 s … (doubling per failure, at most 15 minutes) after the
//   last failure. Whoever waits, the owner included, gets the next attempt. A
//   completed login (password and code) ends the streak; an abandoned streak is
//   forgotten 24 hours after its last failure.
// - The address counts failures only (a right password is credited back at
//   once) and generously: 100 per 15-minute window, then it is refused until the
//   window ends — except for an account that completed a login from this very
//   address within 30 days (a known pair). A known pair's attempts skip the
//   address and count against the pair alone, slowed down like an account. So a
//   colleague behind the office's proxy keeps logging in while someone sprays
//   names from it, and an attacker elsewhere cannot slow that colleague down.
//   Accepted: someone behind the same address can slow down a colleague's pair
//   (as anyone can an account); an account never used from a flooded address
//   waits for its window; a pair is a budget of its own (it at most doubles the
//   guesses of someone at that address). A device cookie would narrow the first
//   and the last; it is not built.
// - The second step: a challenge dies after 5 codes (an atomic counter on the
//   challenge), and every code after the first is reserved against the account
//   (or pair) like a password. The first code spends the reservation of the
//   right password before it, which is not credited back, so stockpiled
//   challenges give no extra guesses.
import { sql } from 'kysely';
import type { Db, Tx } from '../db/connect.ts';
import { KarteiError } from '../errors.ts';
import type { Keyring } from '../vault/keyring.ts';

export const LIMITS = { account: 5, address: 100, challenge: 5 } as const;
const MAX_WAIT_MS = 15 * 60_000;
const ADDRESS_WINDOW_MS = 15 * 60_000;
const STREAK_MS = 24 * 60 * 60_000;
const KNOWN_PAIR_MS = 30 * 24 * 60 * 60_000;

/** Milliseconds to wait after `failures` failures in a streak. */
function waitAfter(failures: number): number {
  if (failures < LIMITS.account) return 0;
  return Math.min(1000 * 2 ** (failures - LIMITS.account), MAX_WAIT_MS);
}

/** The blind-indexed subjects of one attempt. */
export interface Subjects {
  account: string;
  address: string;
  /** The account at this address. */
  pair: string;
}

/** A counter an attempt reserves: slowed down per failure (accounts, pairs) or limited per window (addresses). */
/** The subjects of an attempt on the account with this blind-indexed name, from this address. */
export function subjectsOf(keyring: Keyring, usernameIndex: string, address: string): Subjects {
  return {
    account: `account:${usernameIndex}`,
    address: `address:${keyring.globalIndex('address', address)}`,
    // A digest of its own, so that the rows do not tell which accounts share an address.
    pair: `pair:${keyring.globalIndex('login-pair', `${usernameIndex} ${address}`)}`,
  };
}

export interface Counter {
  subject: string;
  kind: 'streak' | 'window';
}

export type Reservation = { ok: true; counters: Counter[] } | { ok: false; retryAfterMs: number };

/** The counters of an attempt: the pair alone when it is known, else address and account (in that order). */
export async function countersFor(db: Db, s: Subjects, now: number): Promise<Counter[]> {
  const pair = await db
    .selectFrom('login_throttle')
    .select('trusted_until')
    .where('subject', '=', s.pair)
    .executeTakeFirst();
  if (pair && pair.trusted_until > now) return [{ subject: s.pair, kind: 'streak' }];
  return [
    { subject: s.address, kind: 'window' },
    { subject: s.account, kind: 'streak' },
  ];
}

// `case failures when 5 then 1000 when 6 then 2000 … else 900000 end`, from constants only.
const WAIT_CASE = sql.raw(
  `case login_throttle.failures ${Array.from({ length: 16 }, (_, i) => LIMITS.account + i)
    .map((n) => `when ${n} then ${waitAfter(n)}`)
    .join(' ')} else ${MAX_WAIT_MS} end`,
);

async function reserveOne(db: Db, c: Counter, now: number): Promise<boolean> {
  const q =
    c.kind === 'streak'
      ? sql<{ failures: number }>`
          insert into login_throttle (subject, failures, last_failure_at, window_started_at, trusted_until)
          values (${c.subject}, 1, ${now}, 0, 0)
          on conflict (subject) do update set
            failures = case when login_throttle.last_failure_at <= ${now - STREAK_MS} then 1 else login_throttle.failures + 1 end,
            last_failure_at = ${now}
          where login_throttle.failures < ${LIMITS.account} or login_throttle.last_failure_at + ${WAIT_CASE} <= ${now}
          returning failures`
      : sql<{ failures: number }>`
          insert into login_throttle (subject, failures, last_failure_at, window_started_at, trusted_until)
          values (${c.subject}, 1, 0, ${now}, 0)
          on conflict (subject) do update set
            failures = case when login_throttle.window_started_at <= ${now - ADDRESS_WINDOW_MS} then 1 else login_throttle.failures + 1 end,
            window_started_at = case when login_throttle.window_started_at <= ${now - ADDRESS_WINDOW_MS} then ${now} else login_throttle.window_started_at end
          where login_throttle.window_started_at <= ${now - ADDRESS_WINDOW_MS} or login_throttle.failures < ${LIMITS.address}
          returning failures`;
  const { rows } = await q.execute(db);
  return rows.length === 1;
}

/** Until when a refused counter stays closed, read after the refusal. */
async function retryAfterMs(db: Db, c: Counter, now: number): Promise<number> {
  const row = await db.selectFrom('login_throttle').selectAll().where('subject', '=', c.subject).executeTakeFirst();
  if (!row) return 1000;
  const until =
    c.kind === 'streak' ? row.last_failure_at + waitAfter(row.failures) : row.window_started_at + ADDRESS_WINDOW_MS;
  return Math.max(1000, until - now);
}

/**
 * Reserves one failure on each counter, in order, before anything is checked.
 * On a refusal the counters already reserved (only windows, see the order) are
 * given back and the wait is returned.
 */
export async function reserve(db: Db, counters: Counter[], now: number): Promise<Reservation> {
  const done: Counter[] = [];
  for (const c of counters) {
    if (await reserveOne(db, c, now)) {
      done.push(c);
      continue;
    }
    await credit(db, done);
    return { ok: false, retryAfterMs: await retryAfterMs(db, c, now) };
  }
  return { ok: true, counters };
}

/** Gives reserved failures back (a right password at an address; a refusal further on). */
export async function credit(db: Db | Tx, counters: Counter[]): Promise<void> {
  if (counters.length === 0) return;
  await db
    .updateTable('login_throttle')
    .set((eb) => ({ failures: eb('failures', '-', 1) }))
    .where(
      'subject',
      'in',
      counters.map((c) => c.subject),
    )
    .where('failures', '>', 0)
    .execute();
}

/** A completed login: the streaks it counted against end, and the account is known at this address from now on. */
export async function succeeded(tx: Tx, counters: Counter[], s: Subjects, now: number): Promise<void> {
  const streaks = counters.filter((c) => c.kind === 'streak').map((c) => c.subject);
  if (streaks.length > 0)
    await tx.updateTable('login_throttle').set({ failures: 0 }).where('subject', 'in', streaks).execute();
  await tx
    .insertInto('login_throttle')
    .values({
      subject: s.pair,
      failures: 0,
      last_failure_at: 0,
      window_started_at: 0,
      trusted_until: now + KNOWN_PAIR_MS,
    })
    .onConflict((oc) => oc.column('subject').doUpdateSet({ trusted_until: now + KNOWN_PAIR_MS }))
    .execute();
}

/** Counts a code against its challenge; false once the challenge has had its 5. */
export async function countChallengeCode(db: Db, challengeHash: string): Promise<number | null> {
  const row = await db
    .updateTable('login_challenges')
    .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
    .where('token_hash', '=', challengeHash)
    .where('attempts', '<', LIMITS.challenge)
    .returning('attempts')
    .executeTakeFirst();
  return row ? row.attempts : null;
}

/** Gives a code back to its challenge when the account refused it unchecked. */
export async function uncountChallengeCode(db: Db, challengeHash: string): Promise<void> {
  await db
    .updateTable('login_challenges')
    .set((eb) => ({ attempts: eb('attempts', '-', 1) }))
    .where('token_hash', '=', challengeHash)
    .where('attempts', '>', 0)
    .execute();
}

/** Removes counters that no longer hold anything back: no streak, window or trust left. */
export async function prune(db: Db, now: number): Promise<void> {
  await db
    .deleteFrom('login_throttle')
    .where('last_failure_at', '<=', now - STREAK_MS)
    .where('window_started_at', '<=', now - ADDRESS_WINDOW_MS)
    .where('trusted_until', '<=', now)
    .execute();
}

/** The 429 of a refused attempt, with Retry-After in whole seconds. */
export function rateLimited(retryAfterMs: number): KarteiError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new KarteiError(
    'rate-limited',
    `Too many failed attempts; try again in ${seconds} seconds`,
    { retryAfter: seconds },
    { 'retry-after': String(seconds) },
  );
}

/**
 * A signed-in person proving their password again (changing it, adding a passkey): counted
 * before it is checked, against the account (or the account at this address) like a login,
 * so a session thief cannot guess it here either. 429 when the account must wait.
 */
export async function reserveOwnAttempt(
  db: Db,
  keyring: Keyring,
  usernameIndex: string,
  address: string,
  now: number,
): Promise<{ counters: Counter[]; subjects: Subjects }> {
  const subjects = subjectsOf(keyring, usernameIndex, address);
  const counters = (await countersFor(db, subjects, now)).filter((c) => c.kind === 'streak');
  const reserved = await reserve(db, counters, now);
  if (!reserved.ok) throw rateLimited(reserved.retryAfterMs);
  return { counters, subjects };
}
