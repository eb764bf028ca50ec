// A person sees where they are signed in and ends what they do not recognise;
// nobody ends (or learns of) another person's session. The session cookie is a
// browser session cookie unless the person asks to stay signed in.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, login, nextCode, setUpTenant, startHarness, type Harness, type Tenant } from '../helpers/harness.ts';
import { tokenHash } from '../../src/identity/tokens.ts';

let h: Harness;
let t: Tenant;

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h, ['TB']);
});
after(() => h.close());

interface OwnSession {
  id: string;
  createdAt: string;
  lastSeenAt: string;
  current: boolean;
}

test("the own sessions are listed, this one marked; ending another one signs it out; another user's is 404", async () => {
  const a = await t.account({ memberships: [{ departmentId: t.departments.TB!, role: 'clerk' }] });
  const office = await login(h, a.username, a.password);
  const laptop = await login(h, a.username, a.password);
  const listed = await office.get('/api/me/sessions');
  assert.equal(listed.status, 200);
  const sessions = listed.body as OwnSession[];
  assert.equal(sessions.length, 2);
  assert.deepEqual(sessions.map((x) => x.current).sort(), [false, true]);
  for (const x of sessions) {
    assert.deepEqual(Object.keys(x).sort(), ['createdAt', 'current', 'id', 'lastSeenAt']);
    assert.match(x.id, /^[0-9a-f]{32}$/);
  }
  const text = JSON.stringify(sessions);
  for (const cookie of [office.cookie!, laptop.cookie!]) {
    assert.ok(
      !text.includes(cookie) && !text.includes(tokenHash(cookie)),
      'neither the cookie nor its stored hash is shown',
    );
  }
  const other = sessions.find((x) => !x.current)!;

  // Another person cannot end it, nor tell it from one that does not exist.
  const stranger = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'head' }] });
  const foreign = await stranger.del(`/api/me/sessions/${other.id}`);
  assert.equal(foreign.status, 404);
  assert.equal((await stranger.del(`/api/me/sessions/${'0'.repeat(32)}`)).status, 404);
  assert.equal((await laptop.get('/api/me')).status, 200, 'still signed in');
  assert.ok(!JSON.stringify((await stranger.get('/api/me/sessions')).body).includes(other.id), 'nor sees it');

  // The owner ends it: that browser is signed out, this one is not.
  assert.equal((await office.del(`/api/me/sessions/${other.id}`)).status, 204);
  assert.equal((await laptop.get('/api/me')).status, 401);
  assert.equal((await office.get('/api/me')).status, 200);
  assert.equal((await office.del(`/api/me/sessions/${other.id}`)).status, 404, 'ended once');
  assert.deepEqual(
    ((await office.get('/api/me/sessions')).body as OwnSession[]).map((x) => x.current),
    [true],
  );

  // Without the CSRF header a forged request ends nothing.
  const third = await login(h, a.username, a.password);
  const id = ((await third.get('/api/me/sessions')).body as OwnSession[]).find((x) => x.current)!.id;
  const forged = await new Client(h).call('DELETE', `/api/me/sessions/${id}`, undefined, {
    cookie: `kartei_session=${office.cookie}`,
  });
  assert.equal(forged.status, 403);
  assert.equal((await third.get('/api/me')).status, 200);

  // Ending the current one is a logout.
  const mine = ((await office.get('/api/me/sessions')).body as OwnSession[]).find((x) => x.current)!.id;
  assert.equal((await office.del(`/api/me/sessions/${mine}`)).status, 204);
  assert.equal((await office.get('/api/me')).status, 401);

  const dpo = await t.user({ tenantRoles: ['dpo'] });
  const events = (await dpo.get(`/api/audit?actorId=${a.id}&action=auth.session-end`)).body as { outcome: string }[];
  assert.equal(events.length, 2);
});

/** Both login steps by hand, to see the cookie the browser is given. */
async function signIn(username: string, password: string, extra: Record<string, unknown>) {
  const c = new Client(h);
  const first = await c.post('/api/auth/login', { username, password });
  assert.equal(first.status, 200);
  const res = await h.app.inject({
    method: 'POST',
    url: '/api/auth/mfa',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ challenge: first.body.challenge, code: nextCode(h, username), ...extra }),
  });
  assert.equal(res.statusCode, 200, res.body);
  const header = [res.headers['set-cookie'] ?? []].flat().find((x) => x.startsWith('kartei_session='));
  assert.ok(header);
  return header;
}

test('the session cookie ends with the browser unless the person asks to stay signed in', async () => {
  const a = await t.account({ memberships: [{ departmentId: t.departments.TB!, role: 'clerk' }] });
  await login(h, a.username, a.password); // enrols the second factor
  const plain = await signIn(a.username, a.password, {});
  assert.doesNotMatch(plain, /max-age/i);
  assert.doesNotMatch(plain, /expires=/i);
  assert.match(plain, /HttpOnly/i);
  assert.match(plain, /SameSite=Strict/i);
  const remembered = await signIn(a.username, a.password, { remember: true });
  assert.match(remembered, /Max-Age=43200(;|$)/, "the session's 12 hours, not more");
  assert.doesNotMatch(await signIn(a.username, a.password, { remember: false }), /max-age/i);
});
