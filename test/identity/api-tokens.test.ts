// Personal API tokens as a security story: mint from a login session, shown
// once; use as a bearer without CSRF; the policy still decides; a token cannot
// mint tokens; revoked, expired, tampered, deactivated and reset tokens die.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { inTenant } from '../../src/db/connect.ts';
import { startHarness, setUpTenant, samplePerson, Client, login, type Harness, type Tenant } from '../helpers/harness.ts';

let h: Harness;
let t: Tenant;

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h, ['TB', 'INF']);
});
after(() => h.close());

/** A client that sends only the bearer token: no cookie, no CSRF header. */
function bearer(token: string) {
  const c = new Client(h);
  return {
    get: (url: string) => c.call('GET', url, undefined, { authorization: `Bearer ${token}` }),
    post: (url: string, body: unknown) => c.call('POST', url, body, { authorization: `Bearer ${token}` }),
    del: (url: string) => c.call('DELETE', url, undefined, { authorization: `Bearer ${token}` }),
  };
}

test('a token acts as its owner, without CSRF, and the policy still decides', async () => {
  const clerk = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'clerk' }] });
  const created = await clerk.post('/api/auth/tokens', { name: 'Skript', expiresInDays: 30 });
  assert.equal(created.status, 201);
  assert.match(created.body.token, /^kt_[A-Za-z0-9_-]{40,}$/);
  const api = bearer(created.body.token);

  assert.equal((await api.get('/api/me')).body.id, clerk.id);
  const own = await api.post('/api/persons', samplePerson(t.departments.TB!));
  assert.equal(own.status, 201, 'a write with a bearer token needs no CSRF header');
  const infHead = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'head' }] });
  const { body: foreign } = await infHead.post('/api/persons', samplePerson(t.departments.INF!, 'Nowak'));
  assert.equal((await api.get(`/api/persons/${foreign.id}`)).status, 404, 'another department stays hidden');
  assert.equal((await api.post('/api/persons', samplePerson(t.departments.INF!))).status, 403);

  const listed = await clerk.get('/api/auth/tokens');
  assert.deepEqual(listed.body.map((x: { name: string }) => x.name), ['Skript']);
  assert.ok(!JSON.stringify(listed.body).includes(created.body.token), 'never shown again');
  const stored = JSON.stringify(await inTenant(h.services.store, t.tenantId, (tx) => tx.selectFrom('api_tokens').selectAll().execute()));
  assert.ok(!stored.includes(created.body.token), 'only its hash is stored');

  const dpo = await t.user({ tenantRoles: ['dpo'] });
  const events = (await dpo.get(`/api/audit?actorId=${clerk.id}`)).body.map((e: { action: string }) => e.action);
  assert.ok(events.includes('auth.token-create'));
  assert.ok(events.includes('person.create'));
});

test('a token cannot mint or list beyond itself, and wrong tokens are refused alike', async () => {
  const head = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'head' }] });
  const { body } = await head.post('/api/auth/tokens', { name: 'CI', expiresInDays: 1 });
  const api = bearer(body.token);
  assert.equal((await api.post('/api/auth/tokens', { name: 'forever', expiresInDays: 365 })).status, 403);
  for (const wrong of [body.token.slice(0, -1) + (body.token.endsWith('A') ? 'B' : 'A'), 'kt_', body.token.slice(3), 'x'.repeat(500)]) {
    assert.equal((await bearer(wrong).get('/api/me')).status, 401, wrong);
  }
  const bad = await head.post('/api/auth/tokens', { name: 'too long', expiresInDays: 366 });
  assert.equal(bad.status, 422);
  assert.equal(bad.body.field, 'expiresInDays');
});

test('revoked, expired, deactivated and reset tokens stop working', async () => {
  const created = { body: await t.account({ memberships: [{ departmentId: t.departments.TB!, role: 'physician' }] }, { username: 'roentgen', displayName: 'W. C. Röntgen' }) };
  const physician = await login(h, 'roentgen', created.body.password);
  const mint = async (c: Client, name: string) => (await c.post('/api/auth/tokens', { name, expiresInDays: 7 })).body as { id: string; token: string };
  const works = async (token: string) => (await bearer(token).get('/api/me')).status;

  const revoked = await mint(physician, 'revoked');
  assert.equal(await works(revoked.token), 200);
  assert.equal((await physician.del(`/api/auth/tokens/${revoked.id}`)).status, 204);
  assert.equal(await works(revoked.token), 401);
  assert.equal((await physician.del(`/api/auth/tokens/${revoked.id}`)).status, 404);

  const expired = await mint(physician, 'expired');
  await inTenant(h.services.store, t.tenantId, (tx) => tx.updateTable('api_tokens').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).where('id', '=', expired.id).execute());
  assert.equal(await works(expired.token), 401);

  const other = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'physician' }] });
  assert.equal((await other.del(`/api/auth/tokens/${(await mint(physician, 'not yours')).id}`)).status, 404, 'nobody revokes another user\'s token');

  // A reset second factor revokes every token for good: re-enrolling does not revive them.
  const reset = await mint(physician, 'reset');
  const password = await t.resetCredentials(created.body.id, 'roentgen');
  assert.equal(await works(reset.token), 401);
  const relogged = await login(h, 'roentgen', password);
  assert.equal(await works(reset.token), 401);

  const deactivated = await mint(relogged, 'deactivated');
  assert.equal(await works(deactivated.token), 200);
  assert.equal((await t.admin.patch(`/api/admin/users/${created.body.id}`, { active: false })).status, 200);
  assert.equal(await works(deactivated.token), 401);
  assert.equal((await t.admin.patch(`/api/admin/users/${created.body.id}`, { active: true })).status, 200);
  assert.equal(await works(deactivated.token), 401, 'reactivation does not revive tokens');
});
