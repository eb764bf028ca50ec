// `audit verify` beside its read floors, alternating in one process (issue 18): seeds a chain
// of VERIFY_EVENTS events as `npm run bench` does (10,000 per transaction, a checkpoint signed
// every 1,000), then runs verify, the one-thread floor and the floor on verify's threads
// VERIFY_ROUNDS times in turn and prints each round's rates and ratios, and where verify's
// wall time goes (its phases, timed by calling them alone). VERIFY_KEEP=<dir> keeps the seeded
// installation there and reuses it next time. Run it as `npm run bench` runs its scripts:
//   node --expose-gc --import ./bench/production-start.ts bench/verify-profile.ts
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { startHarness } from '../test/helpers/harness.ts';
import { inTenantTransaction } from '../src/db/connect.ts';
import { verifyAudit } from '../src/audit/verify.ts';
import { DEPLOYMENT_CHAIN } from '../src/db/schema.ts';
import { readFloorPerSec, readPerSec, threadCpuUs } from './audit-read-floor.ts';

const TOTAL = Number(process.env.VERIFY_EVENTS ?? 300_000);
const ROUNDS = Number(process.env.VERIFY_ROUNDS ?? 4);
const KEEP = process.env.VERIFY_KEEP;
/** VERIFY_OLD=<module>: another verifyAudit (a copy of an earlier one) run before this one in each round. */
const OLD: typeof verifyAudit | undefined = process.env.VERIFY_OLD
  ? (await import(path.resolve(process.env.VERIFY_OLD))).verifyAudit
  : undefined;

const reopen = KEEP && fs.existsSync(path.join(KEEP, 'data')) ? { dir: KEEP, database: {} } : undefined;
const h = await startHarness(reopen ? { reopen } : {});
const store = h.services.store;
if (!store.file) throw new Error('verify-profile measures SQLite (unset KARTEI_TEST_PG)');
try {
  if (!reopen) {
    const t0 = performance.now();
    for (let i = 0; i < TOTAL; i += 10_000) {
      await inTenantTransaction(store, DEPLOYMENT_CHAIN, async (tx) => {
        for (let j = 0; j < 10_000 && i + j < TOTAL; j++)
          await h.services.audit.append(tx, {
            tenantId: DEPLOYMENT_CHAIN,
            actorId: null,
            action: 'bench.append',
            resourceType: 'bench',
            resourceId: String(i + j),
            outcome: 'allowed',
          });
      });
    }
    console.log(`seeded ${TOTAL} events in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const n = new Database(store.file, { readonly: true })
    .prepare('SELECT max(seq) AS n FROM audit_events WHERE tenant_id = ?')
    .get(DEPLOYMENT_CHAIN) as { n: number };
  console.log(
    `events in the chain: ${n.n}; load average ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  // VERIFY_TRUNCATE=1: the log checkpointed into the database and emptied first (what a restart leaves).
  if (process.env.VERIFY_TRUNCATE) {
    const db = new Database(store.file);
    console.log(`checkpoint: ${JSON.stringify(db.pragma('wal_checkpoint(TRUNCATE)'))}`);
    db.close();
  }
  const fmt = (x: number) => Math.round(x).toLocaleString('en');
  const rows: string[] = [];
  const seen = { before: [] as number[], verify: [] as number[], one: [] as number[], threads: [] as number[] };
  for (let r = 1; r <= ROUNDS; r++) {
    const load = `${os.loadavg()[0]!.toFixed(2)}, WAL ${(walBytes(store.file) / 1048576).toFixed(1)} MiB`;
    let before = '';
    // The earlier verify runs first in odd rounds and after this one in even rounds: each then pays for the other's
    // garbage equally often. With --expose-gc every measure starts after a full collection.
    const runOld = async () => {
      if (!OLD) return;
      settle();
      const t = performance.now();
      const e = performance.eventLoopUtilization();
      const c = threadCpuUs();
      const p = processCpuUs();
      const o = await OLD(store, h.services.signer);
      const mainCpu = (threadCpuUs() - c) / o.count;
      const allCpu = (processCpuUs() - p) / o.count;
      seen.before.push(o.count / ((performance.now() - t) / 1000));
      const idle = performance.eventLoopUtilization(e).idle;
      before = `before ${fmt(o.count / ((performance.now() - t) / 1000))}/s (${(performance.now() - t).toFixed(0)} ms, waiting ${idle.toFixed(0)} ms, CPU/event ${mainCpu.toFixed(2)} µs this thread, ${allCpu.toFixed(2)} µs all), `;
    };
    if (r % 2 === 1) await runOld();
    settle();
    const t0 = performance.now();
    const cpu0 = threadCpuUs();
    const all0 = processCpuUs();
    const elu = performance.eventLoopUtilization();
    const v = await verifyAudit(store, h.services.signer);
    const waited = performance.eventLoopUtilization(elu).idle;
    const took = performance.now() - t0;
    const verifyCpu = (threadCpuUs() - cpu0) / Math.max(v.count, 1);
    const verifyAll = (processCpuUs() - all0) / Math.max(v.count, 1);
    const verifyRate = v.count / ((performance.now() - t0) / 1000);
    if (!v.ok) throw new Error(`verify failed: ${JSON.stringify(v)}`);
    if (r % 2 === 0) await runOld();
    settle();
    const cpu1 = threadCpuUs();
    const all1 = processCpuUs();
    const one = readPerSec(store.file, DEPLOYMENT_CHAIN, n.n);
    const readCpu = (threadCpuUs() - cpu1) / n.n;
    const readAll = (processCpuUs() - all1) / n.n;
    settle();
    const floor = await readFloorPerSec(store.file, DEPLOYMENT_CHAIN, n.n);
    const best = Math.max(one, floor.perSec);
    seen.verify.push(verifyRate);
    seen.one.push(one);
    seen.threads.push(floor.perSec);
    rows.push(
      `round ${r} (load ${load}): ${before}verify ${fmt(verifyRate)}/s (${took.toFixed(0)} ms, waiting ${waited.toFixed(0)} ms, CPU/event ${verifyCpu.toFixed(2)} µs this thread, ${verifyAll.toFixed(2)} µs all), ` +
        `floor 1 thread ${fmt(one)}/s (CPU/row ${readCpu.toFixed(2)} µs this thread, ${readAll.toFixed(2)} µs all), ${floor.threads} threads ${fmt(floor.perSec)}/s; ` +
        `verify/1-thread ${((100 * verifyRate) / one).toFixed(1)} %, verify/${floor.threads}-thread ${((100 * verifyRate) / floor.perSec).toFixed(1)} %, ` +
        `verify/higher ${((100 * verifyRate) / best).toFixed(1)} %`,
    );
    console.log(rows.at(-1));
  }
  // On a shared machine each measure's best round is the nearest to a quiet one; the medians are beside them.
  const top = (xs: number[]) => Math.max(...xs);
  const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  for (const [name, pick] of [
    ['best round of each', top],
    ['median of each', mid],
  ] as const) {
    const floor = Math.max(pick(seen.one), pick(seen.threads));
    const pct = (x: number) => `${((100 * x) / floor).toFixed(1)} %`;
    console.log(
      `${name}: ${OLD ? `before ${fmt(pick(seen.before))}/s = ${pct(pick(seen.before))}, ` : ''}verify ${fmt(pick(seen.verify))}/s = ${pct(pick(seen.verify))} ` +
        `of the higher floor (1 thread ${fmt(pick(seen.one))}/s, verify's threads ${fmt(pick(seen.threads))}/s)`,
    );
  }
  console.log(
    `load average at the end ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
} finally {
  if (KEEP && !reopen) {
    await h.stop();
    fs.renameSync(h.dir, KEEP);
  } else if (KEEP) await h.stop();
  else await h.close();
}

/** The size of the database's write-ahead log: pages not yet checkpointed are read from it. */
function walBytes(file: string): number {
  return fs.existsSync(`${file}-wal`) ? fs.statSync(`${file}-wal`).size : 0;
}

/** A full garbage collection if the process was started with --expose-gc. */
function settle() {
  (globalThis as { gc?: () => void }).gc?.();
}

/** CPU time of the whole process so far (libuv's threads included), in µs. */
function processCpuUs() {
  const u = process.cpuUsage();
  return u.user + u.system;
}
