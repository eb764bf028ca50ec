// Drivers for the DICOM benchmark: DCMTK clients (storescu, findscu, getscu, echoscu), always
// with TCP_NODELAY=1 (without it every DIMSE round trip waits ~40 ms for delayed ACKs), and
// HTTP helpers for QIDO-RS / WADO-RS. The same drivers are used against Orthanc and Kartei, so
// client-side costs (process start, dictionary load, reading files) are the same for both.
//
// DCMTK 3.6.7: storescu, findscu and echoscu accept TLS (+tls key cert, +cf ca); getscu and
// movescu have no TLS options at all, so getStudy() refuses a TLS target.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RetrieveJob, RetrieveOutcome } from './retrieve-client.ts';

export interface DicomTarget {
  host: string;
  port: number;
  calledAet: string;
  callingAet: string;
  /** PEM files: our client certificate and key, and the CA that signed the server's certificate. */
  tls?: { cert: string; key: string; ca: string };
}

export interface LatencyStats {
  runs: number;
  p50: number;
  p95: number;
  min: number;
  max: number;
  mean: number;
}

export const MB = 1e6;

/** Nearest-rank percentiles over milliseconds. */
export function latencyStats(ms: number[]): LatencyStats {
  if (!ms.length) throw new Error('no samples');
  const s = [...ms].sort((a, b) => a - b);
  const pct = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
  return {
    runs: s.length,
    p50: pct(50),
    p95: pct(95),
    min: s[0]!,
    max: s[s.length - 1]!,
    mean: s.reduce((a, b) => a + b, 0) / s.length,
  };
}

export interface ToolRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs one DCMTK tool with TCP_NODELAY=1; resolves with its output and wall time (never rejects on exit code). */
export function runTool(tool: string, args: string[], opts: { cwd?: string } = {}): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(tool, args, {
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TCP_NODELAY: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - t0 }));
  });
}

/** Association arguments common to the SCUs: AE titles, optional TLS, peer and port. */
function association(t: DicomTarget, tlsCapable = true): { pre: string[]; peer: string[] } {
  const pre = ['-aet', t.callingAet, '-aec', t.calledAet];
  if (t.tls) {
    if (!tlsCapable) throw new Error('this DCMTK 3.6.7 tool has no TLS options');
    pre.push('+tls', t.tls.key, t.tls.cert, '-pw', '+cf', t.tls.ca);
  }
  return { pre, peer: [t.host, String(t.port)] };
}

const failed = (r: ToolRun) => r.code !== 0 || /^(E|F): /m.test(r.stderr) || /^(E|F): /m.test(r.stdout);
const describe = (tool: string, r: ToolRun) =>
  `${tool} exited ${r.code}:\n${(r.stderr + r.stdout).split('\n').slice(0, 20).join('\n')}`;

// ---------------------------------------------------------------------------------------
// C-STORE
// ---------------------------------------------------------------------------------------

export interface StoreResult {
  associations: number;
  instances: number;
  bytes: number;
  seconds: number;
  instancesPerSec: number;
  mbPerSec: number;
  /** storescu processes run (more than `associations` when a file list was split for ARG_MAX). */
  processes: number;
}

/** Longest argument list handed to one storescu (ARG_MAX is 2 MiB including the environment). */
const MAX_ARG_CHARS = 500_000;

/**
 * Sends the files with `associations` storescu processes in parallel, each on one association
 * (files dealt round-robin, so big and small files spread evenly). A worker whose file list is
 * too long for one command line runs several storescu processes one after another. Wall time
 * covers spawning to the last exit. Throws if any store fails.
 */
export async function storeFiles(
  target: DicomTarget,
  files: string[],
  opts: {
    associations?: number /** Extra storescu options, e.g. ['--max-send-pdu', '131072']. */;
    extraArgs?: string[];
  } = {},
): Promise<StoreResult> {
  const n = Math.max(1, Math.min(opts.associations ?? 1, files.length));
  const bytes = files.reduce((s, f) => s + fs.statSync(f).size, 0);
  const groups: string[][] = Array.from({ length: n }, () => []);
  files.forEach((f, i) => {
    groups[i % n]!.push(f);
  });
  const { pre, peer } = association(target);
  let processes = 0;
  const worker = async (group: string[]) => {
    let i = 0;
    while (i < group.length) {
      const batch: string[] = [];
      let chars = 0;
      while (i < group.length && (batch.length === 0 || chars + group[i]!.length + 1 < MAX_ARG_CHARS)) {
        chars += group[i]!.length + 1;
        batch.push(group[i++]!);
      }
      processes++;
      // -R: propose only the SOP classes present in the files (each with the files' transfer syntax).
      const r = await runTool('storescu', [...pre, '-R', ...(opts.extraArgs ?? []), ...peer, ...batch]);
      if (failed(r)) throw new Error(describe('storescu', r));
    }
  };
  const t0 = performance.now();
  await Promise.all(groups.map(worker));
  const seconds = (performance.now() - t0) / 1000;
  return {
    associations: n,
    instances: files.length,
    bytes,
    seconds,
    instancesPerSec: files.length / seconds,
    mbPerSec: bytes / MB / seconds,
    processes,
  };
}

// ---------------------------------------------------------------------------------------
// C-ECHO (client floor: process start + association + one round trip)
// ---------------------------------------------------------------------------------------

export async function echoLatency(target: DicomTarget, runs: number): Promise<LatencyStats> {
  const { pre, peer } = association(target);
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await runTool('echoscu', [...pre, ...peer]);
    if (failed(r)) throw new Error(describe('echoscu', r));
    ms.push(r.ms);
  }
  return latencyStats(ms);
}

// ---------------------------------------------------------------------------------------
// C-FIND
// ---------------------------------------------------------------------------------------

export interface FindResult extends LatencyStats {
  /** Matches returned by the last run. */
  matches: number;
}

export interface FindOptions {
  /** Query/retrieve information model: study root (default) or patient root. */
  model?: 'study' | 'patient';
  /** Return keys requested besides PatientID and QueryRetrieveLevel. */
  returnKeys?: string[];
  /** Unmeasured runs first. Default 2. */
  warmup?: number;
}

export const DEFAULT_STUDY_RETURN_KEYS = [
  'StudyInstanceUID',
  'PatientName',
  'StudyDate',
  'StudyDescription',
  'AccessionNumber',
  'ModalitiesInStudy',
];

/**
 * Runs `findscu` `runs` times with QueryRetrieveLevel=STUDY and PatientID=<patientId>; each run
 * is a new process and association (as a modality or viewer would do). Per-run wall time.
 */
export async function findByPatientId(
  target: DicomTarget,
  patientId: string,
  runs: number,
  opts: FindOptions = {},
): Promise<FindResult> {
  const { pre, peer } = association(target);
  const keys = [
    'QueryRetrieveLevel=STUDY',
    `PatientID=${patientId}`,
    ...(opts.returnKeys ?? DEFAULT_STUDY_RETURN_KEYS),
  ];
  const args = [...pre, opts.model === 'patient' ? '-P' : '-S', ...keys.flatMap((k) => ['-k', k]), '+sr', ...peer];
  const ms: number[] = [];
  let matches = 0;
  for (let i = -(opts.warmup ?? 2); i < runs; i++) {
    const r = await runTool('findscu', args);
    if (failed(r)) throw new Error(describe('findscu', r));
    if (i >= 0) ms.push(r.ms);
    matches = (r.stdout + r.stderr).match(/Find Response: \d+ \(Pending\)/g)?.length ?? 0;
  }
  return { ...latencyStats(ms), matches };
}

export interface FindPerQueryResult {
  /** Median over rounds of (wall(1 + repeats queries) − wall(1 query)) / repeats, in ms. */
  perQueryMs: number;
  /** Per-round estimates, in ms. */
  rounds: number[];
  repeats: number;
  matches: number;
}

/**
 * Server-side C-FIND cost without the client's process start and association set-up: findscu
 * `--repeat` sends the same query again on the same association, so each round times one
 * process with 1 query and one with 1 + `repeats` queries and takes the difference per query.
 */
export async function findPerQuery(
  target: DicomTarget,
  patientId: string,
  opts: FindOptions & { repeats?: number; rounds?: number } = {},
): Promise<FindPerQueryResult> {
  const { pre, peer } = association(target);
  const repeats = opts.repeats ?? 50;
  const keys = [
    'QueryRetrieveLevel=STUDY',
    `PatientID=${patientId}`,
    ...(opts.returnKeys ?? DEFAULT_STUDY_RETURN_KEYS),
  ];
  const args = (n: number) => [
    ...pre,
    opts.model === 'patient' ? '-P' : '-S',
    ...keys.flatMap((k) => ['-k', k]),
    '+sr',
    '--repeat',
    String(n),
    ...peer,
  ];
  const run = async (n: number) => {
    const r = await runTool('findscu', args(n));
    if (failed(r)) throw new Error(describe('findscu', r));
    return r;
  };
  await run(1);
  const rounds: number[] = [];
  let matches = 0;
  for (let i = 0; i < (opts.rounds ?? 5); i++) {
    const single = await run(1);
    const many = await run(1 + repeats);
    rounds.push((many.ms - single.ms) / repeats);
    matches = (single.stdout + single.stderr).match(/Find Response: \d+ \(Pending\)/g)?.length ?? 0;
  }
  const sorted = [...rounds].sort((a, b) => a - b);
  return { perQueryMs: sorted[Math.floor(sorted.length / 2)]!, rounds, repeats, matches };
}

// ---------------------------------------------------------------------------------------
// C-GET
// ---------------------------------------------------------------------------------------

export interface GetResult {
  instances: number;
  bytes: number;
  seconds: number;
  mbPerSec: number;
  instancesPerSec: number;
}

/**
 * Retrieves a study with getscu (study root, STUDY level) into a temporary directory, which is
 * removed afterwards; returns the wall time of the getscu process and the bytes it wrote.
 * getscu proposes its built-in list of storage SOP classes (CT and CR among them) for the
 * C-STOREs coming back on the same association, uncompressed transfer syntaxes by default.
 * DCMTK 3.6.7 getscu has no TLS: a target with `tls` is refused.
 */
export async function getStudy(
  target: DicomTarget,
  studyUid: string,
  opts: { outDir?: string } = {},
): Promise<GetResult> {
  const { pre, peer } = association(target, false);
  const dir = opts.outDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-getscu-'));
  try {
    const r = await runTool('getscu', [
      ...pre,
      '-S',
      '-k',
      'QueryRetrieveLevel=STUDY',
      '-k',
      `StudyInstanceUID=${studyUid}`,
      '-od',
      dir,
      ...peer,
    ]);
    if (failed(r)) throw new Error(describe('getscu', r));
    const files = fs.readdirSync(dir);
    const bytes = files.reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);
    if (!files.length) throw new Error(`getscu retrieved nothing for study ${studyUid}:\n${r.stderr}`);
    const seconds = r.ms / 1000;
    return {
      instances: files.length,
      bytes,
      seconds,
      mbPerSec: bytes / MB / seconds,
      instancesPerSec: files.length / seconds,
    };
  } finally {
    if (!opts.outDir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * C-GET or C-MOVE of a study by the bench's own requester (retrieve-client.ts), a process of its
 * own like getscu, but able to use TLS. Its time is taken inside it, from the association
 * request to the final response, so its process start (~0.5 s for a TypeScript process) does not count.
 */
export async function retrieveByClient(
  target: DicomTarget,
  job: Pick<RetrieveJob, 'op' | 'studyUid' | 'storage' | 'outDir' | 'destination'>,
): Promise<RetrieveOutcome> {
  const full: RetrieveJob = {
    ...job,
    port: target.port,
    calledAet: target.calledAet,
    callingAet: target.callingAet,
    ...(target.tls ? { tls: { certFile: target.tls.cert, keyFile: target.tls.key, caFile: target.tls.ca } } : {}),
  };
  const r = await runTool(process.execPath, [
    fileURLToPath(new URL('./retrieve-client.ts', import.meta.url)),
    JSON.stringify(full),
  ]);
  if (r.code !== 0) throw new Error(`retrieve client exited ${r.code}:\n${r.stderr.slice(0, 2_000)}`);
  const outcome = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as RetrieveOutcome;
  if (outcome.status !== 0 || outcome.failed > 0)
    throw new Error(
      `${job.op} of study ${job.studyUid}: status 0x${outcome.status.toString(16)}, ${outcome.failed} failed`,
    );
  return outcome;
}

/** Whether something accepts connections on this loopback port now. */
export const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

export interface StoreScp {
  aet: string;
  port: number;
  /** Files received since the last take(), then removed. */
  take(): { instances: number; bytes: number };
  stop(): void;
}

/**
 * storescp on loopback (TLS with a client certificate required, if given): a C-MOVE destination,
 * or with `ignore` a sink that reads every dataset and stores nothing, one process per association.
 */
export async function startStoreScp(
  aet: string,
  port: number,
  tls?: { cert: string; key: string; ca: string },
  opts: { ignore?: boolean; maxPdu?: number } = {},
): Promise<StoreScp> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-storescp-'));
  const sink = opts.ignore ? ['--ignore', '--fork'] : [];
  const pdu = opts.maxPdu ? ['--max-pdu', String(opts.maxPdu)] : [];
  const args = [
    '-aet',
    aet,
    ...sink,
    ...pdu,
    ...(tls ? ['+tls', tls.key, tls.cert, '+cf', tls.ca] : []),
    '-od',
    dir,
    String(port),
  ];
  const child = spawn('storescp', args, { stdio: 'ignore', env: { ...process.env, TCP_NODELAY: '1' } });
  for (const deadline = Date.now() + 10_000; !(await portOpen(port)); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`storescp did not listen on ${port}`);
  }
  return {
    aet,
    port,
    take() {
      const files = fs.readdirSync(dir).map((f) => path.join(dir, f));
      const bytes = files.reduce((n, f) => n + fs.statSync(f).size, 0);
      for (const f of files) fs.rmSync(f);
      return { instances: files.length, bytes };
    },
    stop() {
      child.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------
// HTTP: QIDO-RS / WADO-RS
// ---------------------------------------------------------------------------------------

export const basicAuth = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});
export const bearerAuth = (token: string) => ({ authorization: `Bearer ${token}` });

export const ACCEPT_DICOM_JSON = 'application/dicom+json';
export const ACCEPT_MULTIPART_DICOM = 'multipart/related; type="application/dicom"';

export interface HttpResponse {
  status: number;
  contentType: string;
  bytes: number;
  /** Time to the last byte of the body. */
  ms: number;
  /** The body, only when asked for. */
  body?: Buffer;
}

/** Keep-alive agents, one per scheme and trusted CA. */
const agents = new Map<string, http.Agent>();
function agentFor(url: URL, ca: string | undefined): http.Agent {
  const key = `${url.protocol}${ca ?? ''}`;
  let agent = agents.get(key);
  if (!agent) {
    agent =
      url.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, ...(ca ? { ca: fs.readFileSync(ca) } : {}) })
        : new http.Agent({ keepAlive: true });
    agents.set(key, agent);
  }
  return agent;
}

export interface HttpOptions {
  accept?: string;
  /** The CA (PEM file) an https:// server's certificate must chain to. */
  ca?: string;
}

/** One GET on a keep-alive connection; reads the whole body (counting bytes; kept only with keepBody). */
export function httpGet(
  url: string,
  headers: Record<string, string>,
  opts: HttpOptions & { keepBody?: boolean } = {},
): Promise<HttpResponse> {
  const t0 = performance.now();
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = (u.protocol === 'https:' ? https : http).get(
      u,
      { headers: { ...headers, ...(opts.accept ? { accept: opts.accept } : {}) }, agent: agentFor(u, opts.ca) },
      (res) => {
        let bytes = 0;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (opts.keepBody) chunks.push(chunk);
        });
        res.once('error', reject);
        res.once('end', () =>
          resolve({
            status: res.statusCode!,
            contentType: res.headers['content-type'] ?? '',
            bytes,
            ms: performance.now() - t0,
            ...(opts.keepBody ? { body: Buffer.concat(chunks) } : {}),
          }),
        );
      },
    );
    req.once('error', reject);
  });
}

export interface HttpTiming extends LatencyStats {
  status: number;
  bytes: number;
}

/** Latency of `runs` sequential GETs on one keep-alive connection after `warmup` unmeasured ones; throws on non-2xx. */
export async function timeHttp(
  url: string,
  headers: Record<string, string>,
  runs: number,
  opts: HttpOptions & { warmup?: number } = {},
): Promise<HttpTiming> {
  const ms: number[] = [];
  let last: HttpResponse | undefined;
  for (let i = -(opts.warmup ?? 2); i < runs; i++) {
    last = await httpGet(url, headers, opts);
    if (last.status < 200 || last.status > 299) throw new Error(`GET ${url}: HTTP ${last.status}`);
    if (i >= 0) ms.push(last.ms);
  }
  return { ...latencyStats(ms), status: last!.status, bytes: last!.bytes };
}

/** QIDO-RS GET {dicomWebBase}/studies?PatientID=…; returns latency and the number of studies in the last answer. */
export async function qidoStudiesByPatientId(
  dicomWebBase: string,
  headers: Record<string, string>,
  patientId: string,
  runs: number,
  opts: { ca?: string } = {},
) {
  const url = `${dicomWebBase}/studies?PatientID=${encodeURIComponent(patientId)}`;
  const timing = await timeHttp(url, headers, runs, { accept: ACCEPT_DICOM_JSON, ca: opts.ca });
  const last = await httpGet(url, headers, { accept: ACCEPT_DICOM_JSON, keepBody: true, ca: opts.ca });
  const matches = last.bytes ? (JSON.parse(last.body!.toString('utf8')) as unknown[]).length : 0;
  return { ...timing, matches };
}

export interface ThroughputResult {
  bytes: number;
  /** Per run, in seconds. */
  seconds: number[];
  /** From the median run. */
  mbPerSec: number;
  status: number;
  contentType: string;
}

/**
 * One GET by curl, a process of its own, so that the client's work does not share the bench
 * process (where Kartei runs) with the server; the body is counted and dropped.
 */
export async function curlGet(
  url: string,
  headers: Record<string, string>,
  accept: string,
  opts: { ca?: string } = {},
): Promise<HttpResponse> {
  const args = [
    '-s',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code} %{size_download} %{time_total} %{content_type}',
    ...(opts.ca ? ['--cacert', opts.ca] : []),
    '-H',
    `accept: ${accept}`,
    ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]),
    url,
  ];
  const r = await runTool('curl', args);
  const [status, bytes, seconds, ...type] = r.stdout.trim().split(' ');
  return { status: Number(status), bytes: Number(bytes), ms: Number(seconds) * 1000, contentType: type.join(' ') };
}

/** MB/s of a GET by curl: the median of `runs` runs after one warm-up. */
export async function curlThroughput(
  url: string,
  headers: Record<string, string>,
  accept: string,
  runs: number,
  opts: { ca?: string } = {},
): Promise<ThroughputResult> {
  const seconds: number[] = [];
  let last: HttpResponse | undefined;
  for (let i = -1; i < runs; i++) {
    last = await curlGet(url, headers, accept, opts);
    if (last.status !== 200) throw new Error(`GET ${url}: HTTP ${last.status}`);
    if (i >= 0) seconds.push(last.ms / 1000);
  }
  const median = [...seconds].sort((a, b) => a - b)[Math.floor(seconds.length / 2)]!;
  return {
    bytes: last!.bytes,
    seconds,
    mbPerSec: last!.bytes / MB / median,
    status: last!.status,
    contentType: last!.contentType,
  };
}

/** WADO-RS of a whole study as multipart/related; type="application/dicom" (curl), `runs` times after one warm-up. */
export const wadoStudy = (
  dicomWebBase: string,
  headers: Record<string, string>,
  studyUid: string,
  runs = 3,
  opts: { ca?: string } = {},
) => curlThroughput(`${dicomWebBase}/studies/${studyUid}`, headers, ACCEPT_MULTIPART_DICOM, runs, opts);
