// What the DPO and administrators see of the installation itself: the audit
// chain's state (DPO) and the security report (administrators and the DPO).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { DIALECT, startHarness, setUpTenant, samplePerson, type Harness, type Tenant } from '../helpers/harness.ts';
import { accessCountsQuery } from '../../src/audit/audit-query.ts';
import { FINDING_CODES, SEVERITIES } from '../../src/ops/security-findings.ts';

let h: Harness;
let t: Tenant;
before(async () => {
  h = await startHarness();
  t = await setUpTenant(h, undefined, { approverDpo: false });
});
after(() => h.close());

test('the security report: for administrators and the DPO, most severe first, each finding with its fix', async () => {
  const before = await t.admin.get('/api/security-report');
  assert.equal(before.status, 200);
  assert.ok(before.body.some((f: { title: string }) => f.title === 'No data-protection officer account'));
  const rank = before.body.map((f: { severity: (typeof SEVERITIES)[number] }) => SEVERITIES.indexOf(f.severity));
  assert.deepEqual(
    rank,
    [...rank].sort((a: number, b: number) => a - b),
  );
  for (const f of before.body) assert.ok(f.fix.length > 0, f.title);
  // Each finding has a stable code (and its parameters), which the screen words in German or English.
  for (const f of before.body)
    assert.ok((FINDING_CODES as readonly string[]).includes(f.code), `${f.title}: code ${f.code}`);
  assert.ok(before.body.some((f: { code: string }) => f.code === 'no-dpo'));
  const mfa = before.body.find((f: { code: string }) => f.code === 'accounts-without-mfa');
  if (mfa) assert.equal(typeof mfa.params.n, 'number');
  const dpo = await t.user({ tenantRoles: ['dpo'] });
  const clerk = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'clerk' }] });
  assert.equal((await clerk.get('/api/security-report')).status, 403);
  const after = await dpo.get('/api/security-report');
  assert.equal(after.status, 200);
  assert.ok(
    !after.body.some((f: { title: string }) => f.title === 'No data-protection officer account'),
    'the finding goes once there is a DPO',
  );
});

test('the audit chain status: the DPO sees it verified up to the newest event; nobody else sees it', async () => {
  const clerk = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'clerk' }] });
  await clerk.post('/api/persons', samplePerson(t.departments.INF!));
  const dpo = await t.user({ tenantRoles: ['dpo'] });
  for (const who of [clerk, t.admin]) assert.equal((await who.get('/api/audit/status')).status, 403);
  const r = await dpo.get('/api/audit/status');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.ok, true);
  assert.equal(r.body.firstBad, null);
  const newest = (await dpo.get('/api/audit?limit=1')).body[0].seq;
  // The status request itself is on the record before the check runs.
  assert.ok(r.body.verifiedUpTo >= newest - 1 && r.body.verifiedUpTo <= newest, `${r.body.verifiedUpTo} vs ${newest}`);
  assert.ok(r.body.lastCheckpoint === null || r.body.lastCheckpoint.seq <= r.body.verifiedUpTo);
});

test('accesses per day and department: the DPO sees every department, a head its own, a clerk nothing', async () => {
  const infClerk = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'clerk' }] });
  const tbClerk = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'clerk' }] });
  const inf = (await infClerk.post('/api/persons', samplePerson(t.departments.INF!, 'Statistik'))).body.id;
  await infClerk.get(`/api/persons/${inf}`);
  await infClerk.get(`/api/persons/${inf}`);
  const tb = (await tbClerk.post('/api/persons', samplePerson(t.departments.TB!, 'Statistik'))).body.id;
  await tbClerk.get(`/api/persons/${tb}`);
  const from = new Date(Date.now() - 86_400_000).toISOString();
  const to = new Date(Date.now() + 60_000).toISOString();
  const today = new Date().toISOString().slice(0, 10);
  const range = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;

  const dpo = await t.user({ tenantRoles: ['dpo'] });
  const all = await dpo.get(`/api/audit/stats?${range}`);
  assert.equal(all.status, 200, JSON.stringify(all.body));
  const count = (rows: { day: string; departmentId: string; count: number }[], dept: string) =>
    rows.find((r) => r.day === today && r.departmentId === dept)?.count ?? 0;
  const infAll = count(all.body, t.departments.INF!);
  assert.ok(infAll >= 3, `INF ${infAll}`); // create + two reads (and earlier tests' events)
  assert.ok(count(all.body, t.departments.TB!) >= 2);

  const head = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'head' }] });
  const own = (await head.get(`/api/audit/stats?${range}`)).body;
  assert.equal(count(own, t.departments.TB!), 0, 'a head sees no other department');
  assert.ok(count(own, t.departments.INF!) >= 3);
  assert.equal((await infClerk.get(`/api/audit/stats?${range}`)).status, 403);
  const missing = await dpo.get('/api/audit/stats');
  assert.equal(missing.status, 422);
});

test('the per-day statistics read only the asked period, not every event of the office', {
  skip: DIALECT !== 'sqlite' && 'the query plan is checked on SQLite, where a full read stops the whole server',
}, () => {
  const q = accessCountsQuery(
    h.services.store.db,
    t.tenantId,
    'all',
    '2026-01-01T00:00:00Z',
    '2026-01-31T23:59:59Z',
  ).compile();
  const db = new Database(h.services.store.file!, { readonly: true });
  try {
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${q.sql}`).all(...(q.parameters as unknown[])) as { detail: string }[])
      .map((r) => r.detail)
      .join('\n');
    assert.match(plan, /SEARCH audit_events USING INDEX audit_events_at \(tenant_id=\? AND at>\? AND at<\?\)/, plan);
  } finally {
    db.close();
  }
});
