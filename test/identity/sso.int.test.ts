// Single sign-on against a real OpenID provider (oidc-provider on loopback,
// test/helpers/oidc-provider.ts): a linked account signs in with the provider's
// proof of a second factor; without that proof Kartei's own TOTP step follows;
// an unlinked identity gets nothing; states, codes, nonces, issuers and ID
// tokens that do not check out are refused and audited; an identity linked in
// one office opens nothing in another; the configuration never answers its
// secret and only an admin changes it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { DEPLOYMENT_CHAIN } from '../../src/db/schema.ts';
import { sealField } from '../../src/vault/keyring.ts';
import { tokenHash } from '../../src/identity/tokens.ts';
import {
  Client,
  startHarness,
  setUpTenant,
  totpCode,
  type Harness,
  type Reply,
  type Tenant,
} from '../helpers/harness.ts';
import { ACR_MFA, ACR_PASSWORD, startProvider, type TestLogin, type TestProvider } from '../helpers/oidc-provider.ts';

let h: Harness;
let t: Tenant;
let idp: TestProvider;
const secretA = randomBytes(24).toString('hex');
const secretB = randomBytes(24).toString('hex');

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h, ['INF']);
  const redirectUri = h.services.sso.redirectUri;
  idp = await startProvider([
    { clientId: 'kartei-a', clientSecret: secretA, redirectUri },
    { clientId: 'kartei-b', clientSecret: secretB, redirectUri },
  ]);
  const put = await t.admin.put('/api/admin/sso', {
    issuer: idp.issuer,
    clientId: 'kartei-a',
    clientSecret: secretA,
    acrValues: [ACR_MFA],
    amrValues: ['hwk', 'otp'],
  });
  assert.equal(put.status, 200, JSON.stringify(put.body));
});
after(async () => {
  await idp?.close();
  await h?.close();
});

let ipSeq = 0;
const freshIp = () => `198.51.100.${++ipSeq}`;

/** A browser at its own address: the session cookie, the SSO binding cookie and the CSRF token. */
class Browser extends Client {
  sso?: string;
  override readonly ip: string;
  constructor(ip = freshIp()) {
    super(h, ip);
    this.ip = ip;
  }
  override async call(
    method: string,
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Reply> {
    const cookies = [this.cookie ? `kartei_session=${this.cookie}` : '', this.sso ? `kartei_sso=${this.sso}` : '']
      .filter(Boolean)
      .join('; ');
    const res = await h.app.inject({
      method: method as 'GET',
      url,
      remoteAddress: this.ip,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(cookies ? { cookie: cookies } : {}),
        ...(this.csrf ? { 'x-csrf-token': this.csrf } : {}),
        ...headers,
      },
      payload: body === undefined ? undefined : JSON.stringify(body),
    });
    for (const c of res.cookies) {
      if (c.name === 'kartei_session') this.cookie = c.value || undefined;
      if (c.name === 'kartei_sso') this.sso = c.value || undefined;
    }
    return {
      status: res.statusCode,
      body: res.body && res.headers['content-type']?.toString().includes('json') ? JSON.parse(res.body) : res.body,
      headers: res.headers,
      raw: res.rawPayload,
    };
  }
}

/** A user of office A who signed in with password and TOTP (so the test knows the secret). */
async function staff(): Promise<{ id: string; b: Browser; secret: string }> {
  const a = await t.account({ memberships: [{ departmentId: t.departments.INF!, role: 'clerk' }] });
  const b = new Browser();
  const first = await b.post('/api/auth/login', { username: a.username, password: a.password });
  assert.equal(first.body.mfa, 'enroll');
  h.clock.now += 30_000;
  const second = await b.post('/api/auth/mfa', {
    challenge: first.body.challenge,
    code: totpCode(first.body.totp.secret, h.clock.now),
  });
  assert.equal(second.status, 200);
  b.csrf = second.body.csrfToken;
  return { id: a.id, b, secret: first.body.totp.secret };
}

const code = (secret: string) => {
  h.clock.now += 30_000;
  return totpCode(secret, h.clock.now);
};

/** Links `sub` to the signed-in user through the provider. */
async function link(u: { b: Browser; secret: string }, sub: string): Promise<Reply> {
  const asked = await u.b.post('/api/me/sso', { code: code(u.secret) });
  assert.equal(asked.status, 200, JSON.stringify(asked.body));
  idp.nextLogin = { sub };
  const back = await idp.authorize(asked.body.redirectTo);
  return u.b.get(back.pathname + back.search);
}

/** Starts a sign-on in `b` and follows the provider until it sends the browser back; `tamper` may change the authorization URL first. */
async function toProvider(
  b: Browser,
  login: TestLogin,
  office = t.tenantId,
  tamper?: (u: URL) => void,
): Promise<{ start: Reply; back: URL }> {
  const start = await b.get(`/api/auth/sso/start?office=${office}`);
  assert.equal(start.status, 302, JSON.stringify(start.body));
  const to = new URL(start.headers.location as string);
  tamper?.(to);
  idp.nextLogin = login;
  return { start, back: await idp.authorize(to.href) };
}

const callback = (b: Browser, back: URL) => b.get(back.pathname + back.search);

async function signOn(login: TestLogin, b = new Browser()): Promise<{ b: Browser; reply: Reply; back: URL }> {
  const { back } = await toProvider(b, login);
  return { b, reply: await callback(b, back), back };
}

const auditEvents = (action: string, chain = t.tenantId) =>
  inTenantTransaction(h.services.store, chain, (tx) =>
    tx
      .selectFrom('audit_events')
      .select(['seq', 'actor_id', 'outcome', 'detail'])
      .where('tenant_id', '=', chain)
      .where('action', '=', action)
      .orderBy('seq')
      .execute(),
  );
const details = async (action: string, chain = t.tenantId) =>
  (await auditEvents(action, chain)).map((e) => ({
    ...JSON.parse(e.detail ?? '{}'),
    actor: e.actor_id,
    outcome: e.outcome,
  }));

/** A session was made at once (the provider's second factor counted): the browser goes to /sso, with the session cookie. */
function assertSession(r: Reply) {
  assert.equal(r.status, 302, JSON.stringify(r.body));
  assert.match(r.headers.location as string, /\/sso$/);
  assert.match(String(r.headers['set-cookie']), /kartei_session=[^;]+/);
}

function assertRefused(r: Reply, code = 'sso-failed', status = 401) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body.code, code);
}

test("a linked account signs on with the provider's second factor: session, one-time CSRF hand-over, audited", async () => {
  const u = await staff();
  const linked = await link(u, 'sub-anna');
  assert.equal(linked.status, 302, JSON.stringify(linked.body));
  assert.match(linked.headers.location as string, /\/account#sso=linked$/);
  assert.deepEqual((await u.b.get('/api/me/sso')).body.linked, true);

  const b = new Browser();
  const start = await b.get(`/api/auth/sso/start?office=${t.tenantId}`);
  assert.equal(start.status, 302);
  const auth = new URL(start.headers.location as string);
  assert.equal(auth.origin, idp.issuer);
  assert.equal(auth.searchParams.get('code_challenge_method'), 'S256');
  assert.equal(auth.searchParams.get('client_id'), 'kartei-a');
  const state = auth.searchParams.get('state')!;
  assert.ok(
    state.length >= 40 && auth.searchParams.get('nonce')!.length >= 40 && auth.searchParams.get('code_challenge'),
  );
  const setCookie = String(start.headers['set-cookie']);
  assert.match(setCookie, /kartei_sso=.*HttpOnly/i);
  assert.match(setCookie, /SameSite=Lax/i);
  // The flow is kept server-side by the state's hash only; nonce and verifier are sealed.
  const row = await h.services.store.db
    .selectFrom('sso_logins')
    .selectAll()
    .where('state_hash', '=', tokenHash(state))
    .executeTakeFirstOrThrow();
  assert.ok(
    !JSON.stringify(row).includes(state) &&
      !row.secrets_enc.toString('latin1').includes(auth.searchParams.get('nonce')!),
  );
  assert.ok(Date.parse(row.expires_at) - Date.parse(row.created_at) === 10 * 60_000);

  idp.nextLogin = { sub: 'sub-anna', amr: ['pwd', 'hwk'] };
  const back = await idp.authorize(auth.href);
  assert.equal(back.searchParams.get('iss'), idp.issuer);
  const done = await callback(b, back);
  assert.equal(done.status, 302, JSON.stringify(done.body));
  assert.match(done.headers.location as string, /\/sso$/, 'no token in the address');
  assert.ok(b.cookie, 'session cookie set');
  assert.match(String(done.headers['set-cookie']), /kartei_session=[^;]+;.*SameSite=Strict/i);

  // The session is the linked account's; it can write only once the CSRF token is handed over, and that only once.
  const me = await b.get('/api/me');
  assert.equal(me.body.id, u.id);
  assert.deepEqual(me.body.memberships, [{ departmentId: t.departments.INF, role: 'clerk' }], 'roles from Kartei');
  assert.equal((await b.post('/api/auth/logout')).status, 403, 'no CSRF token yet');
  const hand = await b.get('/api/auth/sso/session');
  assert.equal(hand.status, 200);
  assert.match(hand.body.csrfToken, /^\S{40,}$/);
  assert.equal((await b.get('/api/auth/sso/session')).status, 404, 'handed over once');
  b.csrf = hand.body.csrfToken;
  assert.equal((await b.post('/api/auth/logout')).status, 204);

  const logins = (await details('auth.login')).filter((d) => d.actor === u.id);
  assert.deepEqual(logins.at(-1), { mfa: 'idp', via: 'sso', actor: u.id, outcome: 'allowed' });
  const links = (await details('auth.sso-link')).filter((d) => d.actor === u.id);
  assert.deepEqual(links, [{ via: 'sso', actor: u.id, outcome: 'allowed' }]);

  // A replayed callback (same state, same code, same browser) is refused: the state was used.
  const again = await callback(b, back);
  assertRefused(again);
});

test('an unknown state, one from another browser and a missing one are refused', async () => {
  const { back } = await toProvider(new Browser(), { sub: 'sub-none', acr: ACR_MFA });
  const thief = new Browser();
  assertRefused(await callback(thief, back), 'sso-failed'); // no binding cookie
  thief.sso = randomBytes(32).toString('base64url');
  assertRefused(await callback(thief, back), 'sso-failed'); // someone else's cookie
  const unknown = new URL(back);
  unknown.searchParams.set('state', randomBytes(32).toString('base64url'));
  assertRefused(await callback(new Browser(), unknown));
  assertRefused(await new Browser().get('/api/auth/sso/callback?code=x'));
  // A browser gets the web application's page with the reason instead of JSON.
  const html = await new Browser().call('GET', unknown.pathname + unknown.search, undefined, { accept: 'text/html' });
  assert.equal(html.status, 302);
  assert.match(html.headers.location as string, /\/sso#error=sso-failed$/);
  const failed = await details('auth.login-failed', DEPLOYMENT_CHAIN);
  assert.ok(failed.some((d) => d.stage === 'sso' && d.reason === 'state'));
  const browserFailures = await details('auth.login-failed');
  assert.ok(browserFailures.some((d) => d.stage === 'sso' && d.reason === 'browser'));
});

test('a replayed code is refused in a fresh flow', async () => {
  const u = await staff();
  assert.equal((await link(u, 'sub-replay')).status, 302);
  const first = await signOn({ sub: 'sub-replay', acr: ACR_MFA });
  assertSession(first.reply);
  const usedCode = first.back.searchParams.get('code')!;
  // A new flow in a new browser, whose callback carries the old code.
  const b = new Browser();
  const { back } = await toProvider(b, { sub: 'sub-replay', acr: ACR_MFA });
  back.searchParams.set('code', usedCode);
  const r = await callback(b, back);
  assertRefused(r);
  assert.equal(b.cookie, undefined, 'no session');
});

test('a response naming another issuer is refused (mix-up)', async () => {
  const u = await staff();
  assert.equal((await link(u, 'sub-mixup')).status, 302);
  const b = new Browser();
  const { back } = await toProvider(b, { sub: 'sub-mixup', acr: ACR_MFA });
  back.searchParams.set('iss', 'http://127.0.0.1:9');
  assertRefused(await callback(b, back));
  assert.equal(b.cookie, undefined);
  // Without the tampering the same person gets in.
  assertSession((await signOn({ sub: 'sub-mixup', acr: ACR_MFA })).reply);
});

test('a nonce other than the one Kartei sent is refused', async () => {
  const u = await staff();
  assert.equal((await link(u, 'sub-nonce')).status, 302);
  const b = new Browser();
  const { back } = await toProvider(b, { sub: 'sub-nonce', acr: ACR_MFA }, t.tenantId, (url) =>
    url.searchParams.set('nonce', randomBytes(32).toString('base64url')),
  );
  assertRefused(await callback(b, back));
  assert.equal(b.cookie, undefined);
  const failed = (await details('auth.login-failed')).filter((d) => d.stage === 'sso');
  assert.ok(
    failed.some((d) => d.reason === 'claim'),
    JSON.stringify(failed),
  );
});

test('an expired ID token is refused', async () => {
  const u = await staff();
  assert.equal((await link(u, 'sub-expired')).status, 302);
  const b = new Browser();
  const { back } = await toProvider(b, { sub: 'sub-expired', acr: ACR_MFA });
  // The provider's ID tokens live an hour; Kartei judges them two hours later.
  const was = h.clock.now;
  h.clock.now += 2 * 3_600_000;
  try {
    assertRefused(await callback(b, back));
  } finally {
    h.clock.now = was;
  }
  assert.equal(b.cookie, undefined);
  const failed = (await details('auth.login-failed')).filter((d) => d.stage === 'sso');
  assert.ok(
    failed.some((d) => d.reason === 'expired'),
    JSON.stringify(failed),
  );
  // The same person a moment later, in time, gets in: the refusal was about the time.
  assertSession((await signOn({ sub: 'sub-expired', acr: ACR_MFA })).reply);
});

test('an identity no account has linked gets no account and is audited', async () => {
  const before = (await h.services.store.db.selectFrom('users').select('id').execute()).length;
  const { b, reply } = await signOn({ sub: 'sub-stranger', acr: ACR_MFA, amr: ['hwk'] });
  assertRefused(reply, 'sso-not-linked', 403);
  assert.equal(b.cookie, undefined);
  assert.equal(
    (await h.services.store.db.selectFrom('users').select('id').execute()).length,
    before,
    'nothing provisioned',
  );
  const failed = (await details('auth.login-failed')).filter((d) => d.stage === 'sso' && d.reason === 'unlinked');
  assert.equal(failed.length >= 1, true);
});

test("without the provider's proof of a second factor, Kartei's TOTP step follows", async () => {
  const u = await staff();
  assert.equal((await link(u, 'sub-totp')).status, 302);
  for (const login of [{ sub: 'sub-totp' }, { sub: 'sub-totp', acr: ACR_PASSWORD, amr: ['pwd'] }]) {
    const { b, reply } = await signOn(login);
    assert.equal(reply.status, 302, JSON.stringify(reply.body));
    assert.equal(b.cookie, undefined, 'no session before the code');
    const m = /\/sso#challenge=(\S+)$/.exec(reply.headers.location as string);
    assert.ok(m, String(reply.headers.location));
    const wrong = await b.post('/api/auth/mfa', { challenge: m[1], code: '000000' });
    assert.equal(wrong.status, 401);
    const ok = await b.post('/api/auth/mfa', { challenge: m[1], code: code(u.secret) });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.user.id, u.id);
    assert.ok(ok.body.csrfToken && b.cookie);
  }
  const logins = (await details('auth.login')).filter((d) => d.actor === u.id);
  assert.deepEqual(
    logins.slice(-2).map((d) => [d.mfa, d.via]),
    [
      ['totp', 'sso'],
      ['totp', 'sso'],
    ],
  );
});

test("someone with the district password but not Kartei's code: the first code after each sign-on counts against the account too", async () => {
  const u = await staff();
  assert.equal((await link(u, 'sub-guessed')).status, 302);
  const statuses: number[] = [];
  for (let i = 0; i < 20; i++) {
    const { b, reply } = await signOn({ sub: 'sub-guessed' });
    const challenge = /\/sso#challenge=(\S+)$/.exec(reply.headers.location as string)![1];
    statuses.push((await b.post('/api/auth/mfa', { challenge, code: '000000' })).status);
  }
  assert.ok(
    statuses.filter((s) => s === 401).length <= 5,
    `${statuses.filter((s) => s === 401).length} first codes checked: ${statuses.join(' ')}`,
  );
  assert.ok(statuses.includes(429));
});

test('an identity linked in office A opens nothing in office B', async () => {
  const u = await staff();
  assert.equal((await link(u, 'sub-office-a')).status, 302);
  // Office B on the same installation and the same provider (its own client).
  const tenantB = randomUUID();
  const now = new Date().toISOString();
  await inTenantTransaction(h.services.store, tenantB, async (tx) => {
    await tx.insertInto('tenants').values({ id: tenantB, name: 'Nachbaramt', created_at: now }).execute();
    await h.services.keyring.createTenantKey(tx, tenantB);
    await h.services.audit.startChain(tx, tenantB);
    const key = await h.services.keyring.tenantKey(tx, tenantB);
    await tx
      .insertInto('sso_configs')
      .values({
        tenant_id: tenantB,
        issuer: idp.issuer,
        client_id: 'kartei-b',
        client_secret_enc: sealField(
          key,
          { tenantId: tenantB, table: 'sso_configs', rowId: tenantB, field: 'client_secret' },
          secretB,
        ),
        subject_claim: 'sub',
        acr_values: JSON.stringify([ACR_MFA]),
        amr_values: '[]',
        enabled: 1,
        updated_at: now,
        updated_by: 'test',
      })
      .execute();
  });
  const b = new Browser();
  const { start, back } = await toProvider(b, { sub: 'sub-office-a', acr: ACR_MFA }, tenantB);
  assert.equal(new URL(start.headers.location as string).searchParams.get('client_id'), 'kartei-b');
  assertRefused(await callback(b, back), 'sso-not-linked', 403);
  assert.equal(b.cookie, undefined);
  const failedB = (await details('auth.login-failed', tenantB)).filter((d) => d.reason === 'unlinked');
  assert.equal(failedB.length, 1, "on office B's chain");
  // In office A the same identity still signs on.
  assertSession((await signOn({ sub: 'sub-office-a', acr: ACR_MFA })).reply);
  // With two offices offering SSO, a start must name its office.
  assert.equal((await new Browser().get('/api/auth/sso/start')).status, 404);
  await h.services.store.db.deleteFrom('sso_configs').where('tenant_id', '=', tenantB).execute();
});

test('linking needs a current code and a CSRF token; an identity serves one account', async () => {
  const u = await staff();
  const noCsrf = new Browser(u.b.ip);
  noCsrf.cookie = u.b.cookie;
  assert.equal((await noCsrf.post('/api/me/sso', { code: code(u.secret) })).status, 403);
  const wrong = await u.b.post('/api/me/sso', { code: '123456' });
  assert.equal(wrong.status, 422);
  assert.equal(wrong.body.field, 'code');
  assert.equal((await link(u, 'sub-shared')).status, 302);
  const other = await staff();
  const taken = await link(other, 'sub-shared');
  assert.equal(taken.status, 409);
  assert.equal((await other.b.get('/api/me/sso')).body.linked, false);
  // Unlinking ends it: the identity signs on no more.
  assert.equal((await u.b.del('/api/me/sso')).status, 204);
  assertRefused((await signOn({ sub: 'sub-shared', acr: ACR_MFA })).reply, 'sso-not-linked', 403);
});

test('the configuration: admins only, the secret never answered, every change audited, a new issuer needs the secret again', async () => {
  assert.deepEqual((await new Browser().get('/api/auth/sso')).body, { available: true });
  const got = await t.admin.get('/api/admin/sso');
  assert.equal(got.status, 200);
  assert.equal(got.body.issuer, idp.issuer);
  assert.equal(got.body.hasClientSecret, true);
  assert.equal(got.body.redirectUri, h.services.sso.redirectUri);
  assert.ok(!JSON.stringify(got.body).includes(secretA));
  const row = await h.services.store.db
    .selectFrom('sso_configs')
    .selectAll()
    .where('tenant_id', '=', t.tenantId)
    .executeTakeFirstOrThrow();
  assert.ok(!row.client_secret_enc.toString('latin1').includes(secretA), 'sealed');

  const clerk = await staff();
  assert.equal((await clerk.b.get('/api/admin/sso')).status, 403);
  assert.equal(
    (await clerk.b.put('/api/admin/sso', { issuer: idp.issuer, clientId: 'x', clientSecret: 'y' })).status,
    403,
  );

  const base = { issuer: idp.issuer, clientId: 'kartei-a', acrValues: [ACR_MFA], amrValues: ['hwk', 'otp'] };
  const moved = await t.admin.put('/api/admin/sso', { ...base, issuer: 'https://idp.example.org' });
  assert.equal(moved.status, 422);
  assert.equal(moved.body.field, 'clientSecret');
  // A claim every identity shares (iss, aud, azp, acr) would make the first to link everybody: only sub and oid name one person.
  for (const bad of [
    { issuer: 'http://idp.example.org' },
    { subjectClaim: 'email' },
    { subjectClaim: 'preferred_username' },
    { subjectClaim: 'iss' },
    { subjectClaim: 'aud' },
    { subjectClaim: 'azp' },
    { subjectClaim: 'acr' },
    { acrValues: ['two words'] },
  ]) {
    assert.equal((await t.admin.put('/api/admin/sso', { ...base, ...bad })).status, 422, JSON.stringify(bad));
  }
  const kept = await t.admin.put('/api/admin/sso', base);
  assert.equal(kept.status, 200, JSON.stringify(kept.body));
  const updates = await details('admin.sso.update');
  assert.deepEqual(updates.at(-1), {
    issuer: idp.issuer,
    clientId: 'kartei-a',
    subjectClaim: 'sub',
    acrValues: ACR_MFA,
    amrValues: 'hwk otp',
    enabled: true,
    secretChanged: false,
    actor: t.adminId,
    outcome: 'allowed',
  });
  assert.ok(!JSON.stringify(updates).includes(secretA));
  assert.equal(
    (await details('admin.sso.update')).filter((d) => d.outcome === 'denied').length >= 1,
    true,
    "the clerk's attempt on the record",
  );
});

test("a flood of sign-on starts from one address is cut off after a person's share; another address still starts", async () => {
  const flood = new Browser();
  const replies = [];
  for (let i = 0; i < 40; i++) replies.push(await flood.get(`/api/auth/sso/start?office=${t.tenantId}`));
  const statuses = replies.map((r) => r.status);
  assert.equal(statuses.filter((s) => s === 302).length, 30, JSON.stringify(statuses));
  const refused = replies.at(-1)!;
  assert.equal(refused.status, 429);
  assert.equal(refused.body.code, 'rate-limited');
  assert.ok(Number(refused.headers['retry-after']) > 0);
  assert.equal((await new Browser().get(`/api/auth/sso/start?office=${t.tenantId}`)).status, 302);
});
