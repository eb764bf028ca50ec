// `npm run bench:dicom-retrieval`: queries and retrieval, Kartei beside Orthanc in one run.
// Both archives are filled (untimed) with the same 5,500 instances — the ingest corpus (500 CT
// 512², 12 CR 2048²) plus thin 1×1 instances of many patients — then, in alternating rounds:
//  1. C-FIND by PatientID at STUDY level: findscu per run (process + association + query), and
//     the server's cost per query without the client (findscu --repeat, difference per query);
//  2. QIDO-RS GET /studies?PatientID=… on one keep-alive connection;
//  3. WADO-RS of one CT study (multipart/related, all its instances);
//  4. C-GET of the same study with getscu.
// C-FIND runs again over TLS with client certificates (a second Kartei listener on the same
// archive; a second Orthanc, filled the same way, since Orthanc's DICOM port is either TLS or
// not). The rest without TLS: DCMTK 3.6.7's getscu has no TLS, and the DICOMweb rows run over
// HTTP on loopback. Kartei: the DIMSE listeners and the HTTP server in this process, a staff
// user's API token; Orthanc with its DICOMweb plugin and HTTP basic auth. Appends the figures
// to bench/RESULTS.md.
//
// Environment: BENCH_DICOM_ROUNDS (default 3), BENCH_DICOM_FIND_RUNS (default 20),
// BENCH_DICOM_FILL (default 5,500), BENCH_DICOM_NO_RESULTS=1 (print only).
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { inTenant } from '../../src/db/connect.ts';
import { startDimseListener } from '../../src/imaging/dimse/listener.ts';
import { startHarness, setUpTenant, freePort, DIALECT } from '../../test/helpers/harness.ts';
import { generateCorpus, generateThinCorpus } from './corpus.ts';
import {
  bearerAuth, findByPatientId, findPerQuery, getStudy, MB, qidoStudiesByPatientId, storeFiles, wadoStudy, type DicomTarget,
} from './dcmtk.ts';
import { orthancStatistics, startOrthanc } from './orthanc.ts';
import { benchTls, clientTls } from './kartei.ts';

const ROUNDS = Number(process.env.BENCH_DICOM_ROUNDS ?? 3);
const FIND_RUNS = Number(process.env.BENCH_DICOM_FIND_RUNS ?? 20);
const FILL = Number(process.env.BENCH_DICOM_FILL ?? 5_500);
const CALLING_AET = 'KARTEIBENCH';
/** The bench AE over TLS, known by its certificate (a device has a certificate or a host, not both). */
const TLS_AET = 'BENCHTLS';
const tls = benchTls();

const log = (s: string) => process.stderr.write(`[bench:dicom-retrieval ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
const fmt = (x: number, d = 0) => x.toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d });

const corpus = await generateCorpus();
const thin = await generateThinCorpus({ count: Math.max(0, FILL - corpus.instances.length) });
const files = [...corpus.instances, ...thin.instances].map((i) => i.file);
// The study to retrieve: the largest CT study; the patient to find: its patient.
const study = corpus.studies.reduce((a, b) => (b.bytes > a.bytes ? b : a));
log(`archive fill: ${files.length} instances; retrieving study ${study.studyUid} (${study.instances} instances, ${fmt(study.bytes / MB)} MB); finding PatientID ${study.patientId}`);

interface Side {
  target: DicomTarget;
  /** The same archive over DICOM TLS, as TLS_AET with the bench client certificate. */
  tlsTarget: DicomTarget;
  dicomWeb: string;
  auth: Record<string, string>;
  count(): Promise<number>;
  close(): Promise<void>;
}

async function kartei(): Promise<Side> {
  const h = await startHarness();
  const t = await setUpTenant(h, ['RAD']);
  const device = await t.admin.post('/api/admin/devices', { aeTitle: CALLING_AET, departmentId: t.departments.RAD, permissions: ['store', 'find', 'retrieve'], host: '127.0.0.1' });
  if (device.status !== 201) throw new Error(`device: ${JSON.stringify(device.body)}`);
  const staff = await t.user({ memberships: [{ departmentId: t.departments.RAD!, role: 'physician' }] });
  const token = await staff.post('/api/auth/tokens', { name: 'bench', expiresInDays: 1 });
  const tlsDevice = await t.admin.post('/api/admin/devices', { aeTitle: TLS_AET, departmentId: t.departments.RAD, permissions: ['find'], certificate: tls.client.cert });
  if (tlsDevice.status !== 201) throw new Error(`TLS device: ${JSON.stringify(tlsDevice.body)}`);
  const listener = await startDimseListener({ host: '127.0.0.1', port: await freePort(), aeTitle: 'KARTEI' }, { services: h.services });
  const tlsListener = await startDimseListener(
    { host: '127.0.0.1', port: await freePort(), aeTitle: 'KARTEI', tls: { certFile: tls.server.certFile, keyFile: tls.server.keyFile, caFile: tls.caFile } },
    { services: h.services },
  );
  const address = await h.app.listen({ host: '127.0.0.1', port: 0 });
  return {
    target: { host: '127.0.0.1', port: listener.port, calledAet: 'KARTEI', callingAet: CALLING_AET },
    tlsTarget: { host: '127.0.0.1', port: tlsListener.port, calledAet: 'KARTEI', callingAet: TLS_AET, tls: clientTls(tls) },
    dicomWeb: `${address}/dicom-web`,
    auth: bearerAuth(token.body.token),
    count: () => inTenant(h.services.store, t.tenantId, async (tx) => Number((await tx.selectFrom('instances').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)),
    async close() {
      await listener.close();
      await tlsListener.close();
      await h.close();
    },
  };
}

async function orthanc(): Promise<Side & { version: string; fillTls(files: string[]): Promise<number> }> {
  const o = await startOrthanc({ callingAet: CALLING_AET });
  const secure = await startOrthanc({ callingAet: TLS_AET, tls: { cert: tls.server.certFile, key: tls.server.keyFile, ca: tls.caFile } });
  const tlsTarget: DicomTarget = { ...secure.target, tls: clientTls(tls) };
  return {
    target: o.target,
    tlsTarget,
    dicomWeb: o.dicomWebUrl,
    auth: o.authHeaders,
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
const sides: Record<System, Side> = { kartei: await kartei(), orthanc: orthancSide };
const orthancVersion = orthancSide.version;
const fillStart = performance.now();
for (const [name, side] of Object.entries(sides)) {
  await storeFiles(side.target, files, { associations: 4 });
  const n = await side.count();
  if (n !== files.length) throw new Error(`${name}: ${n} of ${files.length} instances stored`);
}
const secureCount = await orthancSide.fillTls(files);
if (secureCount !== files.length) throw new Error(`orthanc over TLS: ${secureCount} of ${files.length} instances stored`);
log(`both filled in ${fmt((performance.now() - fillStart) / 1000)} s`);

interface Round {
  findRun: number;
  findServer: number;
  findRunTls: number;
  findServerTls: number;
  qido: number;
  wado: number;
  cget: number;
  matches: { find: number; qido: number; wadoBytes: number; cgetInstances: number };
}
const rounds: Record<System, Round[]> = { kartei: [], orthanc: [] };
const loadStart = os.loadavg();
const started = performance.now();
for (let r = 0; r < ROUNDS; r++) {
  const order: System[] = r % 2 === 0 ? ['kartei', 'orthanc'] : ['orthanc', 'kartei'];
  for (const sys of order) {
    const side = sides[sys];
    const find = await findByPatientId(side.target, study.patientId, FIND_RUNS);
    const perQuery = await findPerQuery(side.target, study.patientId, { repeats: 20, rounds: 3 });
    const findTls = await findByPatientId(side.tlsTarget, study.patientId, FIND_RUNS);
    const perQueryTls = await findPerQuery(side.tlsTarget, study.patientId, { repeats: 20, rounds: 3 });
    const qido = await qidoStudiesByPatientId(side.dicomWeb, side.auth, study.patientId, FIND_RUNS);
    const wado = await wadoStudy(side.dicomWeb, side.auth, study.studyUid, 2);
    const cget = await getStudy(side.target, study.studyUid);
    rounds[sys].push({
      findRun: find.p50,
      findServer: perQuery.perQueryMs,
      findRunTls: findTls.p50,
      findServerTls: perQueryTls.perQueryMs,
      qido: qido.p50,
      wado: wado.mbPerSec,
      cget: cget.mbPerSec,
      matches: { find: find.matches, qido: qido.matches, wadoBytes: wado.bytes, cgetInstances: cget.instances },
    });
    log(`round ${r + 1}/${ROUNDS} ${sys.padEnd(7)} findscu p50 ${fmt(find.p50, 1)} ms (server ${fmt(perQuery.perQueryMs, 2)} ms/query, ${find.matches} matches; TLS ${fmt(findTls.p50, 1)} ms, server ${fmt(perQueryTls.perQueryMs, 2)} ms/query), QIDO p50 ${fmt(qido.p50, 1)} ms (${qido.matches}), WADO ${fmt(wado.mbPerSec)} MB/s, C-GET ${fmt(cget.mbPerSec)} MB/s (${cget.instances} instances)`);
  }
}
const minutes = (performance.now() - started) / 60_000;
const loadEnd = os.loadavg();
for (const side of Object.values(sides)) await side.close();

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
  rows.push(`| ${what} | ${fmt(kv, 1)} ms (rounds: ${k.map((x) => fmt(pick(x), 1)).join(', ')}) | ${fmt(ov, 1)} ms (rounds: ${o.map((x) => fmt(pick(x), 1)).join(', ')}) | **${fmt(ratio, 2)}×** (lower is better) | ${goalText} | ${ok(ratio <= 1)} |`);
  if (ratio > 1) shortfalls.push(`${what}: Kartei takes ${fmt(ratio, 2)}× Orthanc's time, goal ≤ 1×.`);
};
const throughputRow = (what: string, pick: (x: Round) => number) => {
  const kv = Math.max(...k.map(pick));
  const ov = Math.max(...o.map(pick));
  const ratio = kv / ov;
  rows.push(`| ${what} | ${fmt(kv)} MB/s (rounds: ${k.map((x) => fmt(pick(x))).join(', ')}) | ${fmt(ov)} MB/s (rounds: ${o.map((x) => fmt(pick(x))).join(', ')}) | **${fmt(ratio, 2)}×** | ≥ 1× | ${ok(ratio >= 1)} |`);
  if (ratio < 1) shortfalls.push(`${what}: Kartei reaches ${fmt(ratio, 2)}× Orthanc, goal ≥ 1×.`);
};
latencyRow(`C-FIND STUDY level by PatientID, findscu per run (process start + association + query; ${FIND_RUNS} runs per round, p50)`, (x) => x.findRun, '≤ Orthanc');
latencyRow('C-FIND, the server\'s time per query (findscu --repeat 21 minus 1, per query)', (x) => x.findServer, '≤ Orthanc');
latencyRow(`C-FIND as above, TLS with client certificates, findscu per run (${FIND_RUNS} runs per round, p50)`, (x) => x.findRunTls, '≤ Orthanc');
latencyRow('C-FIND, TLS, the server\'s time per query (findscu --repeat 21 minus 1, per query)', (x) => x.findServerTls, '≤ Orthanc');
latencyRow(`QIDO-RS /studies?PatientID=… (keep-alive, ${FIND_RUNS} requests per round, p50)`, (x) => x.qido, '≤ Orthanc');
throughputRow(`WADO-RS of the study (${study.instances} instances, ${fmt(study.bytes / MB)} MB, multipart/related)`, (x) => x.wado);
throughputRow('C-GET of the study (getscu, files written to a temp dir)', (x) => x.cget);
const m = (xs: Round[]) => xs[0]!.matches;
rows.push(`| answers (checked) | ${m(k).find} C-FIND / ${m(k).qido} QIDO matches, ${fmt(m(k).wadoBytes / MB)} MB WADO, ${m(k).cgetInstances} C-GET instances | ${m(o).find} / ${m(o).qido}, ${fmt(m(o).wadoBytes / MB)} MB, ${m(o).cgetInstances} | | same | ${ok(m(k).find === m(o).find && m(k).qido === m(o).qido && m(k).cgetInstances === m(o).cgetInstances)} |`);

const commit = execSync('git rev-parse --short HEAD').toString().trim();
const dirty = execSync("git status --porcelain -- . ':!bench/RESULTS.md'").toString().trim() ? ' (uncommitted changes)' : '';
const la = (l: number[]) => l.map((x) => fmt(x, 1)).join('/');
const report = `
## ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — DICOM queries and retrieval, Kartei vs Orthanc — commit ${commit}${dirty}

Node ${process.version}, ${os.cpus().length} cores; load average ${la(loadStart)} at the start, ${la(loadEnd)} at the end; ${fmt(minutes, 1)} min of measuring after an untimed fill. Both archives hold the same ${files.length} instances (${corpus.instances.length} of the ingest corpus, ${thin.instances.length} thin ones of ${thin.patientIds.length} patients). ${ROUNDS} alternating rounds. C-FIND also over TLS (client certificates required, the same throwaway CA, server and client certificates for both; a second Orthanc holds the same instances); everything else without TLS on loopback (DCMTK 3.6.7's getscu has no TLS; the DICOMweb rows use HTTP). Kartei: ${DIALECT === 'sqlite' ? 'SQLite' : 'PostgreSQL'}, patient attributes encrypted and matched through blind indexes, every query and retrieval audited, WADO-RS authenticated with a staff API token. Orthanc ${orthancVersion} with the DICOMweb plugin, HTTP basic auth, \`StorageAccessOnFind: Always\` (its default). TCP_NODELAY on for DCMTK.

| measure | Kartei | Orthanc ${orthancVersion} | Kartei / Orthanc | goal | |
|---|---|---|---|---|---|
${rows.join('\n')}

Falls short / not measured yet:
${[...shortfalls, 'C-FIND and QIDO-RS at 1,000,000 indexed instances: by `npm run bench:dicom-scale` (its own entries).', 'QIDO-RS and WADO-RS over HTTPS, C-GET over TLS (no TLS in DCMTK 3.6.7\'s getscu), C-MOVE: not measured yet.'].map((s) => `- ${s}`).join('\n')}
`;
if (!process.env.BENCH_DICOM_NO_RESULTS) fs.appendFileSync('bench/RESULTS.md', report);
process.stdout.write(report);
