// `npm run bench:file-open`: how fast a file opens (GET /api/persons/:id, then the
// first page of GET /api/persons/:id/records, as the file's screen asks) when it
// holds 5 records, one full page (50) and 5,000, in the same run, alternating rounds,
// with the server's resident memory at idle and at its peak under each load.
// With BENCH_BASELINE=<a checkout of another commit, with node_modules> (and
// BENCH_BASELINE_COMMIT naming it, if it has no .git), the same
// measured against that commit's server (its records route, whatever it answers),
// side by side. Appends the figures with date and commit to bench/RESULTS.md.
import { spawn, execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import autocannon from 'autocannon';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const BASELINE = process.env.BENCH_BASELINE;

interface Info {
  port: number;
  cookie: string;
  small: string;
  /** A file of exactly one full page (50 records). */
  page?: string;
  large: string;
  SMALL: number;
  LARGE: number;
  seedSeconds: number;
  pid: number;
}

interface Load {
  /** Files opened per second (two requests each). */
  opens: number;
  p50: number;
  p99: number;
  errors: number;
  /** Bytes of the records answer. */
  bytes: number;
  peakRss: number;
}

const rssOf = (pid: number) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function startServer(root: string): Promise<{ info: Info; stop: () => void }> {
  const script = path.join(root, 'bench/file-open/server.ts');
  if (!fs.existsSync(script)) {
    fs.mkdirSync(path.dirname(script), { recursive: true });
    fs.copyFileSync(path.join(import.meta.dirname, 'server.ts'), script);
  }
  // Issue 18: runtime — the server under the production start (bench/production-start.ts).
  const start = path.join(import.meta.dirname, '../production-start.ts');
  const child = spawn(process.execPath, ['--import', start, script], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`bench server exited ${code}`)));
  });
  return { info: JSON.parse(line), stop: () => child.kill('SIGTERM') };
}

async function openFile(info: Info, personId: string, seconds = SECONDS): Promise<Load> {
  const headers = { cookie: `kartei_session=${info.cookie}` };
  const recordsUrl = `http://127.0.0.1:${info.port}/api/persons/${personId}/records`;
  const bytes = Buffer.byteLength(await (await fetch(recordsUrl, { headers })).text());
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssOf(info.pid))), 250);
  const r = await autocannon({
    url: `http://127.0.0.1:${info.port}`,
    headers,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [{ path: `/api/persons/${personId}` }, { path: `/api/persons/${personId}/records` }],
  });
  clearInterval(sampler);
  return {
    opens: r.requests.average / 2,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.non2xx,
    bytes,
    peakRss,
  };
}

async function measure(root: string) {
  const { info, stop } = await startServer(root);
  try {
    await new Promise((r) => setTimeout(r, 2000));
    const idleRss = rssOf(info.pid);
    await openFile(info, info.small, 2);
    await openFile(info, info.large, 2);
    const small: Load[] = [];
    const page: Load[] = [];
    const large: Load[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      small.push(await openFile(info, info.small));
      if (info.page) page.push(await openFile(info, info.page));
      large.push(await openFile(info, info.large));
    }
    return { info, idleRss, small, page, large };
  } finally {
    stop();
  }
}

/** The commit of a checkout; for an exported tree (`git archive`) without .git, BENCH_BASELINE_COMMIT names it. */
const commit = (root: string) => {
  try {
    return execSync('git rev-parse --short HEAD', { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return process.env.BENCH_BASELINE_COMMIT ?? 'unknown';
  }
};
const here = path.resolve(import.meta.dirname, '../..');
const loadBefore = os
  .loadavg()
  .map((x) => x.toFixed(1))
  .join('/');
const ours = await measure(here);
const base = BASELINE ? await measure(BASELINE) : null;
const loadAfter = os
  .loadavg()
  .map((x) => x.toFixed(1))
  .join('/');

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const rounds = (xs: Load[], f: (l: Load) => number, d = 0) => xs.map((l) => fmt(f(l), d)).join(', ');
function rows(label: string, m: Awaited<ReturnType<typeof measure>>) {
  const row = (what: string, xs: Load[]) =>
    `| ${label}: ${what}, opens/s (person + first page of records; ${CONNECTIONS} connections) | ${fmt(median(xs.map((x) => x.opens)))} (rounds: ${rounds(xs, (x) => x.opens)}) | p50 ${fmt(median(xs.map((x) => x.p50)))} ms, p99 ${fmt(median(xs.map((x) => x.p99)))} ms | records answer ${fmt(xs[0]!.bytes / 1024, 1)} KiB | peak RSS ${fmt(Math.max(...xs.map((x) => x.peakRss)))} MB |`;
  const opens = (xs: Load[]) => median(xs.map((x) => x.opens));
  return [
    row(`file with ${m.info.SMALL} records`, m.small),
    ...(m.page.length ? [row('file with 50 records (one full page)', m.page)] : []),
    row(`file with ${fmt(m.info.LARGE)} records`, m.large),
    `| ${label}: ${fmt(m.info.LARGE)} vs ${m.info.SMALL} records${m.page.length ? ' (vs 50)' : ''} | **${fmt(opens(m.large) / opens(m.small), 2)}×**${m.page.length ? ` (**${fmt(opens(m.large) / opens(m.page), 2)}×**)` : ''} the opens/s | | | idle RSS ${fmt(m.idleRss)} MB; errors ${[...m.small, ...m.page, ...m.large].reduce((n, x) => n + x.errors, 0)} |`,
  ];
}

const lines = [
  '',
  `## ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — opening a file with 5 vs 5,000 records — commit ${commit(here)}${execSync("git status --porcelain -- src bench ':!bench/RESULTS.md'", { cwd: here }).toString().trim() ? ' (uncommitted changes)' : ''}`,
  '',
  `Node ${process.version}, ${os.cpus().length} cores; load average ${loadBefore} at the start, ${loadAfter} at the end. SQLite. ${ROUNDS} alternating rounds of ${SECONDS} s per file; seeding through the gate took ${fmt(ours.info.seedSeconds, 1)} s. One "open" is what the file's screen asks: GET /api/persons/:id and GET /api/persons/:id/records (its first page), both gated and audited.`,
  '',
  '| measure | opens/s (median) | latency per request (median of rounds) | answer | memory |',
  '|---|---|---|---|---|',
  ...rows('this commit', ours),
  ...(base ? rows(`baseline ${commit(BASELINE!)}`, base) : []),
  '',
];
fs.appendFileSync(path.join(here, 'bench/RESULTS.md'), lines.join('\n'));
process.stdout.write(`${lines.join('\n')}\n`);
