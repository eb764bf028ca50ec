// A flood of verifications asked for over HTTP (s25): GET /api/audit/status and GET /api/security-report
// each verify the office's chain. At most two verifications run at once in the server, and requests
// for the same office that wait together share the one that starts next — never one that began
// before the request (checked here as: every answer covers the events before the flood). On
// PostgreSQL the flood holds no more database connections than the pool and two verifications' own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { sharedVerifyStats } from '../../src/audit/verify-shared.ts';
import { DIALECT, startHarness, setUpTenant, samplePerson } from '../helpers/harness.ts';

test('forty status and ten report requests at once: two verifications at a time, none answered with a verification begun before the flood', async () => {
  const h = await startHarness();
  const watcher = DIALECT === 'postgres' ? new pg.Client({ connectionString: h.config.databaseAdminUrl }) : undefined;
  try {
    const t = await setUpTenant(h, ['INF']);
    const clerk = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'clerk' }] });
    const { body: p } = await clerk.post('/api/persons', samplePerson(t.departments.INF!));
    for (let i = 0; i < 20; i++) assert.equal((await clerk.get(`/api/persons/${p.id}`)).status, 200);
    const dpo = await t.user({ tenantRoles: ['dpo'] });
    const before = (await dpo.get('/api/audit?limit=1')).body[0].seq as number;
    const stats0 = sharedVerifyStats();
    // PostgreSQL: the connections of the flood, sampled while it runs.
    let most = 0;
    let sampling = true;
    const sampler = (async () => {
      if (!watcher) return;
      await watcher.connect();
      while (sampling) {
        const r = await watcher.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database()`,
        );
        most = Math.max(most, r.rows[0].n);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const answers = await Promise.all([
      ...Array.from({ length: 40 }, () => dpo.get('/api/audit/status')),
      ...Array.from({ length: 10 }, () => t.admin.get('/api/security-report')),
    ]);
    sampling = false;
    await sampler;
    for (const a of answers) assert.equal(a.status, 200, JSON.stringify(a.body));
    for (const a of answers.slice(0, 40)) {
      assert.equal(a.body.ok, true, JSON.stringify(a.body));
      // The request's own audit event (after `before`) is covered: no answer from a verification begun before it.
      assert.ok(a.body.verifiedUpTo > before, `${a.body.verifiedUpTo} ≤ ${before}`);
    }
    for (const a of answers.slice(40))
      assert.ok(!a.body.some((f: { code: string }) => f.code === 'audit-chain-broken'), JSON.stringify(a.body));
    const stats = sharedVerifyStats();
    assert.ok(stats.most <= 2, `${stats.most} verifications at once`);
    assert.ok(stats.started - stats0.started < 50, `${stats.started - stats0.started} verifications for 50 requests`);
    assert.ok(stats.started > stats0.started, 'the requests were verified');
    // Pool (10) + the watcher + per verification its reader: far below a connection per request.
    if (watcher) assert.ok(most <= 16, `${most} connections during the flood`);
  } finally {
    await watcher?.end().catch(() => undefined);
    await h.close();
  }
});
