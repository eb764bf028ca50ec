// A crash or kill at any moment leaves no half-written file and an audit
// chain that verifies. A real server (`kartei serve`) is set up over HTTP,
// then hit by many concurrent creates and edits and SIGKILLed in the middle;
// after a restart every acknowledged write is there, every person and record
// is complete (versions, keys, index) and matches its audit event one to one.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import * as OTPAuth from 'otpauth';
import { loadConfig } from '../../src/config/config.ts';
import { createServices } from '../../src/services.ts';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { verifyAudit } from '../../src/audit/verify.ts';
import type { Principal } from '../../src/access/policy.ts';
import { SETUP_TOKEN_FILE } from '../../src/identity/setup.ts';
import { PG_ADMIN, freePort, freshPostgresEnv, strongPassword } from '../helpers/harness.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/kartei.js');
const WORKERS = 16;
/** Kill once this many writes were acknowledged (or after KILL_AFTER_MS of load, whichever comes first). */
const KILL_AT_ACKS = 80;
const KILL_AFTER_MS = 4_000;

const children = new Set<ChildProcess>();
let dir: string | undefined;
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Server {
  child: ChildProcess;
  base: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
}

/** Starts `kartei serve` and waits until /healthz answers. */
async function serve(env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, 'serve'], {
    cwd: ROOT,
    env: { ...env, KARTEI_LISTEN: `127.0.0.1:${port}`, KARTEI_DICOM_LISTEN: `127.0.0.1:${await freePort()}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited: ${out}`);
    if (Date.now() > deadline) throw new Error(`server did not come up: ${out}`);
    const ok = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { child, base, exited, output: () => out };
    await sleep(100);
  }
}

/** A browser-like HTTP client over real sockets: session cookie and CSRF token. */
class Http {
  cookie?: string;
  csrf?: string;
  readonly base: string;
  constructor(base: string) {
    this.base = base;
  }
  async call(method: string, url: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(this.base + url, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(this.cookie ? { cookie: `kartei_session=${this.cookie}` } : {}),
        ...(this.csrf ? { 'x-csrf-token': this.csrf } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    for (const c of res.headers.getSetCookie()) {
      const m = /^kartei_session=([^;]*)/.exec(c);
      if (m) this.cookie = m[1] || undefined;
    }
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }
  post = (url: string, body: unknown = {}) => this.call('POST', url, body);
  get = (url: string) => this.call('GET', url);
}

async function expect(status: number, p: Promise<{ status: number; body: any }>, what: string) {
  const r = await p;
  assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Both login steps; the first login enrols TOTP, the code comes from the real clock as the server's does. */
async function login(base: string, username: string, password: string): Promise<Http> {
  const c = new Http(base);
  const first = await expect(200, c.post('/api/auth/login', { username, password }), `login ${username}`);
  assert.equal(first.mfa, 'enroll');
  const code = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(first.totp.secret), period: 30 }).generate();
  const done = await expect(200, c.post('/api/auth/mfa', { challenge: first.challenge, code }), `mfa ${username}`);
  c.csrf = done.csrfToken;
  return c;
}

const person = (n: number) => ({
  departmentId: '',
  familyName: `Absturz${n}`,
  givenName: 'Kilian',
  birthDate: '1980-02-29',
  address: { city: 'Musterstadt' },
});

test('SIGKILL under concurrent writes loses no acknowledged write and leaves no half-written row', {
  timeout: 180_000,
}, async (t) => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-crash-'));
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KARTEI_'))) as Record<
    string,
    string
  >;
  const env: Record<string, string> = {
    ...base,
    KARTEI_LANG: 'en', // the command's English words: this test is about what it does
    KARTEI_DATA_DIR: path.join(dir, 'data'),
    KARTEI_KEY_DIR: path.join(dir, 'keys'),
    KARTEI_LOG_LEVEL: 'silent',
    ...(PG_ADMIN ? await freshPostgresEnv() : {}),
  };

  // --- First run: set up through HTTP, as an office would.
  const first = await serve(env);
  const token = fs.readFileSync(path.join(env.KARTEI_DATA_DIR!, SETUP_TOKEN_FILE), 'utf8').trim();
  // The link is printed once the listener is up, so it can reach this pipe just after /healthz answered.
  for (let i = 0; i < 50 && !first.output().includes(`#token=${token}`); i++) await sleep(100);
  assert.ok(first.output().includes(`#token=${token}`), first.output());
  const adminPassword = strongPassword();
  const setup = await expect(
    201,
    new Http(first.base).post('/api/setup', {
      token,
      tenant: { name: 'Gesundheitsamt Absturzhausen' },
      admin: { username: 'admin', password: adminPassword, displayName: 'Ada Admin' },
    }),
    'setup',
  );
  const tenantId: string = setup.tenantId;
  const admin = await login(first.base, 'admin', adminPassword);
  const { id: departmentId } = await expect(
    201,
    admin.post('/api/admin/departments', { code: 'INF', name: 'Infektionsschutz' }),
    'department',
  );
  // Accounts as an office makes them: each person sets the password with the link; the first DPO approves the clerk's membership.
  const enrolled = async (username: string, displayName: string, access: object) => {
    const created = await expect(201, admin.post('/api/admin/users', { username, displayName, ...access }), username);
    const password = strongPassword();
    await expect(
      204,
      new Http(first.base).post('/api/auth/enrol', { token: created.enrolment.token, password }),
      `enrol ${username}`,
    );
    return { id: created.id as string, password };
  };
  const dpoAccount = await enrolled('dpo', 'Dora Datenschutz', { tenantRoles: ['dpo'] });
  const { id: clerkId, password: clerkPassword } = await enrolled('clerk', 'Clara Clerk', {
    memberships: [{ departmentId, role: 'clerk' }],
  });
  const dpo = await login(first.base, 'dpo', dpoAccount.password);
  for (const a of await expect(200, dpo.get('/api/approvals'), 'approvals'))
    await expect(200, dpo.post(`/api/approvals/${a.id}`, { decision: 'approve' }), 'approve');
  const clerk = await login(first.base, 'clerk', clerkPassword);

  const seeds: string[] = [];
  for (let i = 0; i < 4; i++)
    seeds.push((await expect(201, clerk.post('/api/persons', { ...person(i), departmentId }), 'seed')).id);

  // --- Load, then SIGKILL in the middle of it.
  const ackedPersons = new Set<string>(seeds);
  const ackedRecords = new Map<string, number>(); // id → last acknowledged version
  let acks = 0;
  let inFlight = 0;
  let inFlightAtKill = -1;
  let killed = false;
  const kill = () => {
    if (killed) return;
    killed = true;
    inFlightAtKill = inFlight;
    first.child.kill('SIGKILL');
  };
  const started = Date.now();
  const worker = async (w: number) => {
    for (let i = 0; !killed; i++) {
      inFlight++;
      try {
        const pick = (w + i) % 6;
        const mine = [...ackedRecords.keys()];
        if (pick < 3) {
          const r = await clerk.post('/api/persons', { ...person(1000 * w + i), departmentId });
          if (r.status === 201) ackedPersons.add(r.body.id);
          else assert.fail(`person create: ${r.status}`);
        } else if (pick < 5 || mine.length === 0) {
          const target = seeds[i % seeds.length]!;
          const r = await clerk.post(`/api/persons/${target}/records`, {
            type: 'note',
            sensitivity: 'normal',
            content: { text: `Verlauf ${w}/${i}` },
          });
          if (r.status === 201) ackedRecords.set(r.body.id, 1);
          else assert.fail(`record create: ${r.status}`);
        } else {
          const id = mine[(w * 7 + i) % mine.length]!;
          const v = ackedRecords.get(id)!;
          const r = await clerk.call('PUT', `/api/records/${id}`, {
            content: { text: `Nachtrag ${w}/${i}` },
            version: v,
          });
          if (r.status === 200) ackedRecords.set(id, Math.max(ackedRecords.get(id)!, r.body.version));
          else if (r.status !== 409) assert.fail(`record update: ${r.status}`);
        }
        acks++;
        if (acks >= KILL_AT_ACKS || Date.now() - started > KILL_AFTER_MS) kill();
      } catch (e) {
        // After the kill, requests in flight fail at the socket: they were never acknowledged.
        if (!killed) throw e;
      } finally {
        inFlight--;
      }
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
  const ended = await first.exited;
  assert.equal(ended.signal, 'SIGKILL');
  assert.ok(inFlightAtKill > 0, 'the kill must land while requests are in flight');
  assert.ok(acks >= 20, `only ${acks} writes were acknowledged before the kill`);

  // --- Restart on the same directories: every acknowledged write is there and readable.
  const second = await serve(env);
  // The clerk's session survives the crash: it was committed at login.
  const again = Object.assign(new Http(second.base), { cookie: clerk.cookie, csrf: clerk.csrf });
  for (const id of ackedPersons)
    assert.equal((await again.get(`/api/persons/${id}`)).status, 200, `acknowledged person ${id} lost`);
  for (const [id, v] of ackedRecords) {
    const r = await again.get(`/api/records/${id}/versions`);
    assert.equal(r.status, 200, `acknowledged record ${id} lost`);
    assert.ok(r.body[0].version >= v, `record ${id}: acknowledged version ${v} lost`);
  }
  second.child.kill('SIGTERM');
  assert.deepEqual(await second.exited, { code: 0, signal: null }, second.output());

  // --- Open the store directly and check every row is whole.
  const s = await createServices(loadConfig(env));
  try {
    const audit = await verifyAudit(s.store, s.signer);
    assert.ok(audit.ok, JSON.stringify(audit));

    const facts = await inTenantTransaction(s.store, tenantId, async (tx) => ({
      persons: await tx
        .selectFrom('persons')
        .select(['id', 'version', 'department_id'])
        .where('tenant_id', '=', tenantId)
        .execute(),
      personVersions: await tx.selectFrom('person_versions').select(['person_id', 'version']).execute(),
      personKeys: await tx.selectFrom('data_keys').select('owner_id').where('scope', '=', 'person').execute(),
      indexed: await tx.selectFrom('person_index').select('person_id').distinct().execute(),
      records: await tx
        .selectFrom('records')
        .select(['id', 'version', 'person_id'])
        .where('tenant_id', '=', tenantId)
        .execute(),
      recordVersions: await tx.selectFrom('record_versions').select(['record_id', 'version']).execute(),
      events: await tx
        .selectFrom('audit_events')
        .select(['action', 'resource_id', 'person_id'])
        .where('tenant_id', '=', tenantId)
        .where('outcome', '=', 'allowed')
        .where('action', 'in', ['person.create', 'record.create'])
        .execute(),
    }));

    const personIds = new Set(facts.persons.map((p) => p.id));
    const pv = new Set(facts.personVersions.map((v) => `${v.person_id}:${v.version}`));
    const keys = new Set(facts.personKeys.map((k) => k.owner_id));
    const indexed = new Set(facts.indexed.map((i) => i.person_id));
    for (const id of ackedPersons) assert.ok(personIds.has(id), `acknowledged person ${id} missing`);
    for (const p of facts.persons) {
      for (let v = 1; v <= p.version; v++) assert.ok(pv.has(`${p.id}:${v}`), `person ${p.id} lacks version ${v}`);
      assert.ok(keys.has(p.id), `person ${p.id} has no key`);
      assert.ok(indexed.has(p.id), `person ${p.id} has no index rows`);
    }
    // No orphans the other way round either.
    for (const v of facts.personVersions)
      assert.ok(personIds.has(v.person_id), `version of a missing person ${v.person_id}`);
    for (const k of keys) assert.ok(personIds.has(k), `key of a missing person ${k}`);

    const recordIds = new Set(facts.records.map((r) => r.id));
    const rv = new Set(facts.recordVersions.map((v) => `${v.record_id}:${v.version}`));
    for (const id of ackedRecords.keys()) assert.ok(recordIds.has(id), `acknowledged record ${id} missing`);
    for (const r of facts.records) {
      for (let v = 1; v <= r.version; v++) assert.ok(rv.has(`${r.id}:${v}`), `record ${r.id} lacks version ${v}`);
      assert.ok(personIds.has(r.person_id), `record ${r.id} of a missing person`);
    }
    for (const v of facts.recordVersions)
      assert.ok(recordIds.has(v.record_id), `version of a missing record ${v.record_id}`);

    // Each create has exactly its 'allowed' audit event, and each such event its row.
    const sorted = (xs: Iterable<string | null>) => [...xs].map(String).sort();
    const created = (action: string) => facts.events.filter((e) => e.action === action).map((e) => e.resource_id);
    assert.deepEqual(sorted(created('person.create')), sorted(personIds));
    assert.deepEqual(sorted(created('record.create')), sorted(recordIds));
    assert.ok(personIds.size > seeds.length, 'the load created persons');
    t.diagnostic(
      `killed with ${inFlightAtKill} requests in flight after ${acks} answered; ` +
        `${personIds.size} persons (${ackedPersons.size} acknowledged), ${recordIds.size} records (${ackedRecords.size} acknowledged), ` +
        `${facts.records.filter((r) => r.version > 1).length} edited`,
    );

    // Every row decrypts: read each file and record through the gate as the clerk.
    const clerkPrincipal: Principal = {
      userId: clerkId,
      tenantId,
      tenantRoles: [],
      memberships: [{ departmentId, role: 'clerk' }],
    };
    for (const id of personIds) {
      const p = await s.gate.run(clerkPrincipal, 'person.read', { kind: 'person', personId: id }, (ctx) =>
        s.persons.get(ctx, id),
      );
      assert.match(p.familyName, /^Absturz\d+$/);
    }
    for (const id of recordIds) {
      const r = await s.gate.run(clerkPrincipal, 'record.read', { kind: 'record', recordId: id }, (ctx) =>
        s.records.get(ctx, id),
      );
      assert.match((r.content as { text: string }).text, /^(Verlauf|Nachtrag) \d+\/\d+$/);
    }
    assert.ok((await verifyAudit(s.store, s.signer)).ok, 'the chain still verifies after the reads');
  } finally {
    await s.close();
  }
});
