// The login story, step by step and under attack: enrol a second factor at the
// first login, then TOTP; wrong, replayed and earlier codes, spent and expired
// challenges; unknown names that look like wrong passwords; throttling per
// account and per address; the session cookie and its CSRF companion; logout,
// idle and absolute expiry; MFA reset and deactivation ending sessions; only
// hashes of session secrets in the database; every login, failure and logout
// in the audit log.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { DEPLOYMENT_CHAIN } from '../../src/db/schema.ts';
import { tokenHash } from '../../src/identity/tokens.ts';
import { LIMITS } from '../../src/identity/throttle.ts';
import {
  Client,
  startHarness,
  setUpTenant,
  strongPassword,
  totpCode,
  type Harness,
  type Tenant,
} from '../helpers/harness.ts';

let h: Harness;
let t: Tenant;
before(async () => {
  h = await startHarness();
  t = await setUpTenant(h);
});
after(() => h.close());

/**
 * A client at a chosen address. Every test that provokes failures uses addresses
 * of its own, so the per-address throttle of one test (or of the harness's
 * logins from 127.0.0.1) never decides another's outcome.
 */
/** A client at an address of its own (the harness's Client with `ip`). */
const Browser = Client;

let ipSeq = 0;
/** A fresh client address (TEST-NET-2, never a real client). */
const freshIp = () => `198.51.${Math.floor(++ipSeq / 250)}.${(ipSeq % 250) + 1}`;

interface Account {
  id: string;
  username: string;
  displayName: string;
  password: string;
  /** Set once enrolled through signIn. */
  secret?: string;
}

let accountSeq = 0;
async function newAccount(
  spec: { tenantRoles?: string[]; memberships?: { departmentId: string; role: string }[] } = {},
): Promise<Account> {
  return t.account(spec, { username: `mfa${++accountSeq}`, displayName: `Login Test ${accountSeq}` });
}

/** A code of a fresh time step: the clock moves 30 s first. */
function freshCode(secret: string): string {
  h.clock.now += 30_000;
  return totpCode(secret, h.clock.now);
}

/** A six-digit code that is not `code` (nor, in practice, any code of the neighbouring steps). */
const wrongCode = (code: string) => String((Number(code) + 500_001) % 1_000_000).padStart(6, '0');

/** Both login steps, enrolling when asked; returns the logged-in browser. */
async function signIn(a: Account, ip = freshIp()): Promise<Client> {
  const b = new Browser(h, ip);
  const first = await b.post('/api/auth/login', { username: a.username, password: a.password });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  if (first.body.mfa === 'enroll') a.secret = first.body.totp.secret;
  const second = await b.post('/api/auth/mfa', { challenge: first.body.challenge, code: freshCode(a.secret!) });
  assert.equal(second.status, 200, JSON.stringify(second.body));
  b.csrf = second.body.csrfToken;
  return b;
}

const sessionRow = (cookie: string) =>
  h.services.store.db.selectFrom('sessions').selectAll().where('token_hash', '=', tokenHash(cookie)).executeTakeFirst();

/** Audit events of the tenant (or the deployment chain) with this action, optionally by this actor. */
const auditEvents = (action: string, actorId?: string, chain = t.tenantId) =>
  inTenantTransaction(h.services.store, chain, (tx) => {
    let q = tx
      .selectFrom('audit_events')
      .select(['seq', 'actor_id', 'outcome', 'detail'])
      .where('tenant_id', '=', chain)
      .where('action', '=', action);
    if (actorId) q = q.where('actor_id', '=', actorId);
    return q.orderBy('seq').execute();
  });

test('first login enrols TOTP; later logins ask for a code; wrong, replayed and spent codes and challenges fail', async () => {
  const a = await newAccount();
  const b = new Browser(h, freshIp());

  const enrol = await b.post('/api/auth/login', { username: a.username, password: a.password });
  assert.equal(enrol.status, 200);
  assert.equal(enrol.body.mfa, 'enroll');
  assert.equal(typeof enrol.body.challenge, 'string');
  const { secret, uri } = enrol.body.totp;
  assert.match(secret, /^[A-Z2-7]{32}$/, 'a 160-bit base32 secret');
  const u = new URL(uri);
  assert.equal(u.protocol, 'otpauth:');
  assert.equal(u.host, 'totp');
  assert.equal(u.searchParams.get('secret'), secret);
  assert.equal(u.searchParams.get('issuer'), 'Kartei');
  assert.ok(decodeURIComponent(u.pathname).includes(a.username));
  assert.equal(b.cookie, undefined, 'no session before the second factor');

  // A wrong code and a malformed one: 401, and the enrolment is not completed.
  h.clock.now += 30_000;
  const good = totpCode(secret, h.clock.now);
  for (const code of [wrongCode(good), 'abcdef', good.slice(0, 5)]) {
    const r = await b.post('/api/auth/mfa', { challenge: enrol.body.challenge, code });
    assert.equal(r.status, 401, code);
    assert.equal(b.cookie, undefined);
  }
  assert.equal(
    (
      await h.services.store.db
        .selectFrom('users')
        .select('totp_secret_enc')
        .where('id', '=', a.id)
        .executeTakeFirstOrThrow()
    ).totp_secret_enc,
    null,
  );

  // The right code completes enrolment and login.
  const done = await b.post('/api/auth/mfa', { challenge: enrol.body.challenge, code: good });
  assert.equal(done.status, 200);
  assert.deepEqual(done.body.user, { id: a.id, username: a.username, displayName: a.displayName });
  assert.equal(typeof done.body.csrfToken, 'string');
  assert.ok(b.cookie);
  a.secret = secret;

  // The spent challenge cannot be used again, even with a fresh valid code.
  const again = await new Browser(h, b.ip).post('/api/auth/mfa', {
    challenge: enrol.body.challenge,
    code: freshCode(secret),
  });
  assert.equal(again.status, 401);

  // Enrolled: the next login asks for a code and shows no secret.
  const b2 = new Browser(h, b.ip);
  const second = await b2.post('/api/auth/login', { username: a.username, password: a.password });
  assert.equal(second.status, 200);
  assert.deepEqual(Object.keys(second.body).sort(), ['challenge', 'mfa']);
  assert.equal(second.body.mfa, 'totp');
  // The enrolment code, replayed one step later (still within the allowed drift), is refused: a code counts once.
  assert.equal((await b2.post('/api/auth/mfa', { challenge: second.body.challenge, code: good })).status, 401);
  assert.equal(b2.cookie, undefined);
  // The code of this step works.
  const ok = await b2.post('/api/auth/mfa', { challenge: second.body.challenge, code: totpCode(secret, h.clock.now) });
  assert.equal(ok.status, 200);

  // A third login within the same time step: that code, on a fresh challenge, fails.
  const b3 = new Browser(h, b.ip);
  const third = await b3.post('/api/auth/login', { username: a.username, password: a.password });
  assert.equal(
    (await b3.post('/api/auth/mfa', { challenge: third.body.challenge, code: totpCode(secret, h.clock.now) })).status,
    401,
  );
  // A made-up challenge gets nowhere, even with a valid code.
  assert.equal((await b3.post('/api/auth/mfa', { challenge: 'not-a-challenge', code: freshCode(secret) })).status, 401);
});

test('two logins racing with the same code: only one gets a session', async () => {
  const a = await newAccount();
  await signIn(a);
  const ip = freshIp();
  const [x, y] = [new Browser(h, ip), new Browser(h, ip)];
  const cx = await x.post('/api/auth/login', { username: a.username, password: a.password });
  const cy = await y.post('/api/auth/login', { username: a.username, password: a.password });
  const code = freshCode(a.secret!);
  const results = await Promise.all([
    x.post('/api/auth/mfa', { challenge: cx.body.challenge, code }),
    y.post('/api/auth/mfa', { challenge: cy.body.challenge, code }),
  ]);
  assert.deepEqual(results.map((r) => r.status).sort(), [200, 401]);
});

test('an expired challenge (older than 5 minutes) is refused; the database holds only its hash', async () => {
  const a = await newAccount();
  await signIn(a);
  const b = new Browser(h, freshIp());
  const step = await b.post('/api/auth/login', { username: a.username, password: a.password });
  const db = h.services.store.db;
  const row = await db
    .selectFrom('login_challenges')
    .selectAll()
    .where('token_hash', '=', tokenHash(step.body.challenge))
    .executeTakeFirstOrThrow();
  assert.ok(!JSON.stringify(row).includes(step.body.challenge));
  // Issued for 5 minutes.
  const ttl = Date.parse(row.expires_at) - Date.now();
  assert.ok(ttl > 4.9 * 60_000 && ttl <= 5 * 60_000, `ttl ${ttl}`);
  await db
    .updateTable('login_challenges')
    .set({ expires_at: new Date(Date.now() - 1_000).toISOString() })
    .where('token_hash', '=', tokenHash(step.body.challenge))
    .execute();
  const r = await b.post('/api/auth/mfa', { challenge: step.body.challenge, code: freshCode(a.secret!) });
  assert.equal(r.status, 401);
  assert.equal(b.cookie, undefined);
});

test('an unknown name and a wrong password answer the same status and body, in comparable time', async () => {
  const a = await newAccount();
  const b = new Browser(h, freshIp());
  const unknown = await b.post('/api/auth/login', { username: 'niemand-hier', password: a.password });
  const wrong = await b.post('/api/auth/login', { username: a.username, password: `${a.password}x` });
  assert.equal(unknown.status, 401);
  assert.equal(wrong.status, 401);
  assert.deepEqual(unknown.body, wrong.body);
  assert.equal(unknown.headers['content-type'], wrong.headers['content-type']);
  assert.equal(unknown.headers['set-cookie'], undefined);
  assert.ok(!JSON.stringify(unknown.body).includes('niemand-hier'));

  // Both run an argon2 verification: an unknown name is not answered in a fraction of the time.
  // (Loose bound, so a busy machine does not fail it; skipping the hash would be ~100× faster.)
  const time = async (username: string, password: string) => {
    const c = new Browser(h, freshIp());
    const t0 = performance.now();
    await c.post('/api/auth/login', { username, password });
    return performance.now() - t0;
  };
  const median = (xs: number[]) => xs.sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;
  const tUnknown: number[] = [];
  const tWrong: number[] = [];
  for (let i = 0; i < 3; i++) {
    tUnknown.push(await time(`niemand${i}`, a.password));
    tWrong.push(await time(a.username, `${a.password}${i}`));
  }
  assert.ok(median(tUnknown) > 0.3 * median(tWrong), `unknown ${median(tUnknown)} ms vs wrong ${median(tWrong)} ms`);
});

test('per-account throttling: after 5 failures, from any addresses, even the right password has to wait (429)', async () => {
  const a = await newAccount();
  await signIn(a);
  // Each failure from a different address, so only the account counts.
  for (let i = 0; i < 5; i++) {
    const r = await new Browser(h, freshIp()).post('/api/auth/login', {
      username: a.username,
      password: `${a.password}-falsch`,
    });
    assert.equal(r.status, 401, `failure ${i + 1}`);
  }
  const locked = await new Browser(h, freshIp()).post('/api/auth/login', {
    username: a.username,
    password: a.password,
  });
  assert.equal(locked.status, 429);
  assert.equal(locked.body.code, 'rate-limited');
  assert.equal(
    locked.headers['retry-after'],
    '1',
    'the first wait (login-throttle.int.test.ts follows it up to 15 minutes)',
  );
  // Another account from the same kind of fresh address is not affected.
  const other = await newAccount();
  assert.equal(
    (await new Browser(h, freshIp()).post('/api/auth/login', { username: other.username, password: other.password }))
      .status,
    200,
  );

  // Wrong second factors count too.
  const c = await newAccount();
  await signIn(c);
  const b = new Browser(h, freshIp());
  const step = await b.post('/api/auth/login', { username: c.username, password: c.password });
  for (let i = 0; i < 5; i++) {
    const r = await b.post('/api/auth/mfa', { challenge: step.body.challenge, code: wrongCode(freshCode(c.secret!)) });
    assert.equal(r.status, 401);
  }
  assert.equal(
    (await b.post('/api/auth/mfa', { challenge: step.body.challenge, code: freshCode(c.secret!) })).status,
    429,
  );

  // After the wait the account opens again (the login clock has moved on by more than its 1 s since).
  const b2 = await signIn(a);
  assert.equal((await b2.get('/api/me')).status, 200);
});

test(`per-address throttling: ${LIMITS.address} failures from one address across names lock that address (429), not others`, async () => {
  const a = await newAccount();
  await signIn(a);
  const ip = freshIp();
  // Different unknown names, one failure each: no account reaches its own limit.
  for (let i = 0; i < LIMITS.address; i++) {
    const r = await h.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      remoteAddress: ip,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ username: `spray${i}`, password: 'Sommer2024!!-Versuch' }),
    });
    assert.equal(r.statusCode, 401, `attempt ${i + 1}`);
  }
  const fromThere = await h.app.inject({
    method: 'POST',
    url: '/api/auth/login',
    remoteAddress: ip,
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ username: a.username, password: a.password }),
  });
  assert.equal(fromThere.statusCode, 429);
  // The same account from another address is fine.
  assert.equal((await signIn(a)).cookie !== undefined, true);
});

test('the session cookie is HttpOnly, SameSite=Strict, not Secure without TLS; /api/me shows the own roles', async () => {
  const a = await newAccount({
    tenantRoles: ['dpo'],
    memberships: [{ departmentId: t.departments.TB!, role: 'head' }],
  });
  const b = await signIn(a);
  const raw = b.last!.headers['set-cookie'];
  const header = String(Array.isArray(raw) ? raw.find((c) => c.startsWith('kartei_session=')) : raw);
  assert.match(header, /^kartei_session=[^;]+/);
  assert.match(header, /;\s*HttpOnly/i);
  assert.match(header, /;\s*SameSite=Strict/i);
  assert.doesNotMatch(header, /;\s*Secure/i);
  assert.match(header, /;\s*Path=\//i);

  const me = await b.get('/api/me');
  assert.equal(me.status, 200);
  assert.equal(me.body.id, a.id);
  assert.equal(me.body.username, a.username);
  assert.deepEqual(me.body.tenantRoles, ['dpo']);
  assert.deepEqual(me.body.memberships, [{ departmentId: t.departments.TB, role: 'head' }]);
  // No session, no identity.
  assert.equal((await new Browser(h, freshIp()).get('/api/me')).status, 401);
  const forged = new Browser(h, freshIp());
  forged.cookie = 'x'.repeat(43);
  assert.equal((await forged.get('/api/me')).status, 401);
});

test('a state-changing request without the CSRF token, or with a wrong one, answers 403 and changes nothing', async () => {
  const other = await signIn(await newAccount());
  const attempts: [string, string | undefined][] = [
    ['missing', undefined],
    ['wrong', 'x'.repeat(43)],
    ["another session's", other.csrf],
    ['the session cookie itself', t.admin.cookie],
  ];
  for (const [why, csrf] of attempts) {
    const forged = new Client(h);
    forged.cookie = t.admin.cookie;
    forged.csrf = csrf;
    const r = await forged.post('/api/admin/departments', { code: `CSRF${why.length}`, name: 'Untergeschoben' });
    assert.equal(r.status, 403, why);
    assert.equal(r.body.code, 'csrf-missing', why);
    // Logout is state-changing too: it must not end the session.
    const out = await forged.post('/api/auth/logout');
    assert.equal(out.status, 403, `logout, ${why}`);
  }
  const depts = await t.admin.get('/api/admin/departments');
  assert.equal(depts.status, 200, 'the admin session survived');
  assert.deepEqual(depts.body.map((d: any) => d.code).sort(), ['INF', 'SPDI', 'TB']);
  // Safe methods need no token.
  const reader = new Client(h);
  reader.cookie = t.admin.cookie;
  assert.equal((await reader.get('/api/me')).status, 200);
});

test('logout answers 204, clears the cookie, and the old cookie no longer works', async () => {
  const b = await signIn(await newAccount());
  const cookie = b.cookie!;
  assert.equal((await b.get('/api/me')).status, 200);
  const out = await b.post('/api/auth/logout');
  assert.equal(out.status, 204);
  assert.equal(b.cookie, undefined, 'the cookie was cleared');
  assert.ok((await sessionRow(cookie))?.revoked_at);
  const replay = new Browser(h, freshIp());
  replay.cookie = cookie;
  replay.csrf = b.csrf;
  assert.equal((await replay.get('/api/me')).status, 401);
  assert.equal((await replay.post('/api/auth/logout')).status, 401);
});

test('sessions end after 30 idle minutes and 12 hours after login, whatever the activity', async () => {
  const db = h.services.store.db;
  const b = await signIn(await newAccount());
  const hash = tokenHash(b.cookie!);
  const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

  // 29 idle minutes: still alive, and the request counts as activity.
  await db
    .updateTable('sessions')
    .set({ last_seen_at: ago(29 * 60_000) })
    .where('token_hash', '=', hash)
    .execute();
  assert.equal((await b.get('/api/me')).status, 200);
  const touched = (await sessionRow(b.cookie!))!.last_seen_at;
  assert.ok(Date.parse(touched) > Date.now() - 60_000, 'last_seen_at moved forward');
  // 31 idle minutes: gone.
  await db
    .updateTable('sessions')
    .set({ last_seen_at: ago(31 * 60_000) })
    .where('token_hash', '=', hash)
    .execute();
  assert.equal((await b.get('/api/me')).status, 401);

  // Absolute: 12 hours after login, even when just used.
  const c = await signIn(await newAccount());
  const row = (await sessionRow(c.cookie!))!;
  assert.equal(Date.parse(row.expires_at) - Date.parse(row.created_at), 12 * 3_600_000);
  await db
    .updateTable('sessions')
    .set({ expires_at: ago(1_000), last_seen_at: new Date().toISOString() })
    .where('token_hash', '=', tokenHash(c.cookie!))
    .execute();
  assert.equal((await c.get('/api/me')).status, 401);
});

test('a reset link, approved by a second account, ends the old password, second factor and sessions; the person is told at the next login', async () => {
  const a = await newAccount();
  const b = await signIn(a);
  const oldSecret = a.secret!;
  const asked = await t.admin.post(`/api/admin/users/${a.id}/enrolment`);
  assert.equal(asked.status, 201, JSON.stringify(asked.body));
  // Alone, the administrator gets no link: it waits, and approving it oneself is refused.
  assert.equal((await t.admin.get(`/api/admin/users/${a.id}/enrolment`)).body.code, 'approval-pending');
  assert.equal((await t.admin.post(`/api/approvals/${asked.body.approvalId}`, { decision: 'approve' })).status, 403);
  assert.equal((await b.get('/api/me')).status, 200, 'nothing changed before the link is used');
  const second = await t.user({ tenantRoles: ['admin'] });
  assert.equal((await second.post(`/api/approvals/${asked.body.approvalId}`, { decision: 'approve' })).status, 200);
  // Only the admin who asked fetches the link; the approver does not.
  assert.equal((await second.get(`/api/admin/users/${a.id}/enrolment`)).status, 404);
  const link = await t.admin.get(`/api/admin/users/${a.id}/enrolment`);
  assert.equal(link.status, 200);
  assert.match(link.body.url, /\/enrol#token=/);
  const newPassword = strongPassword();
  assert.equal(
    (await new Browser(h, freshIp()).post('/api/auth/enrol', { token: link.body.token, password: newPassword })).status,
    204,
  );
  assert.equal((await b.get('/api/me')).status, 401, 'the session ended');
  assert.equal(
    (await new Browser(h, freshIp()).post('/api/auth/login', { username: a.username, password: a.password })).status,
    401,
    'the old password is void',
  );
  // The link is spent.
  assert.equal(
    (await new Browser(h, freshIp()).post('/api/auth/enrol', { token: link.body.token, password: strongPassword() }))
      .status,
    401,
  );

  const b2 = new Browser(h, freshIp());
  const step = await b2.post('/api/auth/login', { username: a.username, password: newPassword });
  assert.equal(step.status, 200);
  assert.equal(step.body.mfa, 'enroll');
  assert.notEqual(step.body.totp.secret, oldSecret);
  // The old authenticator app no longer logs in.
  assert.equal(
    (await b2.post('/api/auth/mfa', { challenge: step.body.challenge, code: freshCode(oldSecret) })).status,
    401,
  );
  const ok = await b2.post('/api/auth/mfa', { challenge: step.body.challenge, code: freshCode(step.body.totp.secret) });
  assert.equal(ok.status, 200);
  assert.ok(ok.body.credentialsReset?.at, 'the person is told that the credentials were reset');
  assert.equal(ok.body.recoveryCodes.length, 10);
  // Not being an admin, the user cannot ask for a link of its own (an attacker with a session could otherwise re-enrol).
  b2.csrf = ok.body.csrfToken;
  const self = await b2.post(`/api/admin/users/${a.id}/enrolment`);
  assert.ok(self.status === 403 || self.status === 404, `self reset: ${self.status}`);
  assert.equal((await b2.get('/api/me')).status, 200, 'and its session lives on');
  // Told once only.
  a.password = newPassword;
  a.secret = step.body.totp.secret;
  const again = new Browser(h, freshIp());
  const s1 = await again.post('/api/auth/login', { username: a.username, password: a.password });
  const s2 = await again.post('/api/auth/mfa', { challenge: s1.body.challenge, code: freshCode(a.secret!) });
  assert.equal(s2.status, 200);
  assert.equal(s2.body.credentialsReset, undefined);
});

test('deactivating a user ends its sessions and refuses its logins; no challenge survives either', async () => {
  const a = await newAccount();
  const b = await signIn(a);
  // A challenge obtained before deactivation.
  const pending = new Browser(h, freshIp());
  const step = await pending.post('/api/auth/login', { username: a.username, password: a.password });
  assert.equal(step.status, 200);

  const off = await t.admin.patch(`/api/admin/users/${a.id}`, { active: false });
  assert.equal(off.status, 200);
  assert.equal((await b.get('/api/me')).status, 401);
  assert.equal(
    (await pending.post('/api/auth/mfa', { challenge: step.body.challenge, code: freshCode(a.secret!) })).status,
    401,
  );
  const login = await new Browser(h, freshIp()).post('/api/auth/login', { username: a.username, password: a.password });
  assert.equal(login.status, 401);
  // Indistinguishable from a wrong password: a deactivated name is not revealed.
  const wrong = await new Browser(h, freshIp()).post('/api/auth/login', {
    username: a.username,
    password: 'Nicht-das-Passwort-42',
  });
  assert.deepEqual(login.body, wrong.body);

  // Reactivated, the user logs in again (the old session stays ended).
  assert.equal((await t.admin.patch(`/api/admin/users/${a.id}`, { active: true })).status, 200);
  assert.equal((await b.get('/api/me')).status, 401);
  assert.equal((await (await signIn(a)).get('/api/me')).status, 200);
});

test('the database holds only hashes of the session and CSRF tokens', async () => {
  const b = await signIn(await newAccount());
  const rows = await h.services.store.db.selectFrom('sessions').selectAll().execute();
  const dump = JSON.stringify(rows);
  assert.ok(!dump.includes(b.cookie!), 'the cookie value is not stored');
  assert.ok(!dump.includes(b.csrf!), 'the CSRF token is not stored');
  const mine = rows.find((r) => r.token_hash === tokenHash(b.cookie!));
  assert.ok(mine, 'the session is found by the hash of its token');
  assert.equal(mine.csrf_hash, tokenHash(b.csrf!));
});

test('every login, failed login and logout is in the audit log', async () => {
  const dpo = await t.user({ tenantRoles: ['dpo'] });
  const a = await newAccount();
  const ip = freshIp();
  const logins = () => auditEvents('auth.login', a.id);
  const failures = () => auditEvents('auth.login-failed', a.id);
  const logouts = () => auditEvents('auth.logout', a.id);
  const unknownFailures = async () => (await auditEvents('auth.login-failed', undefined, DEPLOYMENT_CHAIN)).length;

  // Failed at the password step, and at the code step.
  const unknownBefore = await unknownFailures();
  assert.equal(
    (await new Browser(h, ip).post('/api/auth/login', { username: a.username, password: 'Nicht-das-Passwort-42' }))
      .status,
    401,
  );
  const b = await signIn(a, ip);
  const step = await new Browser(h, ip).post('/api/auth/login', { username: a.username, password: a.password });
  assert.equal(
    (
      await new Browser(h, ip).post('/api/auth/mfa', {
        challenge: step.body.challenge,
        code: wrongCode(freshCode(a.secret!)),
      })
    ).status,
    401,
  );
  assert.equal((await b.post('/api/auth/logout')).status, 204);
  // An unknown name has no tenant: its failure goes to the deployment chain.
  assert.equal(
    (await new Browser(h, ip).post('/api/auth/login', { username: 'unbekannt-xyz', password: 'Nicht-das-Passwort-42' }))
      .status,
    401,
  );

  assert.deepEqual(
    (await logins()).map((e) => e.outcome),
    ['allowed'],
  );
  assert.deepEqual(
    (await failures()).map((e) => [e.outcome, JSON.parse(e.detail!).stage]),
    [
      ['denied', 'password'],
      ['denied', 'mfa'],
    ],
  );
  assert.deepEqual(
    (await logouts()).map((e) => e.outcome),
    ['allowed'],
  );
  assert.equal(await unknownFailures(), unknownBefore + 1);

  // The DPO reads the same through the API, newest first.
  const log = await dpo.get(`/api/audit?actorId=${a.id}`);
  assert.equal(log.status, 200);
  assert.deepEqual(
    log.body.filter((e: any) => e.action.startsWith('auth.')).map((e: any) => [e.action, e.outcome]),
    [
      ['auth.logout', 'allowed'],
      ['auth.login-failed', 'denied'],
      ['auth.login', 'allowed'],
      ['auth.login-failed', 'denied'],
      ['auth.enrol', 'allowed'],
    ],
  );
  for (const action of ['auth.login', 'auth.login-failed', 'auth.logout']) {
    const r = await dpo.get(`/api/audit?action=${action}&actorId=${a.id}`);
    assert.ok(r.body.length >= 1 && r.body.every((e: any) => e.action === action && e.actorId === a.id), action);
  }
});

test('behind a TLS-ending proxy (a public address of https://) the session cookie is Secure and HSTS is sent', async () => {
  const behind = await startHarness({ env: { KARTEI_PUBLIC_URL: 'https://kartei.amt.example' } });
  try {
    const office = await setUpTenant(behind, ['INF'], { approverDpo: false });
    const a = await office.account({});
    const b = new Client(behind);
    const first = await b.post('/api/auth/login', { username: a.username, password: a.password });
    behind.clock.now += 30_000;
    const res = await behind.app.inject({
      method: 'POST',
      url: '/api/auth/mfa',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({
        challenge: first.body.challenge,
        code: totpCode(first.body.totp.secret, behind.clock.now),
      }),
    });
    assert.equal(res.statusCode, 200);
    const raw = res.headers['set-cookie'];
    const header = String(Array.isArray(raw) ? raw.find((c) => c.startsWith('kartei_session=')) : raw);
    assert.match(header, /;\s*Secure/i);
    assert.match(String(res.headers['strict-transport-security']), /max-age=\d+/);
  } finally {
    await behind.close();
  }
});
