// SQL injection goes nowhere: every value reaches the database as a
// parameter, so hostile search terms, ids and filters answer like any other
// input, and hostile names are stored and found verbatim. On PostgreSQL the
// row-level-security wall holds even for a query that forgets the tenant.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { inTenant } from '../../src/db/connect.ts';
import { DIALECT, startHarness, setUpTenant, samplePerson, type Client, type Harness, type Tenant } from '../helpers/harness.ts';

const PAYLOADS = [
  "' OR 1=1 --",
  "' OR '1'='1",
  '%',
  '_',
  "Robert'); DROP TABLE persons;--",
  "1 OR 1=1",
  "' UNION SELECT * FROM users--",
  '"; SELECT pg_sleep(5); --',
  '\\x00',
  "') OR tenant_id IS NOT NULL --",
];

let h: Harness;
let t: Tenant;
let clerk: Client & { id: string };
let dpo: Client & { id: string };
let stranger: Client & { id: string };
let personId: string;

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h);
  clerk = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'clerk' }] });
  dpo = await t.user({ tenantRoles: ['dpo'] });
  stranger = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'clerk' }] });
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
    for (const url of [`/api/persons/${encodeURIComponent(id)}`, `/api/records/${encodeURIComponent(id)}`, `/api/persons/${encodeURIComponent(id)}/records`]) {
      const r = await clerk.get(url);
      assert.ok(r.status === 404 || r.status === 422, `${url}: ${r.status}`);
    }
  }
});

test('hostile audit filters are parameters too', async () => {
  for (const v of PAYLOADS) {
    for (const key of ['personId', 'actorId', 'action']) {
      const r = await dpo.get(`/api/audit?${key}=${encodeURIComponent(v)}`);
      assert.ok(r.status === 200 || r.status === 422, `${key}=${v}: ${r.status}`);
      if (r.status === 200) assert.deepEqual(r.body, [], `${key}=${v}`);
    }
  }
});

test('a person whose name is an injection string is stored and found verbatim; the tables survive', async () => {
  for (const name of ["O'Brien", "Robert'); DROP TABLE persons;--", "' OR 1=1 --x"]) {
    const created = await clerk.post('/api/persons', { ...samplePerson(t.departments.INF!, name), givenName: "D'Artagnan" });
    assert.equal(created.status, 201, name);
    const read = await clerk.get(`/api/persons/${created.body.id}`);
    assert.equal(read.body.familyName, name);
    assert.equal(read.body.givenName, "D'Artagnan");
    const found = await clerk.get(`/api/persons?q=${encodeURIComponent("O'Brien")}`);
    assert.equal(found.status, 200);
  }
  const found = await clerk.get(`/api/persons?q=${encodeURIComponent("O'Brien")}`);
  assert.equal(found.body.length, 1);
  assert.equal(found.body[0].familyName, "O'Brien");
  // Every table is still there and still answers.
  assert.equal((await clerk.get(`/api/persons/${personId}`)).status, 200);
  const n = await inTenant(h.services.store, t.tenantId, (tx) => tx.selectFrom('persons').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow());
  assert.equal(Number(n.n), 4);
});

test('PostgreSQL: without the tenant set, the app role sees no tenant rows at all', { skip: DIALECT !== 'postgres' && 'row-level security is PostgreSQL only' }, async () => {
  const db = h.services.store.db;
  // A query that forgets inTenant (and so the tenant setting) sees nothing, though rows exist.
  for (const table of ['persons', 'person_versions', 'records', 'record_versions', 'data_keys', 'audit_events', 'departments'] as const) {
    const outside = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(db);
    assert.equal(outside.rows[0]!.n, 0, table);
  }
  const inside = await inTenant(h.services.store, t.tenantId, (tx) => sql<{ n: number }>`select count(*)::int as n from persons`.execute(tx));
  assert.ok(inside.rows[0]!.n > 0);
  // Another tenant's setting sees nothing either, and cannot write into this tenant.
  const other = await inTenant(h.services.store, 'another-tenant', (tx) => sql<{ n: number }>`select count(*)::int as n from persons`.execute(tx));
  assert.equal(other.rows[0]!.n, 0);
  await assert.rejects(
    inTenant(h.services.store, 'another-tenant', (tx) =>
      tx.insertInto('departments').values({ id: 'x', tenant_id: t.tenantId, code: 'EVIL', name: 'Evil', created_at: new Date().toISOString() }).execute(),
    ),
    /row-level security/,
  );
});
