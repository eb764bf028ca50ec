// First run, told as an attacker and an operator would meet it: before setup
// no account exists; the one-time token lives only in an owner-only file (and
// as a hash in the database); a wrong, expired or spent token gets nowhere; a
// weak admin password is refused without spending the token; one setup wins,
// everything after it answers 409. Last, `kartei serve` on an empty store
// prints the setup link exactly once, with the token of the file, and not again
// once set up.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { DEPLOYMENT_CHAIN } from '../../src/db/schema.ts';
import { issueSetupToken, SETUP_TOKEN_FILE } from '../../src/identity/setup.ts';
import { tokenHash } from '../../src/identity/tokens.ts';
import {
  Client,
  PG_ADMIN,
  freePort,
  freshPostgresEnv,
  login,
  startHarness,
  strongPassword,
  type Harness,
} from '../helpers/harness.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const OFFICE = 'Gesundheitsamt Quastenbergheim';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

const tokenFile = () => path.join(h.config.dataDir, SETUP_TOKEN_FILE);
const setupBody = (token: string, admin: { username?: string; password?: string; displayName?: string } = {}) => ({
  token,
  tenant: { name: OFFICE },
  admin: { username: 'leitung', password: strongPassword(), displayName: 'Lena Leitung', ...admin },
});
const tenantCount = async () => (await h.services.store.db.selectFrom('tenants').select('id').execute()).length;
/** Refused setup attempts on the record: aggregated per source and minute, so counts written so far are flushed first. */
const setupDenials = async () => {
  await h.services.audit.attempts.flush(true);
  const rows = await inTenantTransaction(h.services.store, DEPLOYMENT_CHAIN, (tx) =>
    tx
      .selectFrom('audit_events')
      .select('detail')
      .where('action', '=', 'setup.run')
      .where('outcome', '=', 'denied')
      .execute(),
  );
  return rows.reduce((n, r) => n + ((r.detail ? JSON.parse(r.detail).count : undefined) ?? 1), 0);
};

// The story runs in order; each test leaves the installation as the next expects.
let token: string;

test('before setup no account exists: every name is refused', async () => {
  const anon = new Client(h);
  for (const username of ['admin', 'root', 'kartei', 'leitung']) {
    const r = await anon.post('/api/auth/login', { username, password: strongPassword() });
    assert.equal(r.status, 401, username);
  }
  assert.equal(await tenantCount(), 0);
  assert.equal((await h.services.store.db.selectFrom('users').select('id').execute()).length, 0);
});

test('the setup token is written to DATA_DIR/setup-token, owner-only, and only its hash is stored', async () => {
  token = (await issueSetupToken(h.services.store, h.config.dataDir))!;
  assert.match(token, /^[A-Za-z0-9_-]{32,}$/);
  const st = fs.statSync(tokenFile());
  assert.equal(st.mode & 0o777, 0o600);
  assert.equal(fs.readFileSync(tokenFile(), 'utf8').trim(), token);
  const row = await h.services.store.db.selectFrom('setup_token').selectAll().executeTakeFirstOrThrow();
  assert.equal(row.token_hash, tokenHash(token));
  assert.ok(!JSON.stringify(row).includes(token), 'the plaintext token is not in the database');
  // 24 hours, give or take the test's own runtime.
  const ttl = Date.parse(row.expires_at) - Date.now();
  assert.ok(ttl > 23.9 * 3_600_000 && ttl <= 24 * 3_600_000, `ttl ${ttl}`);
});

test('a wrong token is refused with 401 and audited on the deployment chain', async () => {
  const anon = new Client(h);
  const denialsBefore = await setupDenials();
  for (const wrong of [
    token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'),
    'x',
    randomBytes(32).toString('base64url'),
  ]) {
    const r = await anon.post('/api/setup', setupBody(wrong));
    assert.equal(r.status, 401, wrong);
    assert.equal(r.body.code, 'invalid-setup-token');
  }
  assert.equal(await setupDenials(), denialsBefore + 3);
  assert.equal(await tenantCount(), 0);
  assert.ok(fs.existsSync(tokenFile()), 'a wrong token does not spend the real one');
});

test('a weak admin password answers 422 naming the field and leaves the token valid', async () => {
  const anon = new Client(h);
  const weak: [string, { username?: string; password: string; displayName?: string }][] = [
    ['German favourite', { password: 'Passwort123!' }],
    ['season and year', { password: 'Sommer2024!!' }],
    ['username with digits', { username: 'wkrzyzanowski', password: 'Wkrzyzanowski2024!' }],
    ['office name with digits', { password: 'Quastenbergheim2024!' }],
    ['office name run together', { password: 'GesundheitsamtQuastenbergheim1' }],
    ['under 12 characters', { password: 'Kx9#vR2!pQ_' }],
  ];
  for (const [why, admin] of weak) {
    const r = await anon.post('/api/setup', setupBody(token, admin));
    assert.equal(r.status, 422, why);
    assert.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8', why);
    assert.equal(r.body.field, 'admin.password', why);
    assert.match(r.body.detail, /^admin\.password: /, why);
    assert.ok(!r.body.detail.includes(admin.password), `${why}: the detail does not echo the password`);
  }
  // Nothing was written, the token is neither used nor removed.
  assert.equal(await tenantCount(), 0);
  assert.equal((await h.services.store.db.selectFrom('users').select('id').execute()).length, 0);
  const row = await h.services.store.db.selectFrom('setup_token').selectAll().executeTakeFirstOrThrow();
  assert.equal(row.used_at, null);
  assert.ok(fs.existsSync(tokenFile()));
});

test('an expired token answers 401, though it is otherwise right', async () => {
  const db = h.services.store.db;
  const { expires_at: original } = await db.selectFrom('setup_token').select('expires_at').executeTakeFirstOrThrow();
  await db
    .updateTable('setup_token')
    .set({ expires_at: new Date(Date.now() - 1_000).toISOString() })
    .execute();
  try {
    const r = await new Client(h).post('/api/setup', setupBody(token));
    assert.equal(r.status, 401);
    assert.equal(r.body.code, 'invalid-setup-token');
    assert.equal(await tenantCount(), 0);
  } finally {
    // Back to the issued expiry, so the rest of the story can set up.
    await db.updateTable('setup_token').set({ expires_at: original }).execute();
  }
});

test('two setups racing with the right token: exactly one wins, the other gets nothing', async () => {
  const passwords = [strongPassword(), strongPassword()];
  const [a, b] = await Promise.all([
    new Client(h).post('/api/setup', setupBody(token, { username: 'leitung', password: passwords[0] })),
    new Client(h).post('/api/setup', setupBody(token, { username: 'eindringling', password: passwords[1] })),
  ]);
  const statuses = [a.status, b.status].sort();
  assert.equal(statuses[0], 201, JSON.stringify([a.body, b.body]));
  // The loser either saw the spent token (401) or the finished setup (409).
  assert.ok(statuses[1] === 401 || statuses[1] === 409, `loser: ${statuses[1]}`);
  const won = a.status === 201 ? a : b;
  const winner = a.status === 201 ? 0 : 1;
  assert.deepEqual(Object.keys(won.body).sort(), ['adminId', 'tenantId']);
  assert.equal(typeof won.body.tenantId, 'string');
  assert.equal(typeof won.body.adminId, 'string');
  assert.equal(await tenantCount(), 1);
  assert.equal((await h.services.store.db.selectFrom('users').select('id').execute()).length, 1);

  // The token file is gone and the token is marked used.
  assert.ok(!fs.existsSync(tokenFile()), 'the token file is removed after setup');
  const row = await h.services.store.db.selectFrom('setup_token').selectAll().executeTakeFirstOrThrow();
  assert.ok(row.used_at);

  // The winner is an admin who can log in; the loser's account does not exist.
  const admin = await login(h, winner === 0 ? 'leitung' : 'eindringling', passwords[winner]!);
  const me = await admin.get('/api/me');
  assert.equal(me.status, 200);
  assert.equal(me.body.id, won.body.adminId);
  assert.deepEqual(me.body.tenantRoles, ['admin']);
  assert.deepEqual(me.body.memberships, []);
  const loser = await new Client(h).post('/api/auth/login', {
    username: winner === 0 ? 'eindringling' : 'leitung',
    password: passwords[1 - winner],
  });
  assert.equal(loser.status, 401);
});

test('once set up, every further setup answers 409, with the used token or any other', async () => {
  for (const t of [token, randomBytes(32).toString('base64url')]) {
    const r = await new Client(h).post('/api/setup', setupBody(t, { username: 'zweiter' }));
    assert.equal(r.status, 409);
    assert.equal(r.body.code, 'already-set-up');
  }
  assert.equal(await tenantCount(), 1);
  // No new token is issued for a set-up installation.
  assert.equal(await issueSetupToken(h.services.store, h.config.dataDir), null);
  assert.ok(!fs.existsSync(tokenFile()));
});

// ---------------------------------------------------------------------------
// `kartei serve` as a process.

interface Served {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function serve(env: Record<string, string>): Served {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/kartei.js'), 'serve'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Polls until `ready` holds or the deadline passes; fails early if the process exits. */
async function waitFor(s: Served, ready: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  let dead = false;
  void s.exited.then(() => (dead = true));
  while (Date.now() < deadline) {
    if (await ready()) return;
    if (dead) throw new Error(`serve exited early; stdout: ${s.stdout()}; stderr: ${s.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out; stdout so far: ${s.stdout()}`);
}

async function stop(s: Served): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return;
  s.child.kill('SIGTERM');
  const timer = setTimeout(() => s.child.kill('SIGKILL'), 5_000);
  await s.exited;
  clearTimeout(timer);
}

const healthy = (port: number) => async () => {
  try {
    return (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200;
  } catch {
    return false;
  }
};

test('`kartei serve` on an empty store prints one setup line whose token is the file and works; not again once set up', {
  timeout: 60_000,
}, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-serve-'));
  const dataDir = path.join(dir, 'data');
  const port = await freePort();
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KARTEI_'))) as Record<
    string,
    string
  >;
  const env = {
    ...base,
    KARTEI_LISTEN: `127.0.0.1:${port}`,
    KARTEI_DICOM_LISTEN: `127.0.0.1:${await freePort()}`,
    KARTEI_LANG: 'en', // the command's English words: this test is about what it does
    KARTEI_DATA_DIR: dataDir,
    KARTEI_KEY_DIR: path.join(dir, 'keys'),
    KARTEI_LOG_LEVEL: 'silent',
    ...(PG_ADMIN ? await freshPostgresEnv() : {}),
  };
  let first: Served | undefined;
  let second: Served | undefined;
  try {
    first = serve(env);
    const s = first;
    await waitFor(s, () => s.stdout().includes('\n'));
    const lines = s.stdout().split('\n').filter(Boolean);
    assert.equal(lines.length, 1, s.stdout());
    const m = new RegExp(`^Setup: http://127\\.0\\.0\\.1:${port}/setup#token=([A-Za-z0-9_-]+)$`).exec(lines[0]!);
    assert.ok(m, lines[0]);
    const printed = m[1]!;
    const file = path.join(dataDir, SETUP_TOKEN_FILE);
    assert.equal(fs.readFileSync(file, 'utf8').trim(), printed);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);

    // The printed token sets the installation up over real HTTP.
    const res = await fetch(`http://127.0.0.1:${port}/api/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(setupBody(printed)),
    });
    assert.equal(res.status, 201);
    assert.ok(!fs.existsSync(file));
    assert.equal(s.stdout().split('\n').filter(Boolean).length, 1, 'still exactly one line');
    await stop(s);

    // Restarted on the same store: no setup line, no token file.
    second = serve(env);
    await waitFor(second, healthy(port));
    // serve prints the link once both listeners are up: give it time to print one.
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(second.stdout(), '');
    assert.ok(!fs.existsSync(file));
  } finally {
    if (first) await stop(first);
    if (second) await stop(second);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
