// Attack on a C-GET whose requester goes away mid-study (issue 18, a review's finding): the
// retrieval must stop at once — no further file opened or decrypted for a connection that is gone —
// and every piece decrypted for it, those read ahead included, must be wiped and freed. A real
// association handler and C-GET service run over a real socket; the archive behind them is a fake
// whose "sealed files" hand out fresh pieces, as the decipher does, so the test can count them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { setImmediate as tick, setTimeout as sleep } from 'node:timers/promises';
import { AssociationHandler } from '../../src/imaging/dimse/association-handler.ts';
import { cGet } from '../../src/imaging/dimse/c-get.ts';
import { cStore } from '../../src/imaging/dimse/c-store.ts';
import { CommandField } from '../../src/imaging/dicom/command.ts';
import { parsePart10Header } from '../../src/imaging/dicom/part10.ts';
import { answerStore, getStudy } from '../helpers/dimse-client.ts';
import { makeInstance } from '../helpers/dicom-files.ts';

const PIECE = 65_536;

async function archive(instances: number) {
  const studyInstanceUid = makeInstance().studyInstanceUid;
  const study = Array.from({ length: instances }, (_, i) =>
    makeInstance({ studyInstanceUid, rows: 1024, columns: 1024, seed: i + 1, undefinedLengthSequences: false }),
  );
  const made: Buffer[] = [];
  let opened = 0;
  const images = {
    async *open(_tenant: string, instance: { sopInstanceUid: string }) {
      const file = study.find((x) => x.sopInstanceUid === instance.sopInstanceUid)!.file;
      opened++;
      const cut = parsePart10Header(file)!.datasetOffset + 100;
      yield Buffer.from(file.subarray(0, cut));
      for (let at = cut; at < file.length; at += PIECE) {
        await tick();
        const p = Buffer.allocUnsafeSlow(Math.min(PIECE, file.length - at));
        file.copy(p, 0, at, at + p.length);
        made.push(p);
        yield p;
      }
    },
  };
  const deps = {
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
  const runs: Promise<void>[] = [];
  const server = net.createServer((socket) => {
    socket.on('error', () => socket.destroy());
    const handler = new AssociationHandler(
      socket,
      { deps: deps as never, aeTitle: 'KARTEI' },
      // C-STORE declared too: its SOP classes are what C-GET's storage contexts are accepted for.
      new Map([cGet, cStore].map((s) => [s.command, s])) as never,
    );
    runs.push(handler.run());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { study, made, opened: () => opened, runs, port: (server.address() as net.AddressInfo).port, server };
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
    } finally {
      a.server.close();
    }
  });
