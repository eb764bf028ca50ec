// A C-STORE whose connection is cut (or that is aborted by its sender) before the dataset's last fragment stores
// nothing, even when the bytes received end on an element boundary (everything
// up to the pixel data: a dataset the scanner reads as whole). Otherwise the
// cut-off instance would be indexed unanswered, and the sender's retry would be
// answered Success as a duplicate of that truncated first copy — an image
// acknowledged whose pixels the archive never received.
// And many associations storing at once, some cut mid-dataset, leave no
// descriptor open, no temporary file and no row for what was not answered.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { CommandField, encodeCommand, Status } from '../../src/imaging/dicom/command.ts';
import { encodeAbort, pDataPdus } from '../../src/imaging/dicom/pdu.ts';
import { startDimseListener, type DimseListener } from '../../src/imaging/dimse/listener.ts';
import { startHarness, setUpTenant, freePort, type Harness, type Tenant } from '../helpers/harness.ts';
import { makeInstance, type TestInstance } from '../helpers/dicom-files.ts';
import { DimseClient } from '../helpers/dimse-client.ts';
import { storedObjects } from '../helpers/stored-objects.ts';

let h: Harness;
let t: Tenant;
let listener: DimseListener;

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h, ['TB']);
  const r = await t.admin.post('/api/admin/devices', {
    aeTitle: 'CUTTER',
    departmentId: t.departments.TB,
    permissions: ['store'],
    host: '127.0.0.1',
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const peeker = await t.admin.post('/api/admin/devices', {
    aeTitle: 'PEEKER',
    departmentId: t.departments.TB,
    permissions: ['find'],
    host: '127.0.0.1',
  });
  assert.equal(peeker.status, 201, JSON.stringify(peeker.body));
  listener = await startDimseListener(
    { host: '127.0.0.1', port: await freePort(), aeTitle: 'KARTEI' },
    { deps: h.dimseDeps, log: () => undefined },
  );
});
after(async () => {
  await listener?.close();
  await h.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const storeCommand = (inst: TestInstance, messageId: number) => ({
  commandField: CommandField.CStoreRq,
  hasDataset: true,
  affectedSopClassUid: inst.sopClassUid,
  affectedSopInstanceUid: inst.sopInstanceUid,
  messageId,
  priority: 0,
});
const associate = (inst: TestInstance, calling = 'CUTTER') =>
  DimseClient.associate(listener.port, {
    calling,
    called: 'KARTEI',
    contexts: [{ id: 1, abstractSyntax: inst.sopClassUid, transferSyntax: inst.transferSyntax }],
  });
const rows = (sopInstanceUid: string) =>
  inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx.selectFrom('instances').select(['id', 'size']).where('sop_instance_uid', '=', sopInstanceUid).execute(),
  );
/** The image store's temporary objects (files, or PostgreSQL's sealed objects): writes under way. */
const temporary = async () => (await storedObjects(h, 'images')).filter((o) => o.temporary).length;
/** The byte offset of the Pixel Data element (7FE0,0010) in an explicit VR little endian dataset. */
const pixelDataAt = (dataset: Buffer) => dataset.indexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f]));

async function settled(probe: () => Promise<boolean> | boolean, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

for (const ending of ['the connection closed', 'an A-ABORT'] as const)
  test(`a C-STORE cut off before its last fragment (${ending}), on an element boundary, stores nothing; the retry stores the whole image`, async () => {
    const inst = makeInstance({ rows: 128, columns: 128, pixels: 'random' });
    const at = pixelDataAt(inst.dataset);
    assert.ok(at > 0, 'the pixel data is found');
    const cut = await associate(inst);
    const temporaries = await temporary();
    // Every byte before the pixel data, in PDVs none of which says it is the last.
    const socket = (cut as unknown as { socket: import('node:net').Socket }).socket;
    for (const b of pDataPdus(1, true, encodeCommand(storeCommand(inst, 1)), 1 << 20)) socket.write(b);
    for (const pdu of pDataPdus(1, false, inst.dataset.subarray(0, at), 1 << 14)) {
      pdu[11]! &= ~0x02; // PDU header (6), PDV length (4), context (1): the control byte
      socket.write(pdu);
    }
    await sleep(200); // received (the database's store may hold a small write back until its commit)
    if (ending === 'an A-ABORT') socket.write(encodeAbort(0, 0));
    else socket.destroy();
    // The server sees the close or the A-ABORT, ends the association and lets go of what it received.
    assert.ok(await settled(async () => (await temporary()) === temporaries), 'the write was let go');
    await sleep(300);
    assert.deepEqual(await rows(inst.sopInstanceUid), [], 'nothing indexed for a dataset never finished');

    // The sender retries on a new association: the whole image is what the archive keeps.
    const retry = await associate(inst);
    retry.send(1, storeCommand(inst, 1), inst.dataset);
    assert.equal((await retry.next()).command.status, Status.Success);
    await retry.release();
    const [row] = await rows(inst.sopInstanceUid);
    assert.ok(row, 'the retry is stored');
    assert.ok(Number(row.size) > inst.dataset.length, `the stored file holds the whole dataset (${row.size} bytes)`);
  });

test('a device that may not store, cutting its C-STORE off before the last fragment, is still on the record as denied', async () => {
  const inst = makeInstance();
  const denied = () =>
    inTenantTransaction(h.services.store, t.tenantId, (tx) =>
      tx
        .selectFrom('audit_events')
        .select('seq')
        .where('tenant_id', '=', t.tenantId)
        .where('action', '=', 'dicom.store')
        .where('outcome', '=', 'denied')
        .execute(),
    );
  const before = (await denied()).length;
  const cut = await associate(inst, 'PEEKER');
  const socket = (cut as unknown as { socket: import('node:net').Socket }).socket;
  for (const b of pDataPdus(1, true, encodeCommand(storeCommand(inst, 1)), 1 << 20)) socket.write(b);
  for (const pdu of pDataPdus(1, false, inst.dataset.subarray(0, 200), 1 << 14)) {
    pdu[11]! &= ~0x02; // not the last fragment
    socket.write(pdu);
  }
  await sleep(200);
  socket.destroy();
  assert.ok(await settled(async () => (await denied()).length === before + 1), 'the refused attempt is audited');
  assert.deepEqual(await rows(inst.sopInstanceUid), []);
});
