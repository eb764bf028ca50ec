// The listener under hostile bytes: random data, mutated association requests,
// PDUs out of order or announcing gigabytes, and an instance cut off halfway.
// Every connection ends (A-ABORT, A-ASSOCIATE-RJ or close) within a bound,
// nothing partial is indexed or left on disk, and the server keeps serving.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { encodeAssociateRq, type AssociateRq } from '../../src/imaging/dicom/association.ts';
import { CommandField, encodeCommand, Priority } from '../../src/imaging/dicom/command.ts';
import { pDataPdus } from '../../src/imaging/dicom/pdu.ts';
import { APPLICATION_CONTEXT, StorageSopClass, TransferSyntax } from '../../src/imaging/dicom/uids.ts';
import { startDimseListener, type DimseListener } from '../../src/imaging/dimse/listener.ts';
import { startHarness, setUpTenant, freePort, type Harness, type Tenant } from '../helpers/harness.ts';
import { makeInstance } from '../helpers/dicom-files.ts';

let h: Harness;
let t: Tenant;
let listener: DimseListener;

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h, ['TB']);
  const r = await t.admin.post('/api/admin/devices', {
    aeTitle: 'FUZZER',
    departmentId: t.departments.TB,
    permissions: ['store'],
    host: '127.0.0.1',
  });
  assert.equal(r.status, 201);
  listener = await startDimseListener(
    { host: '127.0.0.1', port: await freePort(), aeTitle: 'KARTEI' },
    { deps: h.dimseDeps, associationTimeoutMs: 2_000 },
  );
});
after(async () => {
  await listener?.close();
  await h.close();
});

const associateRq = (): Buffer =>
  encodeAssociateRq({
    protocolVersion: 1,
    calledAeTitle: 'KARTEI',
    callingAeTitle: 'FUZZER',
    applicationContext: APPLICATION_CONTEXT,
    presentationContexts: [
      { id: 1, abstractSyntax: StorageSopClass.Ct, transferSyntaxes: [TransferSyntax.ExplicitVrLittleEndian] },
    ],
    maxPduLength: 16384,
    implementationClassUid: '1.2.3.4',
    roleSelections: new Map(),
  } as AssociateRq);

/** Sends the parts in order, then collects what comes back until the server closes (or the bound passes: a failure). */
function exchange(
  parts: Buffer[],
  opts: { hangUp?: boolean } = {},
): Promise<{ reply: Buffer; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port: listener.port });
    const got: Buffer[] = [];
    const bound = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(
          `the server neither answered nor closed within 10 s (case ${parts[0]?.subarray(0, 8).toString('hex')}); got ${Buffer.concat(got).subarray(0, 16).toString('hex')}`,
        ),
      );
    }, 10_000);
    socket.on('data', (d) => got.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(bound);
      resolve({ reply: Buffer.concat(got), closedByServer: !opts.hangUp });
    });
    socket.on('connect', async () => {
      // One PDU at a time, as a peer waiting for answers would send them.
      for (const p of parts) {
        socket.write(p);
        await new Promise((r) => setTimeout(r, 20));
      }
      if (opts.hangUp) setTimeout(() => socket.destroy(), 300);
    });
  });
}

/** xorshift32: the same cases on every run. */
function random(seed: number) {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

const instanceCount = () =>
  inTenantTransaction(
    h.services.store,
    t.tenantId,
    async (tx) => (await tx.selectFrom('instances').select('id').execute()).length,
  );
const filesOnDisk = () => {
  const dir = path.join(h.config.dataDir, 'images');
  return fs.existsSync(dir)
    ? fs.readdirSync(dir, { recursive: true }).filter((f) => String(f).includes('.dcm')).length
    : 0;
};
const echo = () =>
  new Promise<number>((resolve) =>
    execFile(
      'echoscu',
      ['-aet', 'FUZZER', '-aec', 'KARTEI', '127.0.0.1', String(listener.port)],
      { env: { ...process.env, TCP_NODELAY: '1' } },
      (e) => resolve(e ? 1 : 0),
    ),
  );

test('random bytes and mutated association requests end every connection; the server keeps serving', async () => {
  const next = random(0x4b415254);
  const rq = associateRq();
  for (let i = 0; i < 150; i++) {
    const garbage = Buffer.alloc(1 + Math.floor(next() * 2000));
    for (let j = 0; j < garbage.length; j++) garbage[j] = Math.floor(next() * 256);
    if (i % 3 === 0) garbage[0] = 1 + (i % 7); // a plausible PDU type with nonsense after it
    await exchange([garbage], { hangUp: true });
    const mutated = Buffer.from(rq);
    for (let k = 0; k < 1 + (i % 4); k++) {
      const at = Math.floor(next() * mutated.length);
      mutated[at] = mutated[at]! ^ (1 << Math.floor(next() * 8));
    }
    const r = await exchange([mutated, Buffer.from([0x05, 0, 0, 0, 0, 4, 0, 0, 0, 0])]);
    // Whatever the mutation, the answer is an A-ASSOCIATE-AC/RJ, an A-ABORT, or a close.
    if (r.reply.length > 0)
      assert.ok([0x02, 0x03, 0x06, 0x07].includes(r.reply[0]!), `reply type ${r.reply[0]} to case ${i}`);
  }
  assert.equal(await echo(), 0);
});

test('PDUs out of order and PDUs announcing gigabytes are aborted at once', async () => {
  const early = await exchange([Buffer.concat(pDataPdus(1, true, Buffer.alloc(10), 16384))]);
  assert.equal(early.reply[0], 0x07, 'P-DATA before an association: A-ABORT');
  const huge = Buffer.from([0x04, 0, 0x7f, 0xff, 0xff, 0xff]);
  const big = await exchange([associateRq(), huge]);
  assert.equal(big.reply[0], 0x02, 'accepted first');
  assert.equal(
    big.reply[big.reply.length - 10],
    0x07,
    `then A-ABORT, without waiting for 2 GB: ${big.reply.toString('hex')}`,
  );
  const twice = await exchange([associateRq(), associateRq()]);
  assert.equal(twice.reply[twice.reply.length - 10], 0x07, 'a second A-ASSOCIATE-RQ: A-ABORT');
  assert.equal(await echo(), 0);
});

test('an instance cut off halfway, or abandoned mid-dataset, leaves no row and no file', async () => {
  const before = [await instanceCount(), filesOnDisk()];
  const inst = makeInstance({ rows: 128, columns: 128 });
  const command = encodeCommand({
    commandField: CommandField.CStoreRq,
    hasDataset: true,
    affectedSopClassUid: inst.sopClassUid,
    affectedSopInstanceUid: inst.sopInstanceUid,
    messageId: 1,
    priority: Priority.Medium,
  });
  const half = inst.dataset.subarray(0, inst.dataset.length >> 1);
  const pdus = [...pDataPdus(1, true, command, 16384), ...pDataPdus(1, false, half, 16384)];
  // Marked last although the dataset stops inside the pixel data: a truncated dataset.
  const truncated = await exchange([associateRq(), ...pdus, Buffer.from([0x05, 0, 0, 0, 0, 4, 0, 0, 0, 0])]);
  assert.ok(truncated.reply.length > 0);
  // Not marked last, then the caller vanishes.
  const body = [...pDataPdus(1, true, command, 16384)];
  const firstData = pDataPdus(1, false, half, 16384);
  firstData[0]![11] = 0; // clear the "last fragment" bit of the first data PDU
  await exchange([associateRq(), ...body, ...firstData.slice(0, 2)], { hangUp: true });
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual([await instanceCount(), filesOnDisk()], before);
  assert.equal(await echo(), 0);
});
