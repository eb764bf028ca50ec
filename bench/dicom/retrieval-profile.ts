// Where Kartei's C-GET and C-MOVE spend the server's CPU, run by hand:
//   node --import ./bench/production-start.ts bench/dicom/retrieval-profile.ts
// Kartei's retrieval server (retrieval-server.ts, under the production start) holding only the
// bench's largest CT study; after two warm-up retrievals of each kind, BENCH_RETRIEVE_RUNS
// (default 10) C-GETs by getscu, as many C-MOVEs to a storescp and C-GETs over TLS by the bench's
// requester (BENCH_RETRIEVE_KINDS=TLS: only the kinds whose name holds it), each kind timed by the
// server's CPU (utime + stime, all threads; each run's and the mean) and minor page faults per
// study, read from /proc/<pid>/stat. With BENCH_RETRIEVE_PROFILE=1 the server's V8 CPU profile of each
// kind is written to the temp dir and summed up (cpu-profile.ts). Prints the load average.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TransferSyntax } from '../../src/imaging/dicom/uids.ts';
import { testCertificate } from '../../test/helpers/certificates.ts';
import { freePort } from '../../test/helpers/harness.ts';
import { generateCorpus } from './corpus.ts';
import { summarize } from './cpu-profile.ts';
import { getStudy, MB, retrieveByClient, startStoreScp, storeFiles, type DicomTarget } from './dcmtk.ts';
import { startKarteiRetrieval } from './kartei-retrieval.ts';
import { benchTls, clientTls } from './kartei.ts';

const RUNS = Number(process.env.BENCH_RETRIEVE_RUNS ?? 10);
const PROFILE = !!process.env.BENCH_RETRIEVE_PROFILE;
/** Only the kinds whose name contains this (e.g. `TLS`). */
const ONLY = process.env.BENCH_RETRIEVE_KINDS ?? '';
const CALLING_AET = 'KARTEIBENCH';

const corpus = await generateCorpus();
const study = corpus.studies.reduce((a, b) => (b.bytes > a.bytes ? b : a));
const instances = corpus.instances.filter((i) => i.studyUid === study.studyUid);
const moveDest = await startStoreScp('BENCHDEST', await freePort());
const server = await startKarteiRetrieval({
  callingAet: CALLING_AET,
  tlsAet: 'BENCHTLS',
  tls: benchTls(),
  moveDest: { aet: moveDest.aet, port: moveDest.port },
  moveDestTls: { aet: 'BENCHDESTTLS', port: await freePort(), cert: testCertificate('BENCHDESTTLS').cert },
});
const target: DicomTarget = { host: '127.0.0.1', port: server.info.port, calledAet: 'KARTEI', callingAet: CALLING_AET };
const tlsTarget: DicomTarget = {
  host: '127.0.0.1',
  port: server.info.tlsPort,
  calledAet: 'KARTEI',
  callingAet: 'BENCHTLS',
  tls: clientTls(benchTls()),
};
await storeFiles(
  target,
  instances.map((i) => i.file),
  { associations: 2 },
);

function usage() {
  const stat = fs.readFileSync(`/proc/${server.info.pid}/stat`, 'utf8');
  const f = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  return { ticks: f[11]! + f[12]!, faults: f[7]! };
}
const tick = 1000 / 100;
const storage = [...new Set(instances.map((i) => i.sopClassUid))].map((sopClassUid) => ({
  sopClassUid,
  transferSyntax: TransferSyntax.ExplicitVrLittleEndian,
}));
const kinds = {
  'C-GET (getscu)': async () => {
    await getStudy(target, study.studyUid);
  },
  'C-MOVE (requester to storescp)': async () => {
    const r = await retrieveByClient(target, {
      op: 'move',
      studyUid: study.studyUid,
      storage,
      destination: moveDest.aet,
    });
    if (moveDest.take().instances !== r.completed) throw new Error('C-MOVE: not every instance arrived');
  },
  'C-GET over TLS (requester, datasets written to a temp dir)': async () => {
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-get-'));
    try {
      await retrieveByClient(tlsTarget, { op: 'get', studyUid: study.studyUid, storage, outDir });
    } finally {
      fs.rmSync(outDir, { recursive: true, force: true });
    }
  },
};
const load = os.loadavg();
for (const [name, run] of Object.entries(kinds)) {
  if (!name.includes(ONLY)) continue;
  await run();
  await run();
  const file = path.join(os.tmpdir(), `kartei-${name.split(' ')[0]}-${Date.now()}.cpuprofile`);
  if (PROFILE) await server.ask('profile');
  const before = usage();
  const each: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = usage().ticks;
    await run();
    each.push((usage().ticks - t) * tick);
  }
  const after = usage();
  if (PROFILE) await server.ask(`profile-stop ${file}`);
  process.stdout.write(
    `${name}: ${((after.ticks - before.ticks) * tick) / RUNS} ms CPU, ${(after.faults - before.faults) / RUNS} faults per study of ${(study.bytes / MB).toFixed(0)} MB (${RUNS} runs: ${each.join(', ')} ms)\n`,
  );
  if (PROFILE) process.stdout.write(`profile ${file}\n${summarize(file)}\n`);
}
process.stdout.write(
  `load average ${load.map((x) => x.toFixed(1)).join('/')} → ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join('/')}\n`,
);
await server.stop();
moveDest.stop();
