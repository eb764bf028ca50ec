// `audit verify` beside its read floors, alternating in one process (issue 18): seeds a chain
// of VERIFY_EVENTS events as `npm run bench` does (10,000 per transaction, a checkpoint signed
// every 1,000), then runs verify, the one-thread floor and the floor on verify's threads
// VERIFY_ROUNDS times in turn and prints each round's rates and ratios, and where verify's
// wall time goes (its phases, timed by calling them alone). VERIFY_KEEP=<dir> keeps the seeded
// installation there and reuses it next time. Run it as `npm run bench` runs its scripts:
//   node --import ./bench/production-start.ts bench/verify-profile.ts
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { startHarness } from '../test/helpers/harness.ts';
import { inTenantTransaction } from '../src/db/connect.ts';
import { verifyAudit } from '../src/audit/verify.ts';
import { CHAINED_COLUMNS } from '../src/audit/chain.ts';
import { DEPLOYMENT_CHAIN } from '../src/db/schema.ts';
import { readFloorPerSec } from './audit-read-floor.ts';

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
  const fmt = (x: number) => Math.round(x).toLocaleString('en');
  const rows: string[] = [];
  for (let r = 1; r <= ROUNDS; r++) {
    const load = os.loadavg()[0]!.toFixed(2);
    let before = '';
    if (OLD) {
      const t = performance.now();
      const e = performance.eventLoopUtilization();
      const o = await OLD(store, h.services.signer);
      const idle = performance.eventLoopUtilization(e).idle;
      before = `before ${fmt(o.count / ((performance.now() - t) / 1000))}/s (${(performance.now() - t).toFixed(0)} ms, waiting ${idle.toFixed(0)} ms), `;
    }
    const t0 = performance.now();
    const cpu0 = threadCpuUs();
    const elu = performance.eventLoopUtilization();
    const v = await verifyAudit(store, h.services.signer);
    const waited = performance.eventLoopUtilization(elu).idle;
    const took = performance.now() - t0;
    const verifyCpu = (threadCpuUs() - cpu0) / Math.max(v.count, 1);
    const verifyRate = v.count / ((performance.now() - t0) / 1000);
    if (!v.ok) throw new Error(`verify failed: ${JSON.stringify(v)}`);
    const cpu1 = threadCpuUs();
    const one = readPerSec(store.file, n.n);
    const readCpu = (threadCpuUs() - cpu1) / n.n;
    const floor = await readFloorPerSec(store.file, DEPLOYMENT_CHAIN, n.n);
    const best = Math.max(one, floor.perSec);
    rows.push(
      `round ${r} (load ${load}): ${before}verify ${fmt(verifyRate)}/s (${took.toFixed(0)} ms, waiting ${waited.toFixed(0)} ms, ${verifyCpu.toFixed(2)} µs CPU/event), ` +
        `floor 1 thread ${fmt(one)}/s (${readCpu.toFixed(2)} µs CPU/row), ${floor.threads} threads ${fmt(floor.perSec)}/s; ` +
        `verify/1-thread ${((100 * verifyRate) / one).toFixed(1)} %, verify/${floor.threads}-thread ${((100 * verifyRate) / floor.perSec).toFixed(1)} %, ` +
        `verify/higher ${((100 * verifyRate) / best).toFixed(1)} %`,
    );
    console.log(rows.at(-1));
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

/** CPU time of this thread so far, in µs. */
function threadCpuUs() {
  const u = process.threadCpuUsage();
  return u.user + u.system;
}

/** The one-thread floor, as bench/run.ts measures it: the same rows read 2,000 at a time, no hashing. */
function readPerSec(file: string, n: number): number {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db
      .prepare(
        `SELECT ${[...CHAINED_COLUMNS, 'prev_hash', 'hash'].join(', ')} FROM audit_events WHERE tenant_id = ? AND seq BETWEEN ? AND ?`,
      )
      .raw();
    let read = 0;
    const t0 = performance.now();
    for (let lo = 1; lo <= n; lo += 2_000) read += rows.all(DEPLOYMENT_CHAIN, lo, lo + 1_999).length;
    return read / ((performance.now() - t0) / 1000);
  } finally {
    db.close();
  }
}
