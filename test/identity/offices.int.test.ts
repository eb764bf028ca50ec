// Many offices on one deployment (issue 19), told as an attacker would try them. Office A is
// today's installation (set up through the serve-time link, no address of its own: it answers at
// every host no office claims, here `localhost`); office B is added by the operator at
// `amt-b.example`, office C at `amt-c.example`. Both A and B have an `admin`: usernames are per
// office. Then: a username of the other office at the wrong address fails like an unknown name;
// sessions and API tokens count only at their office's address; a setup link works only at its
// office's address; accounts, devices and AE titles stay each office's own; two `offices add` of
// one name (or one host) at once: one wins. Runs on PostgreSQL too (KARTEI_TEST_PG), where the
// row-level walls still confine each office's transactions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { DEPLOYMENT_CHAIN } from '../../src/db/schema.ts';
import { addOffice, listOffices, OfficeError, renewOfficeSetup, setupLink } from '../../src/identity/offices.ts';
import { testCertificate } from '../helpers/certificates.ts';
import {
  Client,
  DIALECT,
  setUpTenant,
  startHarness,
  strongPassword,
  totpCode,
  type Harness,
  type Tenant,
} from '../helpers/harness.ts';

const HOST_B = 'amt-b.example';
const HOST_C = 'amt-c.example';

/** A client of one address: every request carries that Host header. */
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
let b: { id: string; admin: At; password: string; department: string; token: string };
const secrets = new Map<string, string>();

/** Both login steps at one address, enrolling TOTP at the first login. */
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

const setupBody = (token: string, username = 'admin') => ({
  token,
  tenant: { name: 'im Assistenten getippt' },
  admin: { username, password: strongPassword(), displayName: 'Berta Verwaltung' },
});

/** The token of a setup link (its fragment: `token=…` and, from the CLI, `office=…`). */
const tokenOf = (link: string) => new URLSearchParams(new URL(link).hash.slice(1)).get('token')!;

before(async () => {
  h = await startHarness();
  a = await setUpTenant(h, ['INF', 'TB']);
  const added = await addOffice(h.services.store, h.services.keyring, h.services.audit, {
    name: 'Gesundheitsamt Nachbarkreis',
    host: HOST_B.toUpperCase(),
  });
  assert.equal(added.office.host, HOST_B, 'the host is kept folded');
  const link = setupLink('https://kartei.example:8443', added.office.host, added.token, added.office.name);
  assert.equal(
    link,
    `https://${HOST_B}:8443/setup#token=${added.token}&office=Gesundheitsamt%20Nachbarkreis`,
    "the office's name rides in the fragment, for the wizard to show",
  );
  assert.equal(setupLink('https://kartei.example:8443', null, 'T'), 'https://kartei.example:8443/setup#token=T');
  const body = setupBody(tokenOf(link));
  const done = await new At(h, HOST_B).post('/api/setup', body);
  assert.equal(done.status, 201, JSON.stringify(done.body));
  assert.equal(done.body.tenantId, added.office.id);
  const admin = await loginAt(HOST_B, 'admin', body.admin.password);
  const dept = await admin.post('/api/admin/departments', { code: 'TB', name: 'Tuberkulose B' });
  assert.equal(dept.status, 201);
  b = { id: added.office.id, admin, password: body.admin.password, department: dept.body.id, token: added.token };
});
after(() => h.close());

test("one username in two offices; each office's name is its own and found only at its address", async () => {
  const me = async (c: Client) => (await c.get('/api/me')).body;
  const [meA, meB] = [await me(a.admin), await me(b.admin)];
  assert.equal(meA.username, 'admin');
  assert.equal(meB.username, 'admin');
  assert.notEqual(meA.id, meB.id);
  assert.equal(meA.id, a.adminId);
  // The office's name is the operator's, not the one typed into the wizard.
  const offices = await listOffices(h.services.store);
  assert.deepEqual(
    offices.map((o) => [o.name, o.host, o.setUp]),
    [
      ['Gesundheitsamt Musterstadt', null, true],
      ['Gesundheitsamt Nachbarkreis', HOST_B, true],
    ],
  );
  // Each office's administrator lists only its own accounts.
  const usersA = (await a.admin.get('/api/admin/users')).body as { id: string }[];
  const usersB = (await b.admin.get('/api/admin/users')).body as { id: string; username: string }[];
  assert.deepEqual(
    usersB.map((u) => u.username),
    ['admin'],
  );
  assert.ok(!usersA.some((u) => usersB.some((v) => v.id === u.id)));
});

test("the other office's username at the wrong address fails like an unknown name, on no office's chain", async () => {
  // A name only B has, tried at A's address; and one only A has (A's DPO), tried at B's.
  const bOnly = await b.admin.post('/api/admin/users', {
    username: 'nur-in-b',
    displayName: 'Nur B',
    tenantRoles: [],
    memberships: [],
  });
  assert.equal(bOnly.status, 201);
  const unknown = await new At(h, 'localhost').post('/api/auth/login', { username: 'niemand', password: 'x' });
  const wrongA = await new At(h, 'localhost').post('/api/auth/login', { username: 'nur-in-b', password: 'x' });
  const wrongB = await new At(h, HOST_B).post('/api/auth/login', { username: 'user1', password: 'x' });
  // B's admin with B's password at A's address: A's admin has another password.
  const crossed = await new At(h, 'localhost').post('/api/auth/login', { username: 'admin', password: b.password });
  for (const r of [wrongA, wrongB, crossed]) {
    assert.equal(r.status, unknown.status);
    assert.equal(r.body.code, unknown.body.code);
  }
  assert.equal(unknown.body.code, 'invalid-credentials');
  // Nothing of the attempts lands on B's chain: there, nobody tried B's accounts.
  const failedOnB = await inTenantTransaction(h.services.store, b.id, (tx) =>
    tx
      .selectFrom('audit_events')
      .select(['action', 'detail'])
      .where('tenant_id', '=', b.id)
      .where('outcome', '=', 'denied')
      .execute(),
  );
  assert.deepEqual(failedOnB, []);
  // With its port, and in upper case, B's address is still B's.
  const ok = await new At(h, `${HOST_B.toUpperCase()}:8443`).post('/api/auth/login', {
    username: 'admin',
    password: b.password,
  });
  assert.equal(ok.status, 200);
});

test("a session counts only at its own office's address", async () => {
  const stolen = (from: Client, host: string) => {
    const c = new At(h, host);
    c.cookie = from.cookie;
    c.csrf = from.csrf;
    return c;
  };
  assert.equal((await stolen(a.admin, 'localhost').get('/api/me')).status, 200);
  assert.equal((await stolen(a.admin, HOST_B).get('/api/me')).status, 401);
  assert.equal((await stolen(b.admin, 'localhost').get('/api/me')).status, 401);
  assert.equal((await stolen(b.admin, 'some-other.example').get('/api/me')).status, 401);
  assert.equal((await stolen(b.admin, HOST_B).get('/api/me')).status, 200);
  // A state change with the other office's session at its address: refused before anything is written.
  const r = await stolen(a.admin, HOST_B).post('/api/admin/departments', { code: 'XX', name: 'eingeschleust' });
  assert.equal(r.status, 401);
});

test("an API token replayed at another office's address is 401", async () => {
  const mint = async (c: Client) => {
    const r = await c.post('/api/auth/tokens', { name: 'Skript', scopes: ['records:read'], expiresInDays: 1 });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.token as string;
  };
  const [tokenA, tokenB] = [await mint(a.admin), await mint(b.admin)];
  const use = (token: string, host: string) =>
    new At(h, host).call('GET', '/api/me', undefined, { authorization: `Bearer ${token}` });
  assert.equal((await use(tokenA, 'localhost')).status, 200);
  assert.equal((await use(tokenB, HOST_B)).status, 200);
  assert.equal((await use(tokenA, HOST_B)).status, 401);
  assert.equal((await use(tokenB, 'localhost')).status, 401);
  assert.equal((await use(tokenB, HOST_C)).status, 401, 'an address no office claims is not B');
});

test("a setup link works only at its own office's address, once, and not after the office is set up", async () => {
  const c = await addOffice(h.services.store, h.services.keyring, h.services.audit, {
    name: 'Gesundheitsamt Drittland',
    host: HOST_C,
  });
  const before = (await listOffices(h.services.store)).length;
  // C's link at B's address and at A's: refused like a wrong token, and the link still works at C.
  for (const host of [HOST_B, 'localhost']) {
    const r = await new At(h, host).post('/api/setup', setupBody(c.token));
    assert.equal(r.status, 401, `${host}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, 'invalid-setup-token');
  }
  // B's spent link, at B's address or C's: refused.
  for (const host of [HOST_B, HOST_C]) {
    const r = await new At(h, host).post('/api/setup', setupBody(b.token));
    assert.equal(r.status, 401, JSON.stringify(r.body));
    assert.equal(r.body.code, 'invalid-setup-token');
  }
  // A renewed link replaces the first.
  const renewed = await renewOfficeSetup(h.services.store, 'gesundheitsamt drittland');
  assert.equal((await new At(h, HOST_C).post('/api/setup', setupBody(c.token))).status, 409, 'a token no more');
  const done = await new At(h, HOST_C).post('/api/setup', setupBody(renewed));
  assert.equal(done.status, 201, JSON.stringify(done.body));
  assert.equal(done.body.tenantId, c.office.id);
  assert.equal((await new At(h, HOST_C).post('/api/setup', setupBody(renewed, 'zweiter'))).status, 401);
  await assert.rejects(renewOfficeSetup(h.services.store, c.office.id), OfficeError);
  assert.equal((await listOffices(h.services.store)).length, before, 'no office was made by a setup');
  // C's admin: only C's accounts, only at C.
  const users = await inTenantTransaction(h.services.store, c.office.id, (tx) =>
    tx.selectFrom('users').select('tenant_id').where('tenant_id', '=', c.office.id).execute(),
  );
  assert.equal(users.length, 1);
});

test('devices: one AE title in two offices, each device reaches only its own office', async () => {
  const [certA, certB] = [testCertificate('OFFICE-A-CT'), testCertificate('OFFICE-B-CT')];
  const ra = await a.admin.post('/api/admin/devices', {
    aeTitle: 'CT_1',
    departmentId: a.departments.TB,
    permissions: ['store', 'find'],
    certificate: certA.cert,
  });
  const rb = await b.admin.post('/api/admin/devices', {
    aeTitle: 'CT_1',
    departmentId: b.department,
    permissions: ['store', 'find'],
    certificate: certB.cert,
  });
  assert.equal(ra.status, 201, JSON.stringify(ra.body));
  assert.equal(rb.status, 201, JSON.stringify(rb.body));
  const listA = (await a.admin.get('/api/admin/devices')).body as { id: string }[];
  const listB = (await b.admin.get('/api/admin/devices')).body as { id: string }[];
  assert.deepEqual(
    listB.map((d) => d.id),
    [rb.body.id],
  );
  assert.ok(listA.some((d) => d.id === ra.body.id) && !listA.some((d) => d.id === rb.body.id));
  // B's device cannot be removed by A's administrator (the other office's device is hidden).
  assert.equal((await a.admin.del(`/api/admin/devices/${rb.body.id}`)).status, 404);
  // The DICOM listener's identification: each certificate reaches its own office's device.
  const who = (fingerprint: string) =>
    h.dimseDeps.identifyDevice({
      callingAeTitle: 'CT_1',
      remoteAddress: '127.0.0.1',
      certificateFingerprint: fingerprint,
    });
  const idA = await who(certA.fingerprint256);
  const idB = await who(certB.fingerprint256);
  assert.ok(idA.ok && idB.ok);
  assert.equal(idA.principal.tenantId, a.tenantId);
  assert.equal(idB.principal.tenantId, b.id);
  assert.equal(idB.device.id, rb.body.id);
  const stranger = await who(testCertificate('STRANGER').fingerprint256);
  assert.equal(stranger.ok, false);
});

test('two `offices add` of one name, or one host, at once: exactly one wins', async () => {
  const add = (name: string, host: string) =>
    addOffice(h.services.store, h.services.keyring, h.services.audit, { name, host });
  const sameName = await Promise.allSettled([add('Amt Zwilling', 'z1.example'), add('AMT ZWILLING', 'z2.example')]);
  assert.equal(sameName.filter((r) => r.status === 'fulfilled').length, 1);
  const lost = sameName.find((r) => r.status === 'rejected') as PromiseRejectedResult;
  assert.ok(lost.reason instanceof OfficeError, String(lost.reason));
  assert.match(lost.reason.message, /exists already/);
  const sameHost = await Promise.allSettled([add('Amt Eins', 'gleich.example'), add('Amt Zwei', 'gleich.example')]);
  assert.equal(sameHost.filter((r) => r.status === 'fulfilled').length, 1);
  // A host-less office once the deployment has one, a bad host, a name with a control character: refused.
  await assert.rejects(
    addOffice(h.services.store, h.services.keyring, h.services.audit, { name: 'Ohne Adresse' }),
    OfficeError,
  );
  for (const host of ['amt b.example', '-x.example', 'a..b', 'x.example/path', 'x.example:80'])
    await assert.rejects(add('Schlechte Adresse', host), OfficeError, host);
  await assert.rejects(add('Amt\u001b[2J', 'esc.example'), OfficeError);
  // The losers left nothing behind: no office, no key, no chain without its office.
  const names = (await listOffices(h.services.store)).map((o) => o.name);
  assert.equal(names.filter((n) => /zwilling|amt eins|amt zwei/i.test(n)).length, 2);
  const heads = await h.services.store.db.selectFrom('audit_heads').select('tenant_id').execute();
  const tenants = new Set((await listOffices(h.services.store)).map((o) => o.id));
  assert.ok(heads.every((r) => r.tenant_id === DEPLOYMENT_CHAIN || tenants.has(r.tenant_id)));
});

test("the operator's list shows no office's data", async () => {
  const listed = JSON.stringify(await listOffices(h.services.store));
  for (const secret of ['admin', 'Berta', 'Ada Admin', 'Verwaltung']) assert.ok(!listed.includes(secret), secret);
});

test("PostgreSQL: an office's transaction sees none of the other office's rows, even unasked", {
  skip: DIALECT !== 'postgres' && 'row-level security is PostgreSQL only',
}, async () => {
  // No tenant condition in these queries: only the walls keep the other office out. (Accounts,
  // sessions, API tokens and devices are looked up before an office is known and so are not walled:
  // their queries name the office, which the tests above attack through the API.)
  const seen = (office: string) =>
    inTenantTransaction(h.services.store, office, async (tx) => ({
      departments: (await tx.selectFrom('departments').select('tenant_id').execute()).map((r) => r.tenant_id),
      keys: (await tx.selectFrom('data_keys').select('tenant_id').execute()).map((r) => r.tenant_id),
      audit: (await tx.selectFrom('audit_events').select('tenant_id').execute()).map((r) => r.tenant_id),
    }));
  for (const [office, other] of [
    [a.tenantId, b.id],
    [b.id, a.tenantId],
  ] as const) {
    const rows = await seen(office);
    for (const [table, ids] of Object.entries(rows)) {
      assert.ok(ids.length > 0, `${table}: the office's own rows are there`);
      assert.ok(!ids.includes(other), `${table}: none of the other office's`);
    }
  }
  // Writing a row for the other office inside this office's transaction: refused by the wall.
  await assert.rejects(
    inTenantTransaction(h.services.store, b.id, (tx) =>
      tx
        .insertInto('departments')
        .values({ id: crypto.randomUUID(), tenant_id: a.tenantId, code: 'XX', name: 'x', created_at: 'now' })
        .execute(),
    ),
    /row-level security/,
  );
});

test("an office's enrolment link points at its own address; a name another office uses is free here", async () => {
  // `user1` is office A's first account after its admin (the harness's DPO).
  const created = await b.admin.post('/api/admin/users', {
    username: 'user1',
    displayName: 'Bernd B',
    tenantRoles: [],
    memberships: [{ departmentId: b.department, role: 'clerk' }],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const link = new URL(created.body.enrolment.url);
  assert.equal(link.hostname, HOST_B);
  const password = strongPassword();
  const enrolled = await new At(h, HOST_B).post('/api/auth/enrol', { token: created.body.enrolment.token, password });
  assert.equal(enrolled.status, 204, JSON.stringify(enrolled.body));
  const bernd = await loginAt(HOST_B, 'user1', password);
  assert.equal((await bernd.get('/api/me')).body.displayName, 'Bernd B');
  // A's account of that name is untouched, and B's password does not open it at A's address.
  const atA = await new At(h, 'localhost').post('/api/auth/login', { username: 'user1', password });
  assert.equal(atA.status, 401);
  // A's links keep the installation's address.
  const createdA = await a.admin.post('/api/admin/users', {
    username: 'nur-in-a',
    displayName: 'Anna A',
    tenantRoles: [],
    memberships: [],
  });
  assert.equal(new URL(createdA.body.enrolment.url).hostname, new URL(h.config.publicUrl).hostname);
});

test("a login started at one office's address is not finished at another's", async () => {
  const first = await new At(h, HOST_B).post('/api/auth/login', { username: 'admin', password: b.password });
  assert.equal(first.status, 200);
  h.clock.now += 30_000;
  const code = totpCode(secrets.get(`${HOST_B}:admin`)!, h.clock.now);
  for (const host of ['localhost', HOST_C]) {
    const r = await new At(h, host).post('/api/auth/mfa', { challenge: first.body.challenge, code });
    assert.equal(r.status, 401, `${host}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, 'invalid-mfa-code');
  }
  // Refused before it was counted: at B's address the challenge and the code still work.
  const done = await new At(h, HOST_B).post('/api/auth/mfa', { challenge: first.body.challenge, code });
  assert.equal(done.status, 200, JSON.stringify(done.body));
});
