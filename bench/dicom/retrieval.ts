// `npm run bench:dicom-retrieval`: queries and retrieval, Kartei beside Orthanc in one run.
// Both archives are filled (untimed) with the same 5,500 instances — the ingest corpus (500 CT
// 512², 12 CR 2048²) plus thin 1×1 instances of many patients — then, in alternating rounds:
//  1. C-FIND by PatientID at STUDY level: findscu per run (process + association + query), and
//     the server's cost per query without the client (findscu --repeat, difference per query);
//  2. QIDO-RS GET /studies?PatientID=… on one keep-alive connection;
//  3. WADO-RS of one CT study (multipart/related, all its instances) with curl;
//  4. C-GET of the same study with getscu;
//  5. C-MOVE of the same study to a storescp;
// and, as the floor under WADO-RS, a bare Node HTTP server in Kartei's server process sending the
// same stored files, decrypted (Kartei's read path, each file read ahead while the one before is
// sent), as sealed on disk, and from memory (wado-floor.ts); as the floors under C-GET and
// C-MOVE, DCMTK's dcmqrscp serving the study's plaintext files to the same requesters and the
// same storescp (qrscp.ts), and storescu sending them to that storescp (the destination leg alone).
// Beside each retrieval's MB/s, the server's CPU time and minor page faults per study (utime +
// stime and minflt of its process from /proc/<pid>/stat, all threads; the client is another
// process): on a shared machine the CPU a study costs says more than the wall clock. Kartei runs
// in a server process of its own (retrieval-server.ts, under the production start), as Orthanc does.
// Each runs again with TLS: DIMSE over TLS with client certificates (a second Kartei listener on
// the same archive; a second Orthanc, filled the same way, since Orthanc's DICOM port is either
// TLS or not), DICOMweb over HTTPS (a second Kartei HTTP server on the same services; Debian's
// Orthanc crashes on HTTPS here, so its plain HTTP stands in). DCMTK 3.6.7's getscu and movescu have no TLS: C-GET over TLS and every C-MOVE use
// the bench's own requester (retrieve-client.ts), a process of its own, against both.
// Kartei: the DIMSE listeners and the HTTP servers in its server process, a staff user's API token;
// Orthanc with its DICOMweb plugin and HTTP basic auth. Appends the figures to bench/RESULTS.md.
//
// Environment: BENCH_DICOM_ROUNDS (default 3), BENCH_DICOM_FIND_RUNS (default 20),
// BENCH_DICOM_DIMSE_RUNS (C-GETs and C-MOVEs per measure and round, default 3),
// BENCH_DICOM_FILL (default 5,500), BENCH_DICOM_NO_RESULTS=1 (print only).
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TransferSyntax } from '../../src/imaging/dicom/uids.ts';
import { testCertificate } from '../../test/helpers/certificates.ts';
import { freePort, DIALECT } from '../../test/helpers/harness.ts';
import { generateCorpus, generateThinCorpus } from './corpus.ts';
import {
  bearerAuth,
  curlThroughput,
  findByPatientId,
  findPerQuery,
  getStudy,
  MB,
  qidoStudiesByPatientId,
  retrieveByClient,
  startStoreScp,
  storeFiles,
  wadoStudy,
  type DicomTarget,
  type StoreScp,
} from './dcmtk.ts';
import { orthancStatistics, startOrthanc } from './orthanc.ts';
import { startQrScp } from './qrscp.ts';
import { benchTls, clientTls } from './kartei.ts';
import { startKarteiRetrieval } from './kartei-retrieval.ts';

const ROUNDS = Number(process.env.BENCH_DICOM_ROUNDS ?? 3);
const FIND_RUNS = Number(process.env.BENCH_DICOM_FIND_RUNS ?? 20);
const FILL = Number(process.env.BENCH_DICOM_FILL ?? 5_500);
const CALLING_AET = 'KARTEIBENCH';
/** The bench AE over TLS, known by its certificate (a device has a certificate or a host, not both). */
const TLS_AET = 'BENCHTLS';
const tls = benchTls();
/** The C-MOVE destinations, registered with both archives: one storescp without TLS, one with. */
const destCert = testCertificate('BENCHDEST');
const moveDest = await startStoreScp('BENCHDEST', await freePort());
const moveDestTls = await startStoreScp('BENCHDESTTLS', await freePort(), {
  cert: destCert.certFile,
  key: destCert.keyFile,
  ca: tls.caFile,
});

const log = (s: string) =>
  process.stderr.write(`[bench:dicom-retrieval ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
const fmt = (x: number, d = 0) => x.toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d });

const corpus = await generateCorpus();
const thin = await generateThinCorpus({ count: Math.max(0, FILL - corpus.instances.length) });
const files = [...corpus.instances, ...thin.instances].map((i) => i.file);
// The study to retrieve: the largest CT study; the patient to find: its patient.
const study = corpus.studies.reduce((a, b) => (b.bytes > a.bytes ? b : a));
/** What a C-GET requester must offer to take: the study's SOP classes, as stored (Explicit VR Little Endian). */
const storage = [
  ...new Set(corpus.instances.filter((i) => i.studyUid === study.studyUid).map((i) => i.sopClassUid)),
].map((sopClassUid) => ({ sopClassUid, transferSyntax: TransferSyntax.ExplicitVrLittleEndian }));
log(
  `archive fill: ${files.length} instances; retrieving study ${study.studyUid} (${study.instances} instances, ${fmt(study.bytes / MB)} MB); finding PatientID ${study.patientId}`,
);

interface Side {
  target: DicomTarget;
  /** The same archive over DICOM TLS, as TLS_AET with the bench client certificate. */
  tlsTarget: DicomTarget;
  dicomWeb: string;
  auth: Record<string, string>;
  /** DICOMweb over HTTPS: its base, authorisation, and the CA its certificate chains to. */
  secureWeb: { base: string; auth: Record<string, string>; ca?: string };
  /** The processes that serve `target` and `tlsTarget` (and DICOMweb): their CPU is read per study. */
  pid: number;
  tlsPid: number;
  count(): Promise<number>;
  close(): Promise<void>;
}

/** Kartei's side: a server process of its own (retrieval-server.ts) under the production start. */
async function kartei(): Promise<Side & { startFloor(studyUid: string): Promise<string> }> {
  const server = await startKarteiRetrieval({
    callingAet: CALLING_AET,
    tlsAet: TLS_AET,
    tls,
    moveDest: { aet: moveDest.aet, port: moveDest.port },
    moveDestTls: { aet: moveDestTls.aet, port: moveDestTls.port, cert: destCert.cert },
  });
  const { info } = server;
  const auth = bearerAuth(info.token);
  return {
    target: { host: '127.0.0.1', port: info.port, calledAet: 'KARTEI', callingAet: CALLING_AET },
    tlsTarget: { host: '127.0.0.1', port: info.tlsPort, calledAet: 'KARTEI', callingAet: TLS_AET, tls: clientTls(tls) },
    dicomWeb: info.dicomWeb,
    auth,
    secureWeb: { base: info.secureDicomWeb, auth, ca: tls.caFile },
    pid: info.pid,
    tlsPid: info.pid,
    count: async () => Number(await server.ask('count')),
    startFloor: (studyUid) => server.ask(`floor ${studyUid}`),
    close: () => server.stop(),
  };
}

async function orthanc(): Promise<Side & { version: string; fillTls(files: string[]): Promise<number> }> {
  const o = await startOrthanc({ callingAet: CALLING_AET, destinations: [{ aet: moveDest.aet, port: moveDest.port }] });
  const secure = await startOrthanc({
    callingAet: TLS_AET,
    tls: { cert: tls.server.certFile, key: tls.server.keyFile, ca: tls.caFile },
    destinations: [{ aet: moveDestTls.aet, port: moveDestTls.port, tls: true }],
  });
  const tlsTarget: DicomTarget = { ...secure.target, tls: clientTls(tls) };
  return {
    target: o.target,
    tlsTarget,
    dicomWeb: o.dicomWebUrl,
    auth: o.authHeaders,
    // Debian's Orthanc 1.10.1 (civetweb 1.15, OpenSSL 3) dies with SIGSEGV on its first HTTPS
    // connection on this machine: its HTTPS rows are measured against its plain HTTP.
    secureWeb: { base: o.dicomWebUrl, auth: o.authHeaders },
    pid: o.pid,
    tlsPid: secure.pid,
    version: o.version,
    count: async () => (await orthancStatistics(o)).CountInstances,
    async fillTls(files: string[]) {
      await storeFiles(tlsTarget, files, { associations: 4 });
      return (await orthancStatistics(secure)).CountInstances;
    },
    async close() {
      await o.stop();
      await secure.stop();
    },
  };
}

type System = 'kartei' | 'orthanc';
const orthancSide = await orthanc();
const karteiSide = await kartei();
const sides: Record<System, Side> = { kartei: karteiSide, orthanc: orthancSide };
const orthancVersion = orthancSide.version;
const fillStart = performance.now();
for (const [name, side] of Object.entries(sides)) {
  await storeFiles(side.target, files, { associations: 4 });
  const n = await side.count();
  if (n !== files.length) throw new Error(`${name}: ${n} of ${files.length} instances stored`);
}
const floor = { url: await karteiSide.startFloor(study.studyUid) };
const secureCount = await orthancSide.fillTls(files);
if (secureCount !== files.length)
  throw new Error(`orthanc over TLS: ${secureCount} of ${files.length} instances stored`);
// The floors under C-GET and C-MOVE: DCMTK's dcmqrscp serving the study's plaintext files (qrscp.ts).
const studyFiles = corpus.instances.filter((i) => i.studyUid === study.studyUid).map((i) => i.file);
const qr = await startQrScp({
  aet: 'DCMQRSCP',
  port: await freePort(),
  callingAet: CALLING_AET,
  files: studyFiles,
  peers: [{ aet: moveDest.aet, port: moveDest.port }],
});
log(`both filled in ${fmt((performance.now() - fillStart) / 1000)} s`);

const CLK_TCK = Number(execSync('getconf CLK_TCK').toString().trim()) || 100;
/**
 * CPU time (utime + stime, ms) and minor page faults of a process so far, all its threads; with
 * `children`, plus those of its children it has reaped (cutime, cstime, cminflt).
 */
function usage(pid: number, children = false) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The fields after the command name in parentheses, from field 3 (state): minflt is 10,
  // cminflt 12, utime 14, stime 15, cutime 16, cstime 17.
  const f = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  const ticks = f[11]! + f[12]! + (children ? f[13]! + f[14]! : 0);
  return { cpuMs: (ticks * 1000) / CLK_TCK, faults: f[7]! + (children ? f[9]! : 0) };
}
/** A retrieval of `studies` studies, and what it cost the server process `pid` per study. */
async function costOf<T>(pid: number, studies: number, run: () => Promise<T>) {
  const before = usage(pid);
  const result = await run();
  const after = usage(pid);
  return {
    result,
    cost: { cpuMs: (after.cpuMs - before.cpuMs) / studies, faults: (after.faults - before.faults) / studies },
  };
}
interface Cost {
  cpuMs: number;
  faults: number;
}
/** A retrieval from dcmqrscp, and what it cost that process and the child it forked for the association. */
async function qrCostOf<T>(run: () => Promise<T>) {
  await qr.idle();
  const before = usage(qr.pid, true);
  const result = await run();
  await qr.idle();
  const after = usage(qr.pid, true);
  const per = (x: number) => x / DIMSE_RUNS;
  return { result, cost: { cpuMs: per(after.cpuMs - before.cpuMs), faults: per(after.faults - before.faults) } };
}
/**
 * C-GETs and C-MOVEs per measure and round, one after another: the CPU time per study is their
 * mean (/proc counts in 10 ms ticks), the MB/s the mean of theirs.
 */
const DIMSE_RUNS = Number(process.env.BENCH_DICOM_DIMSE_RUNS ?? 3);
async function repeated<T extends { instances: number; mbPerSec: number }>(run: () => Promise<T>): Promise<T> {
  const results: T[] = [];
  for (let i = 0; i < DIMSE_RUNS; i++) results.push(await run());
  const mbPerSec = results.reduce((sum, r) => sum + r.mbPerSec, 0) / results.length;
  return { ...results[0]!, instances: Math.min(...results.map((r) => r.instances)), mbPerSec };
}
const WADO_RUNS = 2;
/** Requests per curlThroughput: one warm-up and the runs. */
const WADO_REQUESTS = WADO_RUNS + 1;

interface Round {
  cost: Record<'wado' | 'wadoTls' | 'cget' | 'cgetTls' | 'move' | 'moveTls', Cost>;
  findRun: number;
  findServer: number;
  findRunTls: number;
  findServerTls: number;
  qido: number;
  qidoTls: number;
  wado: number;
  wadoTls: number;
  cget: number;
  cgetTls: number;
  move: number;
  moveTls: number;
  matches: {
    find: number;
    qido: number;
    wadoBytes: number;
    cgetInstances: number;
    tlsInstances: number;
    movedInstances: number;
  };
}

/** C-GET by the bench's requester (over TLS here): MB/s of the datasets it received. */
async function getByClient(target: DicomTarget) {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-get-'));
  try {
    const r = await retrieveByClient(target, { op: 'get', studyUid: study.studyUid, storage, outDir });
    return { instances: r.instances, mbPerSec: r.bytes / MB / (r.ms / 1000) };
  } finally {
    fs.rmSync(outDir, { recursive: true, force: true });
  }
}

/** C-MOVE to a storescp: MB/s of the files it wrote, by the time the final response arrived. */
async function moveTo(target: DicomTarget, destination: StoreScp) {
  destination.take();
  const r = await retrieveByClient(target, {
    op: 'move',
    studyUid: study.studyUid,
    storage: [],
    destination: destination.aet,
  });
  const got = destination.take();
  if (got.instances !== r.completed)
    throw new Error(`C-MOVE to ${destination.aet}: ${r.completed} reported, ${got.instances} received`);
  return { instances: got.instances, mbPerSec: got.bytes / MB / (r.ms / 1000) };
}
const rounds: Record<System, Round[]> = { kartei: [], orthanc: [] };
const loadStart = os.loadavg();
const started = performance.now();
/** Per round: the floor server's MB/s, decrypting, sending the sealed bytes as they are, and from memory. */
const floors: {
  decrypted: number;
  sealed: number;
  memory: number;
  bytes: number;
  cost: Record<'decrypted' | 'sealed' | 'memory', Cost>;
}[] = [];
/** Per round: the floors under C-GET and C-MOVE (dcmqrscp), and the C-MOVE destination leg alone (storescu). */
const dimseFloors: {
  cget: number;
  cgetClient: number;
  move: number;
  leg: number;
  cost: Record<'cget' | 'cgetClient' | 'move', Cost>;
}[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const order: System[] = r % 2 === 0 ? ['kartei', 'orthanc'] : ['orthanc', 'kartei'];
  const floorRun = (what: string) =>
    costOf(karteiSide.pid, WADO_REQUESTS, () => curlThroughput(`${floor.url}/${what}`, {}, '*/*', WADO_RUNS));
  const decrypted = await floorRun('decrypted');
  const sealed = await floorRun('sealed');
  const memory = await floorRun('memory');
  floors.push({
    decrypted: decrypted.result.mbPerSec,
    sealed: sealed.result.mbPerSec,
    memory: memory.result.mbPerSec,
    bytes: decrypted.result.bytes,
    cost: { decrypted: decrypted.cost, sealed: sealed.cost, memory: memory.cost },
  });
  {
    const cget = await qrCostOf(() => repeated(() => getStudy(qr.target, study.studyUid)));
    const cgetClient = await qrCostOf(() => repeated(() => getByClient(qr.target)));
    const move = await qrCostOf(() => repeated(() => moveTo(qr.target, moveDest)));
    moveDest.take();
    const leg = await storeFiles({ ...qr.target, port: moveDest.port, calledAet: moveDest.aet }, studyFiles);
    const got = moveDest.take();
    if (got.instances !== studyFiles.length)
      throw new Error(`storescu to ${moveDest.aet}: ${got.instances} of ${studyFiles.length} received`);
    dimseFloors.push({
      cget: cget.result.mbPerSec,
      cgetClient: cgetClient.result.mbPerSec,
      move: move.result.mbPerSec,
      leg: got.bytes / MB / leg.seconds,
      cost: { cget: cget.cost, cgetClient: cgetClient.cost, move: move.cost },
    });
    log(
      `round ${r + 1}/${ROUNDS} floors   dcmqrscp C-GET ${fmt(cget.result.mbPerSec)} MB/s (getscu; requester ${fmt(cgetClient.result.mbPerSec)}), C-MOVE ${fmt(move.result.mbPerSec)} MB/s, storescu to the destination ${fmt(got.bytes / MB / leg.seconds)} MB/s; dcmqrscp CPU ms per study: C-GET ${fmt(cget.cost.cpuMs)} (requester ${fmt(cgetClient.cost.cpuMs)}), C-MOVE ${fmt(move.cost.cpuMs)}`,
    );
  }
  for (const sys of order) {
    const side = sides[sys];
    const find = await findByPatientId(side.target, study.patientId, FIND_RUNS);
    const perQuery = await findPerQuery(side.target, study.patientId, { repeats: 20, rounds: 3 });
    const findTls = await findByPatientId(side.tlsTarget, study.patientId, FIND_RUNS);
    const perQueryTls = await findPerQuery(side.tlsTarget, study.patientId, { repeats: 20, rounds: 3 });
    const qido = await qidoStudiesByPatientId(side.dicomWeb, side.auth, study.patientId, FIND_RUNS);
    const qidoTls = await qidoStudiesByPatientId(
      side.secureWeb.base,
      side.secureWeb.auth,
      study.patientId,
      FIND_RUNS,
      side.secureWeb,
    );
    // Orthanc's HTTPS is its plain HTTP (see the report), served by its first process.
    const { result: wado, cost: wadoCost } = await costOf(side.pid, WADO_REQUESTS, () =>
      wadoStudy(side.dicomWeb, side.auth, study.studyUid, WADO_RUNS),
    );
    const { result: wadoTls, cost: wadoTlsCost } = await costOf(side.pid, WADO_REQUESTS, () =>
      wadoStudy(side.secureWeb.base, side.secureWeb.auth, study.studyUid, WADO_RUNS, side.secureWeb),
    );
    const { result: cget, cost: cgetCost } = await costOf(side.pid, DIMSE_RUNS, () =>
      repeated(() => getStudy(side.target, study.studyUid)),
    );
    const { result: cgetTls, cost: cgetTlsCost } = await costOf(side.tlsPid, DIMSE_RUNS, () =>
      repeated(() => getByClient(side.tlsTarget)),
    );
    const { result: move, cost: moveCost } = await costOf(side.pid, DIMSE_RUNS, () =>
      repeated(() => moveTo(side.target, moveDest)),
    );
    const { result: moveTls, cost: moveTlsCost } = await costOf(side.tlsPid, DIMSE_RUNS, () =>
      repeated(() => moveTo(side.tlsTarget, moveDestTls)),
    );
    rounds[sys].push({
      cost: {
        wado: wadoCost,
        wadoTls: wadoTlsCost,
        cget: cgetCost,
        cgetTls: cgetTlsCost,
        move: moveCost,
        moveTls: moveTlsCost,
      },
      findRun: find.p50,
      findServer: perQuery.perQueryMs,
      findRunTls: findTls.p50,
      findServerTls: perQueryTls.perQueryMs,
      qido: qido.p50,
      qidoTls: qidoTls.p50,
      wado: wado.mbPerSec,
      wadoTls: wadoTls.mbPerSec,
      cget: cget.mbPerSec,
      cgetTls: cgetTls.mbPerSec,
      move: move.mbPerSec,
      moveTls: moveTls.mbPerSec,
      matches: {
        find: Math.min(find.matches, findTls.matches),
        qido: Math.min(qido.matches, qidoTls.matches),
        wadoBytes: Math.min(wado.bytes, wadoTls.bytes),
        cgetInstances: cget.instances,
        tlsInstances: cgetTls.instances,
        movedInstances: Math.min(move.instances, moveTls.instances),
      },
    });
    log(
      `round ${r + 1}/${ROUNDS} ${sys.padEnd(7)} findscu p50 ${fmt(find.p50, 1)} ms (server ${fmt(perQuery.perQueryMs, 2)} ms/query, ${find.matches} matches; TLS ${fmt(findTls.p50, 1)} ms, server ${fmt(perQueryTls.perQueryMs, 2)} ms/query), QIDO p50 ${fmt(qido.p50, 1)} ms (${qido.matches}; HTTPS ${fmt(qidoTls.p50, 1)}), WADO ${fmt(wado.mbPerSec)} MB/s (HTTPS ${fmt(wadoTls.mbPerSec)}), C-GET ${fmt(cget.mbPerSec)} MB/s (${cget.instances} instances; TLS ${fmt(cgetTls.mbPerSec)}), C-MOVE ${fmt(move.mbPerSec)} MB/s (TLS ${fmt(moveTls.mbPerSec)}); server CPU ms per study: WADO ${fmt(wadoCost.cpuMs)}, C-GET ${fmt(cgetCost.cpuMs)} (TLS ${fmt(cgetTlsCost.cpuMs)}), C-MOVE ${fmt(moveCost.cpuMs)} (TLS ${fmt(moveTlsCost.cpuMs)})`,
    );
  }
}
const minutes = (performance.now() - started) / 60_000;
const loadEnd = os.loadavg();
for (const side of Object.values(sides)) await side.close();
qr.stop();
moveDest.stop();
moveDestTls.stop();

// ---------------------------------------------------------------------------------------
// Report: latencies take the median over rounds (lower is better), throughputs the best round.
// ---------------------------------------------------------------------------------------
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ok = (cond: boolean) => (cond ? 'meets goal' : '**falls short**');
const shortfalls: string[] = [];
const rows: string[] = [];
const k = rounds.kartei;
const o = rounds.orthanc;

const latencyRow = (what: string, pick: (x: Round) => number, goalText: string) => {
  const kv = median(k.map(pick));
  const ov = median(o.map(pick));
  const ratio = kv / ov;
  rows.push(
    `| ${what} | ${fmt(kv, 1)} ms (rounds: ${k.map((x) => fmt(pick(x), 1)).join(', ')}) | ${fmt(ov, 1)} ms (rounds: ${o.map((x) => fmt(pick(x), 1)).join(', ')}) | **${fmt(ratio, 2)}×** (lower is better) | ${goalText} | ${ok(ratio <= 1)} |`,
  );
  if (ratio > 1) shortfalls.push(`${what}: Kartei takes ${fmt(ratio, 2)}× Orthanc's time, goal ≤ 1×.`);
};
/** `goal`: the least ratio to Orthanc's rate (issue 18: WADO-RS, which decrypts what Orthanc sends as it is, 0.7×). */
const throughputRow = (what: string, pick: (x: Round) => number, goal = 1) => {
  const kv = Math.max(...k.map(pick));
  const ov = Math.max(...o.map(pick));
  const ratio = kv / ov;
  rows.push(
    `| ${what} | ${fmt(kv)} MB/s (rounds: ${k.map((x) => fmt(pick(x))).join(', ')}) | ${fmt(ov)} MB/s (rounds: ${o.map((x) => fmt(pick(x))).join(', ')}) | **${fmt(ratio, 2)}×** | ≥ ${goal}× | ${ok(ratio >= goal)} |`,
  );
  if (ratio < goal) shortfalls.push(`${what}: Kartei reaches ${fmt(ratio, 2)}× Orthanc, goal ≥ ${goal}×.`);
};
latencyRow(
  `C-FIND STUDY level by PatientID, findscu per run (process start + association + query; ${FIND_RUNS} runs per round, p50)`,
  (x) => x.findRun,
  '≤ Orthanc',
);
latencyRow(
  "C-FIND, the server's time per query (findscu --repeat 21 minus 1, per query)",
  (x) => x.findServer,
  '≤ Orthanc',
);
latencyRow(
  `C-FIND as above, TLS with client certificates, findscu per run (${FIND_RUNS} runs per round, p50)`,
  (x) => x.findRunTls,
  '≤ Orthanc',
);
latencyRow(
  "C-FIND, TLS, the server's time per query (findscu --repeat 21 minus 1, per query)",
  (x) => x.findServerTls,
  '≤ Orthanc',
);
latencyRow(
  `QIDO-RS /studies?PatientID=… (keep-alive, ${FIND_RUNS} requests per round, p50)`,
  (x) => x.qido,
  '≤ Orthanc',
);
latencyRow(
  `QIDO-RS as above over HTTPS (keep-alive, ${FIND_RUNS} requests per round, p50)`,
  (x) => x.qidoTls,
  '≤ Orthanc',
);
throughputRow(
  `WADO-RS of the study (${study.instances} instances, ${fmt(study.bytes / MB)} MB, multipart/related; curl)`,
  (x) => x.wado,
  0.7,
);
throughputRow('WADO-RS of the study over HTTPS (curl)', (x) => x.wadoTls, 0.7);
throughputRow('C-GET of the study (getscu, files written to a temp dir)', (x) => x.cget);
throughputRow(
  "C-GET of the study over TLS with client certificates (the bench's requester, datasets written to a temp dir; association to final response)",
  (x) => x.cgetTls,
);
throughputRow(
  "C-MOVE of the study to a storescp (the bench's requester; association to final response, MB the storescp wrote)",
  (x) => x.move,
);
throughputRow('C-MOVE as above, both associations over TLS with client certificates', (x) => x.moveTls);
const floorRow = (what: string, pick: (x: (typeof floors)[number]) => number) => {
  const best = Math.max(...floors.map(pick));
  rows.push(
    `| ${what} | ${fmt(best)} MB/s (rounds: ${floors.map((x) => fmt(pick(x))).join(', ')}) | | ${fmt(best / Math.max(...o.map((x) => x.wado)), 2)}× of Orthanc's WADO-RS | — | |`,
  );
};
floorRow(
  `floor under WADO-RS: a bare Node HTTP server in Kartei's server process reads (pooled, the next file read ahead), decrypts (as Kartei stores them) and sends the study's ${fmt(floors[0]!.bytes / MB)} MB, freeing each piece once written; no gate, audit, Fastify or multipart (curl)`,
  (x) => x.decrypted,
);
floorRow(
  'the same server sending the sealed files as they are on disk, without decrypting (a MiB per read, each freed once written)',
  (x) => x.sealed,
);
floorRow(
  "the same server sending the study from memory (read and decrypted beforehand): what Node's HTTP and curl manage here",
  (x) => x.memory,
);
{
  const kartei = Math.max(...k.map((x) => x.wado));
  const under = Math.max(...floors.map((x) => x.decrypted));
  rows.push(
    `| WADO-RS against its floor (best rounds) | ${fmt(kartei)} MB/s | floor ${fmt(under)} MB/s | **${fmt((100 * kartei) / under)} %** of the floor | ≥ 90 % | ${ok(kartei >= 0.9 * under)} |`,
  );
  if (kartei < 0.9 * under)
    shortfalls.push(`WADO-RS reaches ${fmt((100 * kartei) / under)} % of its floor, goal ≥ 90 %.`);
}
// The floors under C-GET and C-MOVE: DCMTK's dcmqrscp with the study's plaintext files.
const dimseFloorRow = (what: string, pick: (x: (typeof dimseFloors)[number]) => number) =>
  rows.push(
    `| ${what} | ${fmt(Math.max(...dimseFloors.map(pick)))} MB/s (rounds: ${dimseFloors.map((x) => fmt(pick(x))).join(', ')}) | | | — | |`,
  );
dimseFloorRow(
  "floor under C-GET: DCMTK's dcmqrscp (a child process per association) sending the study's plaintext files to getscu; no decryption, gate, audit or SQL index",
  (x) => x.cget,
);
dimseFloorRow("the same floor to the bench's requester (without TLS: dcmqrscp has none)", (x) => x.cgetClient);
dimseFloorRow(
  "floor under C-MOVE: dcmqrscp moving the study to the same storescp, asked by the bench's requester (without TLS)",
  (x) => x.move,
);
dimseFloorRow(
  'the destination leg alone: storescu sending the plaintext files to that storescp on one association (process start included)',
  (x) => x.leg,
);
const againstFloor = (what: string, kartei: number, under: number, goal: boolean) => {
  rows.push(
    `| ${what} (best rounds) | ${fmt(kartei)} MB/s | floor ${fmt(under)} MB/s | **${fmt((100 * kartei) / under)} %** of the floor | ${goal ? '≥ 90 %' : '— (no TLS floor)'} | ${goal ? ok(kartei >= 0.9 * under) : ''} |`,
  );
  if (goal && kartei < 0.9 * under)
    shortfalls.push(`${what} reaches ${fmt((100 * kartei) / under)} % of its floor, goal ≥ 90 %.`);
};
const bestK = (pick: (x: Round) => number) => Math.max(...k.map(pick));
const bestF = (pick: (x: (typeof dimseFloors)[number]) => number) => Math.max(...dimseFloors.map(pick));
againstFloor(
  'C-GET (getscu) against its floor',
  bestK((x) => x.cget),
  bestF((x) => x.cget),
  true,
);
againstFloor(
  'C-MOVE against its floor',
  bestK((x) => x.move),
  bestF((x) => x.move),
  true,
);
againstFloor(
  'C-GET over TLS against the floor without TLS',
  bestK((x) => x.cgetTls),
  bestF((x) => x.cgetClient),
  false,
);
againstFloor(
  'C-MOVE over TLS against the floor without TLS',
  bestK((x) => x.moveTls),
  bestF((x) => x.move),
  false,
);

// The server's CPU time and minor page faults per study: medians over the rounds.
const costRows: string[] = [];
const costCell = (c: Cost[]) =>
  `${fmt(median(c.map((x) => x.cpuMs)))} ms, ${fmt(median(c.map((x) => x.faults)))} faults (CPU rounds: ${c.map((x) => fmt(x.cpuMs)).join(', ')})`;
const costRow = (what: string, key: keyof Round['cost']) => {
  const kc = k.map((x) => x.cost[key]);
  const oc = o.map((x) => x.cost[key]);
  costRows.push(
    `| ${what} | ${costCell(kc)} | ${costCell(oc)} | **${fmt(median(kc.map((x) => x.cpuMs)) / median(oc.map((x) => x.cpuMs)), 2)}×** |`,
  );
};
costRow('WADO-RS', 'wado');
costRow("WADO-RS over HTTPS (Orthanc's: plain HTTP)", 'wadoTls');
costRow('C-GET (getscu)', 'cget');
costRow('C-GET over TLS', 'cgetTls');
costRow('C-MOVE', 'move');
costRow('C-MOVE over TLS', 'moveTls');
for (const [what, key] of [
  ['floor under WADO-RS (read, decrypt, send)', 'decrypted'],
  ['the floor server sending the sealed files', 'sealed'],
  ['the floor server sending from memory', 'memory'],
] as const)
  costRows.push(`| ${what} | ${costCell(floors.map((x) => x.cost[key]))} | | |`);
for (const [what, key] of [
  ["floor under C-GET: dcmqrscp to getscu (its process and the association's child)", 'cget'],
  ["dcmqrscp to the bench's requester (C-GET, no TLS)", 'cgetClient'],
  ['floor under C-MOVE: dcmqrscp to the storescp', 'move'],
] as const)
  costRows.push(`| ${what} | ${costCell(dimseFloors.map((x) => x.cost[key]))} | | |`);

const m = (xs: Round[]) => xs[0]!.matches;
const answers = (x: Round['matches']) =>
  `${x.find} C-FIND / ${x.qido} QIDO matches, ${fmt(x.wadoBytes / MB)} MB WADO, ${x.cgetInstances} / ${x.tlsInstances} C-GET instances (getscu / TLS), ${x.movedInstances} moved`;
// The multipart bodies differ by their boundaries: WADO-RS is checked by the server's own count of instances instead.
const sameAnswers = (['find', 'qido', 'cgetInstances', 'tlsInstances', 'movedInstances'] as const).every(
  (key) => m(k)[key] === m(o)[key] && m(k)[key] > 0,
);
rows.push(
  `| answers (checked; with and without TLS alike) | ${answers(m(k))} | ${answers(m(o))} | | same | ${ok(sameAnswers)} |`,
);

const commit = execSync('git rev-parse --short HEAD').toString().trim();
const dirty = execSync("git status --porcelain -- . ':!bench/RESULTS.md'").toString().trim()
  ? ' (uncommitted changes)'
  : '';
const la = (l: number[]) => l.map((x) => fmt(x, 1)).join('/');
const report = `
## ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — DICOM queries and retrieval, Kartei vs Orthanc — commit ${commit}${dirty}

Node ${process.version}, ${os.cpus().length} cores; load average ${la(loadStart)} at the start, ${la(loadEnd)} at the end; ${fmt(minutes, 1)} min of measuring after an untimed fill. Both archives hold the same ${files.length} instances (${corpus.instances.length} of the ingest corpus, ${thin.instances.length} thin ones of ${thin.patientIds.length} patients). ${ROUNDS} alternating rounds. Every measure also with TLS (client certificates required on DIMSE, the same throwaway CA, server and client certificates for both; a second Orthanc holds the same instances; Kartei's second listener and HTTPS server share the first ones' archive). **Orthanc's HTTPS rows are its plain HTTP**: Debian's Orthanc 1.10.1 (civetweb 1.15, OpenSSL 3.0) dies with SIGSEGV on its first HTTPS connection here (a NULL function call in a civetweb worker), so Kartei with TLS is compared with Orthanc without. C-GET over TLS and C-MOVE by the bench's own requester (DCMTK 3.6.7's getscu and movescu have no TLS), a process of its own, timed from its association request to the final response; C-MOVE destinations are storescp processes registered with both. Kartei: ${DIALECT === 'sqlite' ? 'SQLite' : 'PostgreSQL'}, patient attributes encrypted and matched through blind indexes, every query and retrieval audited, WADO-RS authenticated with a staff API token. Orthanc ${orthancVersion} with the DICOMweb plugin, HTTP basic auth, \`StorageAccessOnFind: Always\` (its default). TCP_NODELAY on for DCMTK.

| measure | Kartei | Orthanc ${orthancVersion} | Kartei / Orthanc | goal | |
|---|---|---|---|---|---|
${rows.join('\n')}

The server's cost per study of ${fmt(study.bytes / MB)} MB (CPU time of its process, all threads, and minor page faults; medians over the rounds, each round's C-GET and C-MOVE figures the mean of ${DIMSE_RUNS} retrievals; Kartei's is its server process, \`bench/dicom/retrieval-server.ts\` under the production start, which also serves the WADO-RS floor; dcmqrscp's counts the child it forks per association):

| retrieval | Kartei: CPU and faults per study | Orthanc ${orthancVersion} | Kartei / Orthanc (CPU) |
|---|---|---|---|
${costRows.join('\n')}

Falls short / not measured yet:
${[...shortfalls, 'C-FIND and QIDO-RS at 1,000,000 indexed instances: by `npm run bench:dicom-scale` (its own entries).'].map((s) => `- ${s}`).join('\n')}
`;
if (!process.env.BENCH_DICOM_NO_RESULTS) fs.appendFileSync('bench/RESULTS.md', report);
process.stdout.write(report);
