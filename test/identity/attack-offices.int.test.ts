// Attack (issue 19, offices): a user or administrator of one office at another office's address.
// Office A is the host-less first office (it answers at `localhost`), office B is added at
// `amt-b.example`. Tried here beyond test/identity/offices.int.test.ts: the Host header folded,
// padded and forwarded (trailing dot, port, case, a second dot, X-Forwarded-Host without a trusted
// proxy); an enrolment link of B (the account's first password): the address it names and the
// address it may be redeemed at.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { addOffice, setupLink } from '../../src/identity/offices.ts';
import {
  Client,
  setUpTenant,
  startHarness,
  strongPassword,
  totpCode,
  type Harness,
  type Tenant,
} from '../helpers/harness.ts';

const HOST_B = 'amt-b.example';

class At extends Client {
  readonly host: string;
  constructor(h: Harness, host: string) {
    super(h);
    this.host = host;
  }
  override call(method: string, url: string, body?: unknown, headers: Record<string, string> = {}) {
    return super.call(method, url, body, { host: this.host, ...headers });
  }
}

let h: Harness;
let a: Tenant;
let bAdmin: At;
const secrets = new Map<string, string>();

async function loginAt(host: string, username: string, password: string): Promise<At> {
  const c = new At(h, host);
  const first = await c.post('/api/auth/login', { username, password });
  assert.equal(first.status, 200, `login ${username}@${host}: ${JSON.stringify(first.body)}`);
  if (first.body.mfa === 'enroll') secrets.set(`${host}:${username}`, first.body.totp.secret);
  h.clock.now += 30_000;
  const second = await c.post('/api/auth/mfa', {
    challenge: first.body.challenge,
    code: totpCode(secrets.get(`${host}:${username}`)!, h.clock.now),
  });
  assert.equal(second.status, 200, JSON.stringify(second.body));
  c.csrf = second.body.csrfToken;
  return c;
}

before(async () => {
  h = await startHarness();
  a = await setUpTenant(h, ['INF']);
  const added = await addOffice(h.services.store, h.services.keyring, h.services.audit, {
    name: 'Gesundheitsamt Nachbarkreis',
    host: HOST_B,
  });
  const link = setupLink('https://kartei.example', added.office.host, added.token, added.office.name);
  const password = strongPassword();
  const done = await new At(h, HOST_B).post('/api/setup', {
    token: new URLSearchParams(new URL(link).hash.slice(1)).get('token')!,
    tenant: { name: 'Amt B' },
    admin: { username: 'admin', password, displayName: 'Berta Verwaltung' },
  });
  assert.equal(done.status, 201, JSON.stringify(done.body));
  bAdmin = await loginAt(HOST_B, 'admin', password);
});
after(() => h.close());

test("Host header games: B's session counts at B's address however it is spelled, nowhere else", async () => {
  const me = (host: string, extra: Record<string, string> = {}) =>
    bAdmin.call('GET', '/api/me', undefined, { host, ...extra });
  for (const host of [HOST_B, 'AMT-B.Example', `${HOST_B}.`, `${HOST_B}:8443`, `${HOST_B.toUpperCase()}.:443`])
    assert.equal((await me(host)).status, 200, host);
  for (const host of [
    'localhost',
    `${HOST_B}..`,
    `x.${HOST_B}`,
    `${HOST_B}.evil`,
    'amt-b.example%00',
    'xn--amt-b-example',
    '[::1]',
    '127.0.0.1',
  ])
    assert.equal((await me(host)).status, 401, host);
  // X-Forwarded-Host counts only from a trusted proxy (none here): B's session with it at A's address is refused.
  assert.equal((await me('localhost', { 'x-forwarded-host': HOST_B })).status, 401);
  // And A's session, forwarded "to" B: still A's address, still A's.
  const aMe = await a.admin.call('GET', '/api/me', undefined, { 'x-forwarded-host': HOST_B });
  assert.equal(aMe.status, 200);
  assert.equal(aMe.body.tenantId ?? a.tenantId, a.tenantId);
});

test("B's username at A's address through X-Forwarded-Host: fails like an unknown name", async () => {
  const r = await new At(h, 'localhost').call(
    'POST',
    '/api/auth/login',
    { username: 'admin', password: 'nicht-das-passwort-von-a-1234' },
    { 'x-forwarded-host': HOST_B },
  );
  assert.equal(r.status, 401, JSON.stringify(r.body));
});

let enrolment: { token: string; url: string } | undefined;

test("an enrolment link of office B names B's address", async () => {
  const r = await bAdmin.post('/api/admin/users', {
    username: 'neu',
    displayName: 'Neue Kollegin',
    tenantRoles: [],
    memberships: [],
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  enrolment = r.body.enrolment;
  assert.equal(new URL(enrolment!.url).hostname, HOST_B, enrolment!.url);
});

test("an enrolment link of office B is refused at A's address (as B's setup link is)", async () => {
  assert.ok(enrolment, 'the link of the test before');
  const atA = await new At(h, 'localhost').post('/api/auth/enrol', {
    token: enrolment!.token,
    password: strongPassword(),
  });
  assert.notEqual(atA.status, 204, "B's enrolment link redeemed at A's address");
});
