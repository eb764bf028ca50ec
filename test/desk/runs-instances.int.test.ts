// Issue 19: bulk letter runs and imports with two instances on one database. A run is worked by one
// instance at a time: while the instance holding it is live the other leaves it alone, and once that
// instance died (its heartbeat stale, no stop) the other finishes it — each file's letter made once. An
// import running on another live instance shows as running here and cannot be started or discarded a
// second time; once that instance is gone it shows interrupted, and a head resumes it here. On PostgreSQL
// (KARTEI_TEST_PG) the second instance's claims go through a Store of its own, as a second process's would.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { inTenantTransaction, openStore, type Store } from '../../src/db/connect.ts';
import { InstanceRegistry, LIVE_WITHIN_MS } from '../../src/db/instances.ts';
import { LetterRunner } from '../../src/desk/letter-runs.ts';
import {
  type Client,
  PG_ADMIN,
  samplePerson,
  setUpTenant,
  startHarness,
  type Harness,
  type Tenant,
} from '../helpers/harness.ts';

let h: Harness;
let t: Tenant;
let INF: string;
let clerk: Client;
let head: Client;
let second: Store;
let other: InstanceRegistry;

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h, ['INF']);
  INF = t.departments.INF!;
  clerk = await t.user({ memberships: [{ departmentId: INF, role: 'clerk' }] });
  head = await t.user({ memberships: [{ departmentId: INF, role: 'head' }] });
  assert.equal((await t.admin.post('/api/admin/templates/starters')).status, 200);
  second = PG_ADMIN
    ? await openStore({
        dataDir: h.config.dataDir,
        databaseUrl: h.config.databaseUrl,
        databaseAdminUrl: h.config.databaseAdminUrl,
      })
    : h.services.store;
  other = new InstanceRegistry(second, {
    id: randomUUID(),
    dataDirId: 'second-data-dir',
    host: 'kartei-b.example',
    pid: 4711,
    version: '0.1.0',
    schemaLevel: '039-instances',
    keyFingerprint: '0000000000000000',
    storage: 'database',
    listen: [],
  });
  await other.register();
});
after(async () => {
  await other?.stop().catch(() => undefined);
  if (second && second !== h.services.store) await second.close();
  await h?.close();
});

/** The other instance ends without a stop: its heartbeat goes stale. */
async function crashOther() {
  await other.stop();
  await h.services.store.db
    .updateTable('server_instances')
    .set({ stopped_at: null, heartbeat_at: new Date(Date.now() - 2 * LIVE_WITHIN_MS).toISOString() })
    .where('id', '=', other.id)
    .execute();
}
/** The other instance back to life (a fresh heartbeat). */
async function reviveOther() {
  await h.services.store.db
    .updateTable('server_instances')
    .set({ stopped_at: null, heartbeat_at: new Date().toISOString() })
    .where('id', '=', other.id)
    .execute();
}

test('a letter run held by a live instance is left alone; once that instance died, this one finishes it, each letter once', async () => {
  await reviveOther();
  const templates = (await t.admin.get('/api/admin/templates')).body.items as {
    id: string;
    kind: string;
    departmentId: string | null;
  }[];
  const templateId = templates.find((x) => x.kind === 'invitation' && !x.departmentId)!.id;
  const people: string[] = [];
  for (let i = 0; i < 12; i++) {
    const r = await clerk.post('/api/persons', samplePerson(INF, `Laufperson${String.fromCharCode(97 + i)}`));
    assert.equal(r.status, 201, JSON.stringify(r.body));
    people.push(r.body.id);
  }
  // This instance's runner is not working now: the run is started here and taken up by the other instance.
  const mine = h.services.letterRunner;
  await mine.stop();
  const started = await clerk.post(`/api/departments/${INF}/letter-runs`, { templateId, personIds: people });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const runId = started.body.id as string;
  const theirs = new LetterRunner(second, h.services.gate, h.services.letters);
  theirs.instanceId = other.id;
  theirs.stopAfter = 5;
  await theirs.start();
  await theirs.idle();
  await theirs.stop();
  const view = async () => (await clerk.get(`/api/letter-runs/${runId}`)).body;
  assert.equal((await view()).done, 5);

  // Held by a live instance: this one's start and sweeps leave it.
  await mine.start();
  await mine.idle();
  await mine.sweep();
  await mine.idle();
  assert.equal((await view()).done, 5, 'not taken from a live instance');

  await crashOther();
  await mine.sweep();
  await mine.idle();
  const done = await view();
  assert.equal(done.state, 'finished', JSON.stringify(done));
  assert.equal(done.done, 12);
  assert.equal(done.failed, 0);
  const perFile = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .selectFrom('letter_generations')
      .select(['person_id', (eb) => eb.fn.countAll<number | string>().as('n')])
      .where('run_id', '=', runId)
      .groupBy('person_id')
      .execute(),
  );
  assert.equal(perFile.length, 12);
  assert.ok(perFile.every((r) => Number(r.n) === 1));
});

test('an import running on another live instance shows running and cannot be started or discarded twice; once it died, a head resumes it here', async () => {
  await reviveOther();
  const csv = Buffer.from(
    ['Nachname;Vorname;Geburtsdatum', 'Importa;Anna;01.04.1961', 'Importb;Berta;02.04.1962'].join('\n'),
    'utf8',
  );
  const up = await head.call('POST', `/api/departments/${INF}/imports`, csv, { 'content-type': 'text/csv' });
  assert.equal(up.status, 201, JSON.stringify(up.body));
  const dry = await head.post(`/api/imports/${up.body.id}/dry-run`, {
    version: up.body.version,
    mapping: { person: { familyName: 0, givenName: 1, birthDate: 2 } },
  });
  assert.equal(dry.status, 200, JSON.stringify(dry.body));
  const id = dry.body.id as string;
  // The other instance started it (its start's update) and works on it.
  await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .updateTable('import_jobs')
      .set({
        state: 'running',
        version: dry.body.version + 1,
        runner: other.id,
        position: 0,
        created_count: 0,
        matched_count: 0,
        refused_count: 0,
      })
      .where('id', '=', id)
      .execute(),
  );
  const job = async () => (await head.get(`/api/imports/${id}`)).body;
  const running = await job();
  assert.equal(running.active, true, 'running on the other instance');
  const again = await head.post(`/api/imports/${id}/start`, { version: running.version });
  assert.equal(again.status, 409, JSON.stringify(again.body));
  assert.equal(again.body.errors?.[0]?.code, 'import-running');
  const gone = await head.post(`/api/imports/${id}/discard`, { version: running.version });
  assert.equal(gone.status, 409, JSON.stringify(gone.body));

  await crashOther();
  const interrupted = await job();
  assert.equal(interrupted.active, false, 'interrupted once its instance is gone');
  const resumed = await head.post(`/api/imports/${id}/start`, { version: interrupted.version });
  assert.equal(resumed.status, 202, JSON.stringify(resumed.body));
  await h.services.imports.running(id);
  const finished = await job();
  assert.equal(finished.state, 'done', JSON.stringify(finished));
  assert.equal(finished.active, false);
  assert.deepEqual(finished.counts, { created: 2, matched: 0, refused: 0 });
});
