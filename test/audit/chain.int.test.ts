// The tamper story: the audit log is a chain of HMAC links with Ed25519-signed
// checkpoints. An attacker who holds the database (and knows the algorithms,
// but not the chain key or the signing key in the key directory) edits,
// removes, cuts off, forges or recomputes events behind the application's
// back; each time `verifyAudit` and `kartei audit verify` fail and name the
// first bad sequence number. Some cases grant the attacker the chain key as
// well (`stolen`), to show that the signed checkpoints and the witnessed heads
// still hold on their own. The append-only triggers and, on PostgreSQL, the app role's
// missing privileges stop the cheap version of each attack in the first place.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { DEPLOYMENT_CHAIN } from '../../src/db/schema.ts';
import { verifyAudit, type VerifyResult } from '../../src/audit/verify.ts';
import { CHAINED_COLUMNS, canonicalValues, linkValues, GENESIS_HASH, type ChainKeying } from '../../src/audit/chain.ts';
import { databaseFindings } from '../../src/ops/security-findings.ts';
import { AuditLog, CHECKPOINT_EVERY } from '../../src/audit/audit-log.ts';
import { auditVerifyCli } from '../helpers/kartei-cli.ts';
import { DIALECT, startHarness, setUpTenant, samplePerson, type Harness, type Tenant } from '../helpers/harness.ts';
import { attackerDb, openRawDb, type RawDb } from '../helpers/raw-db.ts';

/** A plain connection to the database, beside the application: `?` placeholders on both dialects. */
const rawDb = (h: Harness, url = h.config.databaseAdminUrl) => openRawDb(h, { url });
/** The attacker: owns the database file / superuser, and switches the append-only triggers off first. */
const attacker = attackerDb;

/** A running installation with a realistic chain: a file created, read, denied to another department, signed, read again. */
interface Fixture {
  h: Harness;
  t: Tenant;
  personId: string;
  clerkId: string;
  otherId: string;
  /** Sequence numbers in the tenant's chain. */
  reads: number[];
  denied: number;
  checkpoint: number;
  last: number;
}

async function fixture(): Promise<Fixture> {
  const h = await startHarness();
  const t = await setUpTenant(h, ['INF', 'TB']);
  const clerk = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'clerk' }] });
  const other = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'clerk' }] });
  const { body: p } = await clerk.post('/api/persons', samplePerson(t.departments.INF!));
  for (let i = 0; i < 6; i++) assert.equal((await clerk.get(`/api/persons/${p.id}`)).status, 200);
  assert.equal((await other.get(`/api/persons/${p.id}`)).status, 404);
  await h.services.audit.checkpointAll();
  for (let i = 0; i < 4; i++) assert.equal((await clerk.get(`/api/persons/${p.id}`)).status, 200);

  const db = await rawDb(h);
  try {
    const reads = (
      await db.all(
        `SELECT seq FROM audit_events WHERE tenant_id = ? AND action = 'person.read' AND outcome = 'allowed' ORDER BY seq`,
        t.tenantId,
      )
    ).map((r) => Number(r.seq));
    const [denied] = await db.all(
      `SELECT seq FROM audit_events WHERE tenant_id = ? AND outcome = 'denied'`,
      t.tenantId,
    );
    const cps = await db.all(`SELECT seq FROM audit_checkpoints WHERE tenant_id = ? ORDER BY seq`, t.tenantId);
    const [last] = await db.all(`SELECT max(seq) AS seq FROM audit_events WHERE tenant_id = ?`, t.tenantId);
    assert.equal(reads.length, 10);
    assert.equal(cps.length, 1);
    const f = {
      h,
      t,
      personId: p.id,
      clerkId: clerk.id,
      otherId: other.id,
      reads,
      denied: Number(denied!.seq),
      checkpoint: Number(cps[0]!.seq),
      last: Number(last!.seq),
    };
    // The shape the tampering cases rely on: reads on both sides of the checkpoint, the checkpoint before the end.
    assert.ok(f.reads[2]! < f.checkpoint && f.checkpoint < f.last - 2 && f.checkpoint === f.reads[5]! + 1);
    return f;
  } finally {
    await db.close();
  }
}

/** Verifies twice: as a short chain is (one thread, one range), and cut into chunks of 7 verified by workers, which must agree. */
async function verify(h: Harness): Promise<VerifyResult> {
  const whole = await verifyAudit(h.services.store, h.services.signer);
  const chunked = await verifyAudit(h.services.store, h.services.signer, {
    split: { parallelFrom: 0, chunk: 7, workersOnly: true },
  });
  // How many events were read before a fault was found depends on the cut; the verdict does not.
  const verdict = (r: VerifyResult) => (r.ok ? r : { ...r, count: undefined });
  assert.deepEqual(
    verdict(chunked),
    verdict(whole),
    'chunked verification on several threads agrees with the single range',
  );
  return whole;
}

function assertBroken(r: VerifyResult, tenantId: string, seq: number, problem: RegExp) {
  assert.equal(r.ok, false, `expected a broken chain, got ${JSON.stringify(r)}`);
  if (r.ok) return;
  assert.equal(r.tenantId, tenantId);
  assert.equal(r.seq, seq, `first bad sequence number (${r.problem})`);
  assert.match(r.problem, problem);
}

async function assertIntact(h: Harness) {
  const r = await verify(h);
  assert.equal(r.ok, true, JSON.stringify(r));
}

/** Every event row in every chain, counted beside the application. */
async function rawCount(h: Harness): Promise<number> {
  const db = await rawDb(h);
  try {
    return Number((await db.all('SELECT count(*) AS n FROM audit_events'))[0]!.n);
  } finally {
    await db.close();
  }
}

/** The chain key, as an attacker who has also stolen it from the key directory holds it. */
const stolen = (h: Harness): ChainKeying => h.services.signer.chainKey;

/** A link as computed with `key`. */
const forgedLink = (key: ChainKeying, prev: string, row: Record<string, any>) =>
  linkValues(
    key,
    prev,
    CHAINED_COLUMNS.map((c) => row[c]),
  );

/** What an attacker who holds the chain key does: recompute every link from `from` on, and move the head. */
async function rechain(db: RawDb, key: ChainKeying, tenantId: string, from: number) {
  const rows = await db.all(
    `SELECT * FROM audit_events WHERE tenant_id = ? AND seq >= ? ORDER BY seq`,
    tenantId,
    from - 1,
  );
  let prev = from === 1 ? GENESIS_HASH : (rows.shift()!.hash as string);
  for (const row of rows) {
    const hash = forgedLink(key, prev, row);
    await db.run(
      `UPDATE audit_events SET prev_hash = ?, hash = ? WHERE tenant_id = ? AND seq = ?`,
      prev,
      hash,
      tenantId,
      row.seq,
    );
    prev = hash;
  }
  await db.run(
    `UPDATE audit_heads SET seq = ?, hash = ? WHERE tenant_id = ?`,
    Number(rows.at(-1)!.seq),
    prev,
    tenantId,
  );
  return prev;
}

const eventRow = async (db: RawDb, tenantId: string, seq: number) =>
  (await db.all(`SELECT * FROM audit_events WHERE tenant_id = ? AND seq = ?`, tenantId, seq))[0]!;

async function insertRow(db: RawDb, row: Record<string, any>) {
  const cols = Object.keys(row);
  await db.run(
    `INSERT INTO audit_events (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
    ...cols.map((c) => row[c]),
  );
}

/** The command's English words: this test is about what it does. */
const cli = (h: Harness) => auditVerifyCli(h, 'en');

test('an untouched chain verifies, every event counted, and the CLI agrees', async () => {
  const f = await fixture();
  try {
    const r = await verify(f.h);
    assert.ok(r.ok, JSON.stringify(r));
    const before = await rawCount(f.h);
    assert.equal(r.count, before);
    assert.ok(r.count >= f.last);
    assert.equal(r.unsignedTail, f.last - f.checkpoint + (r.count - f.last));

    // Three more accesses are exactly three more events; a checkpoint signs them all.
    const dpo = await f.t.user({ tenantRoles: ['dpo'] });
    const withLogin = await rawCount(f.h);
    for (let i = 0; i < 3; i++) assert.equal((await dpo.get(`/api/persons/${f.personId}/access-log`)).status, 200);
    await f.h.services.audit.checkpointAll();
    const again = await verify(f.h);
    assert.ok(again.ok);
    assert.equal(again.count, withLogin + 3);
    assert.equal(again.unsignedTail, 0);

    const out = cli(f.h);
    assert.equal(out.status, 0, out.stderr + out.stdout);
    assert.match(out.stdout, new RegExp(`audit chain OK: ${again.count} events`));
  } finally {
    await f.h.close();
  }
});

test('the append-only triggers refuse UPDATE and DELETE of audit rows, even to the database owner', async () => {
  const f = await fixture();
  const db = await rawDb(f.h);
  try {
    const statements = [
      [`UPDATE audit_events SET action = 'person.update' WHERE tenant_id = ? AND seq = ?`, f.t.tenantId, f.reads[0]],
      [`DELETE FROM audit_events WHERE tenant_id = ? AND seq = ?`, f.t.tenantId, f.last],
      [`UPDATE audit_checkpoints SET signature = 'x' WHERE tenant_id = ?`, f.t.tenantId],
      [`DELETE FROM audit_checkpoints WHERE tenant_id = ?`, f.t.tenantId],
      ...(DIALECT === 'postgres' ? [['TRUNCATE audit_events'], ['TRUNCATE audit_checkpoints']] : []),
    ] as [string, ...unknown[]][];
    for (const [q, ...p] of statements) await assert.rejects(db.run(q, ...p), /append-only/, q);
    assert.equal((await eventRow(db, f.t.tenantId, f.reads[0]!)).action, 'person.read');
    await assertIntact(f.h);
  } finally {
    await db.close();
    await f.h.close();
  }
});

test('on PostgreSQL the app role may neither change audit rows nor the schema', {
  skip: DIALECT !== 'postgres' && 'the app role and its grants exist only on PostgreSQL',
}, async () => {
  const f = await fixture();
  const app = await rawDb(f.h, f.h.config.databaseUrl);
  try {
    await app.run(`SELECT set_config('kartei.tenant', ?, false)`, f.t.tenantId);
    // The app role can read its own tenant's log (the check below is about privileges, not visibility).
    assert.equal((await app.all(`SELECT seq FROM audit_events WHERE seq = ?`, f.reads[0])).length, 1);
    const denied = [
      `UPDATE audit_events SET action = 'person.update' WHERE seq = ${f.reads[0]}`,
      `DELETE FROM audit_events WHERE seq = ${f.last}`,
      'TRUNCATE audit_events',
      `UPDATE audit_checkpoints SET signature = 'x'`,
      'DELETE FROM audit_checkpoints',
      'TRUNCATE audit_checkpoints',
      'CREATE TABLE evil (x int)',
      'ALTER TABLE audit_events DISABLE TRIGGER ALL',
      'DROP TRIGGER audit_events_append_only ON audit_events',
      'SET session_replication_role = replica',
    ];
    for (const q of denied) {
      await assert.rejects(app.run(q), (e: any) => {
        assert.ok(e.code === '42501', `${q}: ${e.code} ${e.message}`); // insufficient_privilege / must be owner
        return true;
      });
    }
    await assertIntact(f.h);
  } finally {
    await app.close();
    await f.h.close();
  }
});

test("editing one event's action, outcome or actor is named at its sequence number, also by the CLI", async () => {
  const f = await fixture();
  const db = await attacker(f.h);
  try {
    const { tenantId } = f.t;
    const edits: [number, string, unknown, unknown][] = [
      [f.reads[3]!, 'action', 'person.update', 'person.read'],
      [f.denied, 'outcome', 'allowed', 'denied'],
      [f.reads[8]!, 'actor_id', f.otherId, f.clerkId],
    ];
    for (const [seq, column, forged, original] of edits) {
      assert.equal((await eventRow(db, tenantId, seq))[column], original);
      await db.run(`UPDATE audit_events SET ${column} = ? WHERE tenant_id = ? AND seq = ?`, forged, tenantId, seq);
      assertBroken(await verify(f.h), tenantId, seq, /altered/);
      if (column === 'action') {
        const out = cli(f.h);
        assert.equal(out.status, 1, out.stderr + out.stdout);
        assert.match(out.stdout, new RegExp(`first bad sequence number ${seq}\\b`));
      }
      // Put it back: the chain holds again, so the next edit is judged on its own.
      await db.run(`UPDATE audit_events SET ${column} = ? WHERE tenant_id = ? AND seq = ?`, original, tenantId, seq);
      await assertIntact(f.h);
    }
  } finally {
    await db.close();
    await f.h.close();
  }
});

test('a deleted middle event is named', async () => {
  const f = await fixture();
  const db = await attacker(f.h);
  try {
    const gone = f.reads[1]!;
    await db.run(`DELETE FROM audit_events WHERE tenant_id = ? AND seq = ?`, f.t.tenantId, gone);
    assertBroken(await verify(f.h), f.t.tenantId, gone, /missing/);
    // A later fault (a spoiled checkpoint signature) does not hide which event went first.
    await db.run(
      `UPDATE audit_checkpoints SET signature = ? WHERE tenant_id = ?`,
      Buffer.alloc(64).toString('base64'),
      f.t.tenantId,
    );
    assertBroken(await verify(f.h), f.t.tenantId, gone, /missing/);
  } finally {
    await db.close();
    await f.h.close();
  }
});

test('a cut-off tail is caught by the chain head', async () => {
  const f = await fixture();
  const db = await attacker(f.h);
  try {
    await db.run(`DELETE FROM audit_events WHERE tenant_id = ? AND seq >= ?`, f.t.tenantId, f.last - 1);
    assertBroken(await verify(f.h), f.t.tenantId, f.last - 1, /head/);
  } finally {
    await db.close();
    await f.h.close();
  }
});

test('a cut-off tail with the head moved back is caught by the signed checkpoint', async () => {
  const f = await fixture();
  const db = await attacker(f.h);
  try {
    const { tenantId } = f.t;
    const keep = await eventRow(db, tenantId, f.checkpoint - 2);
    await db.run(`DELETE FROM audit_events WHERE tenant_id = ? AND seq > ?`, tenantId, keep.seq);
    await db.run(`UPDATE audit_heads SET seq = ?, hash = ? WHERE tenant_id = ?`, Number(keep.seq), keep.hash, tenantId);
    assertBroken(await verify(f.h), tenantId, f.checkpoint - 1, /signed checkpoint|witnessed outside the database/);
  } finally {
    await db.close();
    await f.h.close();
  }
});

test('a forged event appended behind the head is named, although its link is made with the stolen chain key', async () => {
  const f = await fixture();
  const db = await attacker(f.h);
  try {
    const { tenantId } = f.t;
    const last = await eventRow(db, tenantId, f.last);
    const forged: Record<string, any> = { ...last, seq: f.last + 1, action: 'person.update', prev_hash: last.hash };
    forged.hash = forgedLink(stolen(f.h), last.hash, forged);
    await insertRow(db, forged);
    assertBroken(await verify(f.h), tenantId, f.last + 1, /head/);
  } finally {
    await db.close();
    await f.h.close();
  }
});

test('a forged event slipped into the middle breaks the link of the event it displaced', async () => {
  const f = await fixture();
  const db = await attacker(f.h);
  try {
    const { tenantId } = f.t;
    const at = f.reads[1]!;
    // Make room: every later event moves up one (via negative numbers, so the primary key never collides).
    await db.run(`UPDATE audit_events SET seq = -seq - 1 WHERE tenant_id = ? AND seq >= ?`, tenantId, at);
    await db.run(`UPDATE audit_events SET seq = -seq WHERE tenant_id = ? AND seq < 0`, tenantId);
    const before = await eventRow(db, tenantId, at - 1);
    const forged: Record<string, any> = {
      ...(await eventRow(db, tenantId, at + 1)),
      seq: at,
      action: 'person.update',
      prev_hash: before.hash,
    };
    forged.hash = forgedLink(stolen(f.h), before.hash, forged);
    await insertRow(db, forged);
    // The forgery itself is well formed; the first event that does not hold is the one after it.
    assertBroken(await verify(f.h), tenantId, at + 1, /link/);
  } finally {
    await db.close();
    await f.h.close();
  }
});

/** Edits a read before the checkpoint and recomputes the whole chain from there with the stolen chain key, head included. */
async function editAndRechain(f: Fixture, db: RawDb) {
  const seq = f.reads[2]!;
  await db.run(`UPDATE audit_events SET actor_id = ? WHERE tenant_id = ? AND seq = ?`, f.otherId, f.t.tenantId, seq);
  await rechain(db, stolen(f.h), f.t.tenantId, seq);
  return seq;
}

test('a chain recomputed with valid links (stolen chain key) after an edit is caught by the Ed25519 checkpoint', async () => {
  const f = await fixture();
  const db = await attacker(f.h);
  try {
    const edited = await editAndRechain(f, db);
    assert.ok(edited < f.checkpoint);
    // Every link and hash holds now; only the signed checkpoint remembers the old chain.
    assertBroken(await verify(f.h), f.t.tenantId, f.checkpoint, /signed checkpoint/);
  } finally {
    await db.close();
    await f.h.close();
  }
});

test('a forged checkpoint signature does not verify', async () => {
  const f = await fixture();
  const db = await attacker(f.h);
  try {
    await editAndRechain(f, db);
    const { tenantId } = f.t;
    const cp = (
      await db.all(`SELECT * FROM audit_checkpoints WHERE tenant_id = ? AND seq = ?`, tenantId, f.checkpoint)
    )[0]!;
    const newHash = (await eventRow(db, tenantId, f.checkpoint)).hash as string;
    // The attacker signs the new hash the way the server would, with a key of its own.
    const { privateKey } = generateKeyPairSync('ed25519');
    const claim = Buffer.from(`kartei-audit-checkpoint/v1|${tenantId}|${f.checkpoint}|${newHash}|${cp.at}`, 'utf8');
    const signature = sign(null, claim, privateKey).toString('base64');
    await db.run(
      `UPDATE audit_checkpoints SET hash = ?, signature = ? WHERE tenant_id = ? AND seq = ?`,
      newHash,
      signature,
      tenantId,
      f.checkpoint,
    );
    assertBroken(await verify(f.h), tenantId, f.checkpoint, /signature/);

    // The genuine signature over the forged hash does not verify either.
    await db.run(
      `UPDATE audit_checkpoints SET signature = ? WHERE tenant_id = ? AND seq = ?`,
      cp.signature,
      tenantId,
      f.checkpoint,
    );
    assertBroken(await verify(f.h), tenantId, f.checkpoint, /signature/);
  } finally {
    await db.close();
    await f.h.close();
  }
});

test('deleting the checkpoints does not hide a rewrite: every 1000th event must be signed', async () => {
  const h = await startHarness();
  try {
    const t = await setUpTenant(h, ['INF']);
    const audit = h.services.audit;
    await inTenantTransaction(h.services.store, t.tenantId, async (tx) => {
      for (let i = 0; i < CHECKPOINT_EVERY + 5; i++) {
        await audit.append(tx, {
          tenantId: t.tenantId,
          actorId: t.adminId,
          action: 'admin.department.list',
          resourceType: 'tenant',
          outcome: 'allowed',
        });
      }
    });
    const db = await attacker(h);
    try {
      const signed = (await db.all(`SELECT seq FROM audit_checkpoints WHERE tenant_id = ?`, t.tenantId)).map((r) =>
        Number(r.seq),
      );
      assert.deepEqual(signed, [CHECKPOINT_EVERY]);
      await assertIntact(h);
      await db.run(`UPDATE audit_events SET outcome = 'denied' WHERE tenant_id = ? AND seq = 500`, t.tenantId);
      await rechain(db, stolen(h), t.tenantId, 500);
      await db.run(`DELETE FROM audit_checkpoints WHERE tenant_id = ?`, t.tenantId);
      assertBroken(await verify(h), t.tenantId, CHECKPOINT_EVERY, /checkpoint missing/);
    } finally {
      await db.close();
    }
  } finally {
    await h.close();
  }
});

test('the head witnessed in the key directory catches a rewrite whose checkpoints were deleted', async () => {
  const f = await fixture();
  const db = await attacker(f.h);
  try {
    // checkpointAll in the fixture wrote the witness outside the database.
    const witness = JSON.parse(fs.readFileSync(path.join(f.h.config.keyDir, 'audit-witness.json'), 'utf8')).chains[
      f.t.tenantId
    ];
    assert.equal(witness.seq, f.checkpoint);
    const edited = await editAndRechain(f, db);
    await db.run(`DELETE FROM audit_checkpoints WHERE tenant_id = ?`, f.t.tenantId);
    assert.ok(edited < f.checkpoint && f.last < CHECKPOINT_EVERY, 'no every-1000th checkpoint can help here');
    assertBroken(await verify(f.h), f.t.tenantId, f.checkpoint, /signed checkpoint/);
  } finally {
    await db.close();
    await f.h.close();
  }
});

test('the witnessed head catches a tail cut below it, checkpoints and head row removed too', async () => {
  const f = await fixture();
  const db = await attacker(f.h);
  try {
    const cut = f.checkpoint - 2;
    await db.run(`DELETE FROM audit_events WHERE tenant_id = ? AND seq > ?`, f.t.tenantId, cut);
    await db.run(`DELETE FROM audit_checkpoints WHERE tenant_id = ?`, f.t.tenantId);
    const last = await eventRow(db, f.t.tenantId, cut);
    await db.run(`UPDATE audit_heads SET seq = ?, hash = ? WHERE tenant_id = ?`, cut, last.hash, f.t.tenantId);
    assertBroken(await verify(f.h), f.t.tenantId, cut + 1, /witnessed outside the database/);
  } finally {
    await db.close();
    await f.h.close();
  }
});

/** The link the code before the chain key computed (and what an attacker without the key can compute): plain SHA-256. */
const sha256Link = (prev: string, row: Record<string, any>) =>
  createHash('sha256')
    .update(`${prev}\n${canonicalValues(CHAINED_COLUMNS.map((c) => row[c]))}`)
    .digest('hex');

const checkpointCount = async (db: RawDb, tenantId: string) =>
  Number((await db.all(`SELECT count(*) AS n FROM audit_checkpoints WHERE tenant_id = ?`, tenantId))[0]!.n);

const witnessFile = (h: Harness) =>
  JSON.parse(fs.readFileSync(path.join(h.config.keyDir, 'audit-witness.json'), 'utf8'));

test('a database writer without the chain key appends a well-formed event at the tail and moves the head: no checkpoint signs it, verify names it', async () => {
  const f = await fixture();
  const db = await attacker(f.h);
  const alarms: { chain: string; seq: number }[] = [];
  f.h.services.audit.alarm = (chain, r) => alarms.push({ chain, seq: r.seq });
  try {
    const { tenantId } = f.t;
    const forgedSeq = f.last + 1;
    // Two forgeries of one event: the old link (plain SHA-256), and an HMAC under a key the attacker made up.
    const guesses: [string, (prev: string, row: Record<string, any>) => string][] = [
      ['sha-256', sha256Link],
      ['own key', (prev, row) => forgedLink({ key: randomBytes(32), legacyUntil: {} }, prev, row)],
    ];
    for (const [name, make] of guesses) {
      const last = await eventRow(db, tenantId, f.last);
      // The other department's clerk "read" the file: an alibi or an accusation, written behind Kartei's back.
      const forged: Record<string, any> = {
        ...last,
        seq: forgedSeq,
        actor_id: f.otherId,
        outcome: 'allowed',
        prev_hash: last.hash,
      };
      forged.hash = make(last.hash, forged);
      await insertRow(db, forged);
      await db.run(`UPDATE audit_heads SET seq = ?, hash = ? WHERE tenant_id = ?`, forgedSeq, forged.hash, tenantId);

      const before = await checkpointCount(db, tenantId);
      await f.h.services.audit.checkpointAll();
      assert.equal(await checkpointCount(db, tenantId), before, `${name}: no checkpoint signs the forged tail`);
      assert.deepEqual(alarms.at(-1), { chain: tenantId, seq: forgedSeq }, `${name}: the refusal is reported`);
      const w = witnessFile(f.h);
      assert.equal(w.chains[tenantId].seq, f.checkpoint, `${name}: the witness keeps the last verified head`);
      assert.equal(w.refused[tenantId].seq, forgedSeq);

      assertBroken(await verify(f.h), tenantId, forgedSeq, /altered/);
      const out = cli(f.h);
      assert.equal(out.status, 1, out.stderr + out.stdout);
      assert.match(out.stdout, new RegExp(`first bad sequence number ${forgedSeq}\\b`));
      const findings = await databaseFindings(f.h.services);
      assert.ok(
        findings.some(
          (x) =>
            x.severity === 'critical' &&
            /checkpoint refused/.test(x.title) &&
            x.title.includes(`sequence ${forgedSeq}`),
        ),
        JSON.stringify(findings),
      );

      // Undone for the next guess.
      await db.run(`DELETE FROM audit_events WHERE tenant_id = ? AND seq = ?`, tenantId, forgedSeq);
      await db.run(`UPDATE audit_heads SET seq = ?, hash = ? WHERE tenant_id = ?`, f.last, last.hash, tenantId);
    }
    // Untouched again: the next checkpoint signs, and the refusal is cleared.
    await f.h.services.audit.checkpointAll();
    assert.equal(witnessFile(f.h).refused[tenantId], undefined);
    assert.ok(!(await databaseFindings(f.h.services)).some((x) => /checkpoint refused/.test(x.title)));
    await assertIntact(f.h);
  } finally {
    await db.close();
    await f.h.close();
  }
});

test('the checkpoint of every 1000th event is not signed over a forged event before it', async () => {
  const h = await startHarness();
  const alarms: number[] = [];
  h.services.audit.alarm = (_chain, r) => alarms.push(r.seq);
  try {
    const t = await setUpTenant(h, ['INF']);
    const audit = h.services.audit;
    const event = {
      tenantId: t.tenantId,
      actorId: t.adminId,
      action: 'admin.department.list',
      resourceType: 'tenant',
      outcome: 'allowed',
    } as const;
    const head = await inTenantTransaction(h.services.store, t.tenantId, async (tx) => {
      let seq = 0;
      while (seq < CHECKPOINT_EVERY - 10) seq = await audit.append(tx, event);
      return seq;
    });
    const db = await attacker(h);
    try {
      const last = await eventRow(db, t.tenantId, head);
      const forged: Record<string, any> = { ...last, seq: head + 1, action: 'person.read', prev_hash: last.hash };
      forged.hash = sha256Link(last.hash, forged);
      await insertRow(db, forged);
      await db.run(`UPDATE audit_heads SET seq = ?, hash = ? WHERE tenant_id = ?`, head + 1, forged.hash, t.tenantId);
      // The server goes on appending; the 1000th event would be signed in the same transaction.
      await inTenantTransaction(h.services.store, t.tenantId, async (tx) => {
        for (let i = 0; i < 20; i++) await audit.append(tx, event);
      });
      assert.deepEqual(
        (await db.all(`SELECT seq FROM audit_checkpoints WHERE tenant_id = ?`, t.tenantId)).map((r) => Number(r.seq)),
        [],
      );
      assert.deepEqual(alarms, [head + 1]);
      assertBroken(await verify(h), t.tenantId, head + 1, /altered/);
    } finally {
      await db.close();
    }
  } finally {
    await h.close();
  }
});

// Issue 18: the checkpoint takes the links this server made itself (links-made.ts) instead of computing each HMAC
// again — only for a row whose stored values give exactly what it linked. Two ways that could go wrong:
test('an event this server appended and linked, altered in the database before its checkpoint (its link kept), is not signed', async () => {
  const h = await startHarness();
  const alarms: number[] = [];
  h.services.audit.alarm = (_chain, r) => alarms.push(r.seq);
  try {
    const t = await setUpTenant(h, ['INF']);
    const audit = h.services.audit;
    const event = {
      tenantId: t.tenantId,
      actorId: t.adminId,
      action: 'person.read',
      resourceType: 'person',
      outcome: 'allowed',
    } as const;
    const head = await inTenantTransaction(h.services.store, t.tenantId, async (tx) => {
      let seq = 0;
      while (seq < CHECKPOINT_EVERY - 10) seq = await audit.append(tx, event);
      return seq;
    });
    assert.ok(audit.linksMade.size(t.tenantId) >= CHECKPOINT_EVERY - 10, 'the links are kept for the checkpoint');
    const altered = head - 500;
    const db = await attacker(h);
    try {
      // An alibi written behind Kartei's back into an event it linked itself: the link stays, the action changes.
      await db.run(`UPDATE audit_events SET outcome = 'denied' WHERE tenant_id = ? AND seq = ?`, t.tenantId, altered);
      await inTenantTransaction(h.services.store, t.tenantId, async (tx) => {
        for (let i = 0; i < 20; i++) await audit.append(tx, event);
      });
      assert.deepEqual(
        (await db.all(`SELECT seq FROM audit_checkpoints WHERE tenant_id = ?`, t.tenantId)).map((r) => Number(r.seq)),
        [],
      );
      assert.deepEqual(alarms, [altered]);
      assertBroken(await verify(h), t.tenantId, altered, /altered/);
    } finally {
      await db.close();
    }
  } finally {
    await h.close();
  }
});

test('an append rolled back and its sequence number used by another process: the checkpoint is signed over the event that stayed', async () => {
  const h = await startHarness();
  const alarms: number[] = [];
  h.services.audit.alarm = (_chain, r) => alarms.push(r.seq);
  try {
    const t = await setUpTenant(h, ['INF']);
    const audit = h.services.audit;
    const event = (action: string) =>
      ({ tenantId: t.tenantId, actorId: t.adminId, action, resourceType: 'person', outcome: 'allowed' }) as const;
    const head = await inTenantTransaction(h.services.store, t.tenantId, async (tx) => {
      let seq = 0;
      while (seq < CHECKPOINT_EVERY - 10) seq = await audit.append(tx, event('person.read'));
      return seq;
    });
    // Linked in memory, then rolled back with the work it recorded.
    await assert.rejects(
      inTenantTransaction(h.services.store, t.tenantId, async (tx) => {
        assert.equal(await audit.append(tx, event('person.update')), head + 1);
        throw new Error('the work failed');
      }),
      /the work failed/,
    );
    // The sequence number is used by another process on the database (as `kartei` on the command line appends):
    // this server's link of the rolled-back event is still in its memory, and must not be taken for that event's.
    const elsewhere = new AuditLog(h.services.store, h.services.keyring, h.services.signer);
    await inTenantTransaction(h.services.store, t.tenantId, async (tx) => {
      assert.equal(await elsewhere.append(tx, event('person.read')), head + 1);
    });
    await inTenantTransaction(h.services.store, t.tenantId, async (tx) => {
      for (let i = 0; i < 20; i++) await audit.append(tx, event('person.read'));
    });
    const db = await openRawDb(h);
    try {
      assert.deepEqual(
        (await db.all(`SELECT seq FROM audit_checkpoints WHERE tenant_id = ?`, t.tenantId)).map((r) => Number(r.seq)),
        [CHECKPOINT_EVERY],
      );
    } finally {
      await db.close();
    }
    assert.deepEqual(alarms, []);
    assert.ok(audit.linksMade.size(t.tenantId) <= 20, 'the signed links are let go');
    await assertIntact(h);
  } finally {
    await h.close();
  }
});

test('a chain written before the chain key existed (plain SHA-256 links) still verifies; later events need the key', async () => {
  const old = await startHarness();
  const { tenantId, personId } = await (async () => {
    // The code before the chain key: every link plain SHA-256.
    const legacy: ChainKeying = {
      key: randomBytes(32),
      legacyUntil: new Proxy({}, { get: () => Number.MAX_SAFE_INTEGER }),
    };
    (old.services.signer as { chainKey: ChainKeying }).chainKey = legacy;
    const t = await setUpTenant(old, ['INF']);
    const clerk = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'clerk' }] });
    const { body: p } = await clerk.post('/api/persons', samplePerson(t.departments.INF!));
    // A key file's keying is plain data (the audit appender's thread gets a copy): both chains there are, legacy.
    legacy.legacyUntil = { [DEPLOYMENT_CHAIN]: Number.MAX_SAFE_INTEGER, [t.tenantId]: Number.MAX_SAFE_INTEGER };
    assert.equal((await clerk.get(`/api/persons/${p.id}`)).status, 200);
    await old.services.audit.checkpointAll();
    return { tenantId: t.tenantId, personId: p.id as string };
  })();
  await old.stop();
  fs.rmSync(path.join(old.config.keyDir, 'audit-chain.key'));

  const h = await startHarness({ reopen: old.installation });
  const db = await attacker(h);
  try {
    const rows = await db.all(`SELECT * FROM audit_events WHERE tenant_id = ? ORDER BY seq`, tenantId);
    const legacyEnd = Number(rows.at(-1)!.seq);
    for (const r of rows) assert.equal(r.hash, sha256Link(r.prev_hash, r), `event ${r.seq} has the old link`);
    // The new key file, 0600, records where the old links end.
    const keyFile = path.join(h.config.keyDir, 'audit-chain.key');
    assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
    assert.equal(JSON.parse(fs.readFileSync(keyFile, 'utf8')).legacyUntil[tenantId], legacyEnd);
    await assertIntact(h);

    // New events are linked with the key, and checkpoints sign them.
    await inTenantTransaction(h.services.store, tenantId, (tx) =>
      h.services.audit.append(tx, {
        tenantId,
        actorId: null,
        action: 'person.read',
        resourceType: 'person',
        resourceId: personId,
        personId,
        outcome: 'allowed',
      }),
    );
    const [fresh] = await db.all(`SELECT * FROM audit_events WHERE tenant_id = ? AND seq = ?`, tenantId, legacyEnd + 1);
    assert.notEqual(fresh!.hash, sha256Link(fresh!.prev_hash, fresh!), 'a new event is not linked with plain SHA-256');
    const before = await checkpointCount(db, tenantId);
    await h.services.audit.checkpointAll();
    assert.equal(await checkpointCount(db, tenantId), before + 1);
    await assertIntact(h);
    const ok = cli(h);
    assert.equal(ok.status, 0, ok.stderr + ok.stdout);

    // An old-style link after the upgrade is a forgery.
    const forged: Record<string, any> = { ...fresh, seq: legacyEnd + 2, prev_hash: fresh!.hash };
    forged.hash = sha256Link(fresh!.hash, forged);
    await insertRow(db, forged);
    await db.run(`UPDATE audit_heads SET seq = ?, hash = ? WHERE tenant_id = ?`, legacyEnd + 2, forged.hash, tenantId);
    assertBroken(await verify(h), tenantId, legacyEnd + 2, /altered/);
  } finally {
    await db.close();
    await h.close();
  }
});
