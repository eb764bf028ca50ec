// `audit verify` beside a running server, under attack (issue 18, s25): many verifications at once (a
// flood of GET /api/audit/status, the doctor beside the CLI) start no more worker threads than the
// cores beyond the event loop's — the stretches' workers and the row-by-row ranges' alike —; a worker
// that cannot start or dies midway never lets a stretch count as holding, gives its place back, and
// leaves no rejection unhandled; a long stretch verified row by row on the event loop's thread (the
// checkpoints deleted) lets the loop turn between its batches. Worker is replaced in
// node:worker_threads (syncBuiltinESMExports) to count the threads verification starts, and to make
// them fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { syncBuiltinESMExports } from 'node:module';
import os from 'node:os';
import threads from 'node:worker_threads';
import { verifyAudit, type VerifyResult } from '../../src/audit/verify.ts';
import { workersRunning } from '../../src/audit/verify-slots.ts';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { DEPLOYMENT_CHAIN } from '../../src/db/schema.ts';
import { startHarness, setUpTenant, samplePerson, type Harness } from '../helpers/harness.ts';
import { asAttacker } from '../helpers/raw-db.ts';

const RealWorker = threads.Worker;
const counted = { live: 0, most: 0, made: 0 };
/** What a test does to each worker of verification (`worker`: its file) as it is made: refuse to make it, or stop it at once or after its first message. */
let sabotage: { how: 'refuse' | 'stop-at-once' | 'stop-midway'; worker: RegExp } | undefined;

class CountedWorker extends RealWorker {
  constructor(...args: ConstructorParameters<typeof RealWorker>) {
    const mine = sabotage?.worker.test(String(args[0]));
    if (mine && sabotage?.how === 'refuse')
      throw Object.assign(new Error('Worker initialization failure'), { code: 'ERR_WORKER_INIT_FAILED' });
    super(...args);
    // The server's own workers (the WAL checkpoint's) are not the verification's.
    if (!/verify/.test(String(args[0]))) return;
    counted.made++;
    counted.live++;
    counted.most = Math.max(counted.most, counted.live);
    this.once('exit', () => counted.live--);
    if (mine && sabotage?.how === 'stop-at-once') void this.terminate();
    if (mine && sabotage?.how === 'stop-midway') this.once('message', () => void this.terminate());
  }
}
(threads as { Worker: typeof RealWorker }).Worker = CountedWorker;
syncBuiltinESMExports();

const unhandled: unknown[] = [];
process.on('unhandledRejection', (e) => unhandled.push(e));

/** Below `parallelFrom` = 0 every chain is "long": its stretches and ranges are shared with workers. */
const LONG = { parallelFrom: 0, chunk: 7 };
const spareCores = Math.max(os.availableParallelism() - 1, 1);

/** A chain of many signed stretches (a checkpoint after every few events) and an unsigned tail. */
async function fixture() {
  const h = await startHarness();
  const t = await setUpTenant(h, ['INF']);
  const clerk = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'clerk' }] });
  const { body: p } = await clerk.post('/api/persons', samplePerson(t.departments.INF!));
  const read = async (n: number) => {
    for (let i = 0; i < n; i++) assert.equal((await clerk.get(`/api/persons/${p.id}`)).status, 200);
  };
  for (let i = 0; i < 12; i++) {
    await read(2);
    await h.services.audit.checkpointAll();
  }
  await read(30);
  return { h, t, read, clerk, personId: p.id as string };
}

/** Until every worker made so far has exited (a worker exits shortly after its last message). */
async function settle() {
  for (let waited = 0; counted.live > 0 && waited < 10_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
}

test('a flood of verifications starts no more workers than the spare cores, row-by-row ranges included', async () => {
  const { h } = await fixture();
  try {
    const alone = await verifyAudit(h.services.store, h.services.signer, { split: LONG });
    assert.ok(alone.ok, JSON.stringify(alone));
    await settle();
    counted.most = counted.live;
    const flood = await Promise.all(
      Array.from({ length: 6 }, () => verifyAudit(h.services.store, h.services.signer, { split: LONG })),
    );
    for (const r of flood) assert.deepEqual(r, alone);
    assert.ok(counted.most <= spareCores, `${counted.most} workers at once, ${spareCores} spare cores`);
    assert.ok(counted.made > 0, 'the flood had workers to share');
    await settle();
    assert.equal(workersRunning(), 0, 'every place given back');
  } finally {
    await h.close();
  }
});

// Issue 18: a worker that has sent its last message exits some milliseconds later and holds its place until then;
// a verification started in that moment waits for the place (`laterWorker`, tested alone in verify-slots.test.ts)
// while its own thread works. Back to back, twenty times: the same verdict, never more threads than spare cores.
test('back-to-back verifications agree, never run more workers than the spare cores, and give every place back', async () => {
  const { h } = await fixture();
  try {
    await settle();
    counted.most = counted.live;
    const before = counted.made;
    const first = await verifyAudit(h.services.store, h.services.signer, { split: LONG });
    assert.ok(first.ok, JSON.stringify(first));
    for (let i = 0; i < 20; i++)
      assert.deepEqual(await verifyAudit(h.services.store, h.services.signer, { split: LONG }), first);
    assert.ok(counted.made > before, 'the verifications had workers');
    assert.ok(counted.most <= spareCores, `${counted.most} workers at once, ${spareCores} spare cores`);
    await settle();
    assert.equal(workersRunning(), 0, 'every place given back');
    assert.deepEqual(unhandled, []);
  } finally {
    await h.close();
  }
});

test('a worker that cannot start or is stopped, at once or midway, never lets a changed stretch pass, and gives its place back', async () => {
  const { h, t } = await fixture();
  try {
    // The attacker changes an event inside the first signed stretch.
    const target = 3;
    await tamper(h, t.tenantId, target);
    const verdict = (r: VerifyResult) => (r.ok ? r : { ...r, count: undefined });
    const truth = verdict(await verifyAudit(h.services.store, h.services.signer));
    assert.ok(!truth.ok && truth.seq === target, JSON.stringify(truth));
    const attempt = async (): Promise<VerifyResult | Error> => {
      try {
        return await verifyAudit(h.services.store, h.services.signer, { split: { ...LONG, workersOnly: true } });
      } catch (e) {
        return e as Error;
      }
    };
    for (const worker of [/verify-stretch-worker/, /verify-worker/])
      for (const how of ['refuse', 'stop-at-once', 'stop-midway'] as const) {
        sabotage = { how, worker };
        const r = await attempt();
        sabotage = undefined;
        // Fail closed: an error, or the same verdict — a stretch whose verdict was left unknown is never taken as holding.
        if (!(r instanceof Error)) assert.deepEqual(verdict(r), truth, `${how} ${worker}`);
        await settle();
      }
    // Every place was given back: a verification afterwards still gets its worker, and agrees.
    const made = counted.made;
    assert.deepEqual(verdict(await verifyAudit(h.services.store, h.services.signer, { split: LONG })), truth);
    assert.ok(counted.made > made, 'a worker was started again');
    await settle();
    assert.equal(counted.live, 0);
    assert.equal(workersRunning(), 0, 'every place given back');
    assert.deepEqual(unhandled, []);
  } finally {
    await h.close();
  }
});

/** The attacker changes the detail of an event (the append-only triggers dropped first on SQLite). */
const tamper = (h: Harness, chain: string, seq: number) =>
  asAttacker(h, `UPDATE audit_events SET detail = '{"count":9}' WHERE tenant_id = ? AND seq = ?`, chain, seq);

/** The attacker removes every signed checkpoint of a chain: all of it is then verified row by row. */
const deleteCheckpoints = (h: Harness, chain: string) =>
  asAttacker(h, 'DELETE FROM audit_checkpoints WHERE tenant_id = ?', chain);

test('a long stretch verified row by row on the event loop lets it turn between batches', async () => {
  const h = await startHarness();
  try {
    const events = 20_000;
    for (let i = 0; i < events; i += 10_000)
      await inTenantTransaction(h.services.store, DEPLOYMENT_CHAIN, async (tx) => {
        for (let j = 0; j < 10_000; j++)
          await h.services.audit.append(tx, {
            tenantId: DEPLOYMENT_CHAIN,
            actorId: null,
            action: 'test.append',
            resourceType: 'test',
            resourceId: String(i + j),
            outcome: 'allowed',
          });
      });
    await deleteCheckpoints(h, DEPLOYMENT_CHAIN);
    // Whether the event loop turned between the 2,000-row batches of the chain (shorter than SPLIT.parallelFrom: one
    // range, this thread) verified row by row: the loop's turns counted at each batch's progress. Before, the whole
    // range ran at once (~0.1 s per 25,000 events) and every batch saw the same count. Counted, not timed: under CI's
    // load a batch or a garbage collection may take longer than any fixed share of the whole (a timed check failed so).
    let turns = 0;
    let turning = true;
    const turn = () => {
      turns++;
      if (turning) setImmediate(turn);
    };
    setImmediate(turn);
    const atBatch: number[] = [];
    const r = await verifyAudit(h.services.store, h.services.signer, {
      only: [DEPLOYMENT_CHAIN],
      progress: () => atBatch.push(turns),
    });
    turning = false;
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.seq === 1000 && /signed checkpoint missing/.test(r.problem), JSON.stringify(r));
    assert.ok(r.count >= events, `every event verified row by row (${r.count})`);
    assert.ok(atBatch.length >= events / 2_000, `${atBatch.length} batches`);
    const without = atBatch.filter((n, i) => i > 0 && n === atBatch[i - 1]).length;
    assert.equal(without, 0, `batches without a turn of the loop before them: ${without} (turns at each: ${atBatch})`);
  } finally {
    await h.close();
  }
});

test('the chain grows and is signed while it is verified: every verification passes and counts what it read', async () => {
  const { h, t, clerk, personId } = await fixture();
  try {
    const before = await verifyAudit(h.services.store, h.services.signer, { only: [t.tenantId] });
    assert.ok(before.ok);
    // The server appends (and a checkpoint round signs now and then) all the while the chain is verified again and
    // again, each time three ways at once: stretches on this thread, stretches on a worker, rows on workers.
    let verifying = true;
    let appended = 0;
    const growing = (async () => {
      for (let round = 0; verifying; round++) {
        await Promise.all(
          Array.from({ length: 5 }, async () =>
            assert.equal((await clerk.get(`/api/persons/${personId}`)).status, 200),
          ),
        );
        appended += 5;
        if (round % 3 === 2) await h.services.audit.checkpointAll();
      }
    })();
    const during: VerifyResult[] = [];
    try {
      for (let round = 0; round < 8; round++)
        during.push(
          ...(await Promise.all([
            verifyAudit(h.services.store, h.services.signer, { only: [t.tenantId], split: LONG }),
            verifyAudit(h.services.store, h.services.signer, {
              only: [t.tenantId],
              split: { ...LONG, workersOnly: true },
            }),
            verifyAudit(h.services.store, h.services.signer, { only: [t.tenantId] }),
          ])),
        );
    } finally {
      verifying = false;
      await growing;
    }
    const after = await verifyAudit(h.services.store, h.services.signer, { only: [t.tenantId], split: LONG });
    assert.ok(after.ok);
    assert.ok(after.count >= before.count + appended, `${appended} reads, as many events at least`);
    for (const r of during) {
      assert.ok(r.ok, JSON.stringify(r));
      assert.ok(r.count >= before.count && r.count <= after.count, `${r.count} in ${before.count}..${after.count}`);
    }
  } finally {
    await h.close();
  }
});
