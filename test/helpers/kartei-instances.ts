// Several real `kartei serve` processes on one PostgreSQL (issue 19), for the two-instances test
// and bench: each instance with its own data directory, the same key directory and database,
// loopback HTTP and DICOM on free ports; an HTTP client over real sockets (cookie and CSRF token
// as a browser keeps them); an office set up through the setup link a process printed, with
// users logged in through both steps; storescu with TCP_NODELAY=1.
import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort, strongPassword, totpCode } from './harness.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/kartei.js');

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Where an instance set lives: one database, one key directory. */
export interface InstanceSet {
  databaseUrl: string;
  databaseAdminUrl: string;
  keyDir: string;
  /** Extra environment for every instance (e.g. KARTEI_STORAGE). */
  env?: Record<string, string>;
}

export interface Instance {
  name: string;
  child: ChildProcess;
  base: string;
  port: number;
  dicomPort: number;
  dataDir: string;
  /** What the process wrote to stdout (the setup link only) and to stderr and stdout together. */
  stdout: () => string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once the process has logged a line matching `pattern` (its JSON log on stdout/stderr). */
  logged(pattern: RegExp, ms?: number): Promise<void>;
  /** Kills the process (SIGKILL unless told) and waits for it to be gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** The environment of `kartei` processes on this instance set: nothing of the caller's KARTEI_* leaks in. */
export function instanceEnv(set: InstanceSet, dataDir: string, extra: Record<string, string> = {}) {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KARTEI_'))) as Record<
    string,
    string
  >;
  return {
    ...base,
    KARTEI_LANG: 'en', // the command's English words: this test is about what it does
    KARTEI_DATA_DIR: dataDir,
    KARTEI_KEY_DIR: set.keyDir,
    KARTEI_DATABASE_URL: set.databaseUrl,
    KARTEI_DATABASE_ADMIN_URL: set.databaseAdminUrl,
    KARTEI_LOG_LEVEL: 'info',
    // Two instances on one machine: the metrics listener's fixed default port would collide.
    KARTEI_METRICS_LISTEN: 'off',
    ...set.env,
    ...extra,
  };
}

/** Spawns `kartei serve` (the production start, bin/kartei.js) on free loopback ports; does not wait for it. */
export async function spawnInstance(
  name: string,
  set: InstanceSet,
  dataDir: string,
  opts: { ports?: { http: number; dicom: number }; env?: Record<string, string> } = {},
): Promise<Instance> {
  const port = opts.ports?.http ?? (await freePort());
  const dicomPort = opts.ports?.dicom ?? (await freePort());
  const child = spawn(process.execPath, [BIN, 'serve'], {
    cwd: ROOT,
    env: instanceEnv(set, dataDir, {
      KARTEI_LISTEN: `127.0.0.1:${port}`,
      KARTEI_DICOM_LISTEN: `127.0.0.1:${dicomPort}`,
      KARTEI_DICOM_AET: 'KARTEI',
      ...opts.env,
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let stdout = '';
  const listeners = new Set<() => void>();
  const heard = () => {
    for (const l of listeners) l();
  };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    out += d;
    heard();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    heard();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  return {
    name,
    child,
    base: `http://127.0.0.1:${port}`,
    port,
    dicomPort,
    dataDir,
    stdout: () => stdout,
    output: () => out,
    exited,
    logged: (pattern, ms = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pattern.test(out)) done(resolve);
          else if (gone()) done(() => reject(new Error(`instance ${name} exited before logging ${pattern}:\n${out}`)));
        };
        const timer = setTimeout(
          () => done(() => reject(new Error(`instance ${name} did not log ${pattern} within ${ms} ms:\n${out}`))),
          ms,
        );
        const done = (f: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          f();
        };
        listeners.add(check);
        void exited.then(check);
        check();
      }),
    async kill(signal = 'SIGKILL') {
      if (!gone()) child.kill(signal);
      await exited;
    },
  };
}

/** The warnings and errors an instance logged (its JSON log lines of level 40 and above), for failure messages. */
export const complaints = (i: Instance) =>
  i
    .output()
    .split('\n')
    .filter((l) => /"level":(4|5|6)0/.test(l))
    .join('\n')
    .slice(-4_000);

/** Waits until the instance answers /healthz (its HTTP listener is up), or fails with its output. */
export async function healthy(i: Instance, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (i.child.exitCode !== null || i.child.signalCode !== null)
      throw new Error(`instance ${i.name} exited (${i.child.exitCode ?? i.child.signalCode}):\n${i.output()}`);
    if (Date.now() > deadline)
      throw new Error(`instance ${i.name} did not answer /healthz within ${ms} ms:\n${i.output()}`);
    const ok = await fetch(`${i.base}/healthz`, { signal: AbortSignal.timeout(1_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await sleep(100);
  }
}

/** The setup links an instance printed (stdout carries nothing else). */
export const setupLinks = (i: Instance) => [...i.stdout().matchAll(/^Setup: \S+#token=(\S+)$/gm)].map((m) => m[1]!);

export interface Answer {
  status: number;
  body: any;
  raw: Buffer;
  headers: Headers;
}

/** A browser-like client of one instance over real HTTP: keeps the session cookie and the CSRF token. */
export class HttpSession {
  base: string;
  cookie?: string;
  csrf?: string;
  constructor(base: string) {
    this.base = base;
  }
  /** The same session (cookie and CSRF token) talking to another instance. */
  at(base: string): HttpSession {
    const s = new HttpSession(base);
    s.cookie = this.cookie;
    s.csrf = this.csrf;
    return s;
  }
  async call(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    const binary = Buffer.isBuffer(body);
    const res = await fetch(`${this.base}${url}`, {
      method,
      headers: {
        ...(body !== undefined && !binary ? { 'content-type': 'application/json' } : {}),
        ...(this.cookie ? { cookie: `kartei_session=${this.cookie}` } : {}),
        ...(this.csrf ? { 'x-csrf-token': this.csrf } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : binary ? new Uint8Array(body) : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    }).catch((e: Error) => {
      throw new Error(`${method} ${url} at ${this.base}: ${e.message} (${(e.cause as Error | undefined)?.message})`);
    });
    const raw = Buffer.from(
      await res.arrayBuffer().catch((e: Error) => {
        throw new Error(`${method} ${url} at ${this.base}, reading the answer: ${e.message}`);
      }),
    );
    for (const c of res.headers.getSetCookie()) {
      const m = /^kartei_session=([^;]*)/.exec(c);
      if (m) this.cookie = m[1] || undefined;
    }
    let parsed: unknown;
    try {
      parsed = raw.length ? JSON.parse(raw.toString('utf8')) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed, raw, headers: res.headers };
  }
  get = (url: string, headers?: Record<string, string>) => this.call('GET', url, undefined, headers);
  post = (url: string, body?: unknown) => this.call('POST', url, body ?? {});
}

/** Fails with what the server said unless the answer has the status expected. */
export function expectStatus(a: Answer, status: number, what: string): Answer {
  if (a.status !== status)
    throw new Error(`${what}: HTTP ${a.status} (expected ${status}): ${a.raw.toString('utf8').slice(0, 500)}`);
  return a;
}

/** Logs in through both steps (enrolling TOTP the first time) against a real server's clock. */
export async function logIn(base: string, username: string, password: string, secrets: Map<string, string>) {
  const c = new HttpSession(base);
  const first = expectStatus(await c.post('/api/auth/login', { username, password }), 200, `login ${username}`);
  if (first.body.mfa === 'enroll') secrets.set(username, first.body.totp.secret);
  const secret = secrets.get(username);
  if (!secret) throw new Error(`no TOTP secret known for ${username}`);
  const second = expectStatus(
    await c.post('/api/auth/mfa', { challenge: first.body.challenge, code: totpCode(secret, Date.now()) }),
    200,
    `second step of ${username}`,
  );
  c.csrf = second.body.csrfToken;
  return c;
}

export interface Office {
  tenantId: string;
  departmentId: string;
  admin: HttpSession;
  dpo: HttpSession;
  /** A physician of the department: files, records, documents, images. */
  physician: HttpSession;
  /** The AE title of a device of the department that may store and retrieve (host 127.0.0.1). */
  deviceAet: string;
}

/**
 * An office set up through one instance with the setup token it printed: its administrator, one
 * department (INF), the office's first DPO (granted at once), a physician whose membership the DPO
 * approves, and a modality allowed to store and retrieve from loopback.
 */
export async function setUpOffice(base: string, token: string): Promise<Office> {
  const secrets = new Map<string, string>();
  const adminPassword = strongPassword();
  const anon = new HttpSession(base);
  const setup = expectStatus(
    await anon.post('/api/setup', {
      token,
      tenant: { name: 'Gesundheitsamt Zweistadt' },
      admin: { username: 'admin', password: adminPassword, displayName: 'Ada Admin' },
    }),
    201,
    'setup',
  );
  const admin = await logIn(base, 'admin', adminPassword, secrets);
  const departmentId: string = expectStatus(
    await admin.post('/api/admin/departments', { code: 'INF', name: 'Infektionsschutz' }),
    201,
    'department',
  ).body.id;
  const account = async (username: string, displayName: string, spec: object) => {
    const r = expectStatus(
      await admin.post('/api/admin/users', { username, displayName, tenantRoles: [], memberships: [], ...spec }),
      201,
      `user ${username}`,
    );
    const password = strongPassword();
    expectStatus(
      await new HttpSession(base).post('/api/auth/enrol', { token: r.body.enrolment.token, password }),
      204,
      `enrolment of ${username}`,
    );
    return { id: r.body.id as string, password };
  };
  const d = await account('dora', 'Dora Datenschutz', { tenantRoles: ['dpo'] });
  const dpo = await logIn(base, 'dora', d.password, secrets);
  const p = await account('paul', 'Paul Physikus', { memberships: [{ departmentId, role: 'physician' }] });
  const pending = expectStatus(await dpo.get('/api/approvals'), 200, 'approvals').body as {
    id: string;
    userId: string;
    state: string;
  }[];
  const mine = pending.filter((a) => a.userId === p.id && a.state === 'pending');
  if (mine.length === 0) throw new Error(`no pending approval for the physician: ${JSON.stringify(pending)}`);
  for (const a of mine)
    expectStatus(await dpo.post(`/api/approvals/${a.id}`, { decision: 'approve' }), 200, 'approval of the physician');
  const physician = await logIn(base, 'paul', p.password, secrets);
  const deviceAet = 'ZWEIMOD';
  expectStatus(
    await admin.post('/api/admin/devices', {
      aeTitle: deviceAet,
      departmentId,
      permissions: ['store', 'find', 'retrieve'],
      host: '127.0.0.1',
    }),
    201,
    'device',
  );
  return { tenantId: setup.body.tenantId, departmentId, admin, dpo, physician, deviceAet };
}

export interface ToolResult {
  code: number | null;
  out: string;
}

/** Runs a DCMTK tool with TCP_NODELAY=1 (without it each DIMSE round trip waits for delayed ACKs). */
export function dcmtk(tool: string, args: string[], ms = 60_000): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TCP_NODELAY: '1' } });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** storescu of the files to an instance's DICOM port as `aet`; fails with its output unless all were stored. */
export async function storescu(port: number, aet: string, files: string[]): Promise<void> {
  const r = await dcmtk('storescu', ['-aet', aet, '-aec', 'KARTEI', '127.0.0.1', String(port), ...files]);
  if (r.code !== 0 || /^(E|F): /m.test(r.out))
    throw new Error(`storescu to port ${port} failed (${r.code}):\n${r.out}`);
}

/** Writes each buffer to a file of its own under `dir`; returns the paths. */
export function writeFiles(dir: string, prefix: string, buffers: Buffer[]): string[] {
  fs.mkdirSync(dir, { recursive: true });
  return buffers.map((b, i) => {
    const file = path.join(dir, `${prefix}-${i}.dcm`);
    fs.writeFileSync(file, b);
    return file;
  });
}
