// SQL injection goes nowhere: every value reaches the database as a
// parameter, so hostile search terms, ids and filters answer like any other
// input, and hostile names are stored and found verbatim. On PostgreSQL the
// row-level-security wall holds even for a query that forgets the tenant.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { inTenantTransaction } from '../../src/db/connect.ts';
import {
  DIALECT,
  startHarness,
  setUpTenant,
  samplePerson,
  type Client,
  type Harness,
  type Tenant,
} from '../helpers/harness.ts';

const PAYLOADS = [
  "' OR 1=1 --",
  "' OR '1'='1",
  '%',
  '_',
  "Robert'); DROP TABLE persons;--",
  '1 OR 1=1',
  "' UNION SELECT * FROM users--",
  '"; SELECT pg_sleep(5); --',
  '\\x00',
  // PostgreSQL text cannot hold NUL: it must be refused as input, not crash the driver.
  'nul\u0000byte',
  "') OR tenant_id IS NOT NULL --",
];

let h: Harness;
let t: Tenant;
let clerk: Client & { id: string };
let dpo: Client & { id: string };
let stranger: Client & { id: string };
let head: Client & { id: string };
let personId: string;

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h);
  clerk = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'clerk' }] });
  dpo = await t.user({ tenantRoles: ['dpo'] });
  stranger = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'clerk' }] });
  head = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'head' }] });
  personId = (await clerk.post('/api/persons', samplePerson(t.departments.INF!, 'Zielinski'))).body.id;
});
after(() => h.close());

test('hostile search terms find nothing and break nothing', async () => {
  for (const q of PAYLOADS) {
    for (const c of [clerk, stranger]) {
      const r = await c.get(`/api/persons?q=${encodeURIComponent(q)}`);
      assert.ok(r.status === 200 || r.status === 422, `${q}: ${r.status}`);
      if (r.status === 200) assert.deepEqual(r.body, [], q);
    }
  }
});

test('hostile ids in paths answer 404, never 500 and never another file', async () => {
  for (const id of PAYLOADS) {
    const e = encodeURIComponent(id);
    const calls: [string, string, unknown?][] = [
      ['GET', `/api/persons/${e}`],
      ['PATCH', `/api/persons/${e}`, { givenName: 'X', version: 1 }],
      ['GET', `/api/persons/${e}/records`],
      ['POST', `/api/persons/${e}/records`, { type: 'note', sensitivity: 'normal', content: { text: 'x' } }],
      ['GET', `/api/persons/${e}/access-log`],
      [
        'POST',
        `/api/persons/${e}/shares`,
        {
          departmentId: t.departments.TB,
          purpose: 'Amtshilfe für das Ordnungsamt',
          until: new Date(Date.now() + 86_400_000).toISOString(),
        },
      ],
      ['POST', `/api/persons/${e}/break-glass`, { reason: 'Akute Gefahr, Rettungsdienst fragt an' }],
      ['GET', `/api/records/${e}`],
      ['PUT', `/api/records/${e}`, { content: { text: 'x' }, version: 1 }],
      ['GET', `/api/records/${e}/versions`],
      ['DELETE', `/api/records/${e}`, { reason: 'weg' }],
      ['DELETE', `/api/shares/${e}`],
    ];
    for (const [method, url, body] of calls) {
      const r = await head.call(method, url, body);
      assert.ok(r.status === 404 || r.status === 422, `${method} ${url}: ${r.status}`);
      assert.ok(!JSON.stringify(r.body).includes('Zielinski'), `${method} ${url}`);
    }
    for (const [method, url, body] of [
      ['POST', `/api/reviews/${e}`, { decision: 'justified', comment: 'ok' }],
      ['GET', `/api/audit?personId=${e}`],
    ] as const) {
      const r = await dpo.call(method, url, body);
      assert.ok([200, 404, 422].includes(r.status), `${method} ${url}: ${r.status}`);
    }
  }
  // The file is untouched: still version 1, still no records, no shares or grants.
  const file = await clerk.get(`/api/persons/${personId}`);
  assert.deepEqual([file.body.familyName, file.body.givenName, file.body.version], ['Zielinski', 'Hannelore', 1]);
  assert.deepEqual((await clerk.get(`/api/persons/${personId}/records`)).body, []);
  assert.deepEqual((await stranger.get(`/api/persons?q=Zielinski`)).body, []);
});

test('hostile audit filters are parameters too', async () => {
  // Events exist that a widened filter would return.
  assert.ok((await dpo.get(`/api/audit?personId=${personId}`)).body.length > 0);
  for (const v of PAYLOADS) {
    for (const key of ['personId', 'actorId', 'action', 'outcome', 'from', 'to', 'before', 'limit']) {
      const r = await dpo.get(`/api/audit?${key}=${encodeURIComponent(v)}`);
      assert.ok(r.status === 200 || r.status === 422, `${key}=${v}: ${r.status}`);
      if (r.status === 200) assert.deepEqual(r.body, [], `${key}=${v}`);
      else assert.equal(r.body.field, `querystring.${key}`, `${key}=${v}: ${JSON.stringify(r.body)}`);
    }
  }
  // The same through a head's access log of its own department's file.
  assert.ok((await head.get(`/api/persons/${personId}/access-log`)).body.length > 0);
  for (const v of PAYLOADS) {
    const r = await head.get(`/api/persons/${personId}/access-log?action=${encodeURIComponent(v)}`);
    assert.ok(r.status === 200 || r.status === 422, `${v}: ${r.status}`);
    if (r.status === 200) assert.deepEqual(r.body, [], v);
  }
});

test('a person whose name is an injection string is stored and found verbatim; the tables survive', async () => {
  const names = ["O'Brien", "Robert'); DROP TABLE persons;--", "Zielinski' OR '1'='1", 'Müller%_'];
  const ids = new Map<string, string>();
  for (const name of names) {
    const created = await clerk.post('/api/persons', {
      ...samplePerson(t.departments.INF!, name),
      givenName: "D'Artagnan",
    });
    assert.equal(created.status, 201, name);
    ids.set(name, created.body.id);
    const read = await clerk.get(`/api/persons/${created.body.id}`);
    assert.equal(read.body.familyName, name);
    assert.equal(read.body.givenName, "D'Artagnan");
  }
  // Each is found by its exact name, and only it: the quote does not widen the
  // search to Zielinski, the wildcards do not match Müller-anything else.
  for (const name of names) {
    const found = await clerk.get(`/api/persons?q=${encodeURIComponent(name)}`);
    assert.equal(found.status, 200, name);
    assert.deepEqual(
      found.body.map((p: any) => [p.id, p.familyName]),
      [[ids.get(name), name]],
      name,
    );
  }
  // Every table is still there and still answers.
  assert.equal((await clerk.get(`/api/persons/${personId}`)).status, 200);
  const n = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .selectFrom('persons')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow(),
  );
  assert.equal(Number(n.n), 1 + names.length);
  const users = await t.admin.get('/api/admin/users');
  assert.equal(users.status, 200);
  assert.ok(users.body.length >= 5);
});

test('hostile department names are stored verbatim; a NUL character is refused as input on either database', async () => {
  const name = "Abt.'); DROP TABLE departments;--";
  const created = await t.admin.post('/api/admin/departments', { code: 'EVIL', name });
  assert.equal(created.status, 201);
  const nul = await t.admin.post('/api/admin/departments', { code: 'NUL', name: 'Abteilung\u0000X' });
  assert.equal(nul.status, 422);
  assert.equal(nul.body.field, 'name');
  const listed = await t.admin.get('/api/admin/departments');
  assert.deepEqual(
    listed.body.map((d: any) => d.name).sort(),
    ['Abteilung INF', 'Abteilung SPDI', 'Abteilung TB', name].sort(),
  );
});

test('PostgreSQL: without the tenant set, the app role sees no tenant rows at all', {
  skip: DIALECT !== 'postgres' && 'row-level security is PostgreSQL only',
}, async () => {
  const db = h.services.store.db;
  // A query that forgets inTenantTransaction (and so the tenant setting) sees nothing, though rows exist.
  for (const table of [
    'persons',
    'person_versions',
    'records',
    'record_versions',
    'data_keys',
    'audit_events',
    'departments',
  ] as const) {
    const outside = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(db);
    assert.equal(outside.rows[0]!.n, 0, table);
  }
  const inside = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    sql<{ n: number }>`select count(*)::int as n from persons`.execute(tx),
  );
  assert.ok(inside.rows[0]!.n > 0);
  // Another tenant's setting sees nothing either, and cannot write into this tenant.
  const other = await inTenantTransaction(h.services.store, 'another-tenant', (tx) =>
    sql<{ n: number }>`select count(*)::int as n from persons`.execute(tx),
  );
  assert.equal(other.rows[0]!.n, 0);
  await assert.rejects(
    inTenantTransaction(h.services.store, 'another-tenant', (tx) =>
      tx
        .insertInto('departments')
        .values({ id: 'x', tenant_id: t.tenantId, code: 'EVIL', name: 'Evil', created_at: new Date().toISOString() })
        .execute(),
    ),
    /row-level security/,
  );
});
