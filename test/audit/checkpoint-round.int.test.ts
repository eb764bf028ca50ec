// One checkpoint round at a time across instances (issue 19). Two instances on one
// database (a second set of services opened on the same installation, as a second
// `kartei serve` on the same PostgreSQL would) append and sign checkpoint rounds at
// the same time: no round fails on the other's checkpoint, no event is signed twice,
// and the chains verify. On PostgreSQL a round waits while another holds the round's
// advisory lock (held here by the test, as another instance in its round would).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { sql } from 'kysely';
import { createServices, type Services } from '../../src/services.ts';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { verifyAudit } from '../../src/audit/verify.ts';
import { CHECKPOINT_ROUND_LOCK } from '../../src/audit/audit-log.ts';
import { DIALECT, startHarness, setUpTenant } from '../helpers/harness.ts';

const append = (s: Services, tenantId: string, actorId: string) =>
  inTenantTransaction(s.store, tenantId, (tx) =>
    s.audit.append(tx, {
      tenantId,
      actorId,
      action: 'admin.department.list',
      resourceType: 'tenant',
      outcome: 'allowed',
    }),
  );

test('two instances sign checkpoint rounds at the same time: none fails, no event is signed twice, the chains verify', async () => {
  const h = await startHarness();
  const second = await createServices(h.config);
  try {
    const t = await setUpTenant(h, ['INF']);
    const instances = [h.services, second];
    await Promise.all(
      instances.map(async (s, i) => {
        for (let round = 0; round < 25; round++) {
          for (let k = 0; k < 3; k++) await append(s, t.tenantId, t.adminId);
          // Both instances' rounds overlap: each starts while the other's may be running.
          await Promise.all([s.audit.checkpointAll(), instances[1 - i]!.audit.checkpointAll()]);
        }
      }),
    );
    const rows = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
      tx.selectFrom('audit_checkpoints').select(['seq']).where('tenant_id', '=', t.tenantId).orderBy('seq').execute(),
    );
    const seqs = rows.map((r) => Number(r.seq));
    assert.equal(new Set(seqs).size, seqs.length, 'no sequence number signed twice');
    assert.ok(seqs.length >= 25, `rounds signed: ${seqs.length}`);
    const [head] = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
      tx.selectFrom('audit_heads').select('seq').where('tenant_id', '=', t.tenantId).execute(),
    );
    assert.equal(seqs.at(-1), Number(head!.seq), 'the last round signed the head');
    const r = await verifyAudit(h.services.store, h.services.signer);
    assert.ok(r.ok && r.unsignedTail === 0, JSON.stringify(r));
  } finally {
    await second.close();
    await h.close();
  }
});

test('on PostgreSQL a checkpoint round waits while another instance holds the round', {
  skip:
    DIALECT !== 'postgres' && 'the advisory lock is PostgreSQL’s; on SQLite the write transactions serialise rounds',
}, async () => {
  const h = await startHarness();
  const other = new pg.Client({ connectionString: h.config.databaseUrl });
  await other.connect();
  try {
    const t = await setUpTenant(h, ['INF']);
    await append(h.services, t.tenantId, t.adminId);
    // "Another instance" is in its round: it holds the lock, as the app role (no extra privilege needed).
    await other.query('select pg_advisory_lock(hashtextextended($1, 0))', [CHECKPOINT_ROUND_LOCK]);
    let finished = false;
    const round = h.services.audit.checkpointAll().then(() => (finished = true));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(finished, false, 'the round waits for the other instance');
    const waiting = await other.query(
      `select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted and database = (select oid from pg_database where datname = current_database())`,
    );
    assert.equal(waiting.rows[0].n, 1, 'one round is waiting on the advisory lock');
    const signedMeanwhile = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
      sql<{ n: number }>`select count(*)::int as n from audit_checkpoints where tenant_id = ${t.tenantId}`.execute(tx),
    );
    assert.equal(signedMeanwhile.rows[0]!.n, 0, 'nothing signed while the other round runs');
    await other.query('select pg_advisory_unlock(hashtextextended($1, 0))', [CHECKPOINT_ROUND_LOCK]);
    await round;
    assert.equal(finished, true);
    const r = await verifyAudit(h.services.store, h.services.signer);
    assert.ok(r.ok && r.unsignedTail === 0, JSON.stringify(r));
    // A round's lock dies with its connection: an instance killed in its round holds up nobody.
    await other.query('select pg_advisory_lock(hashtextextended($1, 0))', [CHECKPOINT_ROUND_LOCK]);
    await other.end();
    await h.services.audit.checkpointAll();
  } finally {
    await other.end().catch(() => undefined);
    await h.close();
  }
});
