// A session's or API token's principal kept between requests (SQLite, issue 18) must never outlive a change
// to it: a revocation, a deactivation, a removed membership or role, a token's scopes — made by another
// process on the database (as the command line does) or by the server itself — holds on the very next
// request. The triggers that announce a change cover every column but the touch, and a change rolled back
// never lets an old principal back in. On PostgreSQL (no cache) the same requests must behave the same.
// The attacks (s26): a credential of one kind is never taken for the other (an API token as the session cookie:
// a cookie without the CSRF check); a row replaced by `INSERT OR REPLACE` is a change like any other; many
// requests at once around a revocation all see it once it is done; every trigger is there.
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
import { TOUCH_COLUMNS } from '../../src/db/migrations/042-principal-version.ts';

let h: Harness;
let t: Tenant;
let raw: RawDb;
const sqliteOnly = { skip: DIALECT !== 'sqlite' && 'the cache is SQLite only' };

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h, ['TB', 'INF']);
  raw = await openRawDb(h);
});
after(async () => {
  await raw.close();
  await h.close();
});

const me = async (c: Client) => {
  const r = await c.get('/api/me');
  return r.status === 200 ? (r.body as { memberships: { departmentId: string }[]; tenantRoles: string[] }) : r.status;
};

function bearer(token: string) {
  const c = new Client(h);
  return { get: (url: string) => c.call('GET', url, undefined, { authorization: `Bearer ${token}` }) };
}

test('the principal is kept between requests (SQLite) and still answers as before', sqliteOnly, async () => {
  const clerk = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'clerk' }] });
  const cache = h.services.principals!;
  assert.ok(cache, 'a server on SQLite keeps principals');
  const before = await me(clerk);
  const kept = cache.size;
  assert.ok(kept >= 1);
  assert.deepEqual(await me(clerk), before);
  assert.equal(cache.size, kept, 'the second request found it');
  const p = (await clerk.get('/api/me')).body;
  assert.deepEqual(p.memberships, [{ departmentId: t.departments.TB!, role: 'clerk' }]);
});

test('another process revoking the session, deactivating the user or removing a membership holds at once', async () => {
  const a = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'clerk' }] });
  const b = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'clerk' }] });
  const c = await t.user({
    memberships: [
      { departmentId: t.departments.TB!, role: 'clerk' },
      { departmentId: t.departments.INF!, role: 'clerk' },
    ],
  });
  for (const x of [a, b, c]) assert.equal(typeof (await me(x)), 'object');
  assert.equal(typeof (await me(a)), 'object', 'kept');

  await raw.run('update sessions set revoked_at = ? where user_id = ?', new Date().toISOString(), a.id);
  assert.equal(await me(a), 401, 'a revoked session');

  await raw.run('update users set active = 0 where id = ?', b.id);
  assert.equal(await me(b), 401, 'a deactivated user');

  await raw.run('delete from memberships where user_id = ? and department_id = ?', c.id, t.departments.INF!);
  const after = await me(c);
  assert.ok(typeof after === 'object');
  assert.deepEqual(
    after.memberships.map((m) => m.departmentId),
    [t.departments.TB!],
    'the removed membership is gone',
  );
});

test('a tenant role given or taken by another process holds at once', async () => {
  const u = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'clerk' }] });
  const first = await me(u);
  assert.ok(typeof first === 'object');
  assert.deepEqual(first.tenantRoles, []);
  await raw.run('insert into tenant_roles (user_id, tenant_id, role) values (?, ?, ?)', u.id, t.tenantId, 'dpo');
  const given = await me(u);
  assert.ok(typeof given === 'object');
  assert.deepEqual(given.tenantRoles, ['dpo']);
  await raw.run('delete from tenant_roles where user_id = ?', u.id);
  const taken = await me(u);
  assert.ok(typeof taken === 'object');
  assert.deepEqual(taken.tenantRoles, []);
});

test('an API token revoked, its scopes narrowed or deleted by another process holds at once', async () => {
  const u = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'clerk' }] });
  const mint = async () =>
    (await u.post('/api/auth/tokens', { name: 'Skript', scopes: ['records:read'], expiresInDays: 30 })).body
      .token as string;
  const one = bearer(await mint());
  assert.equal((await one.get('/api/me')).status, 200);
  assert.equal((await one.get('/api/me')).status, 200);
  await raw.run(
    'update api_tokens set revoked_at = ? where user_id = ? and name = ?',
    new Date().toISOString(),
    u.id,
    'Skript',
  );
  assert.equal((await one.get('/api/me')).status, 401, 'revoked');

  const two = bearer(await mint());
  const person = (await u.post('/api/persons', samplePerson(t.departments.TB!))).body as { id: string };
  assert.equal((await two.get(`/api/persons/${person.id}`)).status, 200);
  assert.equal((await two.get(`/api/persons/${person.id}`)).status, 200);
  await raw.run("update api_tokens set scopes = 'dicomweb:read' where user_id = ? and revoked_at is null", u.id);
  assert.equal(
    (await two.get(`/api/persons/${person.id}`)).status,
    403,
    'a token whose scope was taken away is refused at once (its principal read anew)',
  );

  const three = bearer(await mint());
  assert.equal((await three.get('/api/me')).status, 200);
  await raw.run('delete from api_tokens where user_id = ? and revoked_at is null and scopes = ?', u.id, 'records:read');
  assert.equal((await three.get('/api/me')).status, 401, 'deleted');
});

test('the server itself ending a session (logout, deactivation by the admin) holds at once', async () => {
  const u = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'clerk' }] });
  assert.equal(typeof (await me(u)), 'object');
  const copy = new Client(h);
  copy.cookie = u.cookie;
  copy.csrf = u.csrf;
  assert.equal((await u.post('/api/auth/logout', {})).status, 204);
  assert.equal(await me(copy), 401, 'the same cookie after logout');
});

test('the triggers set a new version on every column but the touch; the touch leaves it', sqliteOnly, async () => {
  for (const [table, touch] of Object.entries(TOUCH_COLUMNS)) {
    const columns = (await raw.all(`select name from pragma_table_info('${table}')`)).map((r) => r.name as string);
    const [trigger] = await raw.all(
      "select sql from sqlite_master where type = 'trigger' and name = ?",
      `principal_version_${table}_update`,
    );
    assert.ok(trigger, `${table} has its update trigger`);
    const listed = /update of (.+?) on /i
      .exec(trigger.sql as string)![1]!
      .split(',')
      .map((c) => c.trim());
    assert.deepEqual(
      listed.sort(),
      columns.filter((c) => c !== touch).sort(),
      `${table}: every column but ${touch} (a column added later must be added to the trigger)`,
    );
  }
  const version = async () => String((await raw.all('select cast(v as text) as v from principal_version'))[0]!.v);
  const u = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'clerk' }] });
  const v0 = await version();
  await raw.run(
    'update sessions set last_seen_at = ? where user_id = ?',
    new Date(Date.now() + 1000).toISOString(),
    u.id,
  );
  assert.equal(await version(), v0, 'the touch leaves the version');
  await raw.run(
    'update sessions set last_seen_at = ? where user_id = ?',
    new Date(Date.now() - 1000).toISOString(),
    u.id,
  );
  const v1 = await version();
  assert.notEqual(v1, v0, 'a touch moved back sets a new one');
  const v0b = v1;
  await raw.run('update sessions set expires_at = expires_at where user_id = ?', u.id);
  assert.notEqual(await version(), v0b, 'any other column sets a new one');
});

test('a change rolled back and another one after it never bring back an old principal', sqliteOnly, async () => {
  const u = await t.user({
    memberships: [
      { departmentId: t.departments.TB!, role: 'clerk' },
      { departmentId: t.departments.INF!, role: 'clerk' },
    ],
  });
  const cache = h.services.principals!;
  assert.equal(typeof (await me(u)), 'object');
  assert.ok(cache.size >= 1);

  // A transaction of the server's revokes the session and waits; a request reads the version it wrote.
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const rolledBack = inTenantTransaction(h.services.store, t.tenantId, async (tx) => {
    await tx
      .updateTable('sessions')
      .set({ revoked_at: new Date().toISOString() })
      .where('user_id', '=', u.id)
      .execute();
    await held;
    throw new Error('rolled back on purpose');
  });
  let during: ReturnType<typeof me>;
  let seen: number;
  try {
    await new Promise((r) => setTimeout(r, 20));
    during = me(u);
    for (let i = 0; i < 200 && cache.size > 0; i++) await new Promise((r) => setTimeout(r, 5));
    seen = cache.size;
  } finally {
    release();
  }
  await assert.rejects(rolledBack, /rolled back on purpose/);
  assert.equal(typeof (await during), 'object', 'the revocation was rolled back: still signed in');
  assert.equal(seen, 0, 'the request saw a new version and dropped what was kept');

  // Another change: with a counter it would come back to the value the request kept its principal under.
  await raw.run('delete from memberships where user_id = ? and department_id = ?', u.id, t.departments.INF!);
  const after = await me(u);
  assert.ok(typeof after === 'object');
  assert.deepEqual(
    after.memberships.map((m) => m.departmentId),
    [t.departments.TB!],
    'read anew, not kept',
  );
});

test('unknown and ended sessions are never kept', sqliteOnly, async () => {
  const cache = h.services.principals!;
  const size = cache.size;
  const stranger = new Client(h);
  for (let i = 0; i < 12; i++) {
    stranger.cookie = `not-a-session-${i}`;
    assert.equal((await stranger.get('/api/me')).status, 401);
  }
  assert.equal(cache.size, size, 'unknown cookies are not kept');
});

// The attacks (s26).

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

// SQLite only: the premise is the group committer's batch (both transactions in one commit). On PostgreSQL the two
// are separate transactions on separate connections, so a request may be answered before the role's commit: the
// CI run of 4537a5c failed that way, by timing, not by a stale principal (PostgreSQL keeps none).
test(
  'two changes in one batch, one of them rolled back, while requests read the version between them',
  sqliteOnly,
  async () => {
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
  },
);
