// `npm run bench:soak`: the server under a long mixed load, to tell a memory that levels off
// (caches filling up to their bounds) from one that grows (a leak). The bench's server
// (bench/server.ts: BENCH_PERSONS persons, default 100,000) runs under the production start
// (bench/production-start.ts) with a probe (bench/soak-probe.ts) that samples its resident
// memory and V8's heap every 10 s; 20 connections (BENCH_SOAK_CONNECTIONS) each read a record
// four times, search by surname and write a record, in turn, for BENCH_SOAK_SECONDS (default 600), in
// windows of 10 s: req/s, p99 and errors per window. At the end: the RSS and heap over time,
// and the slope of each over the last half of the run — it levels off if the RSS grew by less
// than 1 MB per minute there, levels off late if it did but not over the last quarter (a step:
// a cache or the allocator keeping memory), else it grows. BENCH_SOAK_SNAPSHOTS=<dir>: a heap snapshot of the
// server at the end (writing one takes hundreds of MB of the server's memory, which glibc keeps:
// taken in the middle, it would be all the RSS curve shows; compare two runs' ends instead).
// Appends to bench/RESULTS.md only with BENCH_APPEND=1.
import { execSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import autocannon from 'autocannon';
import { SAMPLE_RECORD } from './sample-record.ts';

const SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 600);
const CONNECTIONS = Number(process.env.BENCH_SOAK_CONNECTIONS ?? 20);
const WINDOW = 10;
/** Growth over the last half below this many MB per minute counts as levelled off. */
const FLAT_MB_PER_MIN = 1;
const MB = 1024 * 1024;
const snapshots = process.env.BENCH_SOAK_SNAPSHOTS;

const probe = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-soak-')), 'probe.jsonl');
const here = import.meta.dirname;
const child = spawn(
  process.execPath,
  [
    '--import',
    path.join(here, 'production-start.ts'),
    '--import',
    path.join(here, 'soak-probe.ts'),
    path.join(here, 'server.ts'),
  ],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, BENCH_SOAK_PROBE: probe, ...(snapshots ? { BENCH_SOAK_SNAPSHOTS: snapshots } : {}) },
  },
);
const info = JSON.parse(
  await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`bench server exited ${code}`)));
  }),
) as {
  port: number;
  cookie: string;
  csrf: string;
  recordId: string;
  personId: string;
  pid: number;
  seedPersons: number;
};
const base = `http://127.0.0.1:${info.port}`;
const headers = { cookie: `kartei_session=${info.cookie}`, 'x-csrf-token': info.csrf };
const record = JSON.stringify(SAMPLE_RECORD);
const SURNAMES = ['Quasstenberg', 'Zimmermann', 'Schmidt', 'Müller', 'Wagner'];

interface Window {
  at: number;
  rps: number;
  p99: number;
  errors: number;
}
const windows: Window[] = [];
/** Answers other than 2xx by status, and transport errors and timeouts. */
const failures = new Map<string, number>();
const count = (k: string, x: number) => x > 0 && failures.set(k, (failures.get(k) ?? 0) + x);
const started = Date.now();
process.stdout.write(
  `soak: ${SECONDS} s, ${CONNECTIONS} connections, server pid ${info.pid} (${info.seedPersons} persons)\n`,
);
let n = 0;
while (Date.now() - started < SECONDS * 1000) {
  const r = await autocannon({
    url: base,
    connections: CONNECTIONS,
    duration: WINDOW,
    headers,
    requests: [
      // Four reads, one search, one write: the office's mix is mostly reading.
      ...Array.from({ length: 4 }, () => ({ method: 'GET' as const, path: `/api/records/${info.recordId}` })),
      // A different surname each time round (one hit, or 50 shown of thousands), so searches are not all the same page.
      {
        method: 'GET',
        setupRequest: (req) => ({
          ...req,
          path: `/api/persons?q=${encodeURIComponent(SURNAMES[n++ % SURNAMES.length]!)}`,
        }),
      },
      {
        method: 'POST',
        path: `/api/persons/${info.personId}/records`,
        headers: { ...headers, 'content-type': 'application/json' },
        body: record,
      },
    ],
  });
  for (const [code, { count: c }] of Object.entries(r.statusCodeStats ?? {}))
    if (!code.startsWith('2')) count(code, c ?? 0);
  count('errors', r.errors - r.timeouts);
  count('timeouts', r.timeouts);
  windows.push({
    at: (Date.now() - started) / 1000,
    rps: r.requests.average,
    p99: r.latency.p99,
    errors: r.errors + r.non2xx,
  });
}
// The last sample after the load, then the snapshot (after it, the samples are no longer the server's own).
await new Promise((r) => setTimeout(r, WINDOW * 1000 + 500));
const ended = Date.now();
if (snapshots) {
  child.kill('SIGUSR2');
  await new Promise((r) => setTimeout(r, 15_000));
}
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));

interface Sample {
  t: number;
  rss: number;
  heapUsed: number;
  heapCommitted: number;
  arrayBuffers: number;
}
const samples = fs
  .readFileSync(probe, 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as Sample)
  .filter((s) => s.t >= started && s.t <= ended);
fs.rmSync(path.dirname(probe), { recursive: true, force: true });

/** Least-squares slope of y over minutes. */
function slopePerMinute(xs: { t: number; y: number }[]): number {
  const k = xs.length;
  if (k < 2) return 0;
  const mx = xs.reduce((s, p) => s + p.t, 0) / k;
  const my = xs.reduce((s, p) => s + p.y, 0) / k;
  const num = xs.reduce((s, p) => s + (p.t - mx) * (p.y - my), 0);
  const den = xs.reduce((s, p) => s + (p.t - mx) ** 2, 0);
  return den === 0 ? 0 : (num / den) * 60_000;
}
const from = (share: number) => samples.filter((s) => s.t >= started + SECONDS * 1000 * (1 - share));
const rssOver = (xs: Sample[]) => slopePerMinute(xs.map((s) => ({ t: s.t, y: s.rss / MB })));
const rssSlope = rssOver(from(1 / 2));
const lastQuarterSlope = rssOver(from(1 / 4));
const heapSlope = slopePerMinute(from(1 / 2).map((s) => ({ t: s.t, y: s.heapUsed / MB })));
// A leak grows on; memory a cache or the allocator keeps rises in steps and then stays.
const verdict =
  rssSlope < FLAT_MB_PER_MIN ? 'levels off' : lastQuarterSlope < FLAT_MB_PER_MIN ? 'levels off late' : 'grows';
const fmt = (x: number, d = 0) => x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const total = windows.reduce((s, w) => s + w.rps * WINDOW, 0);
const errors = windows.reduce((s, w) => s + w.errors, 0);
const p99s = windows.map((w) => w.p99).sort((a, b) => a - b);
const rss = samples.map((s) => s.rss / MB);
const every = Math.max(1, Math.round(samples.length / 12));
const lines = [
  `Node ${process.versions.node}, ${os.cpus().length} cores; load average ${os
    .loadavg()
    .map((x) => fmt(x, 2))
    .join(
      '/',
    )} at the end. ${fmt(SECONDS)} s, ${CONNECTIONS} connections each reading a record four times, searching by surname and writing a record in turn; the bench server with ${fmt(info.seedPersons)} persons under the production start.`,
  '',
  '| measure | result |',
  '|---|---|',
  `| requests | ${fmt(total)} (${fmt(total / SECONDS)} req/s; windows of ${WINDOW} s: ${fmt(Math.min(...windows.map((w) => w.rps)))}–${fmt(Math.max(...windows.map((w) => w.rps)))} req/s) |`,
  `| p99 | median of the windows ${fmt(p99s[Math.floor(p99s.length / 2)]!)} ms, worst ${fmt(p99s.at(-1)!)} ms |`,
  `| errors, non-2xx and timeouts | ${fmt(errors)}${failures.size ? ` (${[...failures].map(([k, v]) => `${k}: ${fmt(v)}`).join(', ')})` : ''} |`,
  `| server RSS: first sample, peak, last | ${fmt(rss[0]!)} MB, ${fmt(Math.max(...rss))} MB, ${fmt(rss.at(-1)!)} MB |`,
  `| V8 heap used: first, peak, last (committed at the end) | ${fmt(samples[0]!.heapUsed / MB)} MB, ${fmt(Math.max(...samples.map((s) => s.heapUsed)) / MB)} MB, ${fmt(samples.at(-1)!.heapUsed / MB)} MB (${fmt(samples.at(-1)!.heapCommitted / MB)} MB) |`,
  `| slope over the last half: RSS / heap used; RSS over the last quarter | ${fmt(rssSlope, 2)} / ${fmt(heapSlope, 2)} MB per minute; ${fmt(lastQuarterSlope, 2)} MB per minute |`,
  `| verdict | **${verdict}** (RSS ${verdict === 'levels off' ? 'below' : 'at or above'} ${FLAT_MB_PER_MIN} MB per minute over the last half${verdict === 'levels off late' ? ', below it over the last quarter' : ''}) |`,
  '',
  `RSS over time (MB, every ${every * 10} s): ${samples
    .filter((_, i) => i % every === 0)
    .map((s) => `${fmt((s.t - started) / 1000)} s ${fmt(s.rss / MB)}`)
    .join(', ')}`,
];
process.stdout.write(`${lines.join('\n')}\n`);
if (process.env.BENCH_APPEND === '1') {
  const commit = execSync('git rev-parse --short HEAD').toString().trim();
  const title = `## ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — soak: ${fmt(SECONDS / 60)} minutes of mixed load — commit ${commit}`;
  fs.appendFileSync(path.join(here, 'RESULTS.md'), `\n${[title, '', ...lines].join('\n')}\n`);
}
