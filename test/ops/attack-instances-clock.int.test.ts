// Several instances on one database whose clocks differ (issue 19, instances): liveness is judged from
// heartbeats written and compared on the database's clock. The shared store's recovery expects clocks of
// instances to differ by minutes (vault/sealed-store.ts, SHARED_STORE_GRACE_MS); an instance whose clock
// runs a minute behind must still count as live for the others, so none takes what it holds: its setup
// link (which would stop working), its DEMIS poll, its letter runs. Its own clock only serves to measure
// how far off it is: the server logs it, the doctor names it. Here the process clock of one registry runs
// behind (or ahead) while the database — PostgreSQL with KARTEI_TEST_PG, else SQLite — decides.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  CLOCK_SKEW_WARN_MS,
  databaseNow,
  InstanceRegistry,
  listInstances,
  liveInstanceIds,
  type ClockSkew,
  type InstanceFacts,
} from '../../src/db/instances.ts';
import { claimSetupToken } from '../../src/identity/setup.ts';
import { clockFindings, instanceFindings, keyFingerprint, schemaLevel } from '../../src/ops/instances.ts';
import { databaseFindings } from '../../src/ops/security-findings.ts';
import { startHarness, type Harness } from '../helpers/harness.ts';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

const facts = (host: string): InstanceFacts => ({
  id: randomUUID(),
  dataDirId: randomUUID().slice(0, 16),
  host,
  pid: 4242,
  version: '0.1.0',
  schemaLevel: schemaLevel(),
  keyFingerprint: keyFingerprint(h.config.keyDir, h.services.keyring, h.services.signer),
  storage: 'database',
  listen: ['http://127.0.0.1:8080'],
});

const SKEW = 60_000;

test('an instance whose clock runs a minute behind is live to the others: its setup link is not taken', async () => {
  await h.server.registry.stop();
  const slowClock = () => Date.now() - SKEW;
  const told: [ClockSkew, boolean][] = [];
  const a = new InstanceRegistry(h.services.store, facts('langsam.example'), slowClock);
  a.onClockSkew = (skew, off) => told.push([skew, off]);
  const b = new InstanceRegistry(h.services.store, facts('genau.example'));
  try {
    await a.register();
    await a.beat();
    await b.register();
    const aDir = fs.mkdtempSync(path.join(h.dir, 'slow-'));
    const bDir = fs.mkdtempSync(path.join(h.dir, 'exact-'));
    // a's own clock is behind for everything it does itself (the link's expiry counts from it).
    const printed = await claimSetupToken(h.services.store, aDir, a.facts, slowClock());
    assert.ok(printed && 'token' in printed, 'a prints the link');
    const live = (await liveInstanceIds(h.services.store.db).execute()).map((r) => r.id);
    assert.ok(live.includes(a.id), 'a, beating just now, is live to b');
    const second = await claimSetupToken(h.services.store, bDir, b.facts);
    assert.ok(second && 'printedBy' in second, 'b names a as the one that printed the link, and prints none');
    assert.equal(second.printedBy.host, 'langsam.example');
    // The row holds the database's time, not a's: a minute behind would be stale by twice the bound.
    const dbNow = await databaseNow(h.services.store.db);
    const row = (await listInstances(h.services.store.db)).find((r) => r.id === a.id)!;
    assert.ok(Math.abs(Date.parse(row.heartbeatAt) - dbNow) < 5_000, `${row.heartbeatAt} is the database's now`);
    assert.ok(Math.abs(Date.parse(row.startedAt) - dbNow) < 5_000, `${row.startedAt} is the database's now`);
    // The doctor counts a among the live: no crash named.
    assert.ok(!(await instanceFindings(h.services.store)).some((f) => f.code === 'instance-crashed'));
    // a measured its own clock a minute behind the database's, and said so once (not at every beat).
    assert.ok(a.clockSkew && Math.abs(a.clockSkew.ms + SKEW) < 2_000, `skew ${a.clockSkew?.ms} ms`);
    assert.equal(told.length, 1);
    assert.equal(told[0]![1], true);
    assert.ok(b.clockSkew && Math.abs(b.clockSkew.ms) < CLOCK_SKEW_WARN_MS, 'b agrees with the database');
    // The next beat keeps what a measured in its row: the doctor, run on any host, names a's host.
    await a.beat();
    const named = (await clockFindings(h.services.store)).filter((f) => f.params.host === 'langsam.example');
    assert.equal(named.length, 1, 'the doctor names the slow peer');
    assert.equal(named[0]!.params.offset, '−60');
    assert.ok(!(await clockFindings(h.services.store)).some((f) => f.params.host === 'genau.example'));
    // a stops: its stop is the database's time too, and the link is free for b at once.
    await a.stop();
    const stopped = (await listInstances(h.services.store.db)).find((r) => r.id === a.id)!;
    assert.ok(stopped.stoppedAt && Math.abs(Date.parse(stopped.stoppedAt) - dbNow) < 5_000);
    const taken = await claimSetupToken(h.services.store, bDir, b.facts);
    assert.ok(taken && 'token' in taken, 'b prints a new link once a stopped');
  } finally {
    await a.stop();
    await b.stop();
  }
});

test('an instance whose clock runs a minute ahead writes no heartbeat in the future (it would outlive its death)', async () => {
  const c = new InstanceRegistry(h.services.store, facts('eilig.example'), () => Date.now() + SKEW);
  try {
    await c.register();
    await c.beat();
    const dbNow = await databaseNow(h.services.store.db);
    const row = (await listInstances(h.services.store.db)).find((r) => r.id === c.id)!;
    assert.ok(Date.parse(row.heartbeatAt) <= dbNow, `${row.heartbeatAt} not after ${new Date(dbNow).toISOString()}`);
    assert.ok(c.clockSkew && Math.abs(c.clockSkew.ms - SKEW) < 2_000, `skew ${c.clockSkew?.ms} ms`);
  } finally {
    await c.stop();
  }
});

test("the doctor names this host's clock when it is more than 10 s off the database's, either way", async () => {
  const behind = await clockFindings(h.services.store, () => Date.now() - SKEW);
  assert.deepEqual(
    behind.map((f) => [f.code, f.severity]),
    [['instance-clock-skew', 'medium']],
  );
  assert.equal(behind[0]!.params.offset, '−60');
  const ahead = await clockFindings(h.services.store, () => Date.now() + 15_000);
  assert.equal(ahead[0]?.params.offset, '+15');
  // Within the bound, and on this machine (whose clock the database's is, or shares): nothing.
  assert.deepEqual(await clockFindings(h.services.store, () => Date.now() + 5_000), []);
  assert.ok(!(await databaseFindings(h.services)).some((f) => f.code === 'instance-clock-skew'));
});
