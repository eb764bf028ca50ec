// Passkeys of offices with addresses of their own (issue 19): the relying party is the office at
// the request's address — origin and RP ID are the public URL with that office's host — so a
// passkey made at office B's address signs in there, and one made for another address (office A's,
// the installation's, or a host no office claims) does not. Office A is the host-less first office
// (it answers at `localhost` and every host nobody claims, with the installation's relying party as
// before); office B is added at `amt-b.example`. Tried: B's credential asserting for A's origin at
// B (the relying-party check alone: the credential is B's own), A's user and A's login challenge at
// B (the office's users table and challenge), B's at A, and a Host naming no office.
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
import { SoftAuthenticator } from '../helpers/webauthn.ts';

const PUBLIC_URL = 'https://kartei.gesundheitsamt.example:8443';
const HOST_B = 'amt-b.example';
const ORIGIN_A = PUBLIC_URL;
const ORIGIN_B = `https://${HOST_B}:8443`;

let ipSeq = 0;
const freshIp = () => `192.0.2.${++ipSeq}`;

/** A client at a host (the office it is for) and an address of its own. */
class At extends Client {
  readonly host: string;
  constructor(h: Harness, host: string) {
    super(h, freshIp());
    this.host = host;
  }
  override call(method: string, url: string, body?: unknown, headers: Record<string, string> = {}) {
    return super.call(method, url, body, { host: this.host, ...headers });
  }
}

let h: Harness;
let a: Tenant;
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

interface Holder {
  host: string;
  username: string;
  password: string;
  authenticator: SoftAuthenticator;
}
let userA: Holder;
let userB: Holder;

/** Adds a passkey in a session at the holder's host; returns the options the server gave. */
async function addPasskey(p: Holder) {
  const session = await loginAt(p.host, p.username, p.password);
  const options = await session.post('/api/me/passkeys/options', { currentPassword: p.password });
  assert.equal(options.status, 200, JSON.stringify(options.body));
  const added = await session.post('/api/me/passkeys', {
    name: 'Laptop',
    response: p.authenticator.create(options.body),
  });
  assert.equal(added.status, 201, JSON.stringify(added.body));
  return options.body;
}

/** The password step at `host`; the client and its answer. */
async function passwordStep(host: string, p: Pick<Holder, 'username' | 'password'>) {
  const c = new At(h, host);
  const step = await c.post('/api/auth/login', { username: p.username, password: p.password });
  return { c, step };
}

before(async () => {
  h = await startHarness({ env: { KARTEI_PUBLIC_URL: PUBLIC_URL } });
  a = await setUpTenant(h, ['INF']);
  const added = await addOffice(h.services.store, h.services.keyring, h.services.audit, {
    name: 'Gesundheitsamt Nachbarkreis',
    host: HOST_B,
  });
  const token = new URLSearchParams(new URL(setupLink(PUBLIC_URL, HOST_B, added.token)).hash.slice(1)).get('token')!;
  const password = strongPassword();
  const done = await new At(h, HOST_B).post('/api/setup', {
    token,
    tenant: { name: 'Amt B' },
    admin: { username: 'berta', password, displayName: 'Berta Verwaltung' },
  });
  assert.equal(done.status, 201, JSON.stringify(done.body));
  userB = { host: HOST_B, username: 'berta', password, authenticator: new SoftAuthenticator(ORIGIN_B) };
  const acc = await a.account({}, { username: 'anna', displayName: 'Anna Amt A' });
  userA = {
    host: 'localhost',
    username: acc.username,
    password: acc.password,
    authenticator: new SoftAuthenticator(ORIGIN_A),
  };
});
after(() => h.close());

test("office B's passkeys are made for B's address: origin and RP ID are B's host", async () => {
  const options = await addPasskey(userB);
  assert.equal(options.rp.id, HOST_B);
  const { c, step } = await passwordStep(HOST_B, userB);
  assert.equal(step.status, 200, JSON.stringify(step.body));
  assert.equal(step.body.webauthn.rpId, HOST_B);
  const done = await c.post('/api/auth/webauthn', {
    challenge: step.body.challenge,
    response: userB.authenticator.get(step.body.webauthn),
  });
  assert.equal(done.status, 200, JSON.stringify(done.body));
  assert.equal(done.body.user.username, 'berta');
});

test("the host-less office keeps the installation's relying party, whatever unclaimed host is asked", async () => {
  const options = await addPasskey(userA);
  assert.equal(options.rp.id, 'kartei.gesundheitsamt.example');
  for (const host of ['localhost', 'kartei.gesundheitsamt.example', 'niemand.example']) {
    const { c, step } = await passwordStep(host, userA);
    assert.equal(step.status, 200, `${host}: ${JSON.stringify(step.body)}`);
    assert.equal(step.body.webauthn.rpId, 'kartei.gesundheitsamt.example', host);
    // A Host naming no office chooses no relying party: an assertion for that host is refused …
    if (host === 'niemand.example') {
      const forged = await c.post('/api/auth/webauthn', {
        challenge: step.body.challenge,
        response: userA.authenticator.get(step.body.webauthn, { origin: 'https://niemand.example:8443', rpId: host }),
      });
      assert.equal(forged.status, 401, JSON.stringify(forged.body));
      continue;
    }
    // … one for the installation's address signs in.
    const done = await c.post('/api/auth/webauthn', {
      challenge: step.body.challenge,
      response: userA.authenticator.get(step.body.webauthn),
    });
    assert.equal(done.status, 200, `${host}: ${JSON.stringify(done.body)}`);
  }
});

test("an assertion of B's own credential made for A's address is refused at B (the relying-party check)", async () => {
  for (const bend of [
    { origin: ORIGIN_A, rpId: 'kartei.gesundheitsamt.example' },
    { origin: ORIGIN_A },
    { rpId: 'kartei.gesundheitsamt.example' },
  ]) {
    const { c, step } = await passwordStep(HOST_B, userB);
    assert.equal(step.status, 200);
    const r = await c.post('/api/auth/webauthn', {
      challenge: step.body.challenge,
      response: userB.authenticator.get(step.body.webauthn, bend),
    });
    assert.equal(r.status, 401, `${JSON.stringify(bend)}: ${JSON.stringify(r.body)}`);
  }
  // Registration too: a credential made for A's address is not stored at B.
  const session = await loginAt(HOST_B, userB.username, userB.password);
  const options = await session.post('/api/me/passkeys/options', { currentPassword: userB.password });
  assert.equal(options.status, 200);
  const wrong = await session.post('/api/me/passkeys', {
    name: 'Falsche Adresse',
    response: new SoftAuthenticator(ORIGIN_A).create(options.body, { rpId: 'kartei.gesundheitsamt.example' }),
  });
  assert.equal(wrong.status, 422, JSON.stringify(wrong.body));
  assert.equal(wrong.body.code, 'validation-failed');
  assert.equal((await session.get('/api/me/passkeys')).body.length, 1);
});

test("A's passkey does not sign in at B's address: A's account is unknown there, A's challenge is not finished there", async () => {
  // The office's own users table: A's name and password at B are an unknown name.
  const atB = await passwordStep(HOST_B, userA);
  assert.equal(atB.step.status, 401, JSON.stringify(atB.step.body));
  // A login started at A's address, finished at B's with A's valid assertion: refused.
  const { step } = await passwordStep('localhost', userA);
  assert.equal(step.status, 200);
  const valid = userA.authenticator.get(step.body.webauthn);
  const crossed = await new At(h, HOST_B).post('/api/auth/webauthn', {
    challenge: step.body.challenge,
    response: valid,
  });
  assert.equal(crossed.status, 401, JSON.stringify(crossed.body));
  // Nor with the assertion bent to B's origin and RP ID.
  const { step: step2 } = await passwordStep('localhost', userA);
  const bent = userA.authenticator.get(step2.body.webauthn, { origin: ORIGIN_B, rpId: HOST_B });
  const crossed2 = await new At(h, HOST_B).post('/api/auth/webauthn', {
    challenge: step2.body.challenge,
    response: bent,
  });
  assert.equal(crossed2.status, 401, JSON.stringify(crossed2.body));
  // B's login challenge with B's valid assertion, finished at A's address (or a host no office claims): refused.
  for (const host of ['localhost', 'niemand.example']) {
    const { step: s3 } = await passwordStep(HOST_B, userB);
    const r = await new At(h, host).post('/api/auth/webauthn', {
      challenge: s3.body.challenge,
      response: userB.authenticator.get(s3.body.webauthn),
    });
    assert.equal(r.status, 401, `${host}: ${JSON.stringify(r.body)}`);
  }
  // B's own login at B still works after all that (nothing above spent B's counter).
  const { c, step: s4 } = await passwordStep(HOST_B, userB);
  const ok = await c.post('/api/auth/webauthn', {
    challenge: s4.body.challenge,
    response: userB.authenticator.get(s4.body.webauthn),
  });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
});
