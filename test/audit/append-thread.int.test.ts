// Audited reads whose events are appended off the event loop (`Gate.read`,
// `audit/append-thread.ts`), attacked: reads and writes at once across a signed
// checkpoint, a read whose event cannot be written, a read that tries to write.
// On PostgreSQL `Gate.read` is `Gate.run`; the tests that need SQLite say so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { verifyAudit } from '../../src/audit/verify.ts';
import { CHECKPOINT_EVERY } from '../../src/audit/audit-log.ts';
import { authenticate } from '../../src/identity/sessions.ts';
import { DIALECT, startHarness, setUpTenant, samplePerson } from '../helpers/harness.ts';
import { openRawDb } from '../helpers/raw-db.ts';

const RECORD = {
  type: 'examination',
  sensitivity: 'normal',
  content: {
    date: '2026-11-02',
    reason: 'Umgebungsuntersuchung',
    findings: 'Befund-Kennwort-Xq7',
    diagnoses: ['Z11.1'],
  },
};

async function setUp() {
  const h = await startHarness();
  const t = await setUpTenant(h, ['TB']);
  const physician = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'physician' }] });
  const { body: person } = await physician.post('/api/persons', samplePerson(t.departments.TB!));
  const { body: record } = await physician.post(`/api/persons/${person.id}/records`, RECORD);
  return { h, t, physician, personId: person.id as string, recordId: record.id as string };
}

test('reads and writes at once across a checkpoint: every answered read is on record, the chain verifies, the 1000th is signed', async () => {
  const { h, t, physician, personId, recordId } = await setUp();
  try {
    // Bring the chain to 40 events short of its first checkpoint, so the reads below cross it.
    const audit = h.services.audit;
    await inTenantTransaction(h.services.store, t.tenantId, async (tx) => {
      for (let seq = 0; seq < CHECKPOINT_EVERY - 40; )
        seq = await audit.append(tx, {
          tenantId: t.tenantId,
          actorId: t.adminId,
          action: 'admin.department.list',
          resourceType: 'tenant',
          outcome: 'allowed',
        });
    });
    const reads = Array.from({ length: 150 }, () => physician.get(`/api/records/${recordId}`));
    const writes = Array.from({ length: 20 }, () => physician.post(`/api/persons/${personId}/records`, RECORD));
    const [read, written] = await Promise.all([Promise.all(reads), Promise.all(writes)]);
    assert.deepEqual(new Set(read.map((r) => r.status)), new Set([200]));
    assert.deepEqual(new Set(written.map((r) => r.status)), new Set([201]));
    assert.equal(read[0]!.body.content.findings, RECORD.content.findings);

    const db = await openRawDb(h);
    try {
      const events = await db.all(
        `SELECT count(*) AS n FROM audit_events WHERE tenant_id = ? AND action = 'record.read' AND resource_id = ? AND outcome = 'allowed'`,
        t.tenantId,
        recordId,
      );
      assert.equal(Number(events[0]!.n), 150, 'one event per answered read');
      const signed = await db.all(`SELECT seq FROM audit_checkpoints WHERE tenant_id = ? ORDER BY seq`, t.tenantId);
      assert.ok(
        signed.some((c) => Number(c.seq) === CHECKPOINT_EVERY),
        `the every-1000th checkpoint is signed: ${JSON.stringify(signed)}`,
      );
    } finally {
      await db.close();
    }
    const verdict = await verifyAudit(h.services.store, h.services.signer);
    assert.equal(verdict.ok, true, JSON.stringify(verdict));
  } finally {
    await h.close();
  }
});

test('a read whose event cannot be written is refused, shows nothing, and reads work again once it can', {
  skip: DIALECT !== 'sqlite' && 'the trigger below is SQLite’s',
}, async () => {
  const { h, t, physician, recordId } = await setUp();
  const db = await openRawDb(h);
  try {
    await db.run(
      `CREATE TRIGGER no_read_events BEFORE INSERT ON audit_events WHEN NEW.action = 'record.read'
       BEGIN SELECT RAISE(ABORT, 'the disk refuses'); END`,
    );
    const refused = await Promise.all(Array.from({ length: 30 }, () => physician.get(`/api/records/${recordId}`)));
    for (const r of refused) {
      assert.equal(r.status, 503);
      assert.equal(r.body.code, 'audit-unavailable');
      assert.doesNotMatch(JSON.stringify(r.body), /Befund-Kennwort/);
    }
    const none = await db.all(
      `SELECT count(*) AS n FROM audit_events WHERE tenant_id = ? AND action = 'record.read'`,
      t.tenantId,
    );
    assert.equal(Number(none[0]!.n), 0);
    await db.run(`DROP TRIGGER no_read_events`);
    const again = await physician.get(`/api/records/${recordId}`);
    assert.equal(again.status, 200);
    const verdict = await verifyAudit(h.services.store, h.services.signer);
    assert.equal(verdict.ok, true, JSON.stringify(verdict));
  } finally {
    await db.close();
    await h.close();
  }
});

test('work given to Gate.read that writes fails and writes nothing; the attempt is on record', {
  skip: DIALECT !== 'sqlite' && 'on PostgreSQL Gate.read is Gate.run',
}, async () => {
  const { h, t, physician, recordId } = await setUp();
  try {
    const { principal } = (await authenticate(h.services.store.db, physician.cookie!))!;
    const db = await openRawDb(h);
    const before = await db.all(`SELECT updated_at FROM records WHERE id = ?`, recordId);
    await assert.rejects(
      h.services.gate.read(principal, 'record.read', { kind: 'record', recordId }, async (ctx) => {
        await ctx.tx.updateTable('records').set({ updated_at: ctx.now }).where('id', '=', recordId).execute();
      }),
      /readonly|read-only/i,
    );
    try {
      const after = await db.all(`SELECT updated_at FROM records WHERE id = ?`, recordId);
      assert.deepEqual(after, before);
      const events = await db.all(
        `SELECT outcome FROM audit_events WHERE tenant_id = ? AND action = 'record.read' ORDER BY seq`,
        t.tenantId,
      );
      assert.deepEqual(
        events.map((e) => e.outcome),
        ['error'],
      );
    } finally {
      await db.close();
    }
  } finally {
    await h.close();
  }
});
