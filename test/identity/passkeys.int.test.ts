// Passkeys (issue 13) with a software authenticator whose attestations and
// assertions @simplewebauthn/server verifies for real: adding one (after the
// current password, in the session that started the ceremony), listing, the
// login's passkey step next to TOTP, and the attacks: a replayed assertion, an
// assertion by another user's credential, the wrong origin or RP ID, no user
// verification, a counter that went back, one challenge used in parallel, a
// stolen session without the password, an API token, removing the last second
// factor (also two removals at once), and a reset link voiding them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { LIMITS } from '../../src/identity/throttle.ts';
import {
  Client,
  DIALECT,
  login,
  startHarness,
  setUpTenant,
  type Harness,
  type Tenant,
  type Account,
} from '../helpers/harness.ts';
import { SoftAuthenticator } from '../helpers/webauthn.ts';

const PUBLIC_URL = 'https://kartei.gesundheitsamt.example';
const ORIGIN = PUBLIC_URL;

let h: Harness;
let t: Tenant;
before(async () => {
  h = await startHarness({ env: { KARTEI_PUBLIC_URL: PUBLIC_URL } });
  t = await setUpTenant(h, ['INF']);
});
after(() => h.close());

let ipSeq = 0;
/** A fresh client address per test, so one test's throttle never decides another's. */
const freshIp = () => `203.0.113.${++ipSeq}`;

/** A client at an address of its own (the harness's Client with `ip`). */
const At = Client;

interface Person extends Account {
  session: Client;
  authenticator: SoftAuthenticator;
}

let seq = 0;
async function person(): Promise<Person> {
  const a = await t.account({}, { username: `pk${++seq}`, displayName: `Passkey Test ${seq}` });
  const session = await login(h, a.username, a.password);
  return { ...a, session, authenticator: new SoftAuthenticator(ORIGIN) };
}

async function addPasskey(p: Person, name = 'Laptop'): Promise<string> {
  const options = await p.session.post('/api/me/passkeys/options', { currentPassword: p.password });
  assert.equal(options.status, 200, JSON.stringify(options.body));
  const added = await p.session.post('/api/me/passkeys', { name, response: p.authenticator.create(options.body) });
  assert.equal(added.status, 201, JSON.stringify(added.body));
  return added.body.id;
}

/** The password step from a fresh address; returns the client and the step's answer. */
async function passwordStep(p: Account) {
  const c = new At(h, freshIp());
  const step = await c.post('/api/auth/login', { username: p.username, password: p.password });
  assert.equal(step.status, 200, JSON.stringify(step.body));
  return { c, step: step.body };
}

async function auditActions(userId: string, action: string) {
  return inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .selectFrom('audit_events')
      .select(['action', 'outcome', 'detail'])
      .where('actor_id', '=', userId)
      .where('action', '=', action)
      .orderBy('seq')
      .execute(),
  );
}

test('a passkey is added after the current password, listed, and offered at the login beside TOTP', async () => {
  const p = await person();
  assert.deepEqual((await p.session.get('/api/me/passkeys')).body, []);
  // A session alone (a screen left open) is not enough: the current password is asked for first.
  const wrong = await p.session.post('/api/me/passkeys/options', { currentPassword: 'not-the-password-at-all' });
  assert.equal(wrong.status, 422);
  assert.equal(wrong.body.field, 'currentPassword');
  const options = await p.session.post('/api/me/passkeys/options', { currentPassword: p.password });
  assert.equal(options.status, 200);
  assert.equal(options.body.rp.id, 'kartei.gesundheitsamt.example');
  assert.equal(options.body.authenticatorSelection.userVerification, 'required');
  const response = p.authenticator.create(options.body);
  const added = await p.session.post('/api/me/passkeys', { name: 'Dienstlaptop', response });
  assert.equal(added.status, 201);
  // The same ceremony answer again: its challenge is spent.
  assert.equal((await p.session.post('/api/me/passkeys', { name: 'Nochmal', response })).status, 422);
  const list = (await p.session.get('/api/me/passkeys')).body;
  assert.equal(list.length, 1);
  assert.equal(list[0].name, 'Dienstlaptop');
  assert.equal(list[0].lastUsedAt, null);
  assert.ok(list[0].createdAt);
  // The name is sealed in the database.
  const row = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx.selectFrom('passkeys').selectAll().where('user_id', '=', p.id).executeTakeFirstOrThrow(),
  );
  assert.ok(!row.name_enc.toString('latin1').includes('Dienstlaptop'));
  assert.deepEqual(
    (await auditActions(p.id, 'auth.passkey.add')).map((e) => e.outcome),
    ['denied', 'allowed'],
  );

  // The login offers the passkey and still the TOTP code (the contract's `mfa: "totp"` stays).
  const { c, step } = await passwordStep(p);
  assert.equal(step.mfa, 'totp');
  assert.deepEqual(
    step.webauthn.allowCredentials.map((x: { id: string }) => x.id),
    [response.id],
  );
  assert.equal(step.webauthn.rpId, 'kartei.gesundheitsamt.example');
  assert.equal(step.webauthn.userVerification, 'required');
  const done = await c.post('/api/auth/webauthn', {
    challenge: step.challenge,
    response: p.authenticator.get(step.webauthn),
  });
  assert.equal(done.status, 200, JSON.stringify(done.body));
  assert.equal(done.body.user.id, p.id);
  assert.ok(done.body.csrfToken);
  c.csrf = done.body.csrfToken;
  assert.equal((await c.get('/api/me')).status, 200);
  assert.ok((await c.get('/api/me/passkeys')).body[0].lastUsedAt);
  const logins = await auditActions(p.id, 'auth.login');
  assert.deepEqual(JSON.parse(String(logins.at(-1)!.detail)), { mfa: 'webauthn' });
});

test("attacks on the passkey step: replay, another user's credential, wrong origin or RP ID, no user verification, a counter gone back", async () => {
  const p = await person();
  await addPasskey(p);
  const other = await person();
  await addPasskey(other);

  // A replayed assertion: the same answer to the same challenge, then to a new challenge.
  const first = await passwordStep(p);
  const assertion = p.authenticator.get(first.step.webauthn);
  assert.equal(
    (await first.c.post('/api/auth/webauthn', { challenge: first.step.challenge, response: assertion })).status,
    200,
  );
  assert.equal(
    (await first.c.post('/api/auth/webauthn', { challenge: first.step.challenge, response: assertion })).status,
    401,
  );
  const again = await passwordStep(p);
  assert.equal(
    (await again.c.post('/api/auth/webauthn', { challenge: again.step.challenge, response: assertion })).status,
    401,
  );

  // Another user's credential, signing this login's challenge: not this user's passkey.
  const theirs = other.authenticator.get(again.step.webauthn, {
    credentialId: [...other.authenticator.credentials.keys()][0],
  });
  assert.equal(
    (await again.c.post('/api/auth/webauthn', { challenge: again.step.challenge, response: theirs })).status,
    401,
  );

  // A phishing origin, a foreign RP ID, an authenticator that did not verify the user.
  for (const bend of [{ origin: 'https://kartei-login.example' }, { rpId: 'evil.example' }, { userVerified: false }]) {
    const s = await passwordStep(p);
    const r = await s.c.post('/api/auth/webauthn', {
      challenge: s.step.challenge,
      response: p.authenticator.get(s.step.webauthn, bend),
    });
    assert.equal(r.status, 401, JSON.stringify(bend));
  }

  // Five failures so far: the account waits a second (the throttle's clock moves), and a completed login ends the streak.
  h.clock.now += 2_000;
  const ok = await passwordStep(p);
  assert.equal(
    (
      await ok.c.post('/api/auth/webauthn', {
        challenge: ok.step.challenge,
        response: p.authenticator.get(ok.step.webauthn),
      })
    ).status,
    200,
  );

  // A cloned authenticator: its counter is behind the one stored.
  const s = await passwordStep(p);
  assert.equal(
    (
      await s.c.post('/api/auth/webauthn', {
        challenge: s.step.challenge,
        response: p.authenticator.get(s.step.webauthn, { counter: 1 }),
      })
    ).status,
    401,
  );

  // A TOTP user without passkeys is offered none, and an assertion on their challenge fails.
  const plain = await t.account({}, { username: `plain${++seq}` });
  await login(h, plain.username, plain.password);
  const ps = await passwordStep(plain);
  assert.equal(ps.step.webauthn, undefined);
  assert.equal(
    (
      await ps.c.post('/api/auth/webauthn', {
        challenge: ps.step.challenge,
        response: p.authenticator.get(first.step.webauthn),
      })
    ).status,
    401,
  );

  // None of this signed anyone in; each failure is on the record.
  const failures = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .selectFrom('audit_events')
      .select('detail')
      .where('actor_id', '=', p.id)
      .where('action', '=', 'auth.login-failed')
      .execute(),
  );
  assert.ok(failures.length >= 1);
});

test('one challenge used in parallel gives one session', async () => {
  const p = await person();
  await addPasskey(p);
  const { c, step } = await passwordStep(p);
  const response = p.authenticator.get(step.webauthn);
  const results = await Promise.all(
    Array.from({ length: 8 }, () => c.post('/api/auth/webauthn', { challenge: step.challenge, response })),
  );
  assert.equal(results.filter((r) => r.status === 200).length, 1, results.map((r) => r.status).join(','));
  const sessions = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx.selectFrom('sessions').select('token_hash').where('user_id', '=', p.id).execute(),
  );
  // The harness's TOTP login and this one.
  assert.equal(sessions.length, 2);
});

test('the passkey step counts like a code: a challenge takes 5 answers', async () => {
  const p = await person();
  await addPasskey(p);
  const { c, step } = await passwordStep(p);
  const codes: number[] = [];
  for (let i = 0; i < LIMITS.challenge + 1; i++) {
    codes.push(
      (
        await c.post('/api/auth/webauthn', {
          challenge: step.challenge,
          response: p.authenticator.get(step.webauthn, { origin: 'https://elsewhere.example' }),
        })
      ).status,
    );
  }
  assert.deepEqual(codes, [401, 401, 401, 401, 401, 429]);
  // Even a right answer now: the challenge is dead.
  assert.equal(
    (await c.post('/api/auth/webauthn', { challenge: step.challenge, response: p.authenticator.get(step.webauthn) }))
      .status,
    429,
  );
});

test('the ceremony belongs to its session; an API token manages no passkeys', async () => {
  const p = await person();
  const options = await p.session.post('/api/me/passkeys/options', { currentPassword: p.password });
  const second = await login(h, p.username, p.password);
  // Another session of the same user cannot finish this session's ceremony.
  assert.equal(
    (await second.post('/api/me/passkeys', { name: 'X', response: p.authenticator.create(options.body) })).status,
    422,
  );
  // A registration made for another origin fails.
  const o2 = await p.session.post('/api/me/passkeys/options', { currentPassword: p.password });
  assert.equal(
    (
      await p.session.post('/api/me/passkeys', {
        name: 'X',
        response: p.authenticator.create(o2.body, { origin: 'https://evil.example' }),
      })
    ).status,
    422,
  );
  const o3 = await p.session.post('/api/me/passkeys/options', { currentPassword: p.password });
  assert.equal(
    (
      await p.session.post('/api/me/passkeys', {
        name: 'X',
        response: p.authenticator.create(o3.body, { userVerified: false }),
      })
    ).status,
    422,
  );
  const token = await p.session.post('/api/auth/tokens', {
    name: 'script',
    expiresInDays: 1,
    scopes: ['records:read'],
  });
  assert.equal(token.status, 201);
  const bearer = { authorization: `Bearer ${token.body.token}` };
  const viaToken = await new Client(h).call(
    'POST',
    '/api/me/passkeys/options',
    { currentPassword: p.password },
    bearer,
  );
  assert.equal(viaToken.status, 403);
  // CSRF: without the header a cookie session cannot start one.
  const noCsrf = new Client(h);
  noCsrf.cookie = p.session.cookie;
  assert.equal((await noCsrf.post('/api/me/passkeys/options', { currentPassword: p.password })).status, 403);
  assert.deepEqual((await p.session.get('/api/me/passkeys')).body, []);
});

test('removal: confirmed by the owner only, never the last second factor, not even by two removals at once', async () => {
  const p = await person();
  const a = await addPasskey(p, 'Schlüssel A');
  const b = await addPasskey(p, 'Schlüssel B');
  const other = await person();
  // Someone else's passkey is not found.
  assert.equal((await other.session.del(`/api/me/passkeys/${a}`)).status, 404);
  // With TOTP beside it, a passkey goes.
  assert.equal((await p.session.del(`/api/me/passkeys/${a}`)).status, 204);
  assert.deepEqual(
    (await p.session.get('/api/me/passkeys')).body.map((x: { name: string }) => x.name),
    ['Schlüssel B'],
  );
  assert.deepEqual(
    (await auditActions(p.id, 'auth.passkey.remove')).map((e) => e.outcome),
    ['allowed'],
  );

  // An account whose only second factors are passkeys (TOTP gone): the last one stays.
  const c = await addPasskey(p, 'Schlüssel C');
  await h.services.store.db.updateTable('users').set({ totp_secret_enc: null }).where('id', '=', p.id).execute();
  const both = await Promise.all([p.session.del(`/api/me/passkeys/${b}`), p.session.del(`/api/me/passkeys/${c}`)]);
  assert.deepEqual(both.map((r) => r.status).sort(), [204, 409]);
  const left = (await p.session.get('/api/me/passkeys')).body;
  assert.equal(left.length, 1);
  assert.equal((await p.session.del(`/api/me/passkeys/${left[0].id}`)).status, 409);
  // Still able to log in with it: the login asks for the passkey (or a recovery code), as there is no TOTP to ask for.
  const { c: client, step } = await passwordStep(p);
  assert.equal(step.mfa, 'webauthn');
  assert.equal(
    (
      await client.post('/api/auth/webauthn', {
        challenge: step.challenge,
        response: p.authenticator.get(step.webauthn),
      })
    ).status,
    200,
  );
});

test('a reset link voids the passkeys with the other credentials', async () => {
  const p = await person();
  await addPasskey(p);
  const password = await t.resetCredentials(p.id, p.username);
  const rows = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx.selectFrom('passkeys').select('id').where('user_id', '=', p.id).execute(),
  );
  assert.equal(rows.length, 0);
  const { step } = await passwordStep({ ...p, password });
  assert.equal(step.mfa, 'enroll');
  assert.equal(step.webauthn, undefined);
});

test('on PostgreSQL passkeys and their ceremonies are walled by office', { skip: DIALECT !== 'postgres' }, async () => {
  const p = await person();
  await addPasskey(p);
  await p.session.post('/api/me/passkeys/options', { currentPassword: p.password });
  // Outside a transaction that names the office, the application's role sees none of them.
  assert.equal((await h.services.store.db.selectFrom('passkeys').select('id').execute()).length, 0);
  assert.equal(
    (await h.services.store.db.selectFrom('passkey_registrations').select('challenge_hash').execute()).length,
    0,
  );
  const inside = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx.selectFrom('passkeys').select('id').where('user_id', '=', p.id).execute(),
  );
  assert.equal(inside.length, 1);
});
