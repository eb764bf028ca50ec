// Nobody but the person knows their credentials (issue 13), attacked the way an
// administrator gone rogue would: setting a password, redeeming or racing an
// enrolment link, granting a shadow account access, approving the own request,
// taking over an account through a reset; a session thief changing the
// password; racing approvals and recovery codes. Each of these worked, or had
// no guard, before enrolment links and approvals.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { tokenHash } from '../../src/identity/tokens.ts';
import { databaseFindings } from '../../src/ops/security-findings.ts';
import {
  Client,
  samplePerson,
  setUpTenant,
  startHarness,
  strongPassword,
  totpCode,
  type Harness,
  type Reply,
  type Tenant,
} from '../helpers/harness.ts';

let h: Harness;
let t: Tenant;
before(async () => {
  h = await startHarness();
  t = await setUpTenant(h, ['INF', 'TB', 'SPDI']);
});
let t2: Harness | undefined;
after(async () => {
  await h.close();
  await t2?.close();
});

/** A client at an address of its own, so throttling in one test decides nothing in another. */
const At = Client;
let ipSeq = 0;
const freshIp = () => `203.0.113.${++ipSeq}`;

/** A code of a fresh time step. */
function freshCode(secret: string, on: Harness = h): string {
  on.clock.now += 30_000;
  return totpCode(secret, on.clock.now);
}

/** Both login steps (enrolling the second factor if asked); returns the client, the TOTP secret and any recovery codes. */
const signIn = (username: string, password: string, secret?: string) => signInAt(h, username, password, secret);
async function signInAt(h: Harness, username: string, password: string, secret?: string) {
  const c = new At(h, freshIp());
  const first = await c.post('/api/auth/login', { username, password });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  const s = first.body.mfa === 'enroll' ? (first.body.totp.secret as string) : secret!;
  const second = await c.post('/api/auth/mfa', { challenge: first.body.challenge, code: freshCode(s, h) });
  assert.equal(second.status, 200, JSON.stringify(second.body));
  c.csrf = second.body.csrfToken;
  return { c, secret: s, recoveryCodes: second.body.recoveryCodes as string[] | undefined };
}

const approvalsOf = async (who: Client, userId: string) =>
  ((await who.get('/api/approvals')).body as { id: string; userId: string; kind: string }[]).filter(
    (a) => a.userId === userId,
  );

test('an administrator cannot set a password: the field is refused, and a new account has none until the person enrols', async () => {
  const refused = await t.admin.post('/api/admin/users', {
    username: 'mitpasswort',
    displayName: 'Mit Passwort',
    password: strongPassword(),
    tenantRoles: [],
    memberships: [],
  });
  assert.equal(refused.status, 422);
  const created = await t.admin.post('/api/admin/users', {
    username: 'ohnepasswort',
    displayName: 'Ohne Passwort',
    tenantRoles: [],
    memberships: [],
  });
  assert.equal(created.status, 201);
  assert.match(created.body.enrolment.url, /\/enrol#token=[\w-]{43}$/);
  assert.ok(Date.parse(created.body.enrolment.expiresAt) - Date.now() > 71 * 3_600_000, 'valid for 72 hours');
  // Nothing the admin could guess logs in: the account has no password at all.
  for (const password of ['', ' ', created.body.enrolment.token, 'ohnepasswort']) {
    assert.equal(
      (await new At(h, freshIp()).post('/api/auth/login', { username: 'ohnepasswort', password: password || 'x' }))
        .status,
      401,
    );
  }
  // The database holds the link's hash only.
  const row = await h.services.store.db
    .selectFrom('enrolments')
    .selectAll()
    .where('user_id', '=', created.body.id)
    .executeTakeFirstOrThrow();
  assert.equal(row.token_hash, tokenHash(created.body.enrolment.token));
  assert.ok(!JSON.stringify(row).includes(created.body.enrolment.token));
  const users = await t.admin.get('/api/admin/users');
  assert.equal(users.body.find((u: { id: string }) => u.id === created.body.id).passwordOrigin, 'none');
});

test('an enrolment link: a weak password leaves it valid; 20 parallel redemptions set one password; it is spent, expires, and a newer link voids it', async () => {
  const created = await t.admin.post('/api/admin/users', {
    username: 'einmalig',
    displayName: 'Erna Einmalig',
    tenantRoles: [],
    memberships: [],
  });
  const token = created.body.enrolment.token as string;
  const anon = new At(h, freshIp());
  const weak = await anon.post('/api/auth/enrol', { token, password: 'Einmalig2024!' });
  assert.equal(weak.status, 422);
  assert.equal(weak.body.code, 'weak-password');
  const passwords = Array.from({ length: 20 }, () => strongPassword());
  const replies = await Promise.all(
    passwords.map((password) => new At(h, freshIp()).post('/api/auth/enrol', { token, password })),
  );
  const won = replies.map((r, i) => [r.status, i] as const).filter(([s]) => s === 204);
  assert.equal(won.length, 1, JSON.stringify(replies.map((r) => r.status)));
  assert.ok(replies.every((r) => r.status === 204 || r.body.code === 'invalid-enrolment-link'));
  // Only the winner's password logs in.
  const winner = passwords[won[0]![1]]!;
  assert.equal(
    (await new At(h, freshIp()).post('/api/auth/login', { username: 'einmalig', password: winner })).status,
    200,
  );
  assert.equal(
    (
      await new At(h, freshIp()).post('/api/auth/login', {
        username: 'einmalig',
        password: passwords[(won[0]![1] + 1) % 20],
      })
    ).status,
    401,
  );
  assert.equal((await anon.post('/api/auth/enrol', { token, password: strongPassword() })).status, 401, 'spent');

  // Expired: a link older than its 72 hours is refused.
  const late = await t.admin.post('/api/admin/users', {
    username: 'verspaetet',
    displayName: 'Vera Verspätet',
    tenantRoles: [],
    memberships: [],
  });
  await h.services.store.db
    .updateTable('enrolments')
    .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
    .where('user_id', '=', late.body.id)
    .execute();
  assert.equal(
    (await anon.post('/api/auth/enrol', { token: late.body.enrolment.token, password: strongPassword() })).body.code,
    'invalid-enrolment-link',
  );
  assert.equal((await anon.post('/api/auth/enrol', { token: 'x'.repeat(43), password: strongPassword() })).status, 401);
});

test("no shadow account: a membership the admin grants gives nothing until the department's head approves; the admin, a DPO and another admin cannot", async () => {
  const SPDI = t.departments.SPDI!;
  const head = await t.user({ memberships: [{ departmentId: SPDI, role: 'head' }] });
  const file = await head.post('/api/persons', samplePerson(SPDI, 'Geheimnisvoll'));
  assert.equal(file.status, 201);
  const secondAdmin = await t.user({ tenantRoles: ['admin'] });
  const dpo = await t.user({ tenantRoles: ['dpo'] });

  const created = await t.admin.post('/api/admin/users', {
    username: 'schatten',
    displayName: 'Schatten',
    tenantRoles: [],
    memberships: [{ departmentId: SPDI, role: 'head' }],
  });
  assert.equal(created.status, 201);
  assert.equal(created.body.pendingApprovals.length, 1);
  const password = strongPassword();
  assert.equal(
    (await new At(h, freshIp()).post('/api/auth/enrol', { token: created.body.enrolment.token, password })).status,
    204,
  );
  const shadow = (await signIn('schatten', password)).c;
  assert.deepEqual((await shadow.get('/api/me')).body.memberships, [], 'a pending grant grants nothing');
  assert.equal((await shadow.get(`/api/persons/${file.body.id}`)).status, 404);
  assert.equal((await shadow.get('/api/persons?q=Geheimnisvoll')).status, 403);
  const listed = (await t.admin.get('/api/admin/users')).body.find((u: { id: string }) => u.id === created.body.id);
  assert.deepEqual(listed.memberships, [{ departmentId: SPDI, role: 'head', state: 'pending' }]);

  const [approvalId] = created.body.pendingApprovals as string[];
  // Not for the admin who asked, nor a DPO where the department has a head, nor another admin: not theirs to see.
  assert.equal((await t.admin.post(`/api/approvals/${approvalId}`, { decision: 'approve' })).status, 404);
  assert.equal((await dpo.post(`/api/approvals/${approvalId}`, { decision: 'approve' })).status, 404);
  assert.equal((await secondAdmin.post(`/api/approvals/${approvalId}`, { decision: 'approve' })).status, 404);
  assert.deepEqual(await approvalsOf(dpo, created.body.id), []);
  assert.deepEqual(await approvalsOf(t.admin, created.body.id), []);
  // Nor the account it is for, whatever it holds.
  assert.equal((await shadow.post(`/api/approvals/${approvalId}`, { decision: 'approve' })).status, 404);
  assert.equal((await shadow.get(`/api/persons/${file.body.id}`)).status, 404);

  // The head decides; twenty parallel decisions: exactly one counts.
  assert.equal((await approvalsOf(head, created.body.id)).length, 1);
  const decisions = await Promise.all(
    Array.from({ length: 20 }, () => head.post(`/api/approvals/${approvalId}`, { decision: 'approve' })),
  );
  assert.equal(decisions.filter((d) => d.status === 200).length, 1, JSON.stringify(decisions.map((d) => d.status)));
  assert.ok(decisions.every((d) => d.status === 200 || d.status === 404 || d.status === 409));
  assert.equal((await shadow.get(`/api/persons/${file.body.id}`)).status, 200);
});

test('tenant roles wait for another admin or a DPO; the first DPO is granted at once and flagged to the DPOs after it, who may withdraw it', async () => {
  // An office without a DPO yet: an installation of its own.
  const h2 = await startHarness();
  t2 = h2;
  const fresh = await setUpTenant(h2, ['INF'], { approverDpo: false });
  const first = await fresh.admin.post('/api/admin/users', {
    username: 'erstedsb',
    displayName: 'Erste Datenschutz',
    tenantRoles: ['dpo'],
    memberships: [],
  });
  assert.deepEqual(first.body.pendingApprovals, [], 'the office has no DPO yet: granted at once');
  const wannabe = await fresh.admin.post('/api/admin/users', {
    username: 'zweiteadmin',
    displayName: 'Zweite Admin',
    tenantRoles: ['admin'],
    memberships: [],
  });
  assert.equal(wannabe.body.pendingApprovals.length, 1);
  const users = (await fresh.admin.get('/api/admin/users')).body as {
    id: string;
    tenantRoles: string[];
    pendingRoles: { role: string }[];
  }[];
  assert.deepEqual(users.find((u) => u.id === wannabe.body.id)!.tenantRoles, []);
  assert.deepEqual(users.find((u) => u.id === wannabe.body.id)!.pendingRoles, [{ role: 'admin', state: 'pending' }]);
  assert.equal(
    (await fresh.admin.post(`/api/approvals/${wannabe.body.pendingApprovals[0]}`, { decision: 'approve' })).status,
    403,
    'not by the admin who asked',
  );

  // The first DPO enrols and approves the second DPO's role (no admin can approve a role it asked for).
  const enrolled = async (created: Reply) => {
    const password = strongPassword();
    assert.equal(
      (await new At(h2, freshIp()).post('/api/auth/enrol', { token: created.body.enrolment.token, password })).status,
      204,
    );
    return password;
  };
  const firstDpo = (await signInAt(h2, 'erstedsb', await enrolled(first))).c;
  const second = await fresh.admin.post('/api/admin/users', {
    username: 'zweitedsb',
    displayName: 'Zweite Datenschutz',
    tenantRoles: ['dpo'],
    memberships: [],
  });
  assert.equal(
    (await firstDpo.post(`/api/approvals/${second.body.pendingApprovals[0]}`, { decision: 'approve' })).status,
    200,
  );
  const secondDpo = (await signInAt(h2, 'zweitedsb', await enrolled(second))).c;
  const flagged = (await secondDpo.get('/api/approvals')).body.find(
    (a: { userId: string }) => a.userId === first.body.id,
  );
  assert.equal(flagged.state, 'exempt');
  assert.equal(flagged.role, 'dpo');
  assert.equal((await secondDpo.post(`/api/approvals/${flagged.id}`, { decision: 'reject' })).status, 200);
  const after = (await fresh.admin.get('/api/admin/users')).body.find((u: { id: string }) => u.id === first.body.id);
  assert.deepEqual(after.tenantRoles, [], 'withdrawn');
  // The admin role: a DPO approves.
  assert.equal(
    (await secondDpo.post(`/api/approvals/${wannabe.body.pendingApprovals[0]}`, { decision: 'approve' })).status,
    200,
  );
  assert.deepEqual(
    (await fresh.admin.get('/api/admin/users')).body.find((u: { id: string }) => u.id === wannabe.body.id).tenantRoles,
    ['admin'],
  );
});

test("a reset link: approved only by another admin or a head of the account's department, fetched only by the admin who asked", async () => {
  const INF = t.departments.INF!;
  const TB = t.departments.TB!;
  const infHead = await t.user({ memberships: [{ departmentId: INF, role: 'head' }] });
  const tbHead = await t.user({ memberships: [{ departmentId: TB, role: 'head' }] });
  const victim = await t.account({ memberships: [{ departmentId: INF, role: 'physician' }] });
  const { c: session, recoveryCodes } = await signIn(victim.username, victim.password);
  assert.equal(recoveryCodes!.length, 10);
  const token = (await session.post('/api/auth/tokens', { name: 'skript', expiresInDays: 7 })).body.token as string;

  const asked = await t.admin.post(`/api/admin/users/${victim.id}/enrolment`);
  assert.equal(asked.status, 201);
  assert.equal((await t.admin.get(`/api/admin/users/${victim.id}/enrolment`)).status, 409);
  assert.equal(
    (await tbHead.post(`/api/approvals/${asked.body.approvalId}`, { decision: 'approve' })).status,
    404,
    'a head of another department',
  );
  assert.equal(
    (await session.post(`/api/approvals/${asked.body.approvalId}`, { decision: 'approve' })).status,
    404,
    'the account itself',
  );
  assert.equal((await infHead.post(`/api/approvals/${asked.body.approvalId}`, { decision: 'approve' })).status, 200);
  const link = await t.admin.get(`/api/admin/users/${victim.id}/enrolment`);
  assert.equal(link.status, 200);
  // Fetched again, it is a new link: the first one no longer works.
  const again = await t.admin.get(`/api/admin/users/${victim.id}/enrolment`);
  const anon = new At(h, freshIp());
  assert.equal(
    (await anon.post('/api/auth/enrol', { token: link.body.token, password: strongPassword() })).status,
    401,
  );
  const newPassword = strongPassword();
  assert.equal((await anon.post('/api/auth/enrol', { token: again.body.token, password: newPassword })).status, 204);

  // Everything of before is void: the session, the API token, the password, the second factor's recovery codes.
  assert.equal((await session.get('/api/me')).status, 401);
  assert.equal(
    (await h.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${token}` } })).statusCode,
    401,
  );
  assert.equal(
    (await new At(h, freshIp()).post('/api/auth/login', { username: victim.username, password: victim.password }))
      .status,
    401,
  );
  const step = await new At(h, freshIp()).post('/api/auth/login', { username: victim.username, password: newPassword });
  assert.equal(step.body.mfa, 'enroll');
  assert.equal(
    (
      await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
        tx.selectFrom('recovery_codes').select('code_hash').where('user_id', '=', victim.id).execute(),
      )
    ).length,
    0,
  );
  // No one asked: no link to fetch.
  assert.equal((await t.admin.get(`/api/admin/users/${infHead.id}/enrolment`)).status, 404);
});

test('changing the own password needs the current one and a fresh code; guesses through it are throttled; other sessions end', async () => {
  const a = await t.account({});
  const first = await signIn(a.username, a.password);
  const other = await signIn(a.username, a.password, first.secret);
  // A thief with the session mints a token for later.
  const stolen = (await other.c.post('/api/auth/tokens', { name: 'dieb', expiresInDays: 30 })).body.token as string;
  const newPassword = strongPassword();
  const wrongPassword = await first.c.post('/api/me/password', {
    currentPassword: 'Falsch-Falsch-Falsch-1',
    newPassword,
    code: freshCode(first.secret),
  });
  assert.equal(wrongPassword.status, 422);
  assert.equal(wrongPassword.body.field, 'currentPassword');
  const wrongCode = await first.c.post('/api/me/password', {
    currentPassword: a.password,
    newPassword,
    code: '000000',
  });
  assert.equal(wrongCode.status, 422);
  assert.deepEqual(wrongCode.body, { ...wrongPassword.body }, 'one answer, whichever was wrong');
  // A session thief guessing the current password in parallel: at most the free attempts are checked.
  const guesses = await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      first.c.post('/api/me/password', { currentPassword: `Rate-Mal-${i}-Kennwort`, newPassword, code: '123456' }),
    ),
  );
  assert.ok(guesses.filter((g) => g.status === 422).length <= 5, JSON.stringify(guesses.map((g) => g.status)));
  assert.ok(guesses.some((g) => g.status === 429));
  // After the wait, the owner changes it.
  h.clock.now += 16 * 60_000;
  const code = freshCode(first.secret);
  const ok = await first.c.post('/api/me/password', { currentPassword: a.password, newPassword, code });
  assert.equal(ok.status, 204, JSON.stringify(ok.body));
  assert.equal((await first.c.get('/api/me')).status, 200, 'this session lives on');
  assert.equal((await other.c.get('/api/me')).status, 401, 'the other ended');
  assert.equal(
    (await h.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${stolen}` } })).statusCode,
    401,
    'and so did the tokens',
  );
  assert.equal(
    (await new At(h, freshIp()).post('/api/auth/login', { username: a.username, password: a.password })).status,
    401,
  );
  assert.equal(
    (await new At(h, freshIp()).post('/api/auth/login', { username: a.username, password: newPassword })).status,
    200,
  );
  // Not with an API token, even knowing both.
  const token = (await first.c.post('/api/auth/tokens', { name: 'skript', scopes: ['records:read'], expiresInDays: 1 }))
    .body.token as string;
  const byToken = await h.app.inject({
    method: 'POST',
    url: '/api/me/password',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    payload: JSON.stringify({
      currentPassword: newPassword,
      newPassword: strongPassword(),
      code: freshCode(first.secret),
    }),
  });
  assert.equal(byToken.statusCode, 403);
  // The same code does not serve twice.
  const replay = await first.c.post('/api/me/password', {
    currentPassword: newPassword,
    newPassword: strongPassword(),
    code,
  });
  assert.equal(replay.status, 422);
});

test('a recovery code stands in for the second factor once; ten parallel logins with one code get one session', async () => {
  const a = await t.account({});
  const { recoveryCodes } = await signIn(a.username, a.password);
  const code = recoveryCodes![0]!;
  const other = recoveryCodes![1]!;
  const challenges = await Promise.all(
    Array.from({ length: 10 }, async () => {
      const c = new At(h, freshIp());
      const r = await c.post('/api/auth/login', { username: a.username, password: a.password });
      return { c, challenge: r.body.challenge as string };
    }),
  );
  const replies = await Promise.all(
    challenges.map(({ c, challenge }) => c.post('/api/auth/mfa', { challenge, code: code!.toUpperCase() })),
  );
  assert.equal(replies.filter((r) => r.status === 200).length, 1, JSON.stringify(replies.map((r) => r.status)));
  const later = new At(h, freshIp());
  const step = await later.post('/api/auth/login', { username: a.username, password: a.password });
  assert.equal((await later.post('/api/auth/mfa', { challenge: step.body.challenge, code })).status, 401, 'spent');
  assert.equal((await later.post('/api/auth/mfa', { challenge: step.body.challenge, code: other })).status, 200);
  const events = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .selectFrom('audit_events')
      .select('detail')
      .where('actor_id', '=', a.id)
      .where('action', '=', 'auth.login')
      .execute(),
  );
  assert.equal(events.filter((e) => JSON.parse(e.detail!).mfa === 'recovery-code').length, 2);
});

test('kartei doctor: an account whose password an administrator chose (from before enrolment links) is critical until it is re-enrolled', async () => {
  const a = await t.account({});
  const critical = async () =>
    (await databaseFindings(h.services, t.tenantId)).filter(
      (f) => f.severity === 'critical' && /password an administrator chose/.test(f.title),
    );
  assert.deepEqual(await critical(), []);
  await h.services.store.db.updateTable('users').set({ password_origin: 'admin' }).where('id', '=', a.id).execute();
  assert.match((await critical())[0]!.title, /^1 active account/);
  await t.resetCredentials(a.id, a.username);
  assert.deepEqual(await critical(), []);
});

test("one admin alone cannot put a DPO of their own in place: the last DPO keeps the role, a later DPO waits for approval, an exemption is a DPO's to decide", async () => {
  const h3 = await startHarness();
  try {
    const office = await setUpTenant(h3, ['SPDI'], { approverDpo: false });
    const enrol = async (created: Reply) => {
      const password = strongPassword();
      assert.equal(
        (await new At(h3, freshIp()).post('/api/auth/enrol', { token: created.body.enrolment.token, password })).status,
        204,
      );
      return password;
    };
    const first = await office.admin.post('/api/admin/users', {
      username: 'dsb1',
      displayName: 'DSB Eins',
      tenantRoles: ['dpo'],
      memberships: [],
    });
    assert.deepEqual(first.body.pendingApprovals, []);
    const dpo1 = (await signInAt(h3, 'dsb1', await enrol(first))).c;
    // The attack: strip the real DPO, then the next DPO would count as "the first".
    const strip = await office.admin.patch(`/api/admin/users/${first.body.id}`, { tenantRoles: [] });
    assert.equal(strip.status, 409);
    assert.equal((await office.admin.patch(`/api/admin/users/${first.body.id}`, { active: false })).status, 409);
    const shadow = await office.admin.post('/api/admin/users', {
      username: 'schattendsb',
      displayName: 'Schatten DSB',
      tenantRoles: ['dpo'],
      memberships: [],
    });
    assert.equal(shadow.body.pendingApprovals.length, 1, 'a DPO is there: the next one waits');
    // A second admin (approved by the DPO) cannot decide the first DPO's exemption.
    const admin2 = await office.admin.post('/api/admin/users', {
      username: 'admin2',
      displayName: 'Admin Zwei',
      tenantRoles: ['admin'],
      memberships: [],
    });
    assert.equal(
      (await dpo1.post(`/api/approvals/${admin2.body.pendingApprovals[0]}`, { decision: 'approve' })).status,
      200,
    );
    const second = (await signInAt(h3, 'admin2', await enrol(admin2))).c;
    const exemption = (
      await inTenantTransaction(h3.services.store, office.tenantId, (tx) =>
        tx
          .selectFrom('approvals')
          .select('id')
          .where('user_id', '=', first.body.id)
          .where('state', '=', 'exempt')
          .executeTakeFirstOrThrow(),
      )
    ).id;
    assert.equal((await second.post(`/api/approvals/${exemption}`, { decision: 'approve' })).status, 404);
    assert.equal(
      (await second.post(`/api/approvals/${shadow.body.pendingApprovals[0]}`, { decision: 'reject' })).status,
      200,
    );
    // With a second DPO approved, the first may lose the role; an office that had DPOs never gets an exemption again.
    const dpo2 = await office.admin.post('/api/admin/users', {
      username: 'dsb2',
      displayName: 'DSB Zwei',
      tenantRoles: ['dpo'],
      memberships: [],
    });
    assert.equal(
      (await dpo1.post(`/api/approvals/${dpo2.body.pendingApprovals[0]}`, { decision: 'approve' })).status,
      200,
    );
    assert.equal((await office.admin.patch(`/api/admin/users/${first.body.id}`, { tenantRoles: [] })).status, 200);
    assert.equal((await office.admin.patch(`/api/admin/users/${dpo2.body.id}`, { tenantRoles: [] })).status, 409);
  } finally {
    await h3.close();
  }
});

test("a lower role takes access away at once: a physician demoted to clerk reads no restricted record, a sole head demoted loses the head's powers", async () => {
  const TB = t.departments.TB!;
  const head = await t.user({ memberships: [{ departmentId: TB, role: 'head' }] });
  const physician = await t.user({ memberships: [{ departmentId: TB, role: 'physician' }] });
  const person = (await physician.post('/api/persons', samplePerson(TB, 'Herabgestuft'))).body.id as string;
  const record = (
    await physician.post(`/api/persons/${person}/records`, {
      type: 'note',
      sensitivity: 'restricted',
      content: { text: 'Verdacht auf offene Tuberkulose' },
    })
  ).body.id as string;
  const demoted = await t.admin.patch(`/api/admin/users/${physician.id}`, {
    memberships: [{ departmentId: TB, role: 'clerk' }],
  });
  assert.deepEqual(demoted.body.memberships, [{ departmentId: TB, role: 'clerk', state: 'active' }]);
  assert.equal((await physician.get(`/api/records/${record}`)).status, 403);
  const headDemoted = await t.admin.patch(`/api/admin/users/${head.id}`, {
    memberships: [{ departmentId: TB, role: 'clerk' }],
  });
  assert.deepEqual(headDemoted.body.memberships, [{ departmentId: TB, role: 'clerk', state: 'active' }]);
  assert.equal((await head.put(`/api/departments/${TB}/settings`, { restrictedListing: 'hidden' })).status, 403);
});

test('an approved reset link goes stale: after 72 hours, and when the account has gained access since', async () => {
  const INF = t.departments.INF!;
  const SPDI = t.departments.SPDI!;
  const infHead = await t.user({ memberships: [{ departmentId: INF, role: 'head' }] });
  const spdiHead = await t.user({ memberships: [{ departmentId: SPDI, role: 'head' }] });
  const clerk = await t.account({ memberships: [{ departmentId: INF, role: 'clerk' }] });
  const approveReset = async () => {
    const asked = await t.admin.post(`/api/admin/users/${clerk.id}/enrolment`);
    assert.equal((await infHead.post(`/api/approvals/${asked.body.approvalId}`, { decision: 'approve' })).status, 200);
    return asked.body.approvalId as string;
  };
  // Approved for an INF clerk; then the clerk becomes an SPDI physician: the old approval does not carry over.
  await approveReset();
  const grant = await t.admin.patch(`/api/admin/users/${clerk.id}`, {
    memberships: [
      { departmentId: INF, role: 'clerk' },
      { departmentId: SPDI, role: 'physician' },
    ],
  });
  assert.equal(
    (
      await spdiHead.post(
        `/api/approvals/${grant.body.memberships && (await approvalsOf(spdiHead, clerk.id))[0]!.id}`,
        { decision: 'approve' },
      )
    ).status,
    200,
  );
  assert.equal((await t.admin.get(`/api/admin/users/${clerk.id}/enrolment`)).status, 404);
  // Approved, but not fetched within 72 hours.
  const approvalId = await approveReset();
  await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .updateTable('approvals')
      .set({ decided_at: new Date(Date.now() - 73 * 3_600_000).toISOString() })
      .where('id', '=', approvalId)
      .execute(),
  );
  assert.equal((await t.admin.get(`/api/admin/users/${clerk.id}/enrolment`)).status, 404);
});

test('the last DPO stays under parallel requests: every DPO stripped or deactivated at once leaves exactly one', async () => {
  const h4 = await startHarness();
  try {
    const office = await setUpTenant(h4, ['SPDI']);
    for (let i = 0; i < 4; i++) await office.user({ tenantRoles: ['dpo'] });
    const dpoIds = async () =>
      ((await office.admin.get('/api/admin/users')).body as { id: string; active: boolean; tenantRoles: string[] }[])
        .filter((u) => u.active && u.tenantRoles.includes('dpo'))
        .map((u) => u.id);
    const ids = await dpoIds();
    assert.ok(ids.length >= 4);
    const replies = await Promise.all(
      ids.map((id, i) => office.admin.patch(`/api/admin/users/${id}`, i % 2 ? { active: false } : { tenantRoles: [] })),
    );
    assert.deepEqual(replies.map((r) => r.status).sort(), [...Array(ids.length - 1).fill(200), 409]);
    assert.equal((await dpoIds()).length, 1, 'the office keeps one active DPO');
  } finally {
    await h4.close();
  }
});

test('two "first" DPOs asked for at once: one is granted without approval, the other waits', async () => {
  const h5 = await startHarness();
  try {
    const office = await setUpTenant(h5, ['SPDI'], { approverDpo: false });
    const replies = await Promise.all(
      [1, 2, 3].map((i) =>
        office.admin.post('/api/admin/users', {
          username: `erstdsb${i}`,
          displayName: `Erste DSB ${i}`,
          tenantRoles: ['dpo'],
          memberships: [],
        }),
      ),
    );
    assert.deepEqual(
      replies.map((r) => r.status),
      [201, 201, 201],
    );
    assert.deepEqual(replies.map((r) => (r.body.pendingApprovals as string[]).length).sort(), [0, 1, 1]);
  } finally {
    await h5.close();
  }
});
