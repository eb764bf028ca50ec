// Test harness: a fresh installation per test (SQLite in a temp dir, or a
// fresh PostgreSQL database with its own least-privilege app role when
// KARTEI_TEST_PG names an admin URL), started through the same composition
// root as `kartei serve` (src/server.ts) and driven through Fastify's inject;
// the DIMSE listener on a free loopback port when a test asks for it.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import * as OTPAuth from 'otpauth';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { loadConfig, type Config } from '../../src/config/config.ts';
import type { Services } from '../../src/services.ts';
import type { AppOptions } from '../../src/http/app.ts';
import { startServer, type Server } from '../../src/server.ts';
import type { DimseDeps } from '../../src/imaging/dimse/dimse-deps.ts';
import type { DimseListener } from '../../src/imaging/dimse/listener.ts';
import { issueSetupToken } from '../../src/identity/setup.ts';

export const PG_ADMIN = process.env.KARTEI_TEST_PG;
export const DIALECT = PG_ADMIN ? 'postgres' : 'sqlite';

/** A password the strength estimator accepts; distinct per call. */
export const strongPassword = () => `Trommel-Wiesel-Kompass-${randomBytes(4).toString('hex')}`;

/** Where an installation lives: enough for another process to open it again (a restart). */
export interface Installation {
  dir: string;
  database: { databaseUrl?: string; databaseAdminUrl?: string };
}

export interface Harness {
  dir: string;
  installation: Installation;
  config: Config;
  services: Services;
  app: FastifyInstance;
  /** The server as the composition root started it. */
  server: Server;
  /** The gate and use cases the DIMSE handlers get: for a test's own listener (TLS, limits, services). */
  dimseDeps: DimseDeps;
  /** The server's DIMSE listener (AE title KARTEI, loopback), when started with `dicom: true`. */
  dicom?: DimseListener;
  /** The server's HTTP address, when started with `listen: true`. */
  url?: string;
  /** The login clock: tests move it forward by whole TOTP steps. */
  clock: { now: number };
  /** Stops the server and leaves the installation in place. */
  stop(): Promise<void>;
  /** Stops the server and removes the installation's files. */
  close(): Promise<void>;
}

/** A fresh PostgreSQL database with its own least-privilege app role. */
export async function freshPostgres(): Promise<{ databaseUrl: string; databaseAdminUrl: string }> {
  const admin = new URL(PG_ADMIN!);
  const name = `kt_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: PG_ADMIN });
  await client.connect();
  try {
    await client.query(`CREATE ROLE ${name}_app LOGIN`);
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = (user: string) => {
    const u = new URL(admin);
    u.username = user;
    u.pathname = `/${name}`;
    return u.toString();
  };
  return { databaseUrl: url(`${name}_app`), databaseAdminUrl: url(admin.username) };
}

/** The same, as the environment a spawned `kartei` process reads. */
export async function freshPostgresEnv(): Promise<Record<string, string>> {
  const db = await freshPostgres();
  return { KARTEI_DATABASE_URL: db.databaseUrl, KARTEI_DATABASE_ADMIN_URL: db.databaseAdminUrl };
}

/** A loopback port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** A fresh installation, or with `reopen` one that another harness stopped. */
export async function startHarness(
  opts: AppOptions & {
    env?: Record<string, string>;
    reopen?: Installation;
    /** Start the server's DIMSE listener too (`h.dicom`), on a free loopback port unless `env` names one. */
    dicom?: boolean;
    /** Listen for HTTP too (`h.url`), on a free loopback port unless `env` names one; otherwise only inject. */
    listen?: boolean;
    /** The DEMIS poller's import and timing (src/server.ts); unset: what the services offer. */
    demis?: NonNullable<Parameters<typeof startServer>[1]>['demis'];
  } = {},
): Promise<Harness> {
  const { env, reopen, dicom, listen, demis, ...app } = opts;
  const dir = reopen?.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-test-'));
  const db = reopen?.database ?? (PG_ADMIN ? await freshPostgres() : {});
  const config = {
    ...loadConfig({
      KARTEI_DATA_DIR: path.join(dir, 'data'),
      KARTEI_KEY_DIR: path.join(dir, 'keys'),
      KARTEI_LOG_LEVEL: 'silent',
      // Issue 19: ops — metrics on, their listener (when `listen`) on a free port.
      KARTEI_METRICS_LISTEN: '127.0.0.1:0',
      ...(dicom ? { KARTEI_DICOM_LISTEN: `127.0.0.1:${await freePort()}`, KARTEI_DICOM_AET: 'KARTEI' } : {}),
      ...(listen ? { KARTEI_LISTEN: `127.0.0.1:${await freePort()}` } : {}),
      ...env,
    }),
    ...db,
  };
  const clock = { now: Date.now() };
  // The same root as `kartei serve`; tests send requests through inject (or `listen`), and sign checkpoints when they mean to.
  const server = await startServer(config, {
    clock: () => clock.now,
    app: { logger: false, ...app },
    listen: !!listen,
    dimse: !!dicom,
    checkpoints: false,
    demis,
  });
  const stop = () => server.stop();
  return {
    dir,
    installation: { dir, database: db },
    config,
    services: server.services,
    app: server.app,
    server,
    dimseDeps: server.dimseDeps,
    dicom: server.dicom,
    url: server.url,
    clock,
    stop,
    async close() {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Reply {
  status: number;
  body: any;
  headers: LightMyRequestResponse['headers'];
  /** The body's bytes, for answers that are not JSON. */
  raw: Buffer;
}

/** A browser-like client: keeps the session cookie and sends the CSRF token. */
export class Client {
  cookie?: string;
  csrf?: string;
  /** The last raw response (its headers, e.g. the cookie's attributes). */
  last?: LightMyRequestResponse;
  readonly h: Harness;
  /** The client's address (loopback if not given): tests that provoke throttling use one of their own. */
  readonly ip?: string;
  constructor(h: Harness, ip?: string) {
    this.h = h;
    this.ip = ip;
  }

  async call(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const res = await this.h.app.inject({
      method: method as 'GET',
      url,
      ...(this.ip ? { remoteAddress: this.ip } : {}),
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(this.cookie ? { cookie: `kartei_session=${this.cookie}` } : {}),
        ...(this.csrf ? { 'x-csrf-token': this.csrf } : {}),
        ...headers,
      },
      payload:
        body === undefined
          ? undefined
          : typeof body === 'string' || Buffer.isBuffer(body)
            ? body
            : JSON.stringify(body),
    });
    this.last = res;
    const setCookie = res.cookies.find((c) => c.name === 'kartei_session');
    if (setCookie) this.cookie = setCookie.value || undefined;
    const text = res.body;
    return {
      status: res.statusCode,
      body: text ? safeJson(text) : undefined,
      headers: res.headers,
      raw: res.rawPayload,
    };
  }

  get = (url: string) => this.call('GET', url);
  post = (url: string, body?: unknown) => this.call('POST', url, body ?? {});
  put = (url: string, body: unknown) => this.call('PUT', url, body);
  patch = (url: string, body: unknown) => this.call('PATCH', url, body);
  del = (url: string, body?: unknown) => this.call('DELETE', url, body);
}

function safeJson(text: string) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export const totpCode = (secret: string, at: number) =>
  new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), period: 30 }).generate({ timestamp: at });

/** Secrets of enrolled users, so later logins can produce codes. */
const secrets = new Map<string, string>();

/** A current TOTP code of a user the harness logged in, from the next time step (so it was never used). */
export function nextCode(h: Harness, username: string): string {
  const secret = secrets.get(`${h.dir}:${username}`);
  if (!secret) throw new Error(`no TOTP secret known for ${username}`);
  h.clock.now += 30_000;
  return totpCode(secret, h.clock.now);
}

/** Logs in through both steps, enrolling TOTP if needed; moves the clock one step so codes never repeat. */
export async function login(h: Harness, username: string, password: string): Promise<Client> {
  const c = new Client(h);
  const first = await c.post('/api/auth/login', { username, password });
  if (first.status !== 200) throw new Error(`login ${username}: ${first.status} ${JSON.stringify(first.body)}`);
  if (first.body.mfa === 'enroll') secrets.set(`${h.dir}:${username}`, first.body.totp.secret);
  h.clock.now += 30_000;
  const code = totpCode(secrets.get(`${h.dir}:${username}`)!, h.clock.now);
  const second = await c.post('/api/auth/mfa', { challenge: first.body.challenge, code });
  if (second.status !== 200) throw new Error(`mfa ${username}: ${second.status} ${JSON.stringify(second.body)}`);
  c.csrf = second.body.csrfToken;
  return c;
}

export interface AccessSpec {
  tenantRoles?: string[];
  memberships?: { departmentId: string; role: string }[];
}

export interface Account {
  id: string;
  username: string;
  displayName: string;
  password: string;
}

export interface Tenant {
  h: Harness;
  admin: Client;
  adminId: string;
  tenantId: string;
  departments: Record<string, string>;
  /**
   * Creates a user through an enrolment link, has their grants approved by a
   * second account (creating a DPO for that if needed), and returns a logged-in client.
   */
  user(spec: AccessSpec, displayName?: string): Promise<Client & Account>;
  /** A reset link asked for by the admin, approved by a second admin, used with a new password (returned). */
  resetCredentials(userId: string, username: string): Promise<string>;
  /** The same, without logging in: an enrolled account whose grants are approved. */
  account(spec: AccessSpec, names?: { username?: string; displayName?: string; password?: string }): Promise<Account>;
}

let userSeq = 0;

/** Sets up the installation, logs in its admin and creates departments. */
export async function setUpTenant(
  h: Harness,
  departmentCodes: string[] = ['INF', 'TB', 'SPDI'],
  opts: { approverDpo?: boolean } = {},
): Promise<Tenant> {
  const token = await issueSetupToken(h.services.store, h.config.dataDir);
  const adminPassword = strongPassword();
  const anon = new Client(h);
  const setup = await anon.post('/api/setup', {
    token,
    tenant: { name: 'Gesundheitsamt Musterstadt' },
    admin: { username: 'admin', password: adminPassword, displayName: 'Ada Admin' },
  });
  if (setup.status !== 201) throw new Error(`setup: ${setup.status} ${JSON.stringify(setup.body)}`);
  const admin = await login(h, 'admin', adminPassword);
  const departments: Record<string, string> = {};
  for (const code of departmentCodes) {
    const r = await admin.post('/api/admin/departments', { code, name: `Abteilung ${code}` });
    if (r.status !== 201) throw new Error(`department ${code}: ${r.status} ${JSON.stringify(r.body)}`);
    departments[code] = r.body.id;
  }
  // Grants wait for a second account: the harness approves them as the office would,
  // a department's head for its department, a DPO where there is no head yet and for roles.
  const heads = new Map<string, Client>();
  let dpo: (Client & { id: string }) | undefined;
  const approvers = () => [...new Set([...heads.values(), ...(dpo ? [dpo] : [])])];
  const approveAll = async (userId: string) => {
    for (let round = 0; round < 3; round++) {
      for (const approver of approvers()) {
        const list = await approver.get('/api/approvals');
        for (const a of list.body as { id: string; userId: string; state: string }[]) {
          if (a.userId !== userId || a.state !== 'pending') continue;
          const d = await approver.post(`/api/approvals/${a.id}`, { decision: 'approve' });
          if (d.status !== 200) throw new Error(`approve: ${d.status} ${JSON.stringify(d.body)}`);
        }
      }
      const users = await admin.get('/api/admin/users');
      const me = (users.body as { id: string; memberships: { state: string }[]; pendingRoles: unknown[] }[]).find(
        (u) => u.id === userId,
      )!;
      if (!me.memberships.some((m) => m.state === 'pending') && me.pendingRoles.length === 0) return;
      // A grant nobody the harness knows may approve: a DPO of its own approves it, if the office has none yet (granted at once).
      if (dpo && dpo.id !== userId) continue;
      if (
        (await admin.get('/api/admin/users')).body.some((u: { tenantRoles: string[] }) => u.tenantRoles.includes('dpo'))
      )
        break;
      dpo = await create({ tenantRoles: ['dpo'] }, 'Dora Datenschutz (harness)');
    }
    throw new Error(`grants of ${userId} still pending`);
  };
  const account = async (
    spec: AccessSpec,
    names: { username?: string; displayName?: string; password?: string } = {},
  ) => {
    const username = names.username ?? `user${++userSeq}`;
    const displayName = names.displayName ?? `Staff ${userSeq}`;
    const r = await admin.post('/api/admin/users', {
      username,
      displayName,
      tenantRoles: spec.tenantRoles ?? [],
      memberships: spec.memberships ?? [],
    });
    if (r.status !== 201) throw new Error(`user: ${r.status} ${JSON.stringify(r.body)}`);
    const password = names.password ?? strongPassword();
    const e = await new Client(h).post('/api/auth/enrol', { token: r.body.enrolment.token, password });
    if (e.status !== 204) throw new Error(`enrol: ${e.status} ${JSON.stringify(e.body)}`);
    const a = { id: r.body.id as string, username, displayName, password };
    await approveAll(a.id);
    return a;
  };
  const create = async (spec: AccessSpec, displayName?: string) => {
    const a = await account(spec, { displayName });
    const c = Object.assign(await login(h, a.username, a.password), a);
    if (!dpo && spec.tenantRoles?.includes('dpo')) dpo = c;
    for (const m of spec.memberships ?? [])
      if (m.role === 'head' && !heads.has(m.departmentId)) heads.set(m.departmentId, c);
    return c;
  };
  let secondAdmin: Client | undefined;
  const resetCredentials = async (userId: string, username: string) => {
    const asked = await admin.post(`/api/admin/users/${userId}/enrolment`);
    if (asked.status !== 201) throw new Error(`reset: ${asked.status} ${JSON.stringify(asked.body)}`);
    secondAdmin ??= await create({ tenantRoles: ['admin'] }, 'Zweite Verwaltung (harness)');
    const ok = await secondAdmin.post(`/api/approvals/${asked.body.approvalId}`, { decision: 'approve' });
    if (ok.status !== 200) throw new Error(`approve reset: ${ok.status} ${JSON.stringify(ok.body)}`);
    const link = await admin.get(`/api/admin/users/${userId}/enrolment`);
    const password = strongPassword();
    const e = await new Client(h).post('/api/auth/enrol', { token: link.body.token, password });
    if (e.status !== 204) throw new Error(`enrol: ${e.status} ${JSON.stringify(e.body)}`);
    secrets.delete(`${h.dir}:${username}`);
    return password;
  };
  // The office's first DPO (granted at once), who approves what no head may yet; a test that needs an office without one says so.
  if (opts.approverDpo !== false) dpo = await create({ tenantRoles: ['dpo'] }, 'Dora Datenschutz (harness)');
  return {
    h,
    admin,
    resetCredentials,
    adminId: setup.body.adminId,
    tenantId: setup.body.tenantId,
    departments,
    user: (spec, displayName) => create(spec, displayName),
    account,
  };
}

export const samplePerson = (departmentId: string, familyName = 'Quastenberg') => ({
  departmentId,
  familyName,
  givenName: 'Hannelore',
  birthDate: '1961-04-17',
  sex: 'female',
  address: { street: 'Lindenallee 12', postalCode: '12345', city: 'Musterstadt' },
});
