// `npm run bench:instances` (issue 19): one office served by one `kartei serve` process against the
// same office served by two (each its own data directory, the same key directory, one PostgreSQL,
// sealed files in the database), the load split evenly over both:
//  - the gated `GET /api/records/:id` (autocannon, 50 connections in all: 50 to one instance, or
//    25 to each of two), requests per second and p99,
//  - C-STORE ingest (DCMTK storescu, BENCH_ASSOCIATIONS associations in all, one study each, each
//    round fresh instances of BENCH_IMAGE_SIZE² 16-bit pixels), instances and MB per second.
// Alternating rounds (BENCH_ROUNDS, default 3; which goes first alternates); the median counts and
// every round is listed. Needs a throwaway PostgreSQL: KARTEI_TEST_PG names its admin
// URL (scripts/throwaway-postgres.sh); a fresh database is made in it. Prints a table with date and
// commit; the lead adds the figures of a quiet machine to bench/RESULTS.md.
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { makeInstance, newUid } from '../test/helpers/dicom-files.ts';
import { freshPostgres, PG_ADMIN } from '../test/helpers/harness.ts';
import {
  expectStatus,
  healthy,
  type Instance,
  type InstanceSet,
  setUpOffice,
  setupLinks,
  sleep,
  spawnInstance,
} from '../test/helpers/kartei-instances.ts';
import { storeFiles, type StoreResult } from './dicom/dcmtk.ts';
import { SAMPLE_RECORD } from './sample-record.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const IMAGES = Number(process.env.BENCH_IMAGES ?? 1_000);
const SIZE = Number(process.env.BENCH_IMAGE_SIZE ?? 256);
const ASSOCIATIONS = Number(process.env.BENCH_ASSOCIATIONS ?? 4);
const CONNECTIONS = 50;
if (!PG_ADMIN) {
  process.stderr.write(
    'bench:instances needs a throwaway PostgreSQL: KARTEI_TEST_PG=postgres://postgres@127.0.0.1:PORT/postgres (scripts/throwaway-postgres.sh DIR PORT)\n',
  );
  process.exit(2);
}
if (ASSOCIATIONS < 2 || ASSOCIATIONS % 2) throw new Error('BENCH_ASSOCIATIONS must be even (split over two instances)');

const log = (s: string) => process.stderr.write(`[bench:instances ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (x: number, digits = 0) =>
  x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

interface Read {
  rps: number;
  p99: number;
  errors: number;
}

/** 50 connections of gated reads, split evenly over the instances given, at the same time. */
async function gatedReads(bases: string[], recordId: string, cookie: string): Promise<Read> {
  const each = CONNECTIONS / bases.length;
  const runs = await Promise.all(
    bases.map((base) =>
      autocannon({
        url: `${base}/api/records/${recordId}`,
        headers: { cookie: `kartei_session=${cookie}` },
        connections: each,
        duration: SECONDS,
      }),
    ),
  );
  return {
    rps: runs.reduce((n, r) => n + r.requests.average, 0),
    p99: Math.max(...runs.map((r) => r.latency.p99)),
    errors: runs.reduce((n, r) => n + r.errors + r.non2xx, 0),
  };
}

/** Fresh instances, one study per association, written under `dir`; grouped by association. */
function corpus(dir: string): string[][] {
  fs.mkdirSync(dir, { recursive: true });
  const groups: string[][] = Array.from({ length: ASSOCIATIONS }, () => []);
  const studies = groups.map(() => ({ study: newUid(), series: newUid() }));
  for (let i = 0; i < IMAGES; i++) {
    const g = i % ASSOCIATIONS;
    const inst = makeInstance({
      patientName: `Bench^Modalitaet${g}`,
      patientId: `BENCH-${g}`,
      studyInstanceUid: studies[g]!.study,
      seriesInstanceUid: studies[g]!.series,
      instanceNumber: i,
      rows: SIZE,
      columns: SIZE,
      seed: i + 1,
    });
    const file = path.join(dir, `${i}.dcm`);
    fs.writeFileSync(file, inst.file);
    groups[g]!.push(file);
  }
  return groups;
}

interface Ingest {
  instancesPerSec: number;
  mbPerSec: number;
  seconds: number;
}

/** The associations' files sent at once, the associations split evenly over the instances given. */
async function ingest(instances: Instance[], aet: string, groups: string[][]): Promise<Ingest> {
  const perInstance = groups.length / instances.length;
  const t0 = performance.now();
  const results: StoreResult[] = await Promise.all(
    instances.map((inst, k) =>
      storeFiles(
        { host: '127.0.0.1', port: inst.dicomPort, calledAet: 'KARTEI', callingAet: aet },
        // storeFiles deals files round-robin over its associations: interleave this instance's groups.
        interleave(groups.slice(k * perInstance, (k + 1) * perInstance)),
        { associations: perInstance },
      ),
    ),
  );
  const seconds = (performance.now() - t0) / 1000;
  const count = results.reduce((n, r) => n + r.instances, 0);
  const bytes = results.reduce((n, r) => n + r.bytes, 0);
  return { instancesPerSec: count / seconds, mbPerSec: bytes / 1e6 / seconds, seconds };
}

const interleave = (groups: string[][]) => {
  const out: string[] = [];
  for (let i = 0; i < Math.max(...groups.map((g) => g.length)); i++)
    for (const g of groups) if (g[i] !== undefined) out.push(g[i]!);
  return out;
};

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-bench-instances-'));
const running: Instance[] = [];
const stopAll = () => Promise.all(running.map((i) => i.kill('SIGTERM')));
process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
try {
  const started = performance.now();
  const loadStart = os.loadavg();
  const set: InstanceSet = {
    ...(await freshPostgres()),
    keyDir: path.join(dir, 'keys'),
    env: { KARTEI_STORAGE: 'database', KARTEI_LOG_LEVEL: 'warn' },
  };
  log('starting instance A, setting the office up');
  const a = await spawnInstance('A', set, path.join(dir, 'a'));
  running.push(a);
  await healthy(a);
  for (let i = 0; !setupLinks(a).length; i++) {
    if (i > 100) throw new Error(`A printed no setup link:\n${a.output()}`);
    await sleep(50);
  }
  const office = await setUpOffice(a.base, setupLinks(a)[0]!);
  const person = expectStatus(
    await office.physician.post('/api/persons', {
      departmentId: office.departmentId,
      familyName: 'Quastenberg',
      givenName: 'Hannelore',
      birthDate: '1961-04-17',
    }),
    201,
    'file',
  ).body.id as string;
  const recordId = expectStatus(
    await office.physician.post(`/api/persons/${person}/records`, SAMPLE_RECORD),
    201,
    'record',
  ).body.id as string;
  log('starting instance B');
  const b = await spawnInstance('B', set, path.join(dir, 'b'));
  running.push(b);
  await healthy(b);
  const cookie = office.physician.cookie!;
  expectStatus(await office.physician.at(b.base).get(`/api/records/${recordId}`), 200, 'the record through B');

  // Warm both up: every path once.
  await gatedReads([a.base, b.base], recordId, cookie);
  const configs = { one: [a], two: [a, b] } as const;
  const reads: Record<'one' | 'two', Read[]> = { one: [], two: [] };
  const stores: Record<'one' | 'two', Ingest[]> = { one: [], two: [] };
  const warm = corpus(path.join(dir, 'warm'));
  await ingest(
    [a, b],
    office.deviceAet,
    warm.map((g) => g.slice(0, 5)),
  );
  fs.rmSync(path.join(dir, 'warm'), { recursive: true, force: true });
  for (let round = 0; round < ROUNDS; round++) {
    const order: ('one' | 'two')[] = round % 2 ? ['two', 'one'] : ['one', 'two'];
    for (const which of order) {
      const bases = configs[which].map((i) => i.base);
      const r = await gatedReads(bases, recordId, cookie);
      log(`round ${round + 1}, ${which}: gated read ${fmt(r.rps)} req/s, p99 ${r.p99} ms, ${r.errors} errors`);
      reads[which].push(r);
    }
    for (const which of order) {
      const files = path.join(dir, `round-${round}-${which}`);
      const groups = corpus(files);
      const s = await ingest([...configs[which]], office.deviceAet, groups);
      fs.rmSync(files, { recursive: true, force: true });
      log(`round ${round + 1}, ${which}: C-STORE ${fmt(s.instancesPerSec)} instances/s, ${fmt(s.mbPerSec, 1)} MB/s`);
      stores[which].push(s);
    }
  }
  const loadEnd = os.loadavg();
  await stopAll();

  const commit = execSync('git rev-parse --short HEAD').toString().trim();
  const dirty = execSync("git status --porcelain -- . ':!bench/RESULTS.md'").toString().trim()
    ? ' (uncommitted changes)'
    : '';
  const cpu = os.cpus()[0]?.model.trim() ?? '?';
  const la = (l: number[]) => l.map((x) => fmt(x, 1)).join('/');
  const row = (measure: string, one: number[], two: number[], digits = 0) => {
    const m1 = median(one);
    const m2 = median(two);
    return `| ${measure} | ${fmt(m1, digits)} | ${fmt(m2, digits)} | ${fmt(m2 / m1, 2)}× | ${one.map((x) => fmt(x, digits)).join(' / ')} | ${two.map((x) => fmt(x, digits)).join(' / ')} |`;
  };
  const errors = [...reads.one, ...reads.two].reduce((n, r) => n + r.errors, 0);
  const report = `
## ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — one instance against two on one PostgreSQL — commit ${commit}${dirty}

Node ${process.version}, ${os.cpus().length} cores (${cpu}), ${fmt(os.totalmem() / 2 ** 30)} GiB RAM; load average ${la(loadStart)} at the start, ${la(loadEnd)} at the end; ${fmt((performance.now() - started) / 60_000, 1)} min. \`kartei serve\` (the production start) per instance, each its own data directory, one key directory, one PostgreSQL, KARTEI_STORAGE=database; load generators (autocannon, storescu) on the same machine. ${ROUNDS} alternating rounds, the median counts (all rounds listed).
Gated read: \`GET /api/records/:id\` of a physician's session, ${CONNECTIONS} connections in all (one instance: all to it; two: ${CONNECTIONS / 2} to each), ${SECONDS} s per round${errors ? `, ${errors} errors or non-2xx answers` : ''}.
C-STORE ingest: ${IMAGES} instances per round (${SIZE}×${SIZE}, 16 bit, Explicit VR Little Endian, fresh each round), ${ASSOCIATIONS} storescu associations in all, one study each (one instance: all to it; two: ${ASSOCIATIONS / 2} to each); TCP_NODELAY on.

| measure | one instance | two instances | two / one | rounds (one) | rounds (two) |
|---|---|---|---|---|---|
${row(
  'gated read, req/s',
  reads.one.map((r) => r.rps),
  reads.two.map((r) => r.rps),
)}
${row(
  'gated read, p99 ms',
  reads.one.map((r) => r.p99),
  reads.two.map((r) => r.p99),
)}
${row(
  'C-STORE ingest, instances/s',
  stores.one.map((s) => s.instancesPerSec),
  stores.two.map((s) => s.instancesPerSec),
  1,
)}
${row(
  'C-STORE ingest, MB/s',
  stores.one.map((s) => s.mbPerSec),
  stores.two.map((s) => s.mbPerSec),
  1,
)}
`;
  process.stdout.write(report);
} finally {
  await stopAll();
  fs.rmSync(dir, { recursive: true, force: true });
}
