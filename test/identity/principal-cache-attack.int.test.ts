// Attacks on the principal kept between requests (SQLite, issue 18): what an outsider or a careless operator
// could do that the cache would answer differently from the database. A credential of one kind must never be
// taken for the other (an API token as the session cookie: a cookie without the CSRF check); a row replaced by
// `INSERT OR REPLACE` is a change like any other; many requests at once around a revocation all see it once
// it is done; the triggers that announce a change are all there. On PostgreSQL (no cache) the same requests
// must behave the same.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  Client,
  DIALECT,
  samplePerson,
  setUpTenant,
  startHarness,
  type Harness,
  type Tenant,
} from '../helpers/harness.ts';
import { openRawDb, type RawDb } from '../helpers/raw-db.ts';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { newToken, tokenHash } from '../../src/identity/tokens.ts';

let h: Harness;
let t: Tenant;
let raw: RawDb;
const sqliteOnly = { skip: DIALECT !== 'sqlite' && 'the triggers are SQLite only' };

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h, ['TB']);
  raw = await openRawDb(h);
});
after(async () => {
  await raw.close();
  await h.close();
});

const clerk = () => t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'clerk' }] });

async function mint(u: Client, scopes: string[]): Promise<string> {
  const r = await u.post('/api/auth/tokens', { name: `Skript ${newToken().slice(0, 6)}`, scopes, expiresInDays: 30 });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.token as string;
}

const withBearer = (token: string, method: string, url: string, body?: unknown) =>
  new Client(h).call(method, url, body, { authorization: `Bearer ${token}` });

function withCookie(cookie: string): Client {
  const c = new Client(h);
  c.cookie = cookie;
  return c;
}

test('an API token is no session cookie, even after it was used as a bearer token', async () => {
  const u = await clerk();
  const token = await mint(u, ['records:read', 'records:write']);
  assert.equal((await withBearer(token, 'GET', '/api/me')).status, 200);
  assert.equal((await withBearer(token, 'GET', '/api/me')).status, 200);
  const asCookie = withCookie(token);
  assert.equal((await asCookie.get('/api/me')).status, 401, 'the token in the session cookie is unknown');
  // A cookie is sent by the browser on its own: without the CSRF check it would write for whoever lures it.
  const r = await asCookie.post('/api/persons', samplePerson(t.departments.TB!));
  assert.equal(r.status, 401, 'no write with the token as a cookie and no CSRF token');
});

test('a session cookie is no bearer token, even one that begins like a token', async () => {
  const u = await clerk();
  const cookie = `kt_${newToken()}`;
  const now = new Date();
  await raw.run(
    'insert into sessions (token_hash, tenant_id, user_id, csrf_hash, created_at, last_seen_at, expires_at) values (?, ?, ?, ?, ?, ?, ?)',
    tokenHash(cookie),
    t.tenantId,
    u.id,
    tokenHash(newToken()),
    now.toISOString(),
    now.toISOString(),
    new Date(now.getTime() + 3_600_000).toISOString(),
  );
  assert.equal((await withCookie(cookie).get('/api/me')).status, 200, 'the session works as a cookie');
  assert.equal((await withBearer(cookie, 'GET', '/api/me')).status, 401, 'and not as a bearer token');
});

test('a session or token row replaced whole (INSERT OR REPLACE) holds at once', sqliteOnly, async () => {
  const u = await clerk();
  assert.equal((await u.get('/api/me')).status, 200);
  assert.equal((await u.get('/api/me')).status, 200);
  await raw.run(
    `insert or replace into sessions (token_hash, tenant_id, user_id, csrf_hash, created_at, last_seen_at, expires_at, revoked_at)
     select token_hash, tenant_id, user_id, csrf_hash, created_at, last_seen_at, expires_at, ? from sessions where token_hash = ?`,
    new Date().toISOString(),
    tokenHash(u.cookie!),
  );
  assert.equal((await u.get('/api/me')).status, 401, 'the session replaced by a revoked one');

  const v = await clerk();
  const token = await mint(v, ['records:read']);
  assert.equal((await withBearer(token, 'GET', '/api/me')).status, 200);
  assert.equal((await withBearer(token, 'GET', '/api/me')).status, 200);
  await raw.run(
    `replace into api_tokens (id, tenant_id, user_id, name, token_hash, created_at, expires_at, last_used_at, revoked_at, scopes, legacy)
     select id, tenant_id, user_id, name, token_hash, created_at, expires_at, last_used_at, ?, scopes, legacy
     from api_tokens where token_hash = ?`,
    new Date().toISOString(),
    tokenHash(token),
  );
  assert.equal((await withBearer(token, 'GET', '/api/me')).status, 401, 'the token replaced by a revoked one');
});

test('many requests at once around a revocation: every one after it is refused', async () => {
  for (const by of ['server', 'another process'] as const) {
    const u = await clerk();
    const token = await mint(u, ['records:read']);
    const wave = () =>
      Promise.all(
        Array.from({ length: 24 }, (_, i) =>
          i % 2 === 0
            ? u.get('/api/me').then((r) => r.status)
            : withBearer(token, 'GET', '/api/me').then((r) => r.status),
        ),
      );
    assert.deepEqual(new Set(await wave()), new Set([200]));
    const during = wave();
    const revoked =
      by === 'server'
        ? inTenantTransaction(h.services.store, t.tenantId, async (tx) => {
            const at = new Date().toISOString();
            await tx.updateTable('sessions').set({ revoked_at: at }).where('user_id', '=', u.id).execute();
            await tx.updateTable('api_tokens').set({ revoked_at: at }).where('user_id', '=', u.id).execute();
          })
        : (async () => {
            const at = new Date().toISOString();
            await raw.run('update sessions set revoked_at = ? where user_id = ?', at, u.id);
            await raw.run('update api_tokens set revoked_at = ? where user_id = ?', at, u.id);
          })();
    const [statuses] = await Promise.all([during, revoked]);
    for (const s of statuses) assert.ok(s === 200 || s === 401, `during: ${s}`);
    assert.deepEqual(new Set(await wave()), new Set([401]), `after a revocation by the ${by}`);
  }
});

test('unknown bearer tokens are never kept', sqliteOnly, async () => {
  const cache = h.services.principals!;
  const size = cache.size;
  for (let i = 0; i < 12; i++) assert.equal((await withBearer(`kt_${newToken()}`, 'GET', '/api/me')).status, 401);
  assert.equal(cache.size, size);
});

test(
  'every trigger that announces a change is there (a table rebuilt by a later migration drops its own)',
  sqliteOnly,
  async () => {
    const names = (
      await raw.all("select name from sqlite_master where type = 'trigger' and name like 'principal_version_%'")
    )
      .map((r) => r.name as string)
      .sort();
    const expected = [
      ...['users', 'tenant_roles', 'memberships'].flatMap((x) =>
        ['insert', 'update', 'delete'].map((e) => `${x}_${e}`),
      ),
      ...['sessions', 'api_tokens'].flatMap((x) =>
        ['update', 'delete', 'touch_back', 'replace'].map((e) => `${x}_${e}`),
      ),
    ].map((n) => `principal_version_${n}`);
    assert.deepEqual(names, expected.sort());
  },
);

test('two changes in one batch, one of them rolled back, while requests read the version between them', async () => {
  const u = await clerk();
  const me = async () => {
    const r = await u.get('/api/me');
    return r.status === 200 ? (r.body.tenantRoles as string[]) : r.status;
  };
  assert.deepEqual(await me(), []);
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let revoked!: () => void;
  const revokedNow = new Promise<void>((r) => (revoked = r));
  // Queued in the same turn: one batch, one savepoint each.
  const given = inTenantTransaction(h.services.store, t.tenantId, async (tx) => {
    await tx.insertInto('tenant_roles').values({ user_id: u.id, tenant_id: t.tenantId, role: 'dpo' }).execute();
  });
  const undone = inTenantTransaction(h.services.store, t.tenantId, async (tx) => {
    await tx
      .updateTable('sessions')
      .set({ revoked_at: new Date().toISOString() })
      .where('user_id', '=', u.id)
      .execute();
    revoked();
    await held;
    throw new Error('rolled back on purpose');
  });
  const outcome = undone.then(
    () => 'committed',
    (e: Error) => e.message,
  );
  await revokedNow;
  const during = Array.from({ length: 8 }, () => me());
  await new Promise((r) => setTimeout(r, 20));
  release();
  await given;
  assert.equal(await outcome, 'rolled back on purpose');
  for (const d of await Promise.all(during))
    assert.deepEqual(d, ['dpo'], 'answered after the batch: role given, session kept');
  // No request in between: with a counter for a version, the change below would bring back the value the
  // requests above kept their principal under (read inside the batch, before its rolled back part was undone).
  await raw.run('delete from tenant_roles where user_id = ?', u.id);
  assert.deepEqual(await me(), [], 'a later change is seen, whatever the batch left behind');
});
