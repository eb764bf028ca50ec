// Self-check of the Orthanc side of the DICOM benchmark, run by hand:
//   node bench/dicom/orthanc-only.ts
// Generates (or reuses) the corpus, then against Orthanc: C-STORE with 1 and with 4
// associations (each into a fresh Orthanc, so no store hits an existing instance), fill to
// BENCH_DICOM_FILL instances (default 5,500) with thin instances, C-FIND and QIDO-RS by
// PatientID, WADO-RS and C-GET of one CT study. Prints the figures; writes nothing else.
import fs from 'node:fs';
import { DEFAULT_CORPUS, generateCorpus, generateThinCorpus } from './corpus.ts';
import {
  echoLatency,
  findByPatientId,
  findPerQuery,
  getStudy,
  qidoStudiesByPatientId,
  storeFiles,
  wadoStudy,
  type LatencyStats,
  type StoreResult,
} from './dcmtk.ts';
import { orthancStatistics, startOrthanc, type OrthancHandle } from './orthanc.ts';

const FILL = Number(process.env.BENCH_DICOM_FILL ?? 5_500);
const FIND_RUNS = Number(process.env.BENCH_DICOM_FIND_RUNS ?? 30);

const fmt = (x: number, d = 0) => x.toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d });
const lat = (s: LatencyStats) => `p50 ${fmt(s.p50, 1)} ms, p95 ${fmt(s.p95, 1)} ms (${s.runs} runs)`;
const store = (s: StoreResult) =>
  `${fmt(s.instancesPerSec)} inst/s, ${fmt(s.mbPerSec)} MB/s (${s.instances} instances, ${fmt(s.bytes / 1e6)} MB in ${fmt(s.seconds, 2)} s)`;
const peakRss = (pid: number) =>
  Number(/VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
const log = (s: string) => process.stdout.write(`${s}\n`);

let t0 = performance.now();
const corpus = await generateCorpus();
log(
  `corpus: ${corpus.instances.length} instances, ${fmt(corpus.totalBytes / 1e6)} MB in ${corpus.dir} (${corpus.generated ? `generated in ${fmt(corpus.seconds, 1)} s` : 'cached'})`,
);
const thin = await generateThinCorpus({ count: Math.max(0, FILL - corpus.instances.length) });
log(
  `thin: ${thin.instances.length} instances, ${thin.patientIds.length} patients (${thin.generated ? `generated in ${fmt(thin.seconds, 1)} s` : 'cached'}); setup ${fmt((performance.now() - t0) / 1000, 1)} s`,
);
const files = corpus.instances.map((i) => i.file);

async function withOrthanc<T>(fn: (o: OrthancHandle) => Promise<T>): Promise<T> {
  const o = await startOrthanc();
  try {
    return await fn(o);
  } finally {
    await o.stop();
  }
}

// Store into fresh servers; 1 then 4 associations.
const one = await withOrthanc((o) => storeFiles(o.target, files, { associations: 1 }));
log(`C-STORE 1 association:  ${store(one)}`);

const o = await startOrthanc();
try {
  log(`Orthanc ${o.version}: http ${o.httpPort}, dicom ${o.dicomPort}, loopback only: ${o.loopbackOnly}, dir ${o.dir}`);
  const four = await storeFiles(o.target, files, { associations: 4 });
  log(`C-STORE 4 associations: ${store(four)}`);
  t0 = performance.now();
  const fill = await storeFiles(
    o.target,
    thin.instances.map((i) => i.file),
    { associations: 4 },
  );
  log(`fill with thin instances: ${store(fill)}`);
  const stats = await orthancStatistics(o);
  log(
    `Orthanc holds ${fmt(stats.CountInstances)} instances, ${fmt(stats.CountStudies)} studies, ${fmt(stats.CountPatients)} patients, ${fmt(stats.TotalDiskSizeMB)} MB`,
  );

  const ct = corpus.studies.find((s) => s.patientId === 'BENCH-CT-0003')!;
  const thinPatient = thin.patientIds[Math.floor(thin.patientIds.length / 2)] ?? 'BENCH-CR-0001';
  const echo = await echoLatency(o.target, 10);
  log(`C-ECHO (client floor: echoscu start + association + 1 round trip): ${lat(echo)}`);
  const findCt = await findByPatientId(o.target, ct.patientId, FIND_RUNS);
  log(
    `C-FIND STUDY by PatientID ${ct.patientId} (findscu -S, one process per run): ${lat(findCt)}, ${findCt.matches} match(es)`,
  );
  const findThin = await findByPatientId(o.target, thinPatient, FIND_RUNS);
  log(`C-FIND STUDY by PatientID ${thinPatient}: ${lat(findThin)}, ${findThin.matches} match(es)`);
  for (const pid of [ct.patientId, thinPatient]) {
    const q = await findPerQuery(o.target, pid, { repeats: 50 });
    log(
      `C-FIND per query on an open association (findscu --repeat), ${pid}: ${fmt(q.perQueryMs, 2)} ms (rounds ${q.rounds.map((r) => fmt(r, 2)).join('/')})`,
    );
  }
  const qido = await qidoStudiesByPatientId(o.dicomWebUrl, o.authHeaders, ct.patientId, 100);
  log(
    `QIDO-RS /studies?PatientID=${ct.patientId} (keep-alive): ${lat(qido)}, ${qido.matches} match(es), ${qido.bytes} bytes`,
  );
  const qidoThin = await qidoStudiesByPatientId(o.dicomWebUrl, o.authHeaders, thinPatient, 100);
  log(`QIDO-RS /studies?PatientID=${thinPatient}: ${lat(qidoThin)}, ${qidoThin.matches} match(es)`);
  const wado = await wadoStudy(o.dicomWebUrl, o.authHeaders, ct.studyUid, 3);
  log(
    `WADO-RS study ${ct.patientId} (${ct.instances} instances, ${fmt(ct.bytes / 1e6)} MB of files): ${fmt(wado.mbPerSec)} MB/s (${fmt(wado.bytes / 1e6, 1)} MB multipart; runs ${wado.seconds.map((s) => fmt(s, 2)).join('/')} s)`,
  );
  const gets = [];
  for (let i = 0; i < 3; i++) gets.push(await getStudy(o.target, ct.studyUid));
  const get = [...gets].sort((a, b) => a.mbPerSec - b.mbPerSec)[1]!;
  log(
    `C-GET study ${ct.patientId} (getscu to disk): ${fmt(get.mbPerSec)} MB/s, ${fmt(get.instancesPerSec)} inst/s (${get.instances} instances; runs ${gets.map((g) => fmt(g.seconds, 2)).join('/')} s)`,
  );
  log(`Orthanc peak RSS: ${fmt(peakRss(o.pid))} MiB`);
  log(`corpus parameters: ${JSON.stringify(DEFAULT_CORPUS)}`);
} finally {
  await o.stop();
}
