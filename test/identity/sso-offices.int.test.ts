// Single sign-on of offices with addresses of their own (issue 19), against the real provider of
// the SSO tests (oidc-provider on loopback). Office A is the host-less first office (the
// installation's address, as before); office B is added at `amt-b.example` with its own client at
// the same provider. B's redirect URI is B's address (the settings screen shows it), a sign-on at
// B's address starts B's flow and sends the browser back to B's address. Attacks: B's flow (state
// and browser cookie) brought back to A's address or a host no office claims, A's flow to B's,
// starting another office's sign-on at an address, and a Host naming no office choosing where the
// browser is sent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { addOffice } from '../../src/identity/offices.ts';
import {
  setUpTenant,
  startHarness,
  strongPassword,
  totpCode,
  type Harness,
  type Reply,
  type Tenant,
} from '../helpers/harness.ts';
import { ACR_MFA, startProvider, type TestLogin, type TestProvider } from '../helpers/oidc-provider.ts';

const PUBLIC_URL = 'https://kartei.example:8443';
const HOST_B = 'amt-b.example';
const WEB_B = `https://${HOST_B}:8443`;

let h: Harness;
let a: Tenant;
let idp: TestProvider;
let officeB: string;
const secretA = randomBytes(24).toString('hex');
const secretB = randomBytes(24).toString('hex');

let ipSeq = 0;
const freshIp = () => `198.51.100.${++ipSeq}`;

/** A browser at a host: the session cookie, the SSO binding cookie and the CSRF token. */
class Browser {
  cookie?: string;
  sso?: string;
  csrf?: string;
  host: string;
  readonly ip = freshIp();
  constructor(host: string) {
    this.host = host;
  }
  async call(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const cookies = [this.cookie ? `kartei_session=${this.cookie}` : '', this.sso ? `kartei_sso=${this.sso}` : '']
      .filter(Boolean)
      .join('; ');
    const res = await h.app.inject({
      method: method as 'GET',
      url,
      remoteAddress: this.ip,
      headers: {
        host: this.host,
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
  get = (url: string, headers?: Record<string, string>) => this.call('GET', url, undefined, headers);
  post = (url: string, body: unknown = {}) => this.call('POST', url, body);
  put = (url: string, body: unknown) => this.call('PUT', url, body);
}

let bAdmin: Browser;
let bSecret: string;

const code = (secret: string) => {
  h.clock.now += 30_000;
  return totpCode(secret, h.clock.now);
};

before(async () => {
  h = await startHarness({ env: { KARTEI_PUBLIC_URL: PUBLIC_URL } });
  a = await setUpTenant(h, ['INF']);
  const added = await addOffice(h.services.store, h.services.keyring, h.services.audit, {
    name: 'Gesundheitsamt Nachbarkreis',
    host: HOST_B,
  });
  officeB = added.office.id;
  idp = await startProvider([
    { clientId: 'kartei-a', clientSecret: secretA, redirectUri: `${PUBLIC_URL}/api/auth/sso/callback` },
    { clientId: 'kartei-b', clientSecret: secretB, redirectUri: `${WEB_B}/api/auth/sso/callback` },
  ]);
  const password = strongPassword();
  const setup = await new Browser(HOST_B).post('/api/setup', {
    token: added.token,
    tenant: { name: 'Amt B' },
    admin: { username: 'berta', password, displayName: 'Berta Verwaltung' },
  });
  assert.equal(setup.status, 201, JSON.stringify(setup.body));
  bAdmin = new Browser(HOST_B);
  const first = await bAdmin.post('/api/auth/login', { username: 'berta', password });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  bSecret = first.body.totp.secret;
  const second = await bAdmin.post('/api/auth/mfa', { challenge: first.body.challenge, code: code(bSecret) });
  assert.equal(second.status, 200, JSON.stringify(second.body));
  bAdmin.csrf = second.body.csrfToken;

  const putA = await a.admin.put('/api/admin/sso', {
    issuer: idp.issuer,
    clientId: 'kartei-a',
    clientSecret: secretA,
    acrValues: [ACR_MFA],
  });
  assert.equal(putA.status, 200, JSON.stringify(putA.body));
  const putB = await bAdmin.put('/api/admin/sso', {
    issuer: idp.issuer,
    clientId: 'kartei-b',
    clientSecret: secretB,
    acrValues: [ACR_MFA],
  });
  assert.equal(putB.status, 200, JSON.stringify(putB.body));
  // B's admin links an identity at B's address; the browser comes back to B's address.
  const asked = await bAdmin.post('/api/me/sso', { code: code(bSecret) });
  assert.equal(asked.status, 200, JSON.stringify(asked.body));
  assert.equal(new URL(asked.body.redirectTo).searchParams.get('redirect_uri'), `${WEB_B}/api/auth/sso/callback`);
  idp.nextLogin = { sub: 'sub-berta' };
  const back = await idp.authorize(asked.body.redirectTo);
  assert.equal(back.origin, WEB_B);
  const linked = await bAdmin.get(back.pathname + back.search);
  assert.equal(linked.status, 302, JSON.stringify(linked.body));
  assert.equal(linked.headers.location, `${WEB_B}/account#sso=linked`);
});
after(async () => {
  await idp?.close();
  await h?.close();
});

/** Starts a sign-on at `b`'s host and follows the provider until it sends the browser back. */
async function toProvider(b: Browser, login: TestLogin, query = ''): Promise<{ auth: URL; back: URL }> {
  const start = await b.get(`/api/auth/sso/start${query}`);
  assert.equal(start.status, 302, JSON.stringify(start.body));
  const auth = new URL(start.headers.location as string);
  idp.nextLogin = login;
  return { auth, back: await idp.authorize(auth.href) };
}

const failedAt = async (tenantId: string, reason: string) =>
  (
    await inTenantTransaction(h.services.store, tenantId, (tx) =>
      tx
        .selectFrom('audit_events')
        .select('detail')
        .where('tenant_id', '=', tenantId)
        .where('action', '=', 'auth.login-failed')
        .execute(),
    )
  ).filter((e) => JSON.parse(e.detail ?? '{}').reason === reason).length;

test("the settings screen shows each office's own redirect URI", async () => {
  assert.equal((await bAdmin.get('/api/admin/sso')).body.redirectUri, `${WEB_B}/api/auth/sso/callback`);
  assert.equal((await a.admin.get('/api/admin/sso')).body.redirectUri, `${PUBLIC_URL}/api/auth/sso/callback`);
  assert.equal(h.services.sso.redirectUri, `${PUBLIC_URL}/api/auth/sso/callback`);
});

test("a sign-on at B's address is B's: B's client and redirect URI, and back to B's address with a session there", async () => {
  const b = new Browser(HOST_B);
  assert.equal((await b.get('/api/auth/sso')).body.available, true);
  const { auth, back } = await toProvider(b, { sub: 'sub-berta', acr: ACR_MFA });
  assert.equal(auth.searchParams.get('client_id'), 'kartei-b');
  assert.equal(auth.searchParams.get('redirect_uri'), `${WEB_B}/api/auth/sso/callback`);
  assert.equal(back.origin, WEB_B);
  const done = await b.get(back.pathname + back.search);
  assert.equal(done.status, 302, JSON.stringify(done.body));
  assert.equal(done.headers.location, `${WEB_B}/sso`);
  const handover = await b.get('/api/auth/sso/session');
  assert.equal(handover.status, 200, JSON.stringify(handover.body));
  b.csrf = handover.body.csrfToken;
  const me = await b.get('/api/me');
  assert.equal(me.status, 200);
  assert.equal(me.body.username, 'berta');
});

test("the host-less office signs on at the installation's address as before, wherever no office is", async () => {
  for (const host of ['localhost', 'niemand.example']) {
    const b = new Browser(host);
    const { auth, back } = await toProvider(b, { sub: 'sub-nobody-a', acr: ACR_MFA });
    assert.equal(auth.searchParams.get('client_id'), 'kartei-a', host);
    assert.equal(auth.searchParams.get('redirect_uri'), `${PUBLIC_URL}/api/auth/sso/callback`, host);
    // Unlinked: refused, and a person's browser is sent to the installation's address, not to the Host it named.
    const r = await b.get(back.pathname + back.search, { accept: 'text/html' });
    assert.equal(r.status, 302, JSON.stringify(r.body));
    assert.equal(r.headers.location, `${PUBLIC_URL}/sso#error=sso-not-linked`, host);
  }
});

test("a start names only an office served at its address: B's not at A's, A's not at B's", async () => {
  assert.equal((await new Browser('localhost').get(`/api/auth/sso/start?office=${officeB}`)).status, 404);
  assert.equal((await new Browser('niemand.example').get(`/api/auth/sso/start?office=${officeB}`)).status, 404);
  assert.equal((await new Browser(HOST_B).get(`/api/auth/sso/start?office=${a.tenantId}`)).status, 404);
  // Without naming one, each address has exactly one office offering sign-on: its own.
  const atB = await new Browser(HOST_B).get('/api/auth/sso/start');
  assert.equal(new URL(atB.headers.location as string).searchParams.get('client_id'), 'kartei-b');
});

test("B's flow brought back to A's address or a host no office claims is refused, and still finishes at B's", async () => {
  const b = new Browser(HOST_B);
  const { back } = await toProvider(b, { sub: 'sub-berta', acr: ACR_MFA });
  const binding = b.sso;
  assert.ok(binding);
  const before = await failedAt(officeB, 'address');
  for (const host of ['localhost', 'niemand.example', 'AMT-B.example.evil']) {
    // The state and the browser's binding cookie, carried to another address.
    b.host = host;
    b.sso = binding;
    const r = await b.get(back.pathname + back.search);
    assert.equal(r.status, 401, `${host}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, 'sso-failed');
    assert.equal(b.cookie, undefined, 'no session');
  }
  // On B's chain, repeats from one source summed up in one entry per minute.
  assert.equal(await failedAt(officeB, 'address'), before + 1, "on B's chain");
  // The state was not spent there: at B's address the flow finishes.
  b.host = HOST_B;
  b.sso = binding;
  const done = await b.get(back.pathname + back.search);
  assert.equal(done.status, 302, JSON.stringify(done.body));
  assert.equal(done.headers.location, `${WEB_B}/sso`);
  assert.ok(b.cookie, 'a session at B');
});

test("A's flow brought to B's address is refused", async () => {
  const b = new Browser('localhost');
  const { back } = await toProvider(b, { sub: 'sub-anyone', acr: ACR_MFA });
  b.host = HOST_B;
  const r = await b.get(back.pathname + back.search);
  assert.equal(r.status, 401, JSON.stringify(r.body));
  assert.equal(r.body.code, 'sso-failed');
  assert.equal(await failedAt(a.tenantId, 'address'), 1);
});
