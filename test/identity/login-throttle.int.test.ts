// Login throttling under attack (issue 13): parallel wrong passwords and parallel
// wrong codes on one challenge are counted before they are checked, so at most
// the limit gets evaluated; an account slows down exponentially and its owner
// gets in after the wait; a flood from the office's proxy does not lock out a
// colleague behind it; refused attempts are in the audit log. (Which address
// counts behind a proxy: trusted-proxy.int.test.ts.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { DEPLOYMENT_CHAIN } from '../../src/db/schema.ts';
import * as throttle from '../../src/identity/throttle.ts';
import { startHarness, setUpTenant, totpCode, type Harness, type Tenant } from '../helpers/harness.ts';

/** Failures an account may make before it has to wait; wrong codes a challenge survives. */
const FREE = 5;
const CHALLENGE_CODES = 5;
const MAX_WAIT_S = 15 * 60;

let h: Harness;
let t: Tenant;
before(async () => {
  h = await startHarness();
  t = await setUpTenant(h);
});
after(() => h.close());

interface Reply {
  status: number;
  body: any;
  retryAfter?: string;
}

/** One request from a client address, optionally with an X-Forwarded-For header. */
async function send(url: string, body: unknown, ip: string, forwardedFor?: string, harness = h): Promise<Reply> {
  const res = await harness.app.inject({
    method: 'POST',
    url,
    remoteAddress: ip,
    headers: { 'content-type': 'application/json', ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}) },
    payload: JSON.stringify(body),
  });
  const retryAfter = res.headers['retry-after'];
  return {
    status: res.statusCode,
    body: res.body ? JSON.parse(res.body) : undefined,
    retryAfter: retryAfter === undefined ? undefined : String(retryAfter),
  };
}

const loginFrom = (ip: string, username: string, password: string, forwardedFor?: string, harness = h) =>
  send('/api/auth/login', { username, password }, ip, forwardedFor, harness);

let ipSeq = 0;
/** A fresh client address (TEST-NET-3), so the address throttle of one test never decides another's. */
const freshIp = () => `203.0.${Math.floor(++ipSeq / 250)}.${(ipSeq % 250) + 1}`;

interface Account {
  id: string;
  username: string;
  password: string;
  secret?: string;
}

let accountSeq = 0;
async function newAccount(): Promise<Account> {
  const a = await t.account({}, { username: `thr${++accountSeq}`, displayName: `Throttle Test ${accountSeq}` });
  return { id: a.id, username: a.username, password: a.password };
}

/** A code of a fresh time step: the login clock moves 30 s first. */
function freshCode(secret: string): string {
  h.clock.now += 30_000;
  return totpCode(secret, h.clock.now);
}
const wrongCode = (code: string) => String((Number(code) + 500_001) % 1_000_000).padStart(6, '0');

/** Both login steps from `ip`, enrolling when asked; returns the second step's status. */
async function signIn(a: Account, ip: string): Promise<number> {
  const first = await loginFrom(ip, a.username, a.password);
  assert.equal(first.status, 200, JSON.stringify(first.body));
  if (first.body.mfa === 'enroll') a.secret = first.body.totp.secret;
  return (await send('/api/auth/mfa', { challenge: first.body.challenge, code: freshCode(a.secret!) }, ip)).status;
}

/** Attempts are aggregated per source and minute (audit/attempts.ts): the counts still held are written first. */
const auditEvents = async (action: string, actorId?: string, chain = t.tenantId) =>
  h.services.audit.attempts.flush(true).then(() =>
    inTenantTransaction(h.services.store, chain, (tx) => {
      let q = tx
        .selectFrom('audit_events')
        .select(['actor_id', 'outcome', 'detail'])
        .where('tenant_id', '=', chain)
        .where('action', '=', action);
      if (actorId) q = q.where('actor_id', '=', actorId);
      return q.orderBy('seq').execute();
    }),
  );

/** How many attempts some events stand for: one each, or the count an aggregated event carries. */
const attempts = (events: { detail: string | null }[]) =>
  events.reduce((n, e) => n + Number(JSON.parse(e.detail ?? '{}').count ?? 1), 0);

const count = (replies: Reply[], status: number) => replies.filter((r) => r.status === status).length;

test('thirty parallel wrong passwords for one account: exactly the free 5 are checked, the rest answer 429 with Retry-After, and each refusal is audited', async () => {
  const a = await newAccount();
  // From thirty addresses at once, so only the account's own limit can stop them.
  const replies = await Promise.all(
    Array.from({ length: 30 }, (_, i) => loginFrom(freshIp(), a.username, `${a.password}-falsch-${i}`)),
  );
  const [checked, refused] = [count(replies, 401), count(replies, 429)];
  assert.equal(checked + refused, 30, JSON.stringify(replies.map((r) => r.status)));
  assert.equal(checked, FREE, `${checked} wrong passwords were checked in parallel (limit ${FREE})`);
  for (const r of replies.filter((x) => x.status === 429)) {
    assert.equal(r.body.code, 'rate-limited');
    assert.match(r.retryAfter ?? '', /^[1-9]\d*$/, 'Retry-After in whole seconds');
  }
  // What was checked is what failed; what was refused was never checked, and is audited as such.
  assert.equal(attempts(await auditEvents('auth.login-failed', a.id)), checked);
  const throttled = await auditEvents('auth.login-throttled', a.id);
  assert.equal(attempts(throttled), refused);
  assert.ok(throttled.every((e) => e.outcome === 'denied' && JSON.parse(e.detail!).stage === 'password'));
});

test('a reservation is one atomic step: of 60 parallel ones exactly the free 5 pass an account, exactly 100 an address', async () => {
  // Straight at the counters (on PostgreSQL through several pooled connections).
  const db = h.services.store.db;
  const now = h.clock.now;
  const account = await Promise.all(
    Array.from({ length: 60 }, () => throttle.reserve(db, [{ subject: 'account:atomic-test', kind: 'streak' }], now)),
  );
  assert.equal(account.filter((r) => r.ok).length, FREE);
  const address = await Promise.all(
    Array.from({ length: throttle.LIMITS.address + 60 }, () =>
      throttle.reserve(db, [{ subject: 'address:atomic-test', kind: 'window' }], now),
    ),
  );
  assert.equal(address.filter((r) => r.ok).length, throttle.LIMITS.address);
  const row = await db
    .selectFrom('login_throttle')
    .selectAll()
    .where('subject', 'in', ['account:atomic-test', 'address:atomic-test'])
    .orderBy('subject')
    .execute();
  assert.deepEqual(
    row.map((r) => Number(r.failures)),
    [FREE, throttle.LIMITS.address],
    'refused attempts are not counted',
  );
});

test('forty parallel wrong codes on one login challenge: at most 5 are checked, then the challenge is dead', async () => {
  const a = await newAccount();
  assert.equal(await signIn(a, freshIp()), 200);
  const ip = freshIp();
  const step = await loginFrom(ip, a.username, a.password);
  assert.equal(step.status, 200);
  const good = freshCode(a.secret!);
  const replies = await Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      send(
        '/api/auth/mfa',
        { challenge: step.body.challenge, code: wrongCode(String((Number(good) + i) % 1_000_000)) },
        ip,
      ),
    ),
  );
  const [checked, refused] = [count(replies, 401), count(replies, 429)];
  assert.equal(checked + refused, 40, JSON.stringify(replies.map((r) => r.status)));
  assert.ok(
    checked <= CHALLENGE_CODES,
    `${checked} wrong codes were checked on one challenge (limit ${CHALLENGE_CODES})`,
  );
  assert.equal(
    attempts((await auditEvents('auth.login-failed', a.id)).filter((e) => JSON.parse(e.detail!).stage === 'mfa')),
    checked,
  );
  const throttled = await auditEvents('auth.login-throttled', a.id);
  assert.equal(attempts(throttled), refused);
  assert.ok(throttled.every((e) => e.outcome === 'denied' && JSON.parse(e.detail!).stage === 'mfa'));

  // Even the right code no longer opens that challenge, however long one waits.
  h.clock.now += (MAX_WAIT_S + 1) * 1000;
  const late = await send(
    '/api/auth/mfa',
    { challenge: step.body.challenge, code: totpCode(a.secret!, h.clock.now) },
    ip,
  );
  assert.notEqual(late.status, 200);
  // A new login after the wait works.
  assert.equal(await signIn(a, ip), 200);
});

test('an account slows down exponentially (1 s, 2 s, 4 s … 15 min) instead of locking; the owner gets in after the wait', async () => {
  const a = await newAccount();
  assert.equal(await signIn(a, freshIp()), 200);
  const attacker = () => freshIp();
  for (let i = 0; i < FREE; i++)
    assert.equal(
      (await loginFrom(attacker(), a.username, `falsch-${i}-${a.password}`)).status,
      401,
      `free failure ${i + 1}`,
    );

  let wait = 1;
  for (let round = 0; round < 12; round++) {
    const refused = await loginFrom(attacker(), a.username, `falsch-r${round}-${a.password}`);
    assert.equal(refused.status, 429, `round ${round}`);
    assert.equal(refused.retryAfter, String(wait), `round ${round}: the wait after ${FREE + round} failures`);
    if (wait > 1) {
      // Waiting less is not enough.
      h.clock.now += (wait - 1) * 1000;
      assert.equal(
        (await loginFrom(attacker(), a.username, `falsch-e${round}-${a.password}`)).status,
        429,
        `round ${round}: early`,
      );
      h.clock.now += 1000;
    } else {
      h.clock.now += 1000;
    }
    assert.equal(
      (await loginFrom(attacker(), a.username, `falsch-w${round}-${a.password}`)).status,
      401,
      `round ${round}: after the wait it is checked again`,
    );
    wait = Math.min(wait * 2, MAX_WAIT_S);
  }
  assert.equal(wait, MAX_WAIT_S, 'the wait reached its cap');

  // The owner is slowed down too (the right password waits like any other) …
  const owner = freshIp();
  const now = await loginFrom(owner, a.username, a.password);
  assert.equal(now.status, 429);
  assert.equal(now.retryAfter, String(MAX_WAIT_S), 'capped at 15 minutes');
  // … but never locked out: after the wait both steps succeed, and the streak is over.
  h.clock.now += MAX_WAIT_S * 1000;
  assert.equal(await signIn(a, owner), 200);
  assert.equal((await loginFrom(attacker(), a.username, `falsch-danach-${a.password}`)).status, 401);
  assert.equal((await loginFrom(attacker(), a.username, a.password)).status, 200);
});

test('a flood of failures from the office proxy throttles that address, not a colleague who has logged in from it before', async () => {
  const proxy = freshIp();
  const colleague = await newAccount();
  assert.equal(await signIn(colleague, proxy), 200);
  const newcomer = await newAccount();
  const unknownBefore = (await auditEvents('auth.login-throttled', undefined, DEPLOYMENT_CHAIN)).length;

  // Someone behind the proxy sprays names: every attempt a different name, so only the address counts.
  const spray = await Promise.all(
    Array.from({ length: throttle.LIMITS.address }, (_, i) => loginFrom(proxy, `spray-${i}`, 'Sommer2024!!-Versuch')),
  );
  assert.equal(count(spray, 401), throttle.LIMITS.address);

  // The colleague who has logged in from there before still gets in …
  assert.equal(await signIn(colleague, proxy), 200);
  // … while the next name sprayed from there is refused, and audited on the deployment chain (an unknown name has no office).
  const more = await loginFrom(proxy, 'spray-more', 'Sommer2024!!-Versuch');
  assert.equal(more.status, 429);
  assert.match(more.retryAfter ?? '', /^[1-9]\d*$/);
  assert.equal((await auditEvents('auth.login-throttled', undefined, DEPLOYMENT_CHAIN)).length, unknownBefore + 1);
  // The colleague's wrong password is still checked (it counts against the colleague's own streak), and the right one works.
  assert.equal((await loginFrom(proxy, colleague.username, `${colleague.password}-vertippt`)).status, 401);
  assert.equal(await signIn(colleague, proxy), 200);
  // An account never used from there waits for the address's window, then gets in.
  const refused = await loginFrom(proxy, newcomer.username, newcomer.password);
  assert.equal(refused.status, 429);
  h.clock.now += Number(refused.retryAfter) * 1000;
  assert.equal(await signIn(newcomer, proxy), 200);
});
