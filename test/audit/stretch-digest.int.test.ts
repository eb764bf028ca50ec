// Checkpoints that sign the digest of their stretch (issue 18/19, migration 033):
// `audit verify` checks a signed stretch with one hash, row links only for what no such
// checkpoint covers; a stretch whose digest differs is verified row by row and names
// the first bad event. The digest, the stretch's start and the signing key are in the
// signed claim: changing or removing any of them breaks the signature. Checkpoints
// signed before (v1, no digest) still verify, and the next one continues from them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, hash, randomBytes, sign } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { verifyAudit, type VerifyResult } from '../../src/audit/verify.ts';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { POSTGRES_STRETCH_SQL, SQLITE_STRETCH_SQL, serialiseRows } from '../../src/audit/batch-digest.ts';
import { CheckpointSigner } from '../../src/audit/signing-key.ts';
import { Witness } from '../../src/audit/witness.ts';
import { databaseFindings } from '../../src/ops/security-findings.ts';
import { DIALECT, startHarness, setUpTenant, samplePerson, type Harness } from '../helpers/harness.ts';
import { attackerDb } from '../helpers/raw-db.ts';

function assertBroken(r: VerifyResult, tenantId: string, seq: number, problem: RegExp) {
  assert.equal(r.ok, false, `expected a broken chain, got ${JSON.stringify(r)}`);
  if (r.ok) return;
  assert.equal(r.tenantId, tenantId);
  assert.equal(r.seq, seq, `first bad sequence number (${r.problem})`);
  assert.match(r.problem, problem);
}

/**
 * Verifies twice: on the calling thread, and with every stretch's digest checked by a worker thread
 * (issue 18: a long chain's stretches are shared with workers); the two must agree.
 */
async function verify(h: Harness): Promise<VerifyResult> {
  const here = await verifyAudit(h.services.store, h.services.signer);
  const inWorkers = await verifyAudit(h.services.store, h.services.signer, {
    split: { parallelFrom: 0, chunk: 7, workersOnly: true },
  });
  const verdict = (r: VerifyResult) => (r.ok ? r : { ...r, count: undefined });
  assert.deepEqual(verdict(inWorkers), verdict(here), 'stretches checked on a worker thread agree with this thread');
  return here;
}
const signingKey = (h: Harness) =>
  createPrivateKey({
    key: fs.readFileSync(path.join(h.config.keyDir, 'audit-signing.key')),
    format: 'der',
    type: 'pkcs8',
  });

async function fixture() {
  const h = await startHarness();
  const t = await setUpTenant(h, ['INF']);
  const clerk = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'clerk' }] });
  const { body: p } = await clerk.post('/api/persons', samplePerson(t.departments.INF!));
  const read = async (n: number) => {
    for (let i = 0; i < n; i++) assert.equal((await clerk.get(`/api/persons/${p.id}`)).status, 200);
  };
  await read(4);
  return { h, t, read };
}

test('a signed stretch verifies by its digest: row links are needed only after the last such checkpoint', async () => {
  const { h, t, read } = await fixture();
  try {
    await h.services.audit.checkpointAll();
    const db = await attackerDb(h);
    const [cp] = await db.all(
      `SELECT * FROM audit_checkpoints WHERE tenant_id = ? ORDER BY seq DESC LIMIT 1`,
      t.tenantId,
    );
    await db.close();
    assert.equal(Number(cp!.from_seq), 0);
    assert.match(cp!.digest, /^[0-9a-f]{64}$/);
    assert.equal(cp!.prev_hash, '0'.repeat(64));
    assert.ok((await verify(h)).ok);
    // A verifier without the chain key (links cannot be recomputed) still passes every signed stretch...
    const keyless = new CheckpointSigner(
      signingKey(h),
      { key: randomBytes(32), legacyUntil: {} },
      new Witness(path.join(h.config.keyDir, 'audit-witness.json')),
      h.config.keyDir,
    );
    assert.ok((await verifyAudit(h.services.store, keyless)).ok, 'signed stretches are not re-linked');
    assert.ok(
      (await verifyAudit(h.services.store, keyless, { split: { parallelFrom: 0, chunk: 7, workersOnly: true } })).ok,
      'nor when a worker thread checks their digests',
    );
    // ...and fails on the first event after the last checkpoint, which only its link vouches for.
    await read(1);
    assertBroken(
      await verifyAudit(h.services.store, keyless, { only: [t.tenantId] }),
      t.tenantId,
      cp!.seq + 1,
      /altered/,
    );
    assert.ok((await verify(h)).ok);
  } finally {
    await h.close();
  }
});

test("a row changed inside a signed stretch fails the digest and is named row by row, the link column's too", async () => {
  const { h, t } = await fixture();
  try {
    await h.services.audit.checkpointAll();
    const db = await attackerDb(h);
    try {
      const target = 3;
      const [row] = await db.all(`SELECT * FROM audit_events WHERE tenant_id = ? AND seq = ?`, t.tenantId, target);
      await db.run(
        `UPDATE audit_events SET detail = ? WHERE tenant_id = ? AND seq = ?`,
        '{"count":9}',
        t.tenantId,
        target,
      );
      assertBroken(await verify(h), t.tenantId, target, /altered/);
      await db.run(
        `UPDATE audit_events SET detail = ? WHERE tenant_id = ? AND seq = ?`,
        row!.detail,
        t.tenantId,
        target,
      );
      assert.ok((await verify(h)).ok);
      // Only a stored link changed (the content untouched): the stretch's bytes differ, the row is named.
      await db.run(
        `UPDATE audit_events SET hash = ? WHERE tenant_id = ? AND seq = ?`,
        'f'.repeat(64),
        t.tenantId,
        target,
      );
      assertBroken(await verify(h), t.tenantId, target, /altered|link/);
    } finally {
      await db.close();
    }
  } finally {
    await h.close();
  }
});

test("a checkpoint's digest, stretch start or previous hash changed, or all three removed, breaks its signature", async () => {
  const { h, t } = await fixture();
  try {
    await h.services.audit.checkpointAll();
    const db = await attackerDb(h);
    try {
      const [cp] = await db.all(`SELECT * FROM audit_checkpoints WHERE tenant_id = ?`, t.tenantId);
      const edits: [string, unknown[]][] = [
        ['digest = ?', ['0'.repeat(64)]],
        ['from_seq = ?', [2]],
        ['prev_hash = ?', ['1'.repeat(64)]],
        ['digest = NULL, from_seq = NULL, prev_hash = NULL', []],
      ];
      for (const [set, values] of edits) {
        await db.run(
          `UPDATE audit_checkpoints SET ${set} WHERE tenant_id = ? AND seq = ?`,
          ...values,
          t.tenantId,
          cp!.seq,
        );
        assertBroken(await verify(h), t.tenantId, cp!.seq, /signature does not verify/);
        await db.run(
          `UPDATE audit_checkpoints SET digest = ?, from_seq = ?, prev_hash = ? WHERE tenant_id = ? AND seq = ?`,
          cp!.digest,
          cp!.from_seq,
          cp!.prev_hash,
          t.tenantId,
          cp!.seq,
        );
        assert.ok((await verify(h)).ok, set);
      }
    } finally {
      await db.close();
    }
  } finally {
    await h.close();
  }
});

// audit verify reads the stretches while the signatures are still being checked (issue 18): a stretch whose
// digest an attacker made match rewritten rows must still not pass, because its checkpoint's signature fails.
test('rows rewritten and their checkpoint given the digest of the new rows: the forged stretch is not taken, the row is named', async () => {
  const { h, t } = await fixture();
  try {
    await h.services.audit.checkpointAll();
    const db = await attackerDb(h);
    try {
      const [cp] = await db.all(`SELECT * FROM audit_checkpoints WHERE tenant_id = ?`, t.tenantId);
      const target = 3;
      assert.ok(Number(cp!.from_seq) < target && target < Number(cp!.seq));
      await db.run(
        `UPDATE audit_events SET detail = ? WHERE tenant_id = ? AND seq = ?`,
        '{"count":9}',
        t.tenantId,
        target,
      );
      // The digest of the rows as they are now, exactly as verify computes it on this dialect.
      const digest =
        DIALECT === 'sqlite'
          ? hash('sha256', (await db.all(SQLITE_STRETCH_SQL, t.tenantId, cp!.from_seq, cp!.seq))[0]!.rows, 'hex')
          : hash(
              'sha256',
              serialiseRows(
                (await db.all(POSTGRES_STRETCH_SQL, t.tenantId, cp!.from_seq, cp!.seq)).map((r) => Object.values(r)),
              ),
              'hex',
            );
      assert.notEqual(digest, cp!.digest);
      await db.run(
        `UPDATE audit_checkpoints SET digest = ? WHERE tenant_id = ? AND seq = ?`,
        digest,
        t.tenantId,
        cp!.seq,
      );
      assertBroken(await verify(h), t.tenantId, target, /altered/);
    } finally {
      await db.close();
    }
  } finally {
    await h.close();
  }
});

test('checkpoints signed before the digests (v1) still verify, and the next checkpoint continues from them', async () => {
  const { h, t, read } = await fixture();
  try {
    const db = await attackerDb(h);
    try {
      // A checkpoint as the code before migration 033 signed it: the v1 claim, no stretch.
      const [head] = await db.all(`SELECT seq, hash FROM audit_heads WHERE tenant_id = ?`, t.tenantId);
      const at = new Date().toISOString();
      const claim = Buffer.from(`kartei-audit-checkpoint/v1|${t.tenantId}|${head!.seq}|${head!.hash}|${at}`, 'utf8');
      await db.run(
        `INSERT INTO audit_checkpoints (tenant_id, seq, hash, at, key_id, signature) VALUES (?, ?, ?, ?, ?, ?)`,
        t.tenantId,
        head!.seq,
        head!.hash,
        at,
        h.services.signer.keyId,
        sign(null, claim, signingKey(h)).toString('base64'),
      );
      assert.ok((await verify(h)).ok);
      await read(3);
      await h.services.audit.checkpointAll();
      const cps = await db.all(
        `SELECT seq, from_seq, digest FROM audit_checkpoints WHERE tenant_id = ? ORDER BY seq`,
        t.tenantId,
      );
      assert.equal(cps.length, 2);
      assert.equal(cps[0]!.digest, null);
      assert.equal(Number(cps[1]!.from_seq), Number(head!.seq));
      assert.ok((await verify(h)).ok);
      // The old stretch is verified row by row: an edit there is named as before.
      await db.run(`UPDATE audit_events SET outcome = 'denied' WHERE tenant_id = ? AND seq = 2`, t.tenantId);
      assertBroken(await verify(h), t.tenantId, 2, /altered/);
    } finally {
      await db.close();
    }
  } finally {
    await h.close();
  }
});

// SQLite stores any type in any column once the triggers are gone: a BLOB in a chained text column makes SQLite's
// json_array refuse the whole stretch. That stretch does not hold; verify, the status and the doctor name the row,
// they do not fail with SQLite's error (an attacker's one write would otherwise silence every check of the chain).
test('a BLOB written into a chained text column inside a signed stretch is named, not an error', {
  skip: DIALECT !== 'sqlite' && 'only SQLite stores a BLOB in a text column',
}, async () => {
  const { h, t } = await fixture();
  try {
    const dpo = await t.user({ tenantRoles: ['dpo'] });
    await h.services.audit.checkpointAll();
    const db = await attackerDb(h);
    try {
      const target = 3;
      await db.run(
        `UPDATE audit_events SET detail = CAST(detail AS BLOB) WHERE tenant_id = ? AND seq = ?`,
        t.tenantId,
        target,
      );
      assertBroken(await verify(h), t.tenantId, target, /altered/);
      const status = await dpo.get('/api/audit/status');
      assert.equal(status.status, 200, JSON.stringify(status.body));
      assert.equal(status.body.firstBad?.seq, target);
      const findings = await databaseFindings(h.services);
      assert.ok(findings.some((f) => f.code === 'audit-chain-broken' && f.params?.seq === target));
    } finally {
      await db.close();
    }
  } finally {
    await h.close();
  }
});

// The stretch's form writes reason_enc as hex, and SQLite's hex() of a TEXT is that of its bytes: the sealed reason
// turned into a TEXT of the same bytes (an access report can no longer open it) must not leave the digest as signed.
test("a sealed reason turned into a TEXT of the same bytes is named, the stretch's digest does not hold", {
  skip: DIALECT !== 'sqlite' && 'only SQLite stores a TEXT in a BLOB column',
}, async () => {
  const { h, t } = await fixture();
  try {
    const seq = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
      h.services.audit.append(tx, {
        tenantId: t.tenantId,
        actorId: null,
        action: 'test.emergency',
        resourceType: 'test',
        outcome: 'allowed',
        reason: 'Notfall: bewusstlos eingeliefert',
      }),
    );
    await h.services.audit.checkpointAll();
    assert.ok((await verify(h)).ok);
    const db = await attackerDb(h);
    try {
      await db.run(
        `UPDATE audit_events SET reason_enc = CAST(reason_enc AS TEXT) WHERE tenant_id = ? AND seq = ?`,
        t.tenantId,
        seq,
      );
      const [row] = await db.all(
        `SELECT typeof(reason_enc) AS type FROM audit_events WHERE tenant_id = ? AND seq = ?`,
        t.tenantId,
        seq,
      );
      assert.equal(row!.type, 'text');
      assertBroken(await verify(h), t.tenantId, seq, /altered/);
    } finally {
      await db.close();
    }
  } finally {
    await h.close();
  }
});
