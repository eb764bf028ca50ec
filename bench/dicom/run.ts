// `npm run bench:dicom`: Kartei's DICOM listener against Orthanc, side by side, in one run on
// this machine, with the same DCMTK clients for both:
//  1. C-STORE ingest of the corpus (bench/dicom/corpus.ts: 500 CT 512² + 12 CR 2048²) with 1
//     and with 4 associations, without TLS (loopback) and with TLS (client certificates on
//     both sides); every ingest into a fresh, empty server (new harness / new Orthanc);
//  2. C-ECHO latency (echoscu: process start + association + one round trip);
//  3. memory: the RSS of Kartei's server process (kartei-server.ts) sampled during the
//     4-association ingests, and Orthanc's peak RSS (VmHWM) in the same rounds;
//  4. the client's floor: the same storescu runs into DCMTK's storescp --ignore, which reads
//     every dataset and stores nothing (clientFloor below), in every round;
//  5. the disk's floors under one association's ingest (durabilityFloors below), after the rest;
//  6. Kartei's floor on one association (issue 18): the client's floor, sealing and the disk as
//     the store works, added up per instance, with Kartei's share of it (goal ≥ 90 %);
//  7. the server's CPU per instance in every ingest (all threads, user and system apart, from
//     /proc/<pid>/stat), Kartei's and Orthanc's: less noisy than rates on a shared machine.
// Rounds alternate (and within a round, which system goes first alternates per measure), so
// noise from other work on the machine hits both. Appends the figures to bench/RESULTS.md.
//
// Environment: BENCH_DICOM_ROUNDS (default 2), BENCH_DICOM_ECHO_RUNS (per round and system,
// default 20), BENCH_DICOM_NO_RESULTS=1 (print only, do not append), BENCH_DICOM_LIMIT=n (smoke
// test with the first n files and some CR ones; never appended).
import { execSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { promisify } from 'node:util';
import { DEFAULT_CORPUS, generateCorpus } from './corpus.ts';
import {
  echoLatency,
  latencyStats,
  MB,
  runTool,
  startStoreScp,
  storeFiles,
  type DicomTarget,
  type StoreResult,
} from './dcmtk.ts';
import { benchTls, clientTls, DIALECT } from './kartei.ts';
import { freePort, orthancStatistics, startOrthanc } from './orthanc.ts';
import { writeGroups } from '../../src/vault/sealed-files.ts';
import { ChunkSealer } from '../../src/vault/stream-seal.ts';

const fdatasync = promisify(fs.fdatasync);
const fsync = promisify(fs.fsync);
const ROUNDS = Number(process.env.BENCH_DICOM_ROUNDS ?? 2);
const ECHO_RUNS = Number(process.env.BENCH_DICOM_ECHO_RUNS ?? 20);
/** Issue 18: Kartei ≥ 1.0× Orthanc on every ingest (stretch 1.5×), and ≥ 90 % of its floor on one association. */
const GOAL = 1.0;
const STRETCH = 1.5;
const FLOOR_SHARE = 0.9;
/** storescu's largest send PDU; Orthanc is told the same as its MaximumPduLength (Kartei accepts up to 1 MiB). */
const PDU = 131072;
const STORESCU_ARGS = ['--max-send-pdu', String(PDU)];
const CALLING_AET = 'KARTEIBENCH';
const RSS_SAMPLE_MS = 100;

type System = 'kartei' | 'orthanc';
interface Measure {
  key: string;
  associations: number;
  tls: boolean;
  echo?: boolean;
  memory?: boolean;
}
const MEASURES: Measure[] = [
  { key: 'plain-1', associations: 1, tls: false, echo: true },
  { key: 'plain-4', associations: 4, tls: false, memory: true },
  { key: 'tls-1', associations: 1, tls: true },
  { key: 'tls-4', associations: 4, tls: true, memory: true },
];

interface Ingest {
  store: StoreResult;
  stored: number;
  /** MB: Kartei: peak RSS of its server process during the ingest, and just before it; Orthanc: VmHWM of its process. */
  peakRss: number;
  rssBefore?: number;
  echo?: number[];
  /** ms of CPU per instance of the server process during the ingest (all threads), user and system apart. */
  cpu: { user: number; sys: number };
}

/** User and system CPU time of a process so far, all threads, in ms (fields 14 and 15 of /proc/<pid>/stat). */
const CLOCK_TICK_MS = 1000 / Number(execSync('getconf CLK_TCK').toString().trim() || 100);
function cpuTimes(pid: number): { user: number; sys: number } {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { user: Number(f[11]) * CLOCK_TICK_MS, sys: Number(f[12]) * CLOCK_TICK_MS };
}
/** The server's CPU per instance while `work` runs. */
async function perInstanceCpu<T>(pid: number, work: () => Promise<T>): Promise<[T, Ingest['cpu']]> {
  const a = cpuTimes(pid);
  const r = await work();
  const b = cpuTimes(pid);
  return [r, { user: (b.user - a.user) / files.length, sys: (b.sys - a.sys) / files.length }];
}

const log = (s: string) => process.stderr.write(`[bench:dicom ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
const fmt = (x: number, d = 0) => x.toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d });
const procStatus = (pid: number, field: string) =>
  Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024;

const corpus = await generateCorpus();
const LIMIT = Number(process.env.BENCH_DICOM_LIMIT ?? 0);
const files = LIMIT
  ? [...corpus.instances.slice(0, LIMIT), ...corpus.instances.slice(-2)].map((i) => i.file)
  : corpus.instances.map((i) => i.file);
const totalBytes = files.reduce((n, f) => n + fs.statSync(f).size, 0);
log(
  `corpus: ${files.length} instances, ${fmt(totalBytes / MB)} MB (${corpus.generated ? `generated in ${fmt(corpus.seconds, 1)} s` : 'cached'}) in ${corpus.dir}`,
);
const tls = benchTls();

async function echoRuns(target: DicomTarget, runs: number): Promise<number[]> {
  const ms: number[] = [];
  // One unmeasured run first (page cache, dictionary), then one process per measured run.
  await echoLatency(target, 1);
  for (let i = 0; i < runs; i++) ms.push((await echoLatency(target, 1)).p50);
  return ms;
}

/** Kartei's listener in a process of its own (kartei-server.ts), a fresh installation per ingest, like each Orthanc. */
async function startKarteiServer(m: Measure) {
  const child = spawn(
    process.execPath,
    // Issue 18: runtime — the server under the production start (bench/production-start.ts).
    [
      '--import',
      path.join(import.meta.dirname, '../production-start.ts'),
      'bench/dicom/kartei-server.ts',
      JSON.stringify({ callingAet: CALLING_AET, ...(m.tls ? { tls } : {}) }),
    ],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const lines = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const nextLine = async () => {
    const r = await lines.next();
    if (r.done) throw new Error(`Kartei's bench server exited (${child.exitCode ?? child.signalCode})`);
    return r.value as string;
  };
  const { port } = JSON.parse(await nextLine()) as { port: number };
  const target: DicomTarget = {
    host: '127.0.0.1',
    port,
    calledAet: 'KARTEI',
    callingAet: CALLING_AET,
    ...(m.tls ? { tls: clientTls(tls) } : {}),
  };
  return {
    target,
    pid: child.pid!,
    async count() {
      child.stdin!.write('count\n');
      return Number(await nextLine());
    },
    async stop() {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function karteiIngest(m: Measure): Promise<Ingest> {
  const k = await startKarteiServer(m);
  try {
    const rssBefore = procStatus(k.pid, 'VmRSS');
    let peak = rssBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, procStatus(k.pid, 'VmRSS'))), RSS_SAMPLE_MS);
    let store: StoreResult;
    let cpu: Ingest['cpu'];
    try {
      [store, cpu] = await perInstanceCpu(k.pid, () =>
        storeFiles(k.target, files, { associations: m.associations, extraArgs: STORESCU_ARGS }),
      );
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, procStatus(k.pid, 'VmRSS'));
    const stored = await k.count();
    const echo = m.echo ? await echoRuns(k.target, ECHO_RUNS) : undefined;
    return { store, stored, peakRss: peak / MB, rssBefore: rssBefore / MB, cpu, ...(echo ? { echo } : {}) };
  } finally {
    await k.stop();
  }
}

let orthancVersion = '?';
let orthancLoopbackOnly = false;
async function orthancIngest(m: Measure): Promise<Ingest> {
  const o = await startOrthanc({
    callingAet: CALLING_AET,
    maximumPduLength: PDU,
    ...(m.tls ? { tls: { cert: tls.server.certFile, key: tls.server.keyFile, ca: tls.caFile } } : {}),
  });
  orthancVersion = o.version;
  orthancLoopbackOnly = o.loopbackOnly;
  try {
    const target: DicomTarget = { ...o.target, ...(m.tls ? { tls: clientTls(tls) } : {}) };
    const [store, cpu] = await perInstanceCpu(o.pid, () =>
      storeFiles(target, files, { associations: m.associations, extraArgs: STORESCU_ARGS }),
    );
    const stored = (await orthancStatistics(o)).CountInstances;
    const peakRss = procStatus(o.pid, 'VmHWM') / MB;
    const echo = m.echo ? await echoRuns(target, ECHO_RUNS) : undefined;
    return { store, stored, peakRss, cpu, ...(echo ? { echo } : {}) };
  } finally {
    await o.stop();
  }
}

/** The same storescu runs into a sink that costs next to nothing: what the client allows at most. */
async function clientFloor(m: Measure): Promise<StoreResult> {
  const sink = await startStoreScp(
    'SINK',
    await freePort(),
    m.tls ? { cert: tls.server.certFile, key: tls.server.keyFile, ca: tls.caFile } : undefined,
    { ignore: true, maxPdu: PDU },
  );
  try {
    const target: DicomTarget = {
      host: '127.0.0.1',
      port: sink.port,
      calledAet: sink.aet,
      callingAet: CALLING_AET,
      ...(m.tls ? { tls: clientTls(tls) } : {}),
    };
    return await storeFiles(target, files, { associations: m.associations, extraArgs: STORESCU_ARGS });
  } finally {
    sink.stop();
  }
}

interface Floor {
  instancesPerSec: number;
  mbPerSec: number;
}

/**
 * What this disk allows one association at most, without network, parsing or encryption: the
 * corpus made durable one instance after another, each read first (untimed), in a temporary
 * directory on the same file system as the installations.
 *  - `files`: as Kartei's store does it — a new file written and renamed into place, then its
 *    fdatasync and its directory's fsync side by side (sealed-files.ts) — plus one 4 KiB in-place
 *    fdatasync standing for the index commit;
 *  - `appended`: each instance written in place into one preallocated file and fdatasynced, plus
 *    the same index sync: no metadata changes, the least a design with a separate index can do;
 *  - `sealed`: as `files`, but each instance first sealed as the store seals it (AES-256-GCM in
 *    256 KiB chunks, src/vault/stream-seal.ts, on this thread) and the sealed bytes written.
 */
async function durabilityFloors(): Promise<{ files: Floor; appended: Floor; sealed: Floor }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-disk-floor-'));
  const sizes = files.map((f) => fs.statSync(f).size);
  const page = Buffer.alloc(4096, 1);
  const index = fs.openSync(path.join(dir, 'index'), 'w');
  fs.writeSync(index, page, 0, page.length, 0);
  fs.fsyncSync(index);
  const timed = async (each: (data: Buffer, i: number) => void | Promise<void>): Promise<Floor> => {
    let ms = 0;
    for (const [i, f] of files.entries()) {
      const data = fs.readFileSync(f);
      const t0 = performance.now();
      await each(data, i);
      fs.writeSync(index, page, 0, page.length, 0);
      fs.fdatasyncSync(index);
      ms += performance.now() - t0;
    }
    return { instancesPerSec: files.length / (ms / 1000), mbPerSec: totalBytes / MB / (ms / 1000) };
  };
  const sealKey = Buffer.alloc(32, 7);
  const sealAad = Buffer.from('kartei-bench-floor');
  try {
    const asTheStore = async (data: Buffer | Buffer[], name: string) => {
      const tmp = path.join(dir, `${name}.tmp`);
      const fd = fs.openSync(tmp, 'wx');
      // In the store's write calls (sealed-files.ts: none crossing a 64 KiB boundary of the file).
      for (const group of writeGroups(Array.isArray(data) ? data : [data], 0)) fs.writevSync(fd, group);
      fs.renameSync(tmp, path.join(dir, name));
      const d = fs.openSync(dir, 'r');
      // The file's data and its new directory entry synced side by side, as sealed-files.ts commits.
      await Promise.all([fdatasync(fd), fsync(d)]);
      fs.closeSync(d);
      fs.closeSync(fd);
    };
    const fileFloor = await timed((data, i) => asTheStore(data, String(i)));
    const sealed = await timed((data, i) => {
      const sealer = new ChunkSealer(sealKey, sealAad);
      asTheStore([...sealer.update(data), ...sealer.final()], `sealed-${i}`);
    });
    const segment = fs.openSync(path.join(dir, 'segment'), 'w');
    let end = 0;
    const offsets = sizes.map((n) => {
      end += n;
      return end - n;
    });
    const zeros = Buffer.alloc(8 * MB);
    for (let at = 0; at < totalBytes; at += zeros.length)
      fs.writeSync(segment, zeros, 0, Math.min(zeros.length, totalBytes - at), at);
    fs.fsyncSync(segment);
    const appended = await timed((data, i) => {
      fs.writeSync(segment, data, 0, data.length, offsets[i]);
      fs.fdatasyncSync(segment);
    });
    fs.closeSync(segment);
    return { files: fileFloor, appended, sealed };
  } finally {
    fs.closeSync(index);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const results: Record<string, Record<System, Ingest[]>> = Object.fromEntries(
  MEASURES.map((m) => [m.key, { kartei: [], orthanc: [] }]),
);
const clientFloors: Record<string, StoreResult[]> = Object.fromEntries(MEASURES.map((m) => [m.key, []]));
const floors: Awaited<ReturnType<typeof durabilityFloors>>[] = [];
const loadStart = os.loadavg();
const started = performance.now();
for (let r = 0; r < ROUNDS; r++) {
  for (const [i, m] of MEASURES.entries()) {
    const order: System[] = (r + i) % 2 === 0 ? ['kartei', 'orthanc'] : ['orthanc', 'kartei'];
    for (const sys of order) {
      const x = sys === 'kartei' ? await karteiIngest(m) : await orthancIngest(m);
      if (x.stored !== files.length)
        throw new Error(`${sys} ${m.key}: ${x.stored} of ${files.length} instances stored`);
      results[m.key]![sys].push(x);
      log(
        `round ${r + 1}/${ROUNDS} ${m.key.padEnd(7)} ${sys.padEnd(7)} ${fmt(x.store.instancesPerSec, 1)} inst/s, ${fmt(x.store.mbPerSec, 1)} MB/s (${fmt(x.store.seconds, 1)} s), CPU ${fmt(x.cpu.user + x.cpu.sys, 2)} ms/inst (user ${fmt(x.cpu.user, 2)}, sys ${fmt(x.cpu.sys, 2)}), peak RSS ${fmt(x.peakRss)} MB${x.echo ? `, echo p50 ${fmt(latencyStats(x.echo).p50, 1)} ms` : ''}`,
      );
    }
    const f = await clientFloor(m);
    clientFloors[m.key]!.push(f);
    log(
      `round ${r + 1}/${ROUNDS} ${m.key.padEnd(7)} client floor ${fmt(f.instancesPerSec, 1)} inst/s, ${fmt(f.mbPerSec, 1)} MB/s`,
    );
  }
}
// After every ingest: reading the corpus here must not raise the RSS measured above.
for (let r = 0; r < ROUNDS; r++) {
  floors.push(await durabilityFloors());
  log(
    `disk floors ${r + 1}/${ROUNDS}: new files ${fmt(floors.at(-1)!.files.mbPerSec, 1)} MB/s, appended ${fmt(floors.at(-1)!.appended.mbPerSec, 1)} MB/s, sealed as the store ${fmt(floors.at(-1)!.sealed.mbPerSec, 1)} MB/s`,
  );
}
const minutes = (performance.now() - started) / 60_000;
const loadEnd = os.loadavg();

// ---------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------

const maxBy = <T>(xs: T[], key: (x: T) => number) => xs.reduce((a, b) => (key(b) > key(a) ? b : a));
const best = (xs: Ingest[]) => maxBy(xs, (x) => x.store.mbPerSec);
const fastest = (xs: StoreResult[]) => maxBy(xs, (x) => x.mbPerSec);
const ok = (cond: boolean) => (cond ? 'meets goal' : '**falls short**');
const shortfalls: string[] = [];

const label = (m: Measure) =>
  `C-STORE ingest, ${m.associations} association${m.associations > 1 ? 's' : ''} in parallel, ${m.tls ? 'TLS (client certificates)' : 'no TLS (loopback)'}`;
const storeCell = (xs: Ingest[]) => {
  const b = best(xs).store;
  return `${fmt(b.instancesPerSec)} inst/s, ${fmt(b.mbPerSec, 1)} MB/s (rounds: ${xs.map((x) => fmt(x.store.mbPerSec, 1)).join(', ')} MB/s)`;
};
const rows: string[] = [];
for (const m of MEASURES) {
  const k = results[m.key]!.kartei;
  const o = results[m.key]!.orthanc;
  const ratio = best(k).store.mbPerSec / best(o).store.mbPerSec;
  rows.push(
    `| ${label(m)} | ${storeCell(k)} | ${storeCell(o)} | **${fmt(ratio, 2)}×** | ≥ ${fmt(GOAL, 1)}× (stretch ${fmt(STRETCH, 1)}×) | ${ok(ratio >= GOAL)} |`,
  );
  if (ratio < GOAL) shortfalls.push(`${label(m)}: Kartei reaches ${fmt(ratio, 2)}× Orthanc, goal ≥ ${fmt(GOAL, 1)}×.`);
}
// CPU per instance: what the ingest costs the server, less noisy than its rate on a shared machine.
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cpuCell = (xs: Ingest[]) => {
  const total = median(xs.map((x) => x.cpu.user + x.cpu.sys));
  return `${fmt(total, 2)} ms (median; rounds: ${xs.map((x) => `${fmt(x.cpu.user, 2)} + ${fmt(x.cpu.sys, 2)}`).join(', ')} user + sys)`;
};
for (const m of MEASURES) {
  const k = results[m.key]!.kartei;
  const o = results[m.key]!.orthanc;
  const ratio = median(k.map((x) => x.cpu.user + x.cpu.sys)) / median(o.map((x) => x.cpu.user + x.cpu.sys));
  rows.push(
    `| server CPU per instance (all threads, user + system), ${m.associations} association${m.associations > 1 ? 's' : ''}, ${m.tls ? 'TLS' : 'no TLS'} | ${cpuCell(k)} | ${cpuCell(o)} | ${fmt(ratio, 2)}× (lower is better) | — | |`,
  );
}
for (const m of MEASURES) {
  const xs = clientFloors[m.key]!;
  const f = fastest(xs);
  rows.push(
    `| the client's floor, ${m.associations} association${m.associations > 1 ? 's' : ''}, ${m.tls ? 'TLS' : 'no TLS'}: the same storescu runs into DCMTK's storescp \`--ignore --fork\` (${PDU}-byte PDUs), which reads every dataset and stores nothing | ${fmt(f.instancesPerSec)} inst/s, ${fmt(f.mbPerSec, 1)} MB/s (rounds: ${xs.map((x) => fmt(x.mbPerSec, 1)).join(', ')} MB/s) | | ${fmt(f.mbPerSec / best(results[m.key]!.orthanc).store.mbPerSec, 2)}× of Orthanc | — | |`,
  );
}
const echoK = latencyStats(results['plain-1']!.kartei.flatMap((x) => x.echo ?? []));
const echoO = latencyStats(results['plain-1']!.orthanc.flatMap((x) => x.echo ?? []));
rows.push(
  `| C-ECHO, echoscu per run (process start + association + 1 round trip), no TLS | p50 ${fmt(echoK.p50, 1)} ms, p95 ${fmt(echoK.p95, 1)} ms (${echoK.runs} runs) | p50 ${fmt(echoO.p50, 1)} ms, p95 ${fmt(echoO.p95, 1)} ms (${echoO.runs} runs) | ${fmt(echoK.p50 / echoO.p50, 2)}× (p50; lower is better) | — | |`,
);
for (const m of MEASURES.filter((x) => x.memory)) {
  const k = results[m.key]!.kartei;
  const o = results[m.key]!.orthanc;
  const peakK = Math.max(...k.map((x) => x.peakRss));
  const peakO = Math.max(...o.map((x) => x.peakRss));
  rows.push(
    `| peak RSS during the ${m.associations}-association ingest, ${m.tls ? 'TLS' : 'no TLS'} (Kartei: its server process, sampled every ${RSS_SAMPLE_MS} ms; Orthanc: VmHWM) | ${fmt(peakK)} MB (rounds: ${k.map((x) => `${fmt(x.peakRss)}`).join(', ')}; before the ingest ${k.map((x) => fmt(x.rssBefore!)).join(', ')}) | ${fmt(peakO)} MB (rounds: ${o.map((x) => fmt(x.peakRss)).join(', ')}) | ${fmt(peakK / peakO, 2)}× | Kartei < 300 MB | ${ok(peakK < 300)} |`,
  );
  if (peakK >= 300)
    shortfalls.push(
      `Memory: Kartei's server process peaked at ${fmt(peakK)} MB during the ${m.associations}-association ${m.tls ? 'TLS ' : ''}ingest, goal < 300 MB.`,
    );
}
const orthancOne = best(results['plain-1']!.orthanc).store.mbPerSec;
for (const [kind, what] of [
  [
    'files',
    "the disk's floor for one association, as the store works: each instance a new file written and renamed, then its fdatasync and its directory's fsync side by side, plus a 4 KiB fdatasync for the index (no network, parsing or encryption)",
  ],
  [
    'appended',
    "the disk's floor with the least syncing a separate index allows: each instance written in place into one preallocated file and fdatasynced, plus the same 4 KiB fdatasync",
  ],
  [
    'sealed',
    "sealing and the disk as the store works: each instance sealed (AES-256-GCM, 256 KiB chunks, the store's sealer on one thread), then written, renamed and synced as above, plus the same 4 KiB fdatasync",
  ],
] as const) {
  const f = maxBy(floors, (x) => x[kind].mbPerSec)[kind];
  rows.push(
    `| ${what} | ${fmt(f.instancesPerSec)} inst/s, ${fmt(f.mbPerSec, 1)} MB/s (rounds: ${floors.map((x) => fmt(x[kind].mbPerSec, 1)).join(', ')} MB/s) | | ${fmt(f.mbPerSec / orthancOne, 2)}× of Orthanc on one association | — | |`,
  );
}
rows.push(
  `| instances stored (every ingest checked against the server's own count) | ${files.length} of ${files.length} in each of ${ROUNDS * MEASURES.length} ingests | ${files.length} of ${files.length} in each of ${ROUNDS * MEASURES.length} ingests | | all | meets goal |`,
);

// On one association storescu sends the next instance only after the answer, and an instance is
// answered only once it is on disk: unless receiving and syncing overlap, the floors add up.
const ms = (perSec: number) => 1000 / perSec;
const budget = ms(GOAL * best(results['plain-1']!.orthanc).store.instancesPerSec);
const client = ms(fastest(clientFloors['plain-1']!).instancesPerSec);
const [diskFiles, diskAppended] = (['files', 'appended'] as const).map((kind) =>
  ms(maxBy(floors, (x) => x[kind].instancesPerSec)[kind].instancesPerSec),
);
// Kartei's floor on one association: what storescu, the sealing and the disk take per instance, one after another
// (the work minus Kartei's own: PDU and dataset parsing, the index row, the audit event, the event loop).
const sealedDisk = ms(maxBy(floors, (x) => x.sealed.instancesPerSec).sealed.instancesPerSec);
const floorPerSec = 1000 / (client + sealedDisk);
const kartei1 = best(results['plain-1']!.kartei).store.instancesPerSec;
const share = kartei1 / floorPerSec;
rows.push(
  `| Kartei's floor, 1 association, no TLS: the client's floor + sealing and the disk as the store works, added up per instance (${fmt(client, 2)} + ${fmt(sealedDisk, 2)} ms) — the same work without Kartei's parsing, index and audit | ${fmt(floorPerSec)} inst/s; Kartei ${fmt(kartei1)} inst/s = **${fmt(100 * share)} %** of it | | | ≥ ${fmt(100 * FLOOR_SHARE)} % | ${ok(share >= FLOOR_SHARE)} |`,
);
if (share < FLOOR_SHARE)
  shortfalls.push(
    `One association: Kartei reaches ${fmt(100 * share)} % of its floor (${fmt(floorPerSec)} inst/s), goal ≥ ${fmt(100 * FLOOR_SHARE)} %.`,
  );
const budgetNote = `One association, per instance, without TLS: ${fmt(GOAL, 1)}× Orthanc allows ${fmt(budget, 2)} ms. storescu into the sink takes ${fmt(client, 2)} ms and the disk's floor ${fmt(diskFiles!, 2)} ms as the store works (${fmt(diskAppended!, 2)} ms preallocated). Unless receiving and syncing overlap, that leaves ${fmt(budget - client - diskFiles!, 2)} ms (${fmt(budget - client - diskAppended!, 2)} ms) to receive, seal, index and audit an instance. Kartei took ${fmt(ms(best(results['plain-1']!.kartei).store.instancesPerSec), 2)} ms in all.`;

const notMeasured = [
  'C-FIND, QIDO-RS, WADO-RS, C-GET and C-MOVE: measured by `npm run bench:dicom-retrieval` (5,500 instances) and `npm run bench:dicom-scale` (1,000,000).',
];

const commit = execSync('git rev-parse --short HEAD').toString().trim();
const dirty = execSync("git status --porcelain -- . ':!bench/RESULTS.md'").toString().trim()
  ? ' (uncommitted changes)'
  : '';
const dcmtkVersion = /v(\d+\.\d+\.\d+)/.exec((await runTool('storescu', ['--version'])).stdout)?.[1] ?? '?';
const cpu = os.cpus()[0]?.model.trim() ?? '?';
const la = (l: number[]) => l.map((x) => fmt(x, 1)).join('/');
const c = DEFAULT_CORPUS;

const report = `
## ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — DICOM, Kartei vs Orthanc — commit ${commit}${dirty}

Node ${process.version}, ${os.cpus().length} cores (${cpu}), ${fmt(os.totalmem() / 2 ** 30)} GiB RAM; load average ${la(loadStart)} at the start, ${la(loadEnd)} at the end (other jobs on the machine); ${fmt(minutes, 1)} min. ${ROUNDS} alternating rounds: every measure runs on both systems each round (which goes first alternates), each ingest into a fresh, empty server (Kartei: a new installation in a process of its own); the best round counts, all rounds are listed.
Corpus: ${files.length} instances, ${fmt(totalBytes / MB)} MB (${c.ct.patients * c.ct.studiesPerPatient * c.ct.seriesPerStudy * c.ct.imagesPerSeries} CT ${c.ct.rows}×${c.ct.columns}, ${c.cr.images} CR ${c.cr.rows}×${c.cr.columns}, 16 bit, Explicit VR Little Endian), sent by DCMTK ${dcmtkVersion} \`storescu -R ${STORESCU_ARGS.join(' ')}\`, one process per association, files dealt round-robin; TCP_NODELAY on.
Kartei: listener in a server process of its own (\`bench/dicom/kartei-server.ts\`), serving an installation that another process set up through the API just before, like a server restarted after its setup, ${DIALECT === 'sqlite' ? 'SQLite (WAL; each commit answered after an fdatasync of the WAL)' : 'PostgreSQL'}, every instance sealed (AES-256-GCM), synced (its fdatasync beside its directory's fsync), indexed and audited. Orthanc ${orthancVersion}: Debian package as a user process, SQLite index, \`SyncStorageArea: true\` (fsync per file), no compression, \`DicomThreadsCount: 4\`, authentication on, only the bench AE allowed${orthancLoopbackOnly ? ', bound to loopback' : ''}. Max PDU: storescu \`--max-send-pdu ${PDU}\` for both, Orthanc \`MaximumPduLength: ${PDU}\` (Kartei accepts up to 1 MiB), so both receive ${PDU}-byte PDUs. TLS: the same throwaway CA, server and client certificates (P-256) for both, client certificates required.

| measure | Kartei | Orthanc ${orthancVersion} | Kartei / Orthanc | goal | |
|---|---|---|---|---|---|
${rows.join('\n')}

Falls short / not measured yet:
${[...shortfalls, ...notMeasured].map((s) => `- ${s}`).join('\n')}

${budgetNote}
`;

const file = 'bench/RESULTS.md';
if (!process.env.BENCH_DICOM_NO_RESULTS && !LIMIT) fs.appendFileSync(file, report);
process.stdout.write(report);
