// A flood of unauthenticated attempts cannot fill the disk: refused DICOM
// associations are aggregated per source and minute, so 2,000 of them are a
// handful of audit events whose counts add up to 2,000 — also when some are
// refused for the address's connection limit; and however many sources there
// are, the counting holds a bounded number of them in memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { DEPLOYMENT_CHAIN } from '../../src/db/schema.ts';
import { AttemptLog } from '../../src/audit/attempts.ts';
import type { AuditEvent } from '../../src/audit/audit-log.ts';
import { startDimseListener } from '../../src/imaging/dimse/listener.ts';
import { encodeAssociateRq } from '../../src/imaging/dicom/association.ts';
import { APPLICATION_CONTEXT, VERIFICATION } from '../../src/imaging/dicom/uids.ts';
import { freePort, startHarness, setUpTenant, type Harness } from '../helpers/harness.ts';

/** One association request from an AE title nobody registered; resolves when the server has answered and closed. */
function intrude(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () =>
      socket.write(
        encodeAssociateRq({
          protocolVersion: 1,
          calledAeTitle: 'KARTEI',
          callingAeTitle: 'INTRUDER',
          applicationContext: APPLICATION_CONTEXT,
          presentationContexts: [{ id: 1, abstractSyntax: VERIFICATION, transferSyntaxes: ['1.2.840.10008.1.2'] }],
          maxPduLength: 1 << 16,
          implementationClassUid: '1.2.826.0.1.3680043.10.1234.9',
          roleSelections: new Map(),
        }),
      ),
    );
    socket.on('data', () => undefined);
    socket.once('close', () => resolve());
    socket.once('error', reject);
  });
}

/** The deployment chain's association events, in order. */
const associateRows = (h: Harness) =>
  inTenantTransaction(h.services.store, DEPLOYMENT_CHAIN, (tx) =>
    tx
      .selectFrom('audit_events')
      .selectAll()
      .where('tenant_id', '=', DEPLOYMENT_CHAIN)
      .where('action', '=', 'dicom.associate')
      .orderBy('seq')
      .execute(),
  );

test('2,000 refused associations from one source are a bounded number of events, whose counts add up', async () => {
  const h = await startHarness();
  await setUpTenant(h, ['INF']);
  // The address's connection limit (16 by default) out of the way: every one of the 50 at a time is refused for its AE title.
  const listener = await startDimseListener(
    { host: '127.0.0.1', port: await freePort(), aeTitle: 'KARTEI', maxAssociationsPerAddress: 2_000 },
    { deps: h.dimseDeps },
  );
  try {
    const rows = () => associateRows(h);
    assert.equal((await rows()).length, 0);
    const FLOOD = 2_000;
    for (let i = 0; i < FLOOD; i += 50) await Promise.all(Array.from({ length: 50 }, () => intrude(listener.port)));
    const during = await rows();
    // The first of each minute at once; a minute boundary during the flood adds one more and that minute's count.
    assert.ok(during.length >= 1 && during.length <= 3, `${during.length} events while the flood is counted`);
    await h.services.audit.attempts.flush(true);
    const all = await rows();
    assert.ok(all.length <= 4, `${all.length} events for ${FLOOD} attempts`);
    const details = all.map((r) => JSON.parse(r.detail!));
    // Each first attempt is an event of its own; a count event stands for `count` further attempts.
    assert.equal(
      details.reduce((n, d) => n + (d.count ?? 1), 0),
      FLOOD,
    );
    for (const d of details) {
      assert.equal(d.why, 'unknown-ae');
      assert.match(d.source, /^[0-9a-f]{32}$/, 'the source address is kept as a keyed hash');
    }
    assert.ok(all.every((r) => r.outcome === 'denied'));
  } finally {
    await listener.close();
    await h.close();
  }
});

test('connections refused for the limit of their address are counted too: every one of a flood is on the record', async () => {
  const h = await startHarness();
  await setUpTenant(h, ['INF']);
  const listener = await startDimseListener(
    { host: '127.0.0.1', port: await freePort(), aeTitle: 'KARTEI', maxAssociationsPerAddress: 4 },
    { deps: h.dimseDeps, log: () => undefined },
  );
  const idle: net.Socket[] = [];
  try {
    // Four silent connections hold the address's places: the 200 that follow are refused before they send anything.
    for (let i = 0; i < 4; i++) {
      const s = net.connect({ host: '127.0.0.1', port: listener.port });
      await new Promise((r) => s.once('connect', r));
      idle.push(s);
    }
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 200; i += 50) await Promise.all(Array.from({ length: 50 }, () => intrude(listener.port)));
    // With the places free again, 50 more are refused for their AE title (on a slow database some for the limit again).
    for (const s of idle) s.destroy();
    await new Promise((r) => setTimeout(r, 50));
    await Promise.all(Array.from({ length: 50 }, () => intrude(listener.port)));
    await h.services.audit.attempts.flush(true);
    const details = (await associateRows(h)).map((r) => JSON.parse(r.detail!));
    const refused = (why: string) => details.filter((d) => d.why === why).reduce((n, d) => n + (d.count ?? 1), 0);
    assert.ok(refused('too-many-associations') >= 200, JSON.stringify(details));
    assert.equal(refused('unknown-ae') + refused('too-many-associations'), 250, JSON.stringify(details));
    assert.ok(details.length <= 8, `${details.length} events for 250 attempts`);
    for (const d of details) assert.match(d.source, /^[0-9a-f]{32}$/, 'the source address is kept as a keyed hash');
  } finally {
    for (const s of idle) s.destroy();
    await listener.close();
    await h.close();
  }
});

test('the counting holds at most MAX_SOURCES sources a minute; the rest share one bucket', async () => {
  const written: AuditEvent[] = [];
  let now = Date.parse('2025-01-01T10:00:05Z');
  const log = new AttemptLog<AuditEvent>(
    async (e) => void written.push(e),
    (a) => `h(${a})`,
    () => now,
    10,
  );
  const attempt = (source: string) =>
    log.record(
      {
        tenantId: DEPLOYMENT_CHAIN,
        actorId: null,
        action: 'auth.login-failed',
        resourceType: 'session',
        outcome: 'denied',
      },
      source,
    );
  for (let i = 0; i < 500; i++) for (let k = 0; k < 3; k++) await attempt(`10.0.${i >> 8}.${i & 255}`);
  // 10 sources written at once, then one shared bucket for the other 490.
  assert.equal(written.length, 11);
  assert.equal(written.at(-1)!.detail!.source, 'many');
  now += 60_000;
  await log.flush();
  const counts = written.slice(11).map((e) => e.detail!.count as number);
  assert.equal(counts.reduce((a, b) => a + b, 0) + 11, 1_500);
  assert.equal(written.length, 11 + 11);
  // The next minute starts afresh.
  await attempt('10.0.0.1');
  assert.equal(written.at(-1)!.detail!.source, 'h(10.0.0.1)');
  assert.equal(written.at(-1)!.detail!.count, undefined);
});
