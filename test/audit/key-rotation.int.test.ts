// Rotating the audit signing key (issue 19): `kartei audit rotate-key` beside a
// running server. Old checkpoints still verify under the retired key they name,
// new ones are signed by the new key (the running server picks it up at its next
// checkpoint), every chain records the rotation, and no retired private key stays
// behind. A rotation killed after each of its steps leaves a chain that verifies,
// and the next run finishes it. An attacker who stole a retired key cannot sign
// after its successor, nor re-sign the witnessed head; an unknown key id does not
// verify; a second rotation is refused while one runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPrivateKey, sign } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyAudit, type VerifyResult } from '../../src/audit/verify.ts';
import { ROTATE_ACTION, TEST_CRASH_VARIABLE, type RotationStep } from '../../src/audit/signing-key-rotation.ts';
import { keyIdOf } from '../../src/audit/signing-key.ts';
import { CHAINED_COLUMNS, linkValues } from '../../src/audit/chain.ts';
import { DEPLOYMENT_CHAIN } from '../../src/db/schema.ts';
import { databaseFindings } from '../../src/ops/security-findings.ts';
import { startHarness, setUpTenant, samplePerson, type Harness, type Tenant } from '../helpers/harness.ts';
import { openRawDb } from '../helpers/raw-db.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The database beside the application, as its owner; `attack` switches the append-only triggers off. */
const rawDb = (h: Harness, attack = false) => openRawDb(h, { attack });

function kartei(h: Harness, args: string[], extra: Record<string, string> = {}) {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    NODE_ENV: 'test',
    KARTEI_LANG: 'en', // the command's English words: this test is about what it does
    KARTEI_DATA_DIR: h.config.dataDir,
    KARTEI_KEY_DIR: h.config.keyDir,
    KARTEI_LOG_LEVEL: 'silent',
    ...extra,
  };
  if (h.config.databaseUrl) env.KARTEI_DATABASE_URL = h.config.databaseUrl;
  if (h.config.databaseAdminUrl) env.KARTEI_DATABASE_ADMIN_URL = h.config.databaseAdminUrl;
  return spawnSync(process.execPath, ['bin/kartei.js', ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
}

interface Fixture {
  h: Harness;
  t: Tenant;
  read: () => Promise<void>;
  /** The signing key before the rotation, as a thief of the retired key holds it. */
  oldKeyDer: Buffer;
  oldKeyId: string;
}

async function fixture(): Promise<Fixture> {
  const h = await startHarness();
  const t = await setUpTenant(h, ['INF']);
  const clerk = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'clerk' }] });
  const { body: p } = await clerk.post('/api/persons', samplePerson(t.departments.INF!));
  const read = async () => assert.equal((await clerk.get(`/api/persons/${p.id}`)).status, 200);
  for (let i = 0; i < 3; i++) await read();
  await h.services.audit.checkpointAll();
  await read();
  const oldKeyDer = fs.readFileSync(path.join(h.config.keyDir, 'audit-signing.key'));
  return {
    h,
    t,
    read,
    oldKeyDer,
    oldKeyId: keyIdOf(createPrivateKey({ key: oldKeyDer, format: 'der', type: 'pkcs8' })),
  };
}

async function assertIntact(h: Harness) {
  const r = await verifyAudit(h.services.store, h.services.signer);
  assert.equal(r.ok, true, JSON.stringify(r));
}

function assertBroken(r: VerifyResult, tenantId: string, seq: number, problem: RegExp) {
  assert.equal(r.ok, false, `expected a broken chain, got ${JSON.stringify(r)}`);
  if (r.ok) return;
  assert.equal(r.tenantId, tenantId);
  assert.equal(r.seq, seq, `first bad sequence number (${r.problem})`);
  assert.match(r.problem, problem);
}

const retiredFile = (h: Harness) =>
  JSON.parse(fs.readFileSync(path.join(h.config.keyDir, 'audit-signing-retired.json'), 'utf8'));

/** After a finished rotation: one retired key (done), one event per chain, every chain's last checkpoint by the new key. */
async function assertRotated(f: Fixture): Promise<string> {
  const { h } = f;
  const newId = h.services.signer.keyId;
  assert.notEqual(newId, f.oldKeyId);
  const retired = retiredFile(h);
  assert.deepEqual(
    retired.keys.map((k: any) => [k.keyId, k.successor, k.done]),
    [[f.oldKeyId, newId, true]],
  );
  assert.equal(fs.statSync(path.join(h.config.keyDir, 'audit-signing-retired.json')).mode & 0o777, 0o600);
  assert.ok(!fs.existsSync(path.join(h.config.keyDir, 'audit-signing.next.key')));
  // No private half of the retired key anywhere in the key directory.
  const secret = createPrivateKey({ key: f.oldKeyDer, format: 'der', type: 'pkcs8' }).export({ format: 'jwk' })
    .d as string;
  for (const name of fs.readdirSync(h.config.keyDir)) {
    const bytes = fs.readFileSync(path.join(h.config.keyDir, name));
    assert.ok(!bytes.includes(f.oldKeyDer.subarray(-32)), `${name} holds the retired private key`);
    assert.ok(!bytes.toString('latin1').includes(secret), `${name} holds the retired private key (JWK)`);
  }
  const db = await rawDb(h);
  try {
    for (const chain of [DEPLOYMENT_CHAIN, f.t.tenantId]) {
      const events = await db.all(
        `SELECT detail FROM audit_events WHERE tenant_id = ? AND action = ?`,
        chain,
        ROTATE_ACTION,
      );
      assert.deepEqual(
        events.map((e) => JSON.parse(e.detail)),
        [{ retiredKeyId: f.oldKeyId, keyId: newId }],
        `${chain}: one rotation event, naming both key ids`,
      );
      const [last] = await db.all(
        `SELECT key_id, seq FROM audit_checkpoints WHERE tenant_id = ? ORDER BY seq DESC LIMIT 1`,
        chain,
      );
      assert.equal(last!.key_id, newId, `${chain}: signed by the new key`);
      const [head] = await db.all(`SELECT max(seq) AS seq FROM audit_events WHERE tenant_id = ?`, chain);
      assert.equal(Number(last!.seq), Number(head!.seq), `${chain}: signed up to its head`);
    }
    const oldOnes = await db.all(`SELECT count(*) AS n FROM audit_checkpoints WHERE key_id = ?`, f.oldKeyId);
    assert.ok(Number(oldOnes[0]!.n) > 0, 'checkpoints of the retired key are kept');
  } finally {
    await db.close();
  }
  await assertIntact(h);
  return newId;
}

test('rotate-key beside a running server: old checkpoints verify under the retired key, new ones under the new key, every chain records it', async () => {
  const f = await fixture();
  try {
    const out = kartei(f.h, ['audit', 'rotate-key']);
    assert.equal(out.status, 0, out.stderr + out.stdout);
    assert.match(out.stdout, /^rotated: audit signing key [0-9a-f]{16} replaces [0-9a-f]{16}/);
    assert.ok(!out.stdout.includes(f.oldKeyDer.toString('base64')));
    const newId = await assertRotated(f);
    // The running server signs its next checkpoint with the new key, and verifies the retired key's last one first.
    await f.read();
    await f.h.services.audit.checkpointAll();
    const db = await rawDb(f.h);
    try {
      const [last] = await db.all(
        `SELECT key_id FROM audit_checkpoints WHERE tenant_id = ? ORDER BY seq DESC LIMIT 1`,
        f.t.tenantId,
      );
      assert.equal(last!.key_id, newId);
    } finally {
      await db.close();
    }
    const witness = JSON.parse(fs.readFileSync(path.join(f.h.config.keyDir, 'audit-witness.json'), 'utf8'));
    assert.equal(witness.chains[f.t.tenantId].keyId, newId);
    const verify = kartei(f.h, ['audit', 'verify']);
    assert.equal(verify.status, 0, verify.stderr + verify.stdout);
    // A second rotation retires the second key too; all three generations verify.
    const again = kartei(f.h, ['audit', 'rotate-key']);
    assert.equal(again.status, 0, again.stderr + again.stdout);
    assert.deepEqual(
      retiredFile(f.h).keys.map((k: any) => k.keyId),
      [f.oldKeyId, newId],
    );
    await assertIntact(f.h);
  } finally {
    await f.h.close();
  }
});

const STEPS: RotationStep[] = ['next-written', 'retired', 'switched', 'one-chain-audited', 'audited', 'signed'];

for (const step of STEPS) {
  test(`a rotation killed after "${step}" leaves a chain that verifies, and the next run finishes it`, async () => {
    const f = await fixture();
    try {
      const crashed = kartei(f.h, ['audit', 'rotate-key'], { [TEST_CRASH_VARIABLE]: step });
      assert.equal(crashed.signal, 'SIGKILL', crashed.stderr + crashed.stdout);
      // In between, the running server goes on: it reads, signs, and everything verifies.
      await f.read();
      await f.h.services.audit.checkpointAll();
      await assertIntact(f.h);
      const cli = kartei(f.h, ['audit', 'verify']);
      assert.equal(cli.status, 0, cli.stderr + cli.stdout);
      const codes = async () => (await databaseFindings(f.h.services)).map((x) => x.code);
      assert.ok((await codes()).includes('audit-key-rotation-unfinished'), 'the doctor names the unfinished rotation');
      // A dead rotation's lock does not block the next run, which finishes this rotation.
      const rerun = kartei(f.h, ['audit', 'rotate-key']);
      assert.equal(rerun.status, 0, rerun.stderr + rerun.stdout);
      assert.match(rerun.stdout, /^finished the interrupted rotation/);
      await assertRotated(f);
      assert.ok(!(await codes()).includes('audit-key-rotation-unfinished'));
    } finally {
      await f.h.close();
    }
  });
}

test('a second rotation is refused while one runs', async () => {
  const f = await fixture();
  try {
    // This test process holds the lock, as a running rotation would.
    const lock = path.join(f.h.config.keyDir, 'audit-signing.rotation.lock');
    fs.writeFileSync(lock, String(process.pid), { mode: 0o600 });
    const out = kartei(f.h, ['audit', 'rotate-key']);
    assert.equal(out.status, 1, out.stderr + out.stdout);
    assert.match(out.stderr, /another rotation of the audit signing key is running/);
    assert.equal(f.h.services.signer.keyId, f.oldKeyId, 'nothing rotated');
    assert.ok(!fs.existsSync(path.join(f.h.config.keyDir, 'audit-signing.next.key')));
    assert.ok(fs.existsSync(lock), "the other rotation's lock is left alone");
  } finally {
    await f.h.close();
  }
});

/** A checkpoint row as the server writes it, signed with `der` (the thief's copy of a key). */
function forgedCheckpoint(der: Buffer, tenantId: string, seq: number, hash: string, at: string) {
  const claim = Buffer.from(`kartei-audit-checkpoint/v1|${tenantId}|${seq}|${hash}|${at}`, 'utf8');
  const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  return { signature: sign(null, claim, key).toString('base64'), keyId: keyIdOf(key) };
}

test('a stolen retired key cannot sign events appended after its successor signed', async () => {
  const f = await fixture();
  try {
    assert.equal(kartei(f.h, ['audit', 'rotate-key']).status, 0);
    const db = await rawDb(f.h, true);
    try {
      const tenantId = f.t.tenantId;
      // The thief holds the database, the chain key and the retired signing key: appends a well-linked event and signs it.
      const [last] = await db.all(`SELECT * FROM audit_events WHERE tenant_id = ? ORDER BY seq DESC LIMIT 1`, tenantId);
      const forged: Record<string, any> = {
        ...last,
        seq: Number(last!.seq) + 1,
        action: 'person.read',
        prev_hash: last!.hash,
      };
      forged.hash = linkValues(
        f.h.services.signer.chainKey,
        last!.hash,
        CHAINED_COLUMNS.map((c) => forged[c]),
      );
      const cols = Object.keys(forged);
      await db.run(
        `INSERT INTO audit_events (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
        ...cols.map((c) => forged[c]),
      );
      await db.run(`UPDATE audit_heads SET seq = ?, hash = ? WHERE tenant_id = ?`, forged.seq, forged.hash, tenantId);
      const at = new Date().toISOString();
      const cp = forgedCheckpoint(f.oldKeyDer, tenantId, forged.seq, forged.hash, at);
      await db.run(
        `INSERT INTO audit_checkpoints (tenant_id, seq, hash, at, key_id, signature) VALUES (?, ?, ?, ?, ?, ?)`,
        tenantId,
        forged.seq,
        forged.hash,
        at,
        cp.keyId,
        cp.signature,
      );
      assertBroken(
        await verifyAudit(f.h.services.store, f.h.services.signer),
        tenantId,
        forged.seq,
        /retired key after its successor/,
      );
    } finally {
      await db.close();
    }
  } finally {
    await f.h.close();
  }
});

test('the witnessed head re-signed with a stolen retired key, or a checkpoint naming an unknown key, is named', async () => {
  const f = await fixture();
  try {
    assert.equal(kartei(f.h, ['audit', 'rotate-key']).status, 0);
    const tenantId = f.t.tenantId;
    const witness = JSON.parse(fs.readFileSync(path.join(f.h.config.keyDir, 'audit-witness.json'), 'utf8')).chains[
      tenantId
    ];
    const db = await rawDb(f.h, true);
    try {
      const [cp] = await db.all(
        `SELECT * FROM audit_checkpoints WHERE tenant_id = ? AND seq = ?`,
        tenantId,
        witness.seq,
      );
      assert.equal(cp!.key_id, witness.keyId);
      // The checkpoints before it were the old key's: re-signing the last one with the old key keeps their order.
      await db.run(`DELETE FROM audit_checkpoints WHERE tenant_id = ? AND key_id <> ?`, tenantId, f.oldKeyId);
      const resigned = forgedCheckpoint(f.oldKeyDer, tenantId, witness.seq, cp!.hash, cp!.at);
      await db.run(
        `INSERT INTO audit_checkpoints (tenant_id, seq, hash, at, key_id, signature) VALUES (?, ?, ?, ?, ?, ?)`,
        tenantId,
        witness.seq,
        cp!.hash,
        cp!.at,
        resigned.keyId,
        resigned.signature,
      );
      assertBroken(
        await verifyAudit(f.h.services.store, f.h.services.signer),
        tenantId,
        witness.seq,
        /witnessed head signed by another key/,
      );
      // A key id nobody knows: the signature cannot verify.
      await db.run(
        `UPDATE audit_checkpoints SET key_id = ? WHERE tenant_id = ? AND seq = ?`,
        'f'.repeat(16),
        tenantId,
        witness.seq,
      );
      assertBroken(
        await verifyAudit(f.h.services.store, f.h.services.signer),
        tenantId,
        witness.seq,
        /signature does not verify/,
      );
    } finally {
      await db.close();
    }
  } finally {
    await f.h.close();
  }
});
