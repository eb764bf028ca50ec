// Where Kartei's C-STORE ingest spends its time, run by hand:
//   node bench/dicom/profile.ts            (4 associations, no TLS)
//   BENCH_DICOM_PROFILE_ASSOCIATIONS=1 BENCH_DICOM_PROFILE_TLS=1 node bench/dicom/profile.ts
// One ingest of the corpus into a fresh installation under the V8 CPU profiler (started after
// the installation is set up, stopped when the last storescu exits). Writes the .cpuprofile
// (open it in Chrome DevTools) and prints the functions with the most self time, plus the
// share of time per source area.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Session } from 'node:inspector/promises';
import { generateCorpus } from './corpus.ts';
import { MB, storeFiles } from './dcmtk.ts';
import { startKarteiDicom } from './kartei.ts';

const ASSOCIATIONS = Number(process.env.BENCH_DICOM_PROFILE_ASSOCIATIONS ?? 4);
const TLS = !!process.env.BENCH_DICOM_PROFILE_TLS;
const TOP = Number(process.env.BENCH_DICOM_PROFILE_TOP ?? 15);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const corpus = await generateCorpus();
const files = corpus.instances.map((i) => i.file);
const k = await startKarteiDicom({ callingAet: 'KARTEIBENCH', tls: TLS });
const session = new Session();
session.connect();
let profile: Profile;
let seconds: number;
try {
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  const r = await storeFiles(k.target, files, { associations: ASSOCIATIONS, extraArgs: ['--max-send-pdu', '131072'] });
  seconds = r.seconds;
  profile = ((await session.post('Profiler.stop')) as { profile: Profile }).profile;
  process.stdout.write(
    `ingest: ${r.instances} instances, ${(r.bytes / MB).toFixed(0)} MB in ${r.seconds.toFixed(1)} s = ${r.mbPerSec.toFixed(1)} MB/s, ${ASSOCIATIONS} association(s), TLS ${TLS ? 'on' : 'off'}\n`,
  );
} finally {
  session.disconnect();
  await k.close();
}

const out = path.join(os.tmpdir(), `kartei-dicom-ingest-${Date.now()}.cpuprofile`);
fs.writeFileSync(out, JSON.stringify(profile));

// Self time per node from the samples, then summed per function (name + file + line).
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => {
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const repo = path.resolve(import.meta.dirname, '../..');
const where = (url: string) => url.replace(/^file:\/\//, '').replace(`${repo}/`, '');
const perFunction = new Map<string, number>();
const perArea = new Map<string, number>();
for (const [id, us] of selfUs) {
  const f = byId.get(id)!.callFrame;
  const name = `${f.functionName || '(anonymous)'} ${f.url ? `${where(f.url)}:${f.lineNumber + 1}` : ''}`.trim();
  perFunction.set(name, (perFunction.get(name) ?? 0) + us);
  const file = where(f.url);
  const area = !f.url
    ? f.functionName || '(native)'
    : file.startsWith('node:')
      ? 'node: internals'
      : file.includes('node_modules')
        ? `node_modules/${file.split('node_modules/')[1]!.split('/')[0]}`
        : file.split('/').slice(0, 3).join('/');
  perArea.set(area, (perArea.get(area) ?? 0) + us);
}
const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
const wall = (profile.endTime - profile.startTime) / 1e6;
process.stdout.write(
  `profile: ${out}\nsampled ${wall.toFixed(1)} s (ingest ${seconds.toFixed(1)} s); self time, top ${TOP}:\n`,
);
for (const [name, us] of [...perFunction].sort((a, b) => b[1] - a[1]).slice(0, TOP))
  process.stdout.write(`  ${pct(us)}  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}\n`);
process.stdout.write('by area:\n');
for (const [name, us] of [...perArea].sort((a, b) => b[1] - a[1]).slice(0, TOP))
  process.stdout.write(`  ${pct(us)}  ${name}\n`);
