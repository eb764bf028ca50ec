// Several instances on one database whose clocks differ (issue 19, instances): liveness is judged from
// heartbeats. The shared store's recovery expects clocks of instances to differ by minutes
// (vault/sealed-store.ts, SHARED_STORE_GRACE_MS); an instance whose clock runs a minute behind must
// still count as live for the others, so none takes what it holds: its setup link (which would stop
// working), its DEMIS poll, its letter runs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { InstanceRegistry, liveInstanceIds, type InstanceFacts } from '../../src/db/instances.ts';
import { claimSetupToken } from '../../src/identity/setup.ts';
import { keyFingerprint, schemaLevel } from '../../src/ops/instances.ts';
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

test('an instance whose clock runs a minute behind is live to the others: its setup link is not taken', {
  todo: "hole: heartbeats are each instance's own clock (InstanceRegistry.register/beat, src/db/instances.ts) compared against the reader's own clock (liveInstanceIds, LIVE_WITHIN_MS = 30 s): with clocks 30 s or more apart a running instance is dead to a peer, which takes its setup link, DEMIS poll and letter runs (two pollers, two runners); write and compare heartbeats with the database's clock (now()) instead",
}, async () => {
  await h.server.registry.stop();
  const skew = 60_000;
  const behind = Date.now() - skew;
  const a = new InstanceRegistry(h.services.store, facts('langsam.example'));
  const b = new InstanceRegistry(h.services.store, facts('genau.example'));
  try {
    await a.register(behind);
    await a.beat(behind);
    await b.register();
    const aDir = fs.mkdtempSync(path.join(h.dir, 'slow-'));
    const bDir = fs.mkdtempSync(path.join(h.dir, 'exact-'));
    const printed = await claimSetupToken(h.services.store, aDir, a.facts, behind);
    assert.ok(printed && 'token' in printed, 'a prints the link');
    const live = (await liveInstanceIds(h.services.store.db).execute()).map((r) => r.id);
    assert.ok(live.includes(a.id), 'a, beating just now by its clock, is live to b');
    const second = await claimSetupToken(h.services.store, bDir, b.facts);
    assert.ok(second && 'printedBy' in second, 'b names a as the one that printed the link, and prints none');
  } finally {
    await a.stop();
    await b.stop();
  }
});
