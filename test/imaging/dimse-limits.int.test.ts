// What a peer may make the DICOM listener hold is bounded: a command set sent
// in endless fragments, an identifier of many megabytes, a PDU announcing
// gigabytes each end the association with an A-ABORT at once, audited, and the
// server's memory does not grow with what was sent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { DEPLOYMENT_CHAIN } from '../../src/db/schema.ts';
import { encodeAssociateRq } from '../../src/imaging/dicom/association.ts';
import { CommandField, encodeCommand, Priority } from '../../src/imaging/dicom/command.ts';
import { pDataPdus, PduReader, type Pdu } from '../../src/imaging/dicom/pdu.ts';
import { APPLICATION_CONTEXT, QueryRetrieveSopClass, TransferSyntax } from '../../src/imaging/dicom/uids.ts';
import { startDimseListener, type DimseListener } from '../../src/imaging/dimse/listener.ts';
import { RejectReason, RejectResult, RejectSource } from '../../src/imaging/dicom/association.ts';
import { startHarness, setUpTenant, freePort, type Harness, type Tenant } from '../helpers/harness.ts';
import { testCa, testCertificate } from '../helpers/certificates.ts';

let h: Harness;
let t: Tenant;
let listener: DimseListener;

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h, ['TB']);
  const r = await t.admin.post('/api/admin/devices', {
    aeTitle: 'GREEDY',
    departmentId: t.departments.TB,
    permissions: ['store', 'find'],
    host: '127.0.0.1',
  });
  assert.equal(r.status, 201);
  listener = await startDimseListener(
    { host: '127.0.0.1', port: await freePort(), aeTitle: 'KARTEI' },
    { deps: h.dimseDeps, log: () => undefined },
  );
});
after(async () => {
  await listener?.close();
  await h.close();
});

const FIND = QueryRetrieveSopClass.StudyRootFind;

/** A raw peer: associates as GREEDY, then writes what it is given as fast as the server reads it. */
class Peer {
  readonly pdus: Pdu[] = [];
  closed = false;
  private readonly reader = new PduReader(1 << 20);
  private wake: (() => void) | undefined;
  readonly socket: net.Socket;
  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d) => {
      try {
        this.pdus.push(...this.reader.push(d));
      } catch {
        socket.destroy();
      }
      this.wake?.();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
  }

  static async associate(port = listener.port): Promise<Peer> {
    const p = await Peer.ask(port);
    assert.equal(p.pdus[0]?.type, 'associate-ac');
    return p;
  }

  /** Asks for an association and waits for the answer, whatever it is. */
  static async ask(port = listener.port): Promise<Peer> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise((r) => socket.once('connect', r));
    const p = new Peer(socket);
    socket.write(
      encodeAssociateRq({
        protocolVersion: 1,
        calledAeTitle: 'KARTEI',
        callingAeTitle: 'GREEDY',
        applicationContext: APPLICATION_CONTEXT,
        presentationContexts: [
          { id: 1, abstractSyntax: FIND, transferSyntaxes: [TransferSyntax.ImplicitVrLittleEndian] },
        ],
        maxPduLength: 1 << 20,
        implementationClassUid: '1.2.3.4',
        roleSelections: new Map(),
      }),
    );
    await p.until(() => p.pdus.length > 0 || p.closed, 5_000);
    return p;
  }

  /** Waits until `done()` holds or `ms` pass. */
  async until(done: () => boolean, ms: number) {
    const end = Date.now() + ms;
    while (!done() && Date.now() < end)
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 50);
      });
  }

  get aborted() {
    return this.pdus.some((p) => p.type === 'abort');
  }

  /**
   * Writes `pdu` again and again (the same bytes: the peer holds nothing) until `total` bytes are
   * sent or the server ends the association; returns what was sent, how long it took, and the
   * largest growth of this process's buffer memory meanwhile (the server runs in this process).
   */
  async flood(pdu: Buffer, total: number) {
    const base = process.memoryUsage().arrayBuffers;
    let peak = 0;
    let sent = 0;
    const started = Date.now();
    while (sent < total && !this.closed && !this.aborted) {
      if (!this.socket.write(pdu))
        await new Promise<void>((r) => {
          this.socket.once('drain', r);
          this.socket.once('close', r);
        });
      sent += pdu.length;
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
    }
    await this.until(() => this.aborted || this.closed, 3_000);
    peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
    this.socket.destroy();
    return { sent, ms: Date.now() - started, growth: peak };
  }
}

/** One P-DATA-TF PDU of a single fragment that is never the last. */
function fragment(isCommand: boolean, bytes: number): Buffer {
  const [head, data] = pDataPdus(1, isCommand, Buffer.alloc(bytes, 0x41), 0);
  head!.writeUInt32BE(6 + bytes, 2);
  head![11] = isCommand ? 1 : 0; // not last
  return Buffer.concat([head!, data!]);
}

const MiB = 1024 * 1024;

async function abortEvents(tenantId: string) {
  const rows = await inTenantTransaction(h.services.store, tenantId, (tx) =>
    tx
      .selectFrom('audit_events')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('action', '=', 'dicom.abort')
      .orderBy('seq')
      .execute(),
  );
  return rows.map((r) => ({ outcome: r.outcome, actor: r.actor_id, ...JSON.parse(r.detail!) }));
}

test('a command set sent in endless fragments is aborted at once, audited, and the server does not grow with it', async () => {
  const peer = await Peer.associate();
  const r = await peer.flood(fragment(true, 64 * 1024), 96 * MiB);
  assert.ok(peer.aborted, `no A-ABORT after ${r.sent} bytes of command fragments`);
  assert.ok(r.sent < 16 * MiB, `the server read ${r.sent} bytes of command fragments before stopping`);
  assert.ok(r.growth < 24 * MiB, `buffer memory grew by ${(r.growth / MiB).toFixed(1)} MiB`);
  assert.ok(r.ms < 5_000, `took ${r.ms} ms`);
  const events = await abortEvents(t.tenantId);
  assert.ok(
    events.some((e) => e.limit === 'command-set' && e.outcome === 'denied' && e.callingAe === 'GREEDY' && e.actor),
    JSON.stringify(events),
  );
});

test('a C-FIND identifier of many megabytes is aborted at 1 MiB and audited', async () => {
  const peer = await Peer.associate();
  const command = encodeCommand({
    commandField: CommandField.CFindRq,
    hasDataset: true,
    affectedSopClassUid: FIND,
    messageId: 1,
    priority: Priority.Medium,
  });
  for (const b of pDataPdus(1, true, command, 1 << 20)) peer.socket.write(b);
  const r = await peer.flood(fragment(false, 64 * 1024), 64 * MiB);
  assert.ok(peer.aborted, `no A-ABORT after ${r.sent} bytes of identifier`);
  assert.ok(r.sent < 16 * MiB, `the server read ${r.sent} bytes of identifier before stopping`);
  const events = await abortEvents(t.tenantId);
  assert.ok(
    events.some((e) => e.limit === 'identifier' && e.max === MiB),
    JSON.stringify(events),
  );
});

test('a PDU announcing more than we accept is aborted before its body, audited on the deployment chain before an association', async () => {
  const before = (await abortEvents(DEPLOYMENT_CHAIN)).length;
  const socket = net.connect({ host: '127.0.0.1', port: listener.port });
  const got: Buffer[] = [];
  socket.on('data', (d) => got.push(d));
  await new Promise((r) => socket.once('connect', r));
  socket.write(Buffer.from([0x01, 0, 0x7f, 0xff, 0xff, 0xff]));
  await new Promise((r) => socket.once('close', r));
  assert.equal(Buffer.concat(got)[0], 0x07, 'A-ABORT');
  const events = await abortEvents(DEPLOYMENT_CHAIN);
  assert.equal(events.length, before + 1);
  assert.equal(events.at(-1)!.limit, 'pdu-length');

  const peer = await Peer.associate();
  peer.socket.write(Buffer.from([0x04, 0, 0x40, 0, 0, 0]));
  await peer.until(() => peer.aborted, 3_000);
  assert.ok(peer.aborted);
  peer.socket.destroy();
  assert.ok((await abortEvents(t.tenantId)).some((e) => e.limit === 'pdu-length' && e.size === 0x40000000));
});

const LOCAL_LIMIT = {
  result: RejectResult.Transient,
  source: RejectSource.Presentation,
  reason: RejectReason.LocalLimitExceeded,
};

async function associateEvents(tenantId: string) {
  const rows = await inTenantTransaction(h.services.store, tenantId, (tx) =>
    tx
      .selectFrom('audit_events')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('action', '=', 'dicom.associate')
      .orderBy('seq')
      .execute(),
  );
  return rows.map((r) => ({ outcome: r.outcome, ...JSON.parse(r.detail!) }));
}

test('20 associations of one device: 8 are held, the others are refused (transient, local limit exceeded) and audited; a place freed is taken again', async () => {
  const peers: Peer[] = [];
  for (let i = 0; i < 20; i++) peers.push(await Peer.ask());
  const accepted = peers.filter((p) => p.pdus[0]?.type === 'associate-ac');
  const refused = peers.filter((p) => p.pdus[0]?.type === 'associate-rj');
  assert.equal(accepted.length, 8, `accepted ${accepted.length}`);
  assert.equal(refused.length, 12);
  for (const p of refused) assert.deepEqual((p.pdus[0] as Extract<Pdu, { type: 'associate-rj' }>).rj, LOCAL_LIMIT);
  const denied = (await associateEvents(t.tenantId)).filter((e) => e.why === 'too-many-associations');
  assert.equal(denied.length, 12);
  assert.ok(
    denied.every((e) => e.outcome === 'denied' && e.limit === 'device' && e.max === 8 && e.callingAe === 'GREEDY'),
  );

  accepted[0]!.socket.destroy();
  await accepted[0]!.until(() => accepted[0]!.closed, 2_000);
  await new Promise((r) => setTimeout(r, 50));
  const again = await Peer.ask();
  assert.equal(again.pdus[0]?.type, 'associate-ac', 'the place of a closed association is free again');
  assert.equal((await Peer.ask()).pdus[0]?.type, 'associate-rj');
  for (const p of [...peers, again]) p.socket.destroy();
});

test('connections from one address beyond its limit are refused before they send anything; audited once per minute', async () => {
  const small = await startDimseListener(
    { host: '127.0.0.1', port: await freePort(), aeTitle: 'KARTEI', maxAssociationsPerAddress: 4 },
    { deps: h.dimseDeps, log: () => undefined },
  );
  const before = (await associateEvents(DEPLOYMENT_CHAIN)).filter((e) => e.why === 'too-many-associations').length;
  try {
    const idle: net.Socket[] = [];
    for (let i = 0; i < 4; i++) {
      const s = net.connect({ host: '127.0.0.1', port: small.port });
      await new Promise((r) => s.once('connect', r));
      idle.push(s);
    }
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 3; i++) {
      const s = net.connect({ host: '127.0.0.1', port: small.port });
      const got: Buffer[] = [];
      s.on('data', (d) => got.push(d));
      await new Promise((r) => s.once('close', r));
      const rj = new PduReader(1 << 16).push(Buffer.concat(got));
      assert.deepEqual(
        rj.map((p) => p.type === 'associate-rj' && p.rj),
        [LOCAL_LIMIT],
        'refused without being asked',
      );
    }
    // Associations count too: with one idle connection gone, a device gets in.
    idle.pop()!.destroy();
    await new Promise((r) => setTimeout(r, 50));
    const p = await Peer.associate(small.port);
    p.socket.destroy();
    for (const s of idle) s.destroy();
    const events = (await associateEvents(DEPLOYMENT_CHAIN)).filter((e) => e.why === 'too-many-associations');
    assert.equal(events.length, before + 1, 'three refusals, one audit event');
    assert.equal(events.at(-1)!.limit, 'address');
    assert.equal(events.at(-1)!.max, 4);
  } finally {
    await small.close();
  }
});

test('over TLS, connections that never finish the handshake count against their address too: beyond the limit they are closed at once', async () => {
  const server = testCertificate('localhost');
  const tlsListener = await startDimseListener(
    {
      host: '127.0.0.1',
      port: await freePort(),
      aeTitle: 'KARTEI',
      maxAssociationsPerAddress: 2,
      tls: { certFile: server.certFile, keyFile: server.keyFile, caFile: testCa().certFile },
    },
    { deps: h.dimseDeps, log: () => undefined },
  );
  const sockets: net.Socket[] = [];
  try {
    for (let i = 0; i < 50; i++) {
      const s = net.connect(tlsListener.port, '127.0.0.1');
      s.on('error', () => undefined);
      sockets.push(s);
    }
    await new Promise((r) => setTimeout(r, 1_000));
    const open = sockets.filter((s) => !s.destroyed && s.readyState === 'open').length;
    assert.ok(open <= 2, `${open} of 50 silent connections held open (limit 2 per address)`);
  } finally {
    for (const s of sockets) s.destroy();
    await tlsListener.close();
    await h.services.audit.attempts.flush(true);
  }
});
