// Personal API tokens as a security story: mint from a login session, shown
// once; use as a bearer without CSRF; the policy still decides, and the token's
// scopes on top; an admin-scoped token needs a fresh, unused second-factor code;
// every use is audited as the token's; a token cannot mint tokens; revoked,
// expired, tampered, deactivated and reset tokens die.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { inTenantTransaction } from '../../src/db/connect.ts';
import {
  startHarness,
  setUpTenant,
  samplePerson,
  Client,
  login,
  nextCode,
  type Harness,
  type Tenant,
} from '../helpers/harness.ts';
import { databaseFindings } from '../../src/ops/security-findings.ts';

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
  const created = await clerk.post('/api/auth/tokens', {
    name: 'Skript',
    scopes: ['records:read', 'records:write'],
    expiresInDays: 30,
  });
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
  assert.deepEqual(
    listed.body.map((x: { name: string }) => x.name),
    ['Skript'],
  );
  assert.ok(!JSON.stringify(listed.body).includes(created.body.token), 'never shown again');
  const stored = JSON.stringify(
    await inTenantTransaction(h.services.store, t.tenantId, (tx) => tx.selectFrom('api_tokens').selectAll().execute()),
  );
  assert.ok(!stored.includes(created.body.token), 'only its hash is stored');

  const dpo = await t.user({ tenantRoles: ['dpo'] });
  const events = (await dpo.get(`/api/audit?actorId=${clerk.id}`)).body.map((e: { action: string }) => e.action);
  assert.ok(events.includes('auth.token-create'));
  assert.ok(events.includes('person.create'));
});

test('a token cannot mint or list beyond itself, and wrong tokens are refused alike', async () => {
  const head = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'head' }] });
  const { body } = await head.post('/api/auth/tokens', { name: 'CI', scopes: ['records:read'], expiresInDays: 1 });
  const api = bearer(body.token);
  assert.equal(
    (await api.post('/api/auth/tokens', { name: 'forever', scopes: ['records:read'], expiresInDays: 365 })).status,
    403,
  );
  for (const wrong of [
    body.token.slice(0, -1) + (body.token.endsWith('A') ? 'B' : 'A'),
    'kt_',
    body.token.slice(3),
    'x'.repeat(500),
  ]) {
    assert.equal((await bearer(wrong).get('/api/me')).status, 401, wrong);
  }
  const bad = await head.post('/api/auth/tokens', { name: 'too long', scopes: ['records:read'], expiresInDays: 366 });
  assert.equal(bad.status, 422);
  assert.equal(bad.body.field, 'expiresInDays');
});

test('revoked, expired, deactivated and reset tokens stop working', async () => {
  const created = {
    body: await t.account(
      { memberships: [{ departmentId: t.departments.TB!, role: 'physician' }] },
      { username: 'roentgen', displayName: 'W. C. Röntgen' },
    ),
  };
  const physician = await login(h, 'roentgen', created.body.password);
  const mint = async (c: Client, name: string) =>
    (await c.post('/api/auth/tokens', { name, scopes: ['dicomweb:read'], expiresInDays: 7 })).body as {
      id: string;
      token: string;
    };
  const works = async (token: string) => (await bearer(token).get('/api/me')).status;

  const revoked = await mint(physician, 'revoked');
  assert.equal(await works(revoked.token), 200);
  assert.equal((await physician.del(`/api/auth/tokens/${revoked.id}`)).status, 204);
  assert.equal(await works(revoked.token), 401);
  assert.equal((await physician.del(`/api/auth/tokens/${revoked.id}`)).status, 404);

  const expired = await mint(physician, 'expired');
  await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .updateTable('api_tokens')
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .where('id', '=', expired.id)
      .execute(),
  );
  assert.equal(await works(expired.token), 401);

  const other = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'physician' }] });
  assert.equal(
    (await other.del(`/api/auth/tokens/${(await mint(physician, 'not yours')).id}`)).status,
    404,
    "nobody revokes another user's token",
  );

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

test('a token acts only within its scopes: a dicomweb:read token reaches no file and stores no image', async () => {
  const clerk = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'clerk' }] });
  const { body: own } = await clerk.post('/api/persons', samplePerson(t.departments.TB!, 'Scholz'));
  const infHead = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'head' }] });
  const { body: foreign } = await infHead.post('/api/persons', samplePerson(t.departments.INF!, 'Nowak'));
  const created = await clerk.post('/api/auth/tokens', { name: 'Viewer', scopes: ['dicomweb:read'] });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.deepEqual(created.body.scopes, ['dicomweb:read']);
  const days = (Date.parse(created.body.expiresAt) - Date.now()) / 86_400_000;
  assert.ok(days > 29 && days <= 30, `30 days by default, not ${days}`);
  const viewer = bearer(created.body.token);

  const search = await viewer.get('/api/persons?q=Scholz');
  assert.equal(search.status, 403);
  assert.equal(search.body.code, 'token-scope');
  assert.match(search.body.detail, /records:read/);
  assert.equal((await viewer.get(`/api/persons/${own.id}`)).status, 403, "its owner's own file: not with this token");
  assert.equal(
    (await viewer.get(`/api/persons/${foreign.id}`)).status,
    404,
    'what the owner cannot see stays hidden, not 403',
  );
  assert.equal((await viewer.get(`/api/persons/${crypto.randomUUID()}`)).status, 404);
  assert.equal((await viewer.post('/api/persons', samplePerson(t.departments.TB!))).status, 403);
  // STOW-RS is refused before a byte of the body is read.
  const stow = await new Client(h).call(
    'POST',
    `/dicom-web/studies?department=${t.departments.TB}`,
    '--B\r\nContent-Type: application/dicom\r\n\r\nDICM\r\n--B--\r\n',
    {
      authorization: `Bearer ${created.body.token}`,
      'content-type': 'multipart/related; type="application/dicom"; boundary=B',
    },
  );
  assert.equal(stow.status, 403);
  assert.equal(stow.body.code, 'token-scope');
  assert.equal((await viewer.get('/dicom-web/studies')).status, 200, 'what it is for, it does');
  // Nor the own account's sessions and tokens.
  assert.equal((await viewer.get('/api/auth/tokens')).status, 403);
  assert.equal((await viewer.get('/api/me/sessions')).status, 403);
  assert.equal((await viewer.del(`/api/auth/tokens/${created.body.id}`)).status, 403);
  // Emergency access is a person's decision, never a script's, whatever the scopes.
  const all = await clerk.post('/api/auth/tokens', {
    name: 'alles',
    scopes: ['records:read', 'records:write', 'dicomweb:read', 'dicomweb:store', 'audit:read'],
  });
  const glass = await bearer(all.body.token).post('/api/persons/emergency-search', {
    familyName: 'Nowak',
    birthDate: '1950-01-01',
    reason: 'Ein Notfall in der Aufnahme, Patient bewusstlos',
  });
  assert.equal(glass.status, 403);
  assert.equal(glass.body.code, 'token-scope');

  const dpo = await t.user({ tenantRoles: ['dpo'] });
  const events = (await dpo.get(`/api/audit?actorId=${clerk.id}&limit=200`)).body as {
    action: string;
    outcome: string;
    detail?: Record<string, unknown>;
  }[];
  const refused = events.find((e) => e.action === 'person.search' && e.outcome === 'denied');
  assert.deepEqual(
    refused?.detail,
    { missingScope: 'records:read', via: 'token', tokenId: created.body.id },
    'the refusal names the missing scope and the token',
  );
  assert.ok(
    events.some((e) => e.action === 'study.store' && e.outcome === 'denied' && e.detail?.tokenId === created.body.id),
  );
  assert.ok(
    events.some(
      (e) => e.action === 'auth.token-use' && e.outcome === 'denied' && e.detail?.route === '/api/auth/tokens',
    ),
  );
});

test("every use of a token is audited as the token's, apart from its owner's session", async () => {
  const clerk = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'clerk' }] });
  const created = (await clerk.post('/api/auth/tokens', { name: 'Import', scopes: ['records:read', 'records:write'] }))
    .body;
  const bySession = (await clerk.post('/api/persons', samplePerson(t.departments.TB!, 'Sitzung'))).body.id;
  const byToken = (await bearer(created.token).post('/api/persons', samplePerson(t.departments.TB!, 'Skript'))).body.id;
  await bearer(created.token).get(`/api/persons/${byToken}`);
  await bearer(created.token).get('/api/me');
  const dpo = await t.user({ tenantRoles: ['dpo'] });
  const events = (await dpo.get(`/api/audit?actorId=${clerk.id}&limit=200`)).body as {
    action: string;
    resourceId: string;
    detail?: Record<string, unknown>;
  }[];
  const of = (action: string, id: string) => events.find((e) => e.action === action && e.resourceId === id);
  assert.equal(of('person.create', bySession)?.detail?.via, undefined, "a session's access is not a token's");
  assert.deepEqual(of('person.create', byToken)?.detail, { via: 'token', tokenId: created.id });
  assert.deepEqual(of('person.read', byToken)?.detail, { via: 'token', tokenId: created.id });
  const me = events.find((e) => e.action === 'auth.token-use' && e.detail?.route === '/api/me');
  assert.equal(me?.resourceId, created.id);
  const minted = events.find((e) => e.action === 'auth.token-create' && e.resourceId === created.id);
  assert.equal(minted?.detail?.scopes, 'records:read records:write');
});

test('an admin-scoped token needs a fresh code of the second factor, once', async () => {
  const ask = (body: Record<string, unknown>) =>
    t.admin.post('/api/auth/tokens', { name: 'Betrieb', scopes: ['admin'], ...body });
  const none = await ask({});
  assert.equal(none.status, 422);
  assert.equal(none.body.field, 'code');
  const wrong = await ask({ code: '000000' });
  assert.equal(wrong.status, 422);
  assert.equal(wrong.body.field, 'code');
  assert.equal(
    (await ask({ code: nextCode(h, 'admin'), expiresInDays: 31 })).body.field,
    'expiresInDays',
    'admin tokens live 30 days at most',
  );
  const code = nextCode(h, 'admin');
  const ok = await ask({ code, expiresInDays: 7 });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  assert.deepEqual(ok.body.scopes, ['admin']);
  const replay = await ask({ code });
  assert.equal(replay.status, 422, 'the same code does not serve twice');
  assert.equal(replay.body.field, 'code');
  // Two requests with one fresh code: one token.
  const twice = nextCode(h, 'admin');
  const raced = await Promise.all([ask({ code: twice }), ask({ code: twice })]);
  assert.deepEqual(raced.map((r) => r.status).sort(), [201, 422]);
  // The admin token administers; without the scope a token does not.
  assert.equal((await bearer(ok.body.token).get('/api/admin/departments')).status, 200);
  // It creates accounts, but asks for no roles or memberships: that is a person's decision in a session.
  const scripted = await bearer(ok.body.token).post('/api/admin/users', {
    username: 'skriptkonto',
    displayName: 'Skript Konto',
    tenantRoles: ['dpo'],
    memberships: [],
  });
  assert.equal(scripted.status, 403);
  assert.equal(scripted.body.code, 'token-scope');
  const withMembership = await bearer(ok.body.token).post('/api/admin/users', {
    username: 'skriptkonto',
    displayName: 'Skript Konto',
    memberships: [{ departmentId: t.departments.TB, role: 'clerk' }],
  });
  assert.equal(withMembership.status, 403);
  assert.equal(
    (await bearer(ok.body.token).post('/api/admin/users', { username: 'skriptkonto', displayName: 'Skript Konto' }))
      .status,
    201,
  );
  const plain = await t.admin.post('/api/auth/tokens', { name: 'nur lesen', scopes: ['audit:read'] });
  assert.equal(plain.status, 201, 'other scopes need no code');
  const refused = await bearer(plain.body.token).get('/api/admin/departments');
  assert.equal(refused.status, 403);
  assert.equal(refused.body.code, 'token-scope');
  // Unknown or repeated scopes, or none, are refused.
  for (const scopes of [[], ['root'], ['admin', 'admin'], undefined]) {
    const r = await t.admin.post('/api/auth/tokens', { name: 'x', ...(scopes ? { scopes } : {}) });
    assert.equal(r.status, 422, JSON.stringify(scopes));
  }
  const dpo = await t.user({ tenantRoles: ['dpo'] });
  const events = (await dpo.get(`/api/audit?actorId=${t.adminId}&action=auth.token-create&limit=50`)).body as {
    outcome: string;
    detail?: Record<string, unknown>;
  }[];
  assert.ok(events.filter((e) => e.outcome === 'denied').length >= 2, 'wrong and replayed codes are on the record');
  assert.ok(events.some((e) => e.outcome === 'allowed' && e.detail?.secondFactor === true));
});

test('tokens from before scopes: DICOMweb only, listed as legacy, and reported by the doctor', async () => {
  const clerk = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'clerk' }] });
  const created = (await clerk.post('/api/auth/tokens', { name: 'alt', scopes: ['records:read'] })).body;
  // As migration 015 leaves a token minted before it.
  await h.services.store.db
    .updateTable('api_tokens')
    .set({ scopes: 'dicomweb:read dicomweb:store', legacy: 1 })
    .where('id', '=', created.id)
    .execute();
  const old = bearer(created.token);
  assert.equal((await old.get('/dicom-web/studies')).status, 200);
  const refused = await old.get('/api/persons?q=Meier');
  assert.equal(refused.status, 403);
  assert.match(refused.body.detail, /records:read/, 'the script is told which scope to ask for');
  const listed = (await clerk.get('/api/auth/tokens')).body.find((x: { id: string }) => x.id === created.id);
  assert.equal(listed.legacy, true);
  assert.deepEqual(listed.scopes, ['dicomweb:read', 'dicomweb:store']);
  const findings = await databaseFindings(h.services, t.tenantId);
  assert.ok(
    findings.some((f) => f.severity === 'medium' && /API token\(s\) from before token scopes/.test(f.title)),
    JSON.stringify(findings),
  );
});
