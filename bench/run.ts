// `npm run bench`: measures, in one run on this machine, side by side:
//  1. gated GET /api/records/:id against the ungated floor route and /healthz (autocannon, 50 connections,
//     alternating rounds), each with the server's CPU time per request (all its threads, /proc/<pid>/stat),
//  2. search by surname over BENCH_PERSONS persons (p50),
//  3. resident memory of the server at idle and under load,
//  4. audit appends per second (single writer, each durable) and `audit verify` events per second,
//     each beside its floor on this machine (the disk's fsync rate; reading the rows without hashing,
//     on one thread and on as many threads as verify uses, claiming the same chunks).
// Appends the figures with date and commit to bench/RESULTS.md.
import { spawn, execSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import autocannon from 'autocannon';
import { DIALECT, startHarness } from '../test/helpers/harness.ts';
import { inTenantTransaction } from '../src/db/connect.ts';
import { verifyAudit } from '../src/audit/verify.ts';
import { DEPLOYMENT_CHAIN } from '../src/db/schema.ts';
import { linkFloorPerSec, readFloorPerSec, readPerSec, threadCpuUs } from './audit-read-floor.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** Issue 18: rounds of `audit verify` and its floors, alternating. */
const VERIFY_ROUNDS = Number(process.env.BENCH_VERIFY_ROUNDS ?? 5);
const CONNECTIONS = 50;

interface Load {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** The server's CPU time (user + system, all threads) per request in this round, µs; NaN if not measured. */
  cpuUs: number;
}

/** User + system CPU seconds of a process, all its threads (fields 14 and 15 of /proc/<pid>/stat). */
const CLOCK_TICKS = Number(execSync('getconf CLK_TCK').toString().trim()) || 100;
function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

async function load(
  url: string,
  headers: Record<string, string>,
  connections: number,
  seconds = SECONDS,
  serverPid?: number,
): Promise<Load> {
  const before = serverPid ? cpuSeconds(serverPid) : NaN;
  const r = await autocannon({ url, headers, connections, duration: seconds });
  const cpuUs = serverPid ? ((cpuSeconds(serverPid) - before) * 1e6) / Math.max(r.requests.total, 1) : NaN;
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx, cpuUs };
}

const rssOf = (pid: number) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function httpBench() {
  // Issue 18: runtime — the server under the production start (bench/production-start.ts).
  const child = spawn(
    process.execPath,
    ['--import', path.join(import.meta.dirname, 'production-start.ts'), 'bench/server.ts'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, BENCH_KEEP_DIR: '1' },
    },
  );
  const exited = new Promise((r) => child.once('exit', r));
  let dir: string | undefined;
  try {
    const line = await new Promise<string>((resolve, reject) => {
      readline.createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`bench server exited ${code}`)));
    });
    const info = JSON.parse(line);
    dir = info.dir;
    const base = `http://127.0.0.1:${info.port}`;
    const auth = { cookie: `kartei_session=${info.cookie}` };
    await new Promise((r) => setTimeout(r, 2000));
    const idleRss = rssOf(info.pid);
    // Warm up every path, then alternate so drift on a shared machine hits all alike.
    await load(`${base}/api/records/${info.recordId}`, auth, CONNECTIONS, 2);
    await load(`${base}/bench/bare/${info.recordId}`, {}, CONNECTIONS, 2);
    await load(`${base}/healthz`, {}, CONNECTIONS, 2);
    const gated: Load[] = [];
    const bare: Load[] = [];
    const health: Load[] = [];
    const loadAverages: string[] = [];
    let loadRss = 0;
    for (let i = 0; i < ROUNDS; i++) {
      loadAverages.push(os.loadavg()[0]!.toFixed(1));
      const g = load(`${base}/api/records/${info.recordId}`, auth, CONNECTIONS, SECONDS, info.pid);
      const sampler = setInterval(() => (loadRss = Math.max(loadRss, rssOf(info.pid))), 500);
      gated.push(await g);
      clearInterval(sampler);
      bare.push(await load(`${base}/bench/bare/${info.recordId}`, {}, CONNECTIONS, SECONDS, info.pid));
      health.push(await load(`${base}/healthz`, {}, CONNECTIONS, SECONDS, info.pid));
    }
    loadAverages.push(os.loadavg()[0]!.toFixed(1));
    const search = await load(`${base}/api/persons?q=Quasstenberg`, auth, 1, 5);
    const searchCommon = await load(`${base}/api/persons?q=Zimmermann`, auth, 1, 5);
    child.kill('SIGTERM');
    await exited;
    const restarted = DIALECT === 'sqlite' ? await restartedServer(info.dir, info.recordId, auth) : undefined;
    return { info, idleRss, loadRss, gated, bare, health, loadAverages, search, searchCommon, restarted };
  } finally {
    child.kill('SIGTERM');
    await exited;
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * An office's server at rest: \`kartei serve\` (bin/kartei.js, the production start) restarted on the
 * bench's installation with its 100,000 persons, its RSS 10 s after it answers, then 10 s after a few
 * seconds of gated reads. The bench server's own idle figure is taken right after seeding, with the
 * seeding's garbage and the password estimator (loaded for the bench's accounts) still in memory.
 */
async function restartedServer(dir: string, recordId: string, auth: Record<string, string>) {
  const port = await new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
  const server = spawn(process.execPath, ['bin/kartei.js', 'serve'], {
    stdio: ['ignore', 'ignore', 'ignore'],
    env: {
      ...process.env,
      KARTEI_DATA_DIR: path.join(dir, 'data'),
      KARTEI_KEY_DIR: path.join(dir, 'keys'),
      KARTEI_LISTEN: `127.0.0.1:${port}`,
      KARTEI_LOG_LEVEL: 'silent',
    },
  });
  const gone = new Promise((r) => server.once('exit', r));
  try {
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      if (i > 600) throw new Error('restarted server did not answer /healthz within 60 s');
      const ok = await fetch(`${base}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 10_000));
    const idleRss = rssOf(server.pid!);
    const reads = await load(`${base}/api/records/${recordId}`, auth, CONNECTIONS, 5, server.pid);
    await new Promise((r) => setTimeout(r, 10_000));
    return { idleRss, afterRss: rssOf(server.pid!), reads };
  } finally {
    server.kill('SIGTERM');
    await gone;
  }
}

async function auditBench() {
  const h = await startHarness();
  try {
    const store = h.services.store;
    const append = (tx: Parameters<Parameters<typeof inTenantTransaction>[2]>[0], i: number) =>
      h.services.audit.append(tx, {
        tenantId: DEPLOYMENT_CHAIN,
        actorId: null,
        action: 'bench.append',
        resourceType: 'bench',
        resourceId: String(i),
        outcome: 'allowed',
      });
    // Single writer, one durable commit per event.
    const n = Number(process.env.BENCH_APPENDS ?? 5_000);
    let t0 = performance.now();
    for (let i = 0; i < n; i++) await inTenantTransaction(store, DEPLOYMENT_CHAIN, (tx) => append(tx, i));
    const durablePerSec = n / ((performance.now() - t0) / 1000);
    // 50 concurrent appenders, each waiting for its own event to be durable: the group
    // committer lets them share commits, as concurrent requests do in the server.
    t0 = performance.now();
    await Promise.all(
      Array.from({ length: 50 }, async (_, w) => {
        for (let i = w; i < n; i += 50) await inTenantTransaction(store, DEPLOYMENT_CHAIN, (tx) => append(tx, n + i));
      }),
    );
    const groupedPerSec = n / ((performance.now() - t0) / 1000);
    // Fill to the verify size in large transactions, then verify.
    const total = Number(process.env.BENCH_VERIFY_EVENTS ?? 300_000);
    for (let i = 2 * n; i < total; i += 10_000) {
      await inTenantTransaction(store, DEPLOYMENT_CHAIN, async (tx) => {
        for (let j = 0; j < 10_000 && i + j < total; j++) await append(tx, i + j);
      });
    }
    // Issue 19: audit — audit verify section: beside the rates, this thread's CPU per event and per row read
    // (process.threadCpuUsage), which a busy machine disturbs less than the clock. Issue 18: verify and its two
    // floors alternate over VERIFY_ROUNDS rounds (verify first in odd rounds, the floors first in even ones); a
    // single sample of each moved between 59 and 87 % of the floor with the same code, so the medians count.
    const rounds: { verify: number; verifyCpuUs: number; read?: number; readCpuUs?: number; floor?: number }[] = [];
    let verified = 0;
    let readFloor: Awaited<ReturnType<typeof readFloorPerSec>> | undefined;
    for (let r = 0; r < VERIFY_ROUNDS; r++) {
      const round: (typeof rounds)[number] = { verify: 0, verifyCpuUs: 0 };
      const verifyOnce = async () => {
        const t = performance.now();
        const cpu0 = threadCpuUs();
        const v = await verifyAudit(store, h.services.signer);
        round.verifyCpuUs = (threadCpuUs() - cpu0) / Math.max(v.count, 1);
        round.verify = v.count / ((performance.now() - t) / 1000);
        if (!v.ok) throw new Error('verify failed in the benchmark');
        verified = v.count;
      };
      const floors = async () => {
        if (!store.file) return;
        const readCpu0 = threadCpuUs();
        round.read = readPerSec(store.file, DEPLOYMENT_CHAIN, total);
        round.readCpuUs = (threadCpuUs() - readCpu0) / total;
        readFloor = await readFloorPerSec(store.file, DEPLOYMENT_CHAIN, total);
        round.floor = readFloor.perSec;
      };
      if (r % 2 === 0) await verifyOnce().then(floors);
      else await floors().then(verifyOnce);
      rounds.push(round);
    }
    const linkFloor = store.file
      ? linkFloorPerSec(store.file, DEPLOYMENT_CHAIN, h.services.signer.chainKey)
      : undefined;
    const of = (pick: (x: (typeof rounds)[number]) => number | undefined) => {
      const xs = rounds.map(pick).filter((x): x is number => x !== undefined);
      return xs.length ? median(xs) : undefined;
    };
    return {
      n,
      durablePerSec,
      groupedPerSec,
      verified,
      verifyPerSec: of((x) => x.verify)!,
      syncsPerSec: store.file ? syncsPerSec(path.dirname(store.file)) : undefined,
      readPerSec: of((x) => x.read),
      verifyCpuUs: of((x) => x.verifyCpuUs)!,
      readCpuUs: of((x) => x.readCpuUs),
      readFloor: readFloor && { ...readFloor, perSec: of((x) => x.floor)! },
      linkFloor,
      rounds,
    };
  } finally {
    await h.close();
  }
}

/** The disk's ceiling for one writer that waits for each commit: 4 KiB written and fdatasync'ed in place, in the data directory. */
function syncsPerSec(dir: string, n = 2_000): number {
  const file = path.join(dir, 'bench-sync-probe');
  const fd = fs.openSync(file, 'w', 0o600);
  try {
    const page = Buffer.alloc(4096, 1);
    for (let i = 0; i < 64; i++) fs.writeSync(fd, page, 0, page.length, i * page.length);
    fs.fdatasyncSync(fd);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      fs.writeSync(fd, page, 0, page.length, (i % 64) * page.length);
      fs.fdatasyncSync(fd);
    }
    return n / ((performance.now() - t0) / 1000);
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file);
  }
}

const fmt = (x: number, d = 0) => x.toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d });

const http = await httpBench();
const audit = await auditBench();
const g = median(http.gated.map((x) => x.rps));
const b = median(http.bare.map((x) => x.rps));
const hz = median(http.health.map((x) => x.rps));
const cpu = (xs: Load[]) =>
  `${fmt(median(xs.map((x) => x.cpuUs)))} µs (rounds: ${xs.map((x) => fmt(x.cpuUs)).join(', ')})`;
const roundsOf = (pick: (x: (typeof audit.rounds)[number]) => number | undefined) =>
  audit.rounds.map((x) => fmt(pick(x) ?? 0)).join(', ');
const verifyFloor = audit.readFloor ? Math.max(audit.readFloor.perSec, audit.readPerSec ?? 0) : undefined;
const gp99 = median(http.gated.map((x) => x.p99));
const commit = execSync('git rev-parse --short HEAD').toString().trim();
const dirty = execSync("git status --porcelain -- . ':!bench/RESULTS.md'").toString().trim()
  ? ' (uncommitted changes)'
  : '';
const ok = (cond: boolean) => (cond ? 'meets goal' : '**falls short**');

const report = `
## ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — commit ${commit}${dirty}

Node ${process.version}, ${http.info.cpus} cores, ${DIALECT === 'sqlite' ? 'SQLite (WAL, group commit; each batch answered after its own fdatasync of the WAL)' : 'PostgreSQL 15 (throwaway cluster, fsync off)'}, ${CONNECTIONS} connections, ${ROUNDS} alternating rounds of ${SECONDS} s (gated, bare, \`/healthz\`, one after another in each round); request logging off for every route; load average (1 min) at each round's start and at the end: ${http.loadAverages.join(', ')}. CPU per request: the server process's user + system time (all threads) over the round, divided by the requests answered in it; the load generator runs on the same cores.

| measure | result | goal | |
|---|---|---|---|
| gated \`GET /api/records/:id\` (authenticated, authorised, audited, decrypted) | ${fmt(g)} req/s (rounds: ${http.gated.map((x) => fmt(x.rps)).join(', ')}), p50 ${http.gated.map((x) => x.p50).join('/')} ms, p99 ${http.gated.map((x) => x.p99).join('/')} ms | ≥ 50 % of bare and ≥ 35 % of \`/healthz\`, p99 < 25 ms | ${ok(g / b >= 0.5 && g / hz >= 0.35 && gp99 < 25)} |
| bare read of the same row (ungated floor) | ${fmt(b)} req/s (rounds: ${http.bare.map((x) => fmt(x.rps)).join(', ')}), p99 ${http.bare.map((x) => x.p99).join('/')} ms | — | |
| \`GET /healthz\` on the same server (no database, no session) | ${fmt(hz)} req/s (rounds: ${http.health.map((x) => fmt(x.rps)).join(', ')}), p99 ${http.health.map((x) => x.p99).join('/')} ms | — | |
| ratio gated / bare | **${fmt((100 * g) / b, 1)} %** | ≥ 50 % | ${ok(g / b >= 0.5)} |
| ratio gated / \`/healthz\` | **${fmt((100 * g) / hz, 1)} %** | ≥ 35 % | ${ok(g / hz >= 0.35)} |
| server CPU per request: gated | ${cpu(http.gated)} | — | |
| server CPU per request: bare | ${cpu(http.bare)} | — | |
| server CPU per request: \`/healthz\` | ${cpu(http.health)} | — | |
| search by surname over ${fmt(http.info.seedPersons)} persons, 1 connection (phonetic match, 1 hit) | p50 ${http.search.p50} ms, p99 ${http.search.p99} ms, ${fmt(http.search.rps)} req/s | p50 < 10 ms | ${ok(http.search.p50 < 10)} |
| same, a common surname (${'Zimmermann'}: 50 hits shown, each audited) | p50 ${http.searchCommon.p50} ms, p99 ${http.searchCommon.p99} ms | — | |
| audit appends, one writer, each waiting for its own durable commit (fsync-bound) | ${fmt(audit.durablePerSec)} /s (${fmt(audit.n)} events) | ≥ 10,000 /s | ${ok(audit.durablePerSec >= 10_000)} |
| the disk's ceiling for that: 4 KiB written and fdatasync'ed in place in the data directory, one after another | ${audit.syncsPerSec ? `${fmt(audit.syncsPerSec)} /s` : '— (the database is on PostgreSQL)'} | — | |
| audit appends, 50 concurrent appenders, each awaiting its own durable commit (group commit) | ${fmt(audit.groupedPerSec)} /s | ≥ 10,000 /s | ${ok(audit.groupedPerSec >= 10_000)} |
| \`audit verify\` (median of ${audit.rounds.length} rounds alternating with its floors) | ${fmt(audit.verifyPerSec)} events/s over ${fmt(audit.verified)} events (rounds: ${roundsOf((x) => x.verify)}) | ≥ 1,000,000 /s | ${ok(audit.verifyPerSec >= 1_000_000)} |
| the floor under that: reading the same rows on one thread, no hashing | ${audit.readPerSec ? `${fmt(audit.readPerSec)} rows/s (rounds: ${roundsOf((x) => x.read)})` : '— (the database is on PostgreSQL)'} | — | |
| the same rows read by as many threads as verify uses (${audit.readFloor ? `${audit.readFloor.threads}: this one and ${audit.readFloor.threads - 1} worker${audit.readFloor.threads === 2 ? '' : 's'}, chunks of ${fmt(audit.readFloor.chunk)} claimed like verify's, worker start included` : '—'}), no hashing | ${audit.readFloor ? `${fmt(audit.readFloor.perSec)} rows/s (rounds: ${roundsOf((x) => x.floor)})` : '— (the database is on PostgreSQL)'} | — | |
| the links alone: HMAC-SHA-256 of each row's canonical form, rows already in memory, one thread | ${audit.linkFloor ? `${fmt(audit.linkFloor)} links/s` : '—'} | — | |
| what reading and linking on every thread could reach: threads ÷ (1/read floor + 1/link floor) | ${audit.readFloor && audit.readPerSec && audit.linkFloor ? `${fmt(audit.readFloor.threads / (1 / audit.readPerSec + 1 / audit.linkFloor))} events/s` : '—'} | — | |
| CPU of the verifying thread per event / of the reading thread per row (checkpoints sign their stretch's digest since migration 033: one hash per stretch, hashed where it is read; a chain of 100,000 events or more on this thread and a worker) | ${fmt(audit.verifyCpuUs, 2)} µs / ${audit.readCpuUs === undefined ? '—' : `${fmt(audit.readCpuUs, 2)} µs`} | — | |
| ratio \`audit verify\` / the higher of the two floors (medians; each round's own in brackets) | ${verifyFloor ? `**${fmt((100 * audit.verifyPerSec) / verifyFloor, 1)} %** (${audit.rounds.map((x) => `${fmt((100 * x.verify) / Math.max(x.read ?? 0, x.floor ?? 0), 1)} %`).join(', ')})` : '—'} | ≥ 90 % | ${verifyFloor ? ok(audit.verifyPerSec / verifyFloor >= 0.9) : ''} |
| bench server RSS right after seeding / peak under load | ${fmt(http.idleRss)} MiB / ${fmt(http.loadRss)} MiB | — | |
| \`kartei serve\` restarted on this installation (production start): RSS at rest, 10 s after it answers / 10 s after 5 s of gated reads (${http.restarted ? `${fmt(http.restarted.reads.rps)} req/s, ${http.restarted.reads.errors} errors` : '—'}) | ${http.restarted ? `${fmt(http.restarted.idleRss)} MiB / ${fmt(http.restarted.afterRss)} MiB` : '— (PostgreSQL)'} | < 200 MB at rest | ${http.restarted ? ok(http.restarted.idleRss * 1.048576 < 200) : ''} |
| seeding ${fmt(http.info.seedPersons)} persons (1,000 per audited transaction) | ${fmt(http.info.seedSeconds, 1)} s; data directory ${fmt(http.info.dataBytes / 1048576, 1)} MiB | — | |
| errors / non-2xx during load | gated ${http.gated.reduce((n, x) => n + x.errors, 0)}, bare ${http.bare.reduce((n, x) => n + x.errors, 0)}, \`/healthz\` ${http.health.reduce((n, x) => n + x.errors, 0)}, search ${http.search.errors} | 0 | |
`;

const file = 'bench/RESULTS.md';
if (!fs.existsSync(file))
  fs.writeFileSync(
    file,
    '# Benchmark results\n\nWritten by `npm run bench`; newest last. Each run measures both sides of a ratio in the same run.\n',
  );
fs.appendFileSync(file, report);
process.stdout.write(report);
