// Several servers on one database (issue 19): each registers itself, beats and marks its stop; the
// doctor names instances of other versions or keys, ones that vanished without a stop, and several
// with files storage on PostgreSQL; and however many instances start at once, exactly one setup
// link works — the others say who printed it. On PostgreSQL (KARTEI_TEST_PG) the racers are separate
// Store objects with their own connection pools, as separate processes would be.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { openStore, type Store } from '../../src/db/connect.ts';
import {
  databaseNow,
  InstanceRegistry,
  LIVE_WITHIN_MS,
  listInstances,
  type InstanceFacts,
} from '../../src/db/instances.ts';
import { claimSetupToken, SETUP_TOKEN_FILE, type SetupClaim } from '../../src/identity/setup.ts';
import { instanceFindings, keyFingerprint, schemaLevel, witnessFindings } from '../../src/ops/instances.ts';
import { Witness } from '../../src/audit/witness.ts';
import { databaseFindings } from '../../src/ops/security-findings.ts';
import { PG_ADMIN, startHarness, strongPassword, type Harness } from '../helpers/harness.ts';

let h: Harness;
const extra: Store[] = [];
before(async () => {
  h = await startHarness();
});
after(async () => {
  for (const s of extra) await s.close();
  await h.close();
});

/** Another "process" on the same database: its own Store on PostgreSQL; on SQLite the one file's store. */
async function otherStore(): Promise<Store> {
  if (!PG_ADMIN) return h.services.store;
  const s = await openStore({
    dataDir: h.config.dataDir,
    databaseUrl: h.config.databaseUrl,
    databaseAdminUrl: h.config.databaseAdminUrl,
  });
  extra.push(s);
  return s;
}

const facts = (over: Partial<InstanceFacts> = {}): InstanceFacts => ({
  id: randomUUID(),
  dataDirId: randomUUID().slice(0, 16),
  host: 'kartei-b.example',
  pid: 4242,
  version: '0.1.0',
  schemaLevel: schemaLevel(),
  keyFingerprint: keyFingerprint(h.config.keyDir, h.services.keyring, h.services.signer),
  storage: 'database',
  listen: ['http://127.0.0.1:8080'],
  ...over,
});

const at = (ms: number) => new Date(ms).toISOString();
const codes = (fs: { code: string }[]) => fs.map((f) => f.code).sort();

test('a started server is on record with its host, pid, version, schema level, key fingerprint and addresses', async () => {
  const mine = (await listInstances(h.services.store.db)).find((r) => r.id === h.services.instanceId);
  assert.ok(mine, 'the harness server registered itself');
  assert.equal(mine.pid, process.pid);
  assert.equal(mine.schemaLevel, schemaLevel());
  assert.match(mine.keyFingerprint, /^[0-9a-f]{16}$/);
  assert.equal(mine.stoppedAt, null);
  assert.ok(mine.listen.length >= 1);
  // The fingerprint holds no key: it differs from every key file's bytes.
  for (const f of fs.readdirSync(h.config.keyDir))
    assert.ok(!fs.readFileSync(path.join(h.config.keyDir, f)).toString('hex').includes(mine.keyFingerprint));
  assert.deepEqual(codes(await instanceFindings(h.services.store)), []);
});

test('the doctor: other versions, other keys and a crash are named; a stopped instance is no finding', async () => {
  const store = h.services.store;
  const now = Date.now();
  const old = new InstanceRegistry(store, facts({ version: '0.0.9', host: 'alt.example' }));
  await old.register();
  const foreign = new InstanceRegistry(store, facts({ keyFingerprint: '0123456789abcdef', host: 'fremd.example' }));
  await foreign.register();
  const gone = new InstanceRegistry(store, facts({ host: 'weg.example', pid: 77 }));
  await gone.register();
  const polite = new InstanceRegistry(store, facts({ host: 'still.example' }));
  await polite.register();
  await polite.stop();
  for (const r of [old, foreign, gone]) await r.stop().catch(() => undefined);
  // Undo the stops of the live two and of the crashed one (a crash writes no stop); the crashed one and the
  // stopped one were last heard of minutes ago (the database's clock is this machine's here).
  await store.db
    .updateTable('server_instances')
    .set({ stopped_at: null })
    .where('id', 'in', [old.id, foreign.id, gone.id])
    .execute();
  await store.db
    .updateTable('server_instances')
    .set({ started_at: at(now - 5 * LIVE_WITHIN_MS), heartbeat_at: at(now - 5 * LIVE_WITHIN_MS) })
    .where('id', 'in', [gone.id, polite.id])
    .execute();
  await store.db
    .updateTable('server_instances')
    .set({ stopped_at: at(now - 4 * LIVE_WITHIN_MS) })
    .where('id', '=', polite.id)
    .execute();
  try {
    const found = await instanceFindings(store);
    assert.deepEqual(codes(found), ['instance-crashed', 'instances-keys-differ', 'instances-versions-differ']);
    const versions = found.find((f) => f.code === 'instances-versions-differ')!;
    assert.equal(versions.severity, 'critical');
    assert.match(String(versions.params!.instances), /alt\.example \(pid 4242\): 0\.0\.9/);
    assert.equal(found.find((f) => f.code === 'instances-keys-differ')!.severity, 'critical');
    const crashed = found.find((f) => f.code === 'instance-crashed')!;
    assert.equal(crashed.severity, 'medium');
    assert.deepEqual([crashed.params!.host, crashed.params!.pid], ['weg.example', 77]);
    assert.equal(crashed.params!.at, at(now - 5 * LIVE_WITHIN_MS));
    // And through `kartei doctor`'s report, not in one office's.
    assert.ok(codes(await databaseFindings(h.services)).includes('instances-keys-differ'));
  } finally {
    await store.db.deleteFrom('server_instances').where('id', 'in', [old.id, foreign.id, gone.id, polite.id]).execute();
  }
});

test('two live instances with files storage: critical on PostgreSQL only', async () => {
  const store = h.services.store;
  await store.db
    .updateTable('server_instances')
    .set({ storage: 'files' })
    .where('id', '=', h.services.instanceId)
    .execute();
  const b = new InstanceRegistry(store, facts({ storage: 'files' }));
  await b.register();
  try {
    const found = await instanceFindings(store);
    if (store.dialect === 'postgres') {
      assert.deepEqual(codes(found), ['instances-files-storage']);
      assert.equal(found[0]!.severity, 'critical');
    } else assert.deepEqual(codes(found), []);
    await b.stop();
    assert.deepEqual(codes(await instanceFindings(store)), []);
  } finally {
    await store.db.deleteFrom('server_instances').where('id', '=', b.id).execute();
  }
});

test('N instances starting together on one database: exactly one prints a setup link, and only that token works', async () => {
  const N = 6;
  const racers = await Promise.all(
    Array.from({ length: N }, async (_, i) => {
      const store = await otherStore();
      const dataDir = fs.mkdtempSync(path.join(h.dir, `racer-${i}-`));
      const registry = new InstanceRegistry(store, facts({ host: `racer-${i}.example`, pid: 1000 + i }));
      await registry.register();
      return { store, dataDir, registry };
    }),
  );
  // The harness's own server claimed a link at its start: it stops, so the racers find it free.
  await h.server.registry.stop();
  const claims: SetupClaim[] = await Promise.all(
    racers.map((r) => claimSetupToken(r.store, r.dataDir, r.registry.facts)),
  );
  const winners = claims.flatMap((c, i) => (c && 'token' in c ? [{ i, token: c.token }] : []));
  assert.equal(winners.length, 1, `one link, not ${winners.length}`);
  const w = winners[0]!;
  claims.forEach((c, i) => {
    if (i === w.i) return;
    assert.ok(c && 'printedBy' in c, `racer ${i} says who printed it`);
    assert.deepEqual([c.printedBy.host, c.printedBy.pid], [`racer-${w.i}.example`, 1000 + w.i]);
    assert.equal(fs.existsSync(path.join(racers[i]!.dataDir, SETUP_TOKEN_FILE)), false);
  });
  assert.equal(fs.readFileSync(path.join(racers[w.i]!.dataDir, SETUP_TOKEN_FILE), 'utf8').trim(), w.token);

  // The winner crashes (its heartbeat stops): the next start prints a new link; the old one stops working.
  const stale = at(Date.now() - 2 * LIVE_WITHIN_MS);
  await h.services.store.db
    .updateTable('server_instances')
    .set({ heartbeat_at: stale })
    .where('id', '=', racers[w.i]!.registry.id)
    .execute();
  const other = racers[(w.i + 1) % N]!;
  const again = await claimSetupToken(other.store, other.dataDir, other.registry.facts);
  assert.ok(again && 'token' in again && again.token !== w.token);
  const refused = await h.app.inject({
    method: 'POST',
    url: '/api/setup',
    payload: {
      token: w.token,
      tenant: { name: 'Amt' },
      admin: { username: 'leitung', password: strongPassword(), displayName: 'Lena Leitung' },
    },
  });
  assert.equal(refused.statusCode, 401);
  // The same data directory started again (its own earlier process cannot run): it takes the link over.
  const restart = { ...other.registry.facts, id: randomUUID() };
  await new InstanceRegistry(other.store, restart).register();
  const taken = await claimSetupToken(other.store, other.dataDir, restart);
  assert.ok(taken && 'token' in taken);
  const ok = await h.app.inject({
    method: 'POST',
    url: '/api/setup',
    payload: {
      token: taken.token,
      tenant: { name: 'Amt' },
      admin: { username: 'leitung', password: strongPassword(), displayName: 'Lena Leitung' },
    },
  });
  assert.equal(ok.statusCode, 201, ok.body);
  // Set up: nobody claims a link any more, and stale files go.
  assert.equal(await claimSetupToken(other.store, other.dataDir, restart), null);
  assert.equal(fs.existsSync(path.join(other.dataDir, SETUP_TOKEN_FILE)), false);
  for (const r of racers) await r.registry.stop();
});

test("the witness in a shared key directory: writers of two instances keep each other's heads and temporary files", () => {
  const file = path.join(h.dir, 'shared-keys-witness.json');
  // Another host's writer with this very pid, in the middle of its write under the old naming.
  const foreign = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(foreign, 'half written');
  const a = new Witness(file);
  const b = new Witness(file);
  a.record({ one: { seq: 5, hash: 'a', at: at(0) } });
  b.record({ two: { seq: 3, hash: 'b', at: at(0) } });
  a.record({ two: { seq: 2, hash: 'older', at: at(0) } });
  assert.deepEqual(Object.fromEntries(Object.entries(new Witness(file).read()).map(([k, v]) => [k, v.seq])), {
    one: 5,
    two: 3,
  });
  assert.equal(fs.readFileSync(foreign, 'utf8'), 'half written');
  assert.deepEqual(
    fs
      .readdirSync(h.dir)
      .filter((f) => f.startsWith('shared-keys-witness.json'))
      .sort(),
    ['shared-keys-witness.json', path.basename(foreign)].sort(),
  );
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
});

test('the doctor: a witness more than a round behind the signed checkpoints is named, one within a round is not', async () => {
  const s = h.services;
  await s.audit.checkpointAll();
  const witness = s.signer.witness!;
  const later = (await databaseNow(s.store.db)) + 3 * 60_000;
  assert.deepEqual(codes(await witnessFindings(s, later)), []);
  // The copy of the key directory of an instance that ran no round since (stopped, or its own copy).
  const kept = fs.readFileSync(witness.file);
  fs.writeFileSync(witness.file, JSON.stringify({ chains: {} }), { mode: 0o600 });
  try {
    assert.deepEqual(codes(await witnessFindings(s)), [], 'within the grace of a round');
    const found = await witnessFindings(s, later);
    assert.deepEqual(codes(found), ['witness-behind']);
    assert.ok(Number(found[0]!.params.n) >= 1);
    assert.ok(codes(await databaseFindings(s)).includes('witness-behind') === false, 'the doctor judges now');
  } finally {
    fs.writeFileSync(witness.file, kept, { mode: 0o600 });
  }
});
