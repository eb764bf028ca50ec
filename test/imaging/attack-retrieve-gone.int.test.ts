// Attack on a C-GET or C-MOVE whose requester goes away mid-study (issue 18, reviews' findings): the
// retrieval must stop at once — no further file opened or decrypted for a connection that is gone,
// or for a requester that sent an A-ABORT and kept its TCP connection open — and every piece
// decrypted for it, those read ahead included, must be wiped and freed. A real association handler
// and C-GET/C-MOVE services run over real sockets; the archive behind them is a fake whose "sealed
// files" hand out fresh pieces, as the decipher does, so the test can count them; a C-MOVE's
// destination is a second association handler whose storage answers each instance after 20 ms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { setImmediate as tick, setTimeout as sleep } from 'node:timers/promises';
import { AssociationHandler } from '../../src/imaging/dimse/association-handler.ts';
import { cGet } from '../../src/imaging/dimse/c-get.ts';
import { AssociationLimits } from '../../src/imaging/dimse/association-limits.ts';
import { cMove } from '../../src/imaging/dimse/c-move.ts';
import { cStore } from '../../src/imaging/dimse/c-store.ts';
import type { DimseService } from '../../src/imaging/dimse/service-classes.ts';
import { CommandField, Status } from '../../src/imaging/dicom/command.ts';
import { parsePart10Header } from '../../src/imaging/dicom/part10.ts';
import { encodeReleaseRq } from '../../src/imaging/dicom/pdu.ts';
import {
  answerStore,
  type DimseClient,
  getStudy,
  type Message,
  moveStudy as moveStudyTo,
} from '../helpers/dimse-client.ts';
import { makeInstance } from '../helpers/dicom-files.ts';

const PIECE = 65_536;

/**
 * `laterAnswerMs`: how long the move destination takes to answer each instance after the first (20 ms for the first);
 * `failing`: the instance (by its place in the study) whose sealed file fails to authenticate before its piece
 * `atPiece` (0: before its first, as a file that cannot be read at all).
 */
async function archive(
  instances: number,
  o: {
    laterAnswerMs?: number;
    failing?: { instance: number; atPiece: number };
    side?: number;
    limits?: AssociationLimits;
  } = {},
) {
  const { laterAnswerMs = 20, failing, side = 1024 } = o;
  const studyInstanceUid = makeInstance().studyInstanceUid;
  const study = Array.from({ length: instances }, (_, i) =>
    makeInstance({ studyInstanceUid, rows: side, columns: side, seed: i + 1, undefinedLengthSequences: false }),
  );
  const made: Buffer[] = [];
  let opened = 0;
  const images = {
    async *open(_tenant: string, instance: { sopInstanceUid: string }) {
      const place = study.findIndex((x) => x.sopInstanceUid === instance.sopInstanceUid);
      const file = study[place]!.file;
      const fails = failing?.instance === place ? failing.atPiece : -1;
      opened++;
      if (fails === 0) throw new Error('sealed stream chunk 0 does not authenticate');
      const cut = parsePart10Header(file)!.datasetOffset + 100;
      yield Buffer.from(file.subarray(0, cut));
      for (let at = cut, piece = 1; at < file.length; at += PIECE, piece++) {
        await tick();
        if (piece === fails) throw new Error(`sealed stream chunk ${piece} does not authenticate`);
        const p = Buffer.allocUnsafeSlow(Math.min(PIECE, file.length - at));
        file.copy(p, 0, at, at + p.length);
        made.push(p);
        yield p;
      }
    },
  };
  let destinationPort = 0;
  const deps = {
    deviceByAeTitle: async (_tenant: string, ae: string) =>
      ae === 'DEST'
        ? {
            id: 'dest',
            aeTitle: 'KARTEI',
            departmentId: 'dep1',
            permissions: ['retrieve'],
            host: '127.0.0.1',
            port: destinationPort,
          }
        : undefined,
    gate: {
      run: (principal: unknown, _a: unknown, _r: unknown, work: (ctx: unknown) => unknown) => work({ principal }),
    },
    identifyDevice: async () => ({
      ok: true,
      tenantId: 't1',
      device: { id: 'dev1' },
      principal: { device: { departmentId: 'dep1' } },
    }),
    audit: async () => undefined,
    auditAttempt: async () => undefined,
    departmentKey: async () => Buffer.alloc(32),
    retrieveInstances: async () =>
      study.map((x) => ({
        images,
        tenantId: 't1',
        key: Buffer.alloc(32),
        instance: { sopClassUid: x.sopClassUid, sopInstanceUid: x.sopInstanceUid, transferSyntaxUid: x.transferSyntax },
      })),
  };
  const listen = async (services: DimseService[], runs: Promise<void>[], limits?: AssociationLimits) => {
    const server = net.createServer((socket) => {
      socket.on('error', () => socket.destroy());
      const handler = new AssociationHandler(
        socket,
        { deps: deps as never, aeTitle: 'KARTEI', ...(limits ? { limits } : {}) },
        new Map(services.map((s) => [s.command, s])) as never,
      );
      runs.push(handler.run());
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return server;
  };
  const runs: Promise<void>[] = [];
  // C-STORE declared too: its SOP classes are what C-GET's storage contexts are accepted for.
  const server = await listen([cGet, cMove, cStore], runs, o.limits);
  const destination = await listen([slowStore(laterAnswerMs)], []);
  destinationPort = (destination.address() as net.AddressInfo).port;
  return {
    study,
    made,
    opened: () => opened,
    runs,
    port: (server.address() as net.AddressInfo).port,
    close() {
      server.close();
      destination.close();
    },
  };
}

/** A move destination's storage: takes each instance's dataset, answers success 20 ms after the first one's end, `laterMs` after the others'. */
function slowStore(laterMs: number): DimseService {
  let stored = 0;
  return {
    command: CommandField.CStoreRq,
    access: { action: 'dicom.store', resource: 'department' },
    sopClasses: () => true,
    start: (scope, command, contextId) => ({
      data() {},
      async end() {
        await sleep(stored++ === 0 ? 20 : laterMs);
        scope.send(contextId, {
          commandField: CommandField.CStoreRsp,
          hasDataset: false,
          messageIdBeingRespondedTo: command.messageId,
          affectedSopClassUid: command.affectedSopClassUid,
          affectedSopInstanceUid: command.affectedSopInstanceUid,
          status: Status.Success,
        });
      },
    }),
  };
}

/** Asks for the whole study to be moved to DEST. */
const moveStudy = (port: number, studyInstanceUid: string) =>
  moveStudyTo(port, studyInstanceUid, { calling: 'MOVER', destination: 'DEST' });

/** The requester's association ended, no further file was opened for it, and every decrypted piece is wiped. */
async function assertStopped(a: Awaited<ReturnType<typeof archive>>, openedBefore: number) {
  const ended = await Promise.race([a.runs[0]!.then(() => 'ended'), sleep(10_000).then(() => 'still running')]);
  assert.equal(ended, 'ended', 'the association ended');
  await sleep(50);
  assert.ok(openedBefore < 5, `the retrieval was under way, not done (${openedBefore} files opened)`);
  assert.ok(
    a.opened() <= openedBefore + 1,
    `no file opened for a requester gone (${openedBefore} → ${a.opened()} of 20)`,
  );
  const left = a.made.filter((p) => p.buffer.byteLength > 0).length;
  assert.equal(left, 0, `${left} of ${a.made.length} decrypted pieces not wiped`);
}

for (const how of ['destroy', 'resetAndDestroy'] as const)
  test(`attack: a C-GET requester gone mid-study (${how}): the retrieval stops, opens no further file, and wipes every piece`, {
    timeout: 60_000,
  }, async () => {
    const a = await archive(20);
    try {
      const first = a.study[0]!;
      const c = await getStudy(a.port, first, { calling: 'GETTER' });
      const sub = await c.next();
      assert.equal(sub.command.commandField, CommandField.CStoreRq, 'the first sub-operation arrives');
      answerStore(c, sub);
      // The pending response, then the second sub-operation, whose answer never comes.
      const pending = await c.next();
      assert.equal(pending.command.commandField, CommandField.CGetRsp);
      const second = await c.next();
      assert.equal(second.command.commandField, CommandField.CStoreRq, 'the second sub-operation arrives');
      await sleep(20);
      const openedBefore = a.opened();
      const socket = (c as unknown as { socket: net.Socket }).socket;
      socket[how]();
      await assertStopped(a, openedBefore);
    } finally {
      a.close();
    }
  });

// The requester ends the association while its C-GET waits for a sub-operation's answer — by its A-ABORT (keeping its
// TCP connection open), by a PDU out of turn that we answer with ours, or by asking to release it: the server must
// close the connection and stop the retrieval (a release used to wait for the C-GET, which waited for an answer that
// nothing read: both for good).
const ends = {
  'sends an A-ABORT and keeps its connection open': (c: DimseClient) => c.abort(),
  'sends a PDU of no known type': (c: DimseClient) => c.writeRaw(Buffer.of(0x0a, 0, 0, 0, 0, 2, 0, 0)),
  'asks to release the association': (c: DimseClient) => c.writeRaw(encodeReleaseRq()),
};
for (const [how, end] of Object.entries(ends))
  test(`attack: a C-GET requester ${how} mid-study: the server closes the connection, the retrieval stops, every piece is wiped`, {
    timeout: 60_000,
  }, async () => {
    const a = await archive(20);
    let c: DimseClient | undefined;
    try {
      const first = a.study[0]!;
      c = await getStudy(a.port, first, { calling: 'GETTER' });
      const sub = await c.next();
      answerStore(c, sub);
      assert.equal((await c.next()).command.commandField, CommandField.CGetRsp, 'a pending response');
      assert.equal((await c.next()).command.commandField, CommandField.CStoreRq, 'the second sub-operation arrives');
      await sleep(20);
      const openedBefore = a.opened();
      end(c);
      const closed = await Promise.race([c.closed().then(() => 'closed'), sleep(5_000).then(() => 'open')]);
      assert.equal(closed, 'closed', 'the server closed the connection');
      await assertStopped(a, openedBefore);
    } finally {
      c?.destroy();
      a.close();
    }
  });

// A C-MOVE whose requester leaves — by an A-ABORT with the connection kept open, or by closing it — stops moving;
// the destination here takes 3 s for each instance after the first, so the A-ABORT's connection must close before
// the instance in flight is answered.
for (const how of ['abort', 'destroy'] as const)
  test(`attack: a C-MOVE requester leaves mid-study (${how}): the connection closes at once, the move stops, every piece is wiped`, {
    timeout: 60_000,
  }, async () => {
    const a = await archive(20, { laterAnswerMs: 3_000 });
    let c: DimseClient | undefined;
    try {
      c = await moveStudy(a.port, a.study[0]!.studyInstanceUid);
      const pending = await c.next();
      assert.equal(pending.command.commandField, CommandField.CMoveRsp);
      assert.equal(pending.command.status, Status.Pending, 'the first instance was moved');
      await sleep(20);
      const openedBefore = a.opened();
      c[how]();
      const closed = await Promise.race([c.closed().then(() => 'closed'), sleep(1_000).then(() => 'open')]);
      assert.equal(closed, 'closed', 'the connection closed before the instance in flight was answered');
      await assertStopped(a, openedBefore);
    } finally {
      c?.destroy();
      a.close();
    }
  });

// A stored file that fails to authenticate mid-way (altered on disk) after part of its dataset went out: DICOM has
// no way to drop half a message, so the requester must get an A-ABORT — never our next command read as the rest of
// that dataset — and the retrieval must stop there.
test('attack: a C-GET whose second file fails mid-way: the requester gets an A-ABORT, not a next command, and the retrieval stops', {
  timeout: 60_000,
}, async () => {
  const a = await archive(20, { failing: { instance: 1, atPiece: 3 } });
  let c: DimseClient | undefined;
  try {
    c = await getStudy(a.port, a.study[0]!, { calling: 'GETTER' });
    answerStore(c, await c.next());
    assert.equal((await c.next()).command.commandField, CommandField.CGetRsp, 'a pending response');
    // The second sub-operation's dataset never ends: what comes after it must be our A-ABORT.
    await assert.rejects(c.next(), /unexpected abort/);
    const closed = await Promise.race([c.closed().then(() => 'closed'), sleep(8_000).then(() => 'open')]);
    assert.equal(closed, 'closed', 'the connection closed');
    await assertStopped(a, 3);
  } finally {
    c?.destroy();
    a.close();
  }
});

test('a C-GET whose second file cannot be read at all goes on: that instance is counted failed, the rest delivered', {
  timeout: 60_000,
}, async () => {
  const a = await archive(5, { failing: { instance: 1, atPiece: 0 } });
  let c: DimseClient | undefined;
  try {
    c = await getStudy(a.port, a.study[0]!, { calling: 'GETTER' });
    let final: Message | undefined;
    let stored = 0;
    while (!final) {
      const m = await c.next();
      if (m.command.commandField === CommandField.CStoreRq) {
        stored++;
        answerStore(c, m);
      } else if (m.command.status !== Status.Pending) final = m;
    }
    assert.equal(stored, 4, 'the four readable instances arrived');
    assert.equal(final.command.status, Status.SubOperationsCompleteWithFailures);
    assert.equal(final.command.failedSuboperations, 1);
    assert.equal(final.command.completedSuboperations, 4);
    await c.release();
  } finally {
    c?.destroy();
    a.close();
  }
});

test('attack: a C-MOVE whose second file fails mid-way: the destination association is aborted, the move stops and says so', {
  timeout: 60_000,
}, async () => {
  const a = await archive(20, { failing: { instance: 1, atPiece: 3 } });
  let c: DimseClient | undefined;
  try {
    c = await moveStudy(a.port, a.study[0]!.studyInstanceUid);
    let final: Message | undefined;
    while (!final) {
      const m = await c.next();
      if (m.command.status !== Status.Pending) final = m;
    }
    assert.equal(final.command.status, Status.SubOperationsCompleteWithFailures);
    assert.equal(final.command.completedSuboperations, 1, 'the first instance was moved');
    assert.equal(final.command.failedSuboperations, 19, 'the cut one and the rest failed: none sent after it');
    assert.ok(a.opened() <= 3, `no file opened after the cut (${a.opened()} of 20)`);
    const left = a.made.filter((p) => p.buffer.byteLength > 0).length;
    assert.equal(left, 0, `${left} of ${a.made.length} decrypted pieces not wiped`);
    await c.release();
  } finally {
    c?.destroy();
    a.close();
  }
});

// A requester that stops reading while an instance is sent (the sender waits for the socket to drain) and then
// sends a PDU of no known type: our A-ABORT cannot be flushed to it, and an ended socket never drains — the
// association must still end (the socket let go after the grace time), not hold its place and decrypted pieces
// for as long as the peer keeps the connection.
test('attack: a C-GET requester that stops reading and then breaks the protocol: the association still ends, every piece is wiped', {
  timeout: 60_000,
}, async () => {
  // Instances of 32 MiB: more than the loopback connection's buffers hold.
  const a = await archive(3, { side: 4096 });
  let c: DimseClient | undefined;
  try {
    c = await getStudy(a.port, a.study[0]!, { calling: 'GETTER' });
    c.pauseReading();
    await sleep(1_000);
    c.writeRaw(Buffer.of(0x0a, 0, 0, 0, 0, 2, 0, 0));
    const ended = await Promise.race([a.runs[0]!.then(() => 'ended'), sleep(15_000).then(() => 'still running')]);
    assert.equal(ended, 'ended', 'the association ended');
    assert.ok(a.opened() <= 2, `no file opened after the first and the one read ahead (${a.opened()} of 3)`);
    const left = a.made.filter((p) => p.buffer.byteLength > 0).length;
    assert.equal(left, 0, `${left} of ${a.made.length} decrypted pieces not wiped`);
  } finally {
    c?.destroy();
    a.close();
  }
});

// A device's association limit holds while what it asked for still runs: a requester that aborts its C-MOVE and
// associates again at once is refused until the instance in flight (the destination takes 3 s) has been answered.
test('attack: a device that aborts its C-MOVE and reconnects at once cannot run more than its limit', {
  timeout: 60_000,
}, async () => {
  const a = await archive(20, { laterAnswerMs: 3_000, limits: new AssociationLimits(1, 10) });
  let c: DimseClient | undefined;
  try {
    c = await moveStudy(a.port, a.study[0]!.studyInstanceUid);
    assert.equal((await c.next()).command.status, Status.Pending, 'the first instance was moved');
    c.abort();
    await c.closed();
    const second = await moveStudy(a.port, a.study[0]!.studyInstanceUid).then(
      (x) => {
        x.destroy();
        return 'accepted';
      },
      (e: Error) => e.message,
    );
    assert.match(second, /not accepted: associate-rj/, 'the device already runs its one association');
    await a.runs[0];
    // Once the move has stopped, the device's place is free again.
    const again = await moveStudy(a.port, a.study[0]!.studyInstanceUid);
    again.destroy();
  } finally {
    c?.destroy();
    a.close();
  }
});
