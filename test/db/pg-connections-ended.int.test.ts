// PostgreSQL ends a server's idle connections (a restart, an operator's pg_terminate_backend, a network
// cut): the pools of the application and of the sealed objects in the database must let them go and
// open new ones; before, pg's 'error' on a pool without a listener was thrown and ended the process (seen
// in CI, where a test's DROP DATABASE … WITH (FORCE) killed the test process).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { DIALECT, freshPostgres, PG_ADMIN, samplePerson, setUpTenant, startHarness } from '../helpers/harness.ts';
import { lossTolerated, PG_CONNECT_TIMEOUT_MS, pgOptions } from '../../src/db/pg-connect.ts';
import { sql } from 'kysely';
import { makeInstance, stowFile } from '../helpers/dicom-files.ts';

test('idle connections ended by PostgreSQL: the server keeps running and the next requests are answered', {
  skip: DIALECT !== 'postgres' ? 'runs with KARTEI_TEST_PG' : false,
}, async () => {
  const h = await startHarness();
  try {
    assert.equal(h.services.images.kind, 'database');
    const office = await setUpTenant(h, ['INF']);
    const INF = office.departments.INF!;
    const physician = await office.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
    const created = await physician.post('/api/persons', samplePerson(INF, 'Abgerissen'));
    assert.equal(created.status, 201);
    const inst = makeInstance({ rows: 8, columns: 8 });
    assert.equal((await stowFile(physician, inst.file)).status, 200);
    const admin = new pg.Client({ connectionString: h.installation.database.databaseAdminUrl! });
    await admin.connect();
    let ended = 0;
    try {
      const r = await admin.query(
        'select count(*) filter (where pg_terminate_backend(pid)) as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
      );
      ended = Number(r.rows[0].n);
    } finally {
      await admin.end();
    }
    assert.ok(ended >= 2, `the application's and the sealed objects' connections were ended (${ended})`);
    // Give pg the moment to see its sockets closed (the uncaught 'error' came here).
    await new Promise((r) => setTimeout(r, 300));
    const read = await physician.get(`/api/persons/${created.body.id}`);
    assert.equal(read.status, 200);
    const image = await physician.call('GET', `/dicom-web/studies/${inst.studyInstanceUid}`, undefined, {
      accept: 'multipart/related; type="application/dicom"',
    });
    assert.equal(image.status, 200);
    assert.ok(image.raw.includes(inst.file.subarray(inst.file.length - 64)), 'the image reads back');
  } finally {
    await h.close();
  }
});

/** A TCP proxy to PostgreSQL that can fall silent: its connections ended, new ones accepted and never answered. */
async function silencingProxy(to: number) {
  let silent = false;
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    open.add(client);
    client.on('error', () => undefined).on('close', () => open.delete(client));
    if (silent) return;
    const upstream = net.connect(to, '127.0.0.1');
    open.add(upstream);
    upstream.on('error', () => client.destroy()).on('close', () => open.delete(upstream));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const end = () => {
    for (const s of open) s.destroy();
  };
  return {
    port: (server.address() as net.AddressInfo).port,
    silence() {
      silent = true;
      end();
    },
    answer() {
      silent = false;
      end();
    },
    close: () => {
      end();
      server.close();
    },
  };
}

// s27: pg had no time limit on a new connection: with a database that accepts and never answers (hung, behind a
// dead proxy, a network dropping packets) every request waited for good, and the waiting grew without a bound.
test('a database that stops answering: requests are answered 503 service-unavailable within the time limit, then 200 again once it answers', {
  skip: DIALECT !== 'postgres' ? 'runs with KARTEI_TEST_PG' : false,
}, async () => {
  const db = await freshPostgres();
  const proxy = await silencingProxy(Number(new URL(db.databaseUrl).port || 5432));
  const through = new URL(db.databaseUrl);
  through.hostname = '127.0.0.1';
  through.port = String(proxy.port);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-test-'));
  const h = await startHarness({
    reopen: { dir, database: { databaseUrl: through.toString(), databaseAdminUrl: db.databaseAdminUrl } },
  });
  try {
    const office = await setUpTenant(h, ['INF']);
    const INF = office.departments.INF!;
    const physician = await office.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
    const created = await physician.post('/api/persons', samplePerson(INF, 'Stumm'));
    assert.equal(created.status, 201);
    const read = () => physician.get(`/api/persons/${created.body.id}`);
    // Requests in flight when it falls silent (their connections end under them; pg's 'error' on a connection
    // in use, without a listener, ended the process), then requests that need a new connection.
    const inFlight = Array.from({ length: 12 }, read);
    await new Promise((r) => setImmediate(r));
    proxy.silence();
    for (const r of await Promise.all(inFlight)) assert.ok([200, 503].includes(r.status), JSON.stringify(r.body));
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 12 }, read));
    const seconds = (performance.now() - started) / 1000;
    for (const r of answers) {
      assert.equal(r.status, 503, JSON.stringify(r.body));
      assert.equal(r.body.code, 'service-unavailable');
      assert.equal(r.headers['retry-after'], '30');
    }
    // Ten at once try to connect (the pool's size), each given up after 10 s; the other two wait their turn.
    assert.ok(seconds < 35, `answered after ${seconds.toFixed(1)} s`);
    proxy.answer();
    const again = await physician.get(`/api/persons/${created.body.id}`);
    assert.equal(again.status, 200, JSON.stringify(again.body));
  } finally {
    proxy.close();
    await h.close();
  }
});

// s27: the one-off clients (verify's workers, backup, restore, the doctor's look) end the same way: a connection
// ended between queries fails the next query, never the process.
test('a client whose connection PostgreSQL ends between queries: the next query fails, the process goes on', {
  skip: DIALECT !== 'postgres' ? 'runs with KARTEI_TEST_PG' : false,
}, async () => {
  const client = lossTolerated(new pg.Client(pgOptions(PG_ADMIN)));
  await client.connect();
  const pid = (await client.query('select pg_backend_pid() as pid')).rows[0].pid as number;
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  await admin.connect();
  try {
    await admin.query('select pg_terminate_backend($1)', [pid]);
  } finally {
    await admin.end();
  }
  // Without a listener pg's 'error' here was thrown: the test process would end (an uncaught exception).
  await new Promise((r) => setTimeout(r, 300));
  await assert.rejects(client.query('select 1'));
  await client.end().catch(() => undefined);
});

// s27: the time limit is on connecting only — a pool whose connections are all busy is no unreachable database: a
// request (or the letter runner, an import) waits its turn past the limit, as before.
test('every pooled connection busy for longer than the time limit: the request waits its turn and is answered', {
  skip: DIALECT !== 'postgres' ? 'runs with KARTEI_TEST_PG' : false,
}, async () => {
  const h = await startHarness();
  try {
    const office = await setUpTenant(h, ['INF']);
    const INF = office.departments.INF!;
    const physician = await office.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
    const created = await physician.post('/api/persons', samplePerson(INF, 'Geduldig'));
    assert.equal(created.status, 201);
    const seconds = PG_CONNECT_TIMEOUT_MS / 1000 + 2;
    const busy = Array.from({ length: 10 }, () => sql`select pg_sleep(${seconds})`.execute(h.services.store.db));
    await new Promise((r) => setTimeout(r, 300));
    const started = performance.now();
    const read = await physician.get(`/api/persons/${created.body.id}`);
    const waited = (performance.now() - started) / 1000;
    assert.equal(read.status, 200, JSON.stringify(read.body));
    assert.ok(waited > PG_CONNECT_TIMEOUT_MS / 1000, `waited ${waited.toFixed(1)} s: the pool was not busy`);
    await Promise.all(busy);
  } finally {
    await h.close();
  }
});
