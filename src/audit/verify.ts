// Recomputes every chain and checks every signed checkpoint. Names the first
// sequence number that does not hold: an edited, inserted or removed row
// breaks the hash links; a truncated tail disagrees with the head or with a
// signed checkpoint; a rewritten chain has no valid signatures; an event made
// without the chain key from the key directory has no valid link. Each
// checkpoint is checked under the key it names, the current or a retired one
// (issue 19); a retired key may not sign after its successor has in a chain,
// and the key the witness names at its head must be the one that signed there.
// Stretches a checkpoint signed as a digest (`batch-digest.ts`, migration 033) are
// checked with one hash each (`verify-stretch.ts`); the rest, and any stretch whose
// digest differs, row by row, which names the first bad event.
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { sql } from 'kysely';
import { inTenantSnapshot, type Store } from '../db/connect.ts';
import { GENESIS_HASH } from './chain.ts';
import { chainIds, CHECKPOINT_EVERY } from './audit-log.ts';
import type { CheckpointSigner } from './signing-key.ts';
import { chunkTask, verifyChunks, type ChunkPlan, type RangeResult, type RangeTask } from './verify-range.ts';
import { stretchesMatch } from './verify-stretch.ts';
import { laterWorker, placedWorker, workDone, workerSpare } from './verify-slots.ts';
import { stretchOf } from './verify-tail.ts';

/** Below `parallelFrom` events a chain is verified on the calling thread; chunks are ~0.1 s of one core's work here. */
export const SPLIT = { parallelFrom: 100_000, chunk: 25_000 };

/** How many threads (this one included) verify a chain of `n` events. */
export const verifyThreads = (n: number, split: NonNullable<VerifyOptions['split']> = SPLIT): number =>
  n >= split.parallelFrom ? Math.max(Math.min(os.availableParallelism(), 8), split.workersOnly ? 2 : 1) : 1;

export type VerifyResult =
  | { ok: true; count: number; unsignedTail: number }
  | { ok: false; count: number; tenantId: string; seq: number; problem: string };

interface CheckpointRow {
  seq: number;
  hash: string;
  at: string;
  key_id: string;
  signature: string;
  from_seq: number | null;
  prev_hash: string | null;
  digest: string | null;
}

interface ChainState {
  head: { seq: number; hash: string } | undefined;
  lastSeq: number;
  checkpoints: CheckpointRow[];
}

export interface VerifyOptions {
  progress?: (checked: number, total: number) => void;
  /** Only these chains (a tenant's own, for its DPO); all by default. */
  only?: string[];
  /**
   * How a chain is cut for the worker threads. Tests use small chunks, all
   * verified in workers (`workersOnly`), to exercise the workers and the stitching.
   */
  split?: { parallelFrom: number; chunk: number; workersOnly?: boolean };
}

export async function verifyAudit(
  store: Store,
  signer: CheckpointSigner,
  { progress, only, split = SPLIT }: VerifyOptions = {},
): Promise<VerifyResult> {
  const chains = (await chainIds(store)).filter((id) => !only || only.includes(id));
  const source: RangeTask['source'] = store.file
    ? { dialect: 'sqlite', file: store.file }
    : { dialect: 'postgres', url: store.url! };
  const witness = signer.witness?.read() ?? {};
  const states = new Map<string, ChainState>();
  for (const id of chains) states.set(id, await chainState(store, id));
  // After the checkpoints are read: every key that signed one is in the key directory by now.
  const verifySignature = signer.asyncVerifier();
  const total = [...states.values()].reduce((n, s) => n + s.lastSeq, 0);
  let count = 0;
  let unsignedTail = 0;
  const tick = (rows: number) => {
    count += rows;
    progress?.(count, total);
  };
  for (const tenantId of chains) {
    const state = states.get(tenantId)!;
    // Several checks may fail; the report names the earliest sequence number among them.
    let bad: { seq: number; problem: string } | undefined;
    const note = (seq: number, problem: string) => {
      if (!bad || seq < bad.seq) bad = { seq, problem };
    };
    // Hashes that must hold: the signed checkpoints, and the head witnessed outside the database.
    const witnessed = witness[tenantId];
    const pinned: [number, string][] = state.checkpoints.map((c) => [c.seq, c.hash]);
    if (witnessed) pinned.push([witnessed.seq, witnessed.hash]);
    // The signatures are checked on libuv's threads while this thread reads the stretches the checkpoints claim, as
    // if every one were genuine: whether a stretch's rows have a digest depends on the rows alone. Only stretches
    // of checkpoints whose signatures hold are then taken (`verifySegments`); a forged one's is not. The stretches'
    // worker is started first: handed out before it, the signature checks kept both cores busy while it started.
    const matching = matchStretches(
      source,
      tenantId,
      byDigest(segmentsOf(state.lastSeq, state.checkpoints), pinned),
      tick,
      split,
    );
    const [holds, early] = await Promise.all([
      Promise.all(
        state.checkpoints.map((c) =>
          verifySignature(
            { tenantId, seq: c.seq, hash: c.hash, at: c.at, stretch: stretchOf(c) },
            c.signature,
            c.key_id,
          ),
        ),
      ),
      matching,
    ]);
    const genuine = state.checkpoints.filter((_, i) => holds[i]);
    const forged = state.checkpoints.find((c) => !genuine.includes(c));
    if (forged) note(forged.seq, 'checkpoint signature does not verify');
    // Keys only ever move forward within a chain: a retired key signing after its successor is a forgery.
    let generation = -1;
    const generations = new Map<string, number>();
    for (const c of state.checkpoints) {
      if (!generations.has(c.key_id)) generations.set(c.key_id, signer.generation(c.key_id) ?? -1);
      const g = generations.get(c.key_id)!;
      if (g < generation) {
        note(c.seq, 'checkpoint signed by a retired key after its successor');
        break;
      }
      generation = g;
    }
    // Every CHECKPOINT_EVERY-th event is signed in the transaction that appends it: a missing one was removed.
    const signed = new Set(state.checkpoints.map((c) => c.seq));
    for (let seq = CHECKPOINT_EVERY; seq <= Math.max(state.lastSeq, state.head?.seq ?? 0); seq += CHECKPOINT_EVERY) {
      if (!signed.has(seq)) {
        note(seq, 'signed checkpoint missing');
        break;
      }
    }
    if (witnessed && witnessed.seq > state.lastSeq)
      note(state.lastSeq + 1, 'events missing before the head witnessed outside the database');
    const atWitnessed = witnessed?.keyId && state.checkpoints.find((c) => c.seq === witnessed.seq);
    if (atWitnessed && atWitnessed.key_id !== witnessed?.keyId)
      note(atWitnessed.seq, 'checkpoint at the witnessed head signed by another key than the witness names');
    const results = await verifySegments(source, signer, tenantId, state.lastSeq, genuine, pinned, early, tick, split);
    // Stitch: each range must start where the previous one ended.
    let prev = GENESIS_HASH;
    let linked = true;
    for (const r of results) {
      if (r.result.firstPrev !== null && r.result.firstPrev !== prev)
        note(r.task.from, 'link to previous event broken');
      else if (r.result.bad) note(r.result.bad.seq, r.result.bad.problem);
      else {
        prev = r.result.lastHash ?? prev;
        continue;
      }
      linked = false;
      break;
    }
    const lastSigned = state.checkpoints.at(-1)?.seq ?? 0;
    if (linked) {
      const head = state.head;
      if (lastSigned > state.lastSeq) note(state.lastSeq + 1, 'events missing before a signed checkpoint');
      else if (!head || head.seq > state.lastSeq)
        note(state.lastSeq + 1, 'chain head disagrees with the events: events missing');
      else if (head.seq < state.lastSeq)
        note(head.seq + 1, 'chain head disagrees with the events: event beyond the head');
      else if (head.hash !== prev) note(Math.max(state.lastSeq, 1), 'chain head disagrees with the last event');
    }
    if (bad) return { ok: false, count, tenantId, seq: bad.seq, problem: bad.problem };
    unsignedTail += state.lastSeq - lastSigned;
  }
  return { ok: true, count, unsignedTail };
}

/**
 * The head, the last event and the checkpoints as of one moment: read one statement after another while the server
 * appends, the head could lag the events, and a sound chain was reported broken ("event beyond the head") by
 * GET /api/audit/status and the doctor on PostgreSQL under load (s25).
 */
function chainState(store: Store, tenantId: string): Promise<ChainState> {
  return inTenantSnapshot(store, tenantId, async (tx) => {
    const head = await tx
      .selectFrom('audit_heads')
      .select(['seq', 'hash'])
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    const last = await tx
      .selectFrom('audit_events')
      .select(sql<number | null>`max(seq)`.as('seq'))
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    const checkpoints = await tx
      .selectFrom('audit_checkpoints')
      .select(['seq', 'hash', 'at', 'key_id', 'signature', 'from_seq', 'prev_hash', 'digest'])
      .where('tenant_id', '=', tenantId)
      .orderBy('seq')
      .execute();
    return { head, lastSeq: Number(last?.seq ?? 0), checkpoints };
  });
}

/** A stretch of the chain: `signed` when a genuine checkpoint signed its digest. */
interface Segment {
  first: number;
  last: number;
  signed?: CheckpointRow & { digest: string; from_seq: number; prev_hash: string };
}

/**
 * The chain 1..lastSeq cut into stretches: each genuine checkpoint with a digest that continues where the
 * last such stretch ended covers its events; what lies between or after (older checkpoints, the unsigned
 * tail, checkpoints that overlap) is verified row by row.
 */
function segmentsOf(lastSeq: number, genuine: readonly CheckpointRow[]): Segment[] {
  const out: Segment[] = [];
  let at = 0;
  for (const c of genuine) {
    if (c.digest === null || c.from_seq === null || c.prev_hash === null) continue;
    const from = Number(c.from_seq);
    if (from < at || c.seq <= from || c.seq > lastSeq) continue;
    if (from > at) out.push({ first: at + 1, last: from });
    out.push({
      first: from + 1,
      last: c.seq,
      signed: { ...c, digest: c.digest, from_seq: from, prev_hash: c.prev_hash },
    });
    at = c.seq;
  }
  if (at < lastSeq || out.length === 0) out.push({ first: at + 1, last: lastSeq });
  return out;
}

/** The signed stretches verified by their digest: not those with a pinned hash inside (an overlapping checkpoint, a witnessed head), which are verified row by row. */
const byDigest = (segments: readonly Segment[], pinned: readonly [number, string][]): Segment[] =>
  segments.filter(
    (s) =>
      s.signed &&
      !pinned.some(([seq, hash]) => seq >= s.first && seq <= s.last && (seq < s.last || hash !== s.signed!.hash)),
  );

/** What a stretch's match depends on: its rows and the digest claimed for them. */
const stretchKey = (s: Segment) => `${s.first}:${s.last}:${s.signed!.digest}`;

/** Whether each stretch's rows as stored now have its digest, by `stretchKey`; a long chain's on several threads. */
async function matchStretches(
  source: RangeTask['source'],
  tenantId: string,
  stretches: readonly Segment[],
  tick: (rows: number) => void,
  split: NonNullable<VerifyOptions['split']>,
): Promise<Map<string, boolean>> {
  const rows = stretches.reduce((n, s) => n + s.last - s.first + 1, 0);
  const matched = await stretchesMatch(
    source,
    tenantId,
    stretches.map((s) => ({ from: s.first, to: s.last, digest: s.signed!.digest })),
    tick,
    { threads: verifyThreads(rows, split), ...(split.workersOnly ? { workersOnly: true } : {}) },
  );
  return new Map(stretches.map((s, i) => [stretchKey(s), matched[i]!]));
}

async function verifySegments(
  source: RangeTask['source'],
  signer: CheckpointSigner,
  tenantId: string,
  lastSeq: number,
  genuine: readonly CheckpointRow[],
  pinned: [number, string][],
  early: ReadonlyMap<string, boolean>,
  tick: (rows: number) => void,
  split: NonNullable<VerifyOptions['split']>,
): Promise<{ task: { from: number }; result: RangeResult }[]> {
  const segments = segmentsOf(lastSeq, genuine);
  const signed = byDigest(segments, pinned);
  // Read already unless a forged checkpoint cut the chain differently.
  const late = await matchStretches(
    source,
    tenantId,
    signed.filter((s) => !early.has(stretchKey(s))),
    tick,
    split,
  );
  const held = new Set(signed.filter((s) => early.get(stretchKey(s)) ?? late.get(stretchKey(s))));
  const results: { task: { from: number }; result: RangeResult }[] = [];
  for (const s of segments) {
    if (held.has(s)) {
      // Byte for byte the rows the server verified before it signed: they link from prev_hash to the signed hash.
      results.push({
        task: { from: s.first },
        result: { count: s.last - s.first + 1, firstPrev: s.signed!.prev_hash, lastHash: s.signed!.hash },
      });
      continue;
    }
    const inside = pinned.filter(([seq]) => seq >= s.first && seq <= s.last);
    results.push(...(await verifyRanges(source, signer, tenantId, s.first, s.last, inside, tick, split)));
  }
  return results;
}

async function verifyRanges(
  source: RangeTask['source'],
  signer: CheckpointSigner,
  tenantId: string,
  first: number,
  last: number,
  checkpoints: [number, string][],
  tick: (rows: number) => void,
  split: NonNullable<VerifyOptions['split']>,
) {
  const n = last - first + 1;
  const threads = verifyThreads(n, split);
  const plan: ChunkPlan = {
    source,
    tenantId,
    keying: signer.chainKey,
    first,
    last,
    size: threads === 1 ? Math.max(n, 1) : split.chunk,
    checkpoints,
  };
  const next = new Int32Array(new SharedArrayBuffer(4));
  const results: { task: RangeTask; result: RangeResult }[] = [];
  const done = (chunk: number, result: RangeResult) => (results[chunk] = { task: chunkTask(plan, chunk), result });
  // This thread claims chunks too, while the workers start (~0.2 s each here). Workers only while a place is
  // spare in the process, shared with every other verification (`verify-slots.ts`): a flood of status requests
  // on a chain verified row by row starts no more threads than the stretches' do.
  const workers: Promise<void>[] = [];
  for (let i = 0; i < threads - 1 && workerSpare(split.workersOnly); i++)
    workers.push(inWorker(plan, next, done, tick));
  // A verification just before may hold a place for the few milliseconds its finished worker takes to exit.
  const left = () => Atomics.load(next, 0) < Math.ceil(n / plan.size);
  const mine = split.workersOnly && workers.length > 0 ? undefined : verifyChunks(plan, next, done, tick);
  for (let i = workers.length; i < threads - 1 && !split.workersOnly; i++)
    workers.push(laterWorker(left, () => inWorker(plan, next, done, tick), mine));
  await Promise.all([mine, ...workers]);
  return results;
}

function inWorker(
  plan: ChunkPlan,
  next: Int32Array,
  done: (chunk: number, result: RangeResult) => void,
  tick: (rows: number) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    // Node strips the worker's types itself, as it does the main thread's: no loader to register.
    const worker = placedWorker(
      () => new Worker(new URL('./verify-worker.ts', import.meta.url), { workerData: { plan, next } }),
    );
    worker.on('message', (m: { progress?: number; chunk?: number; result?: RangeResult; finished?: true }) => {
      if (m.progress) tick(m.progress);
      if (m.result) done(m.chunk!, m.result);
      if (m.finished) {
        workDone(worker);
        resolve();
      }
    });
    worker.once('error', reject);
    worker.once('exit', () => reject(new Error('verify worker stopped before it finished')));
  });
}
