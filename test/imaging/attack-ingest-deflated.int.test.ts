// A deflated dataset that turns out malformed once inflated (or inflates past
// its bound) while its sender's large PDV still waits to be inflated: the
// C-STORE is answered with a failure and leaves nothing behind. The inflater is
// destroyed at the first unreadable byte, so its 'drain' never comes; a store
// waiting for it hung for good, holding its temporary file and descriptor, and
// the association never answered again.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { CommandField, Status } from '../../src/imaging/dicom/command.ts';
import { writeDataset } from '../../src/imaging/dicom/dataset-writer.ts';
import { Tag } from '../../src/imaging/dicom/tags.ts';
import { StorageSopClass, TransferSyntax } from '../../src/imaging/dicom/uids.ts';
import { setUpTenant, startHarness } from '../helpers/harness.ts';
import { DimseClient } from '../helpers/dimse-client.ts';
import { newUid } from '../helpers/dicom-files.ts';
import { storedObjects } from '../helpers/stored-objects.ts';

const h = await startHarness({ dicom: true });
after(() => h.close());
const t = await setUpTenant(h, ['INF']);
const device = await t.admin.post('/api/admin/devices', {
  aeTitle: 'ZLIBMOD',
  departmentId: t.departments.INF,
  permissions: ['store'],
  host: '127.0.0.1',
});
assert.equal(device.status, 201, JSON.stringify(device.body));

const within = <T>(ms: number, what: string, p: Promise<T>) =>
  Promise.race([
    p,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`no answer within ${ms} ms: ${what}`)), ms).unref(),
    ),
  ]);

test('a deflated dataset malformed once inflated, in one large PDV, is answered with a failure and leaves nothing', async () => {
  const sopClassUid = StorageSopClass.Ct;
  const sopInstanceUid = newUid();
  const head = writeDataset(
    [
      { tag: Tag.SopClassUid, vr: 'UI', value: sopClassUid },
      { tag: Tag.SopInstanceUid, vr: 'UI', value: sopInstanceUid },
      { tag: Tag.StudyInstanceUid, vr: 'UI', value: newUid() },
      { tag: Tag.SeriesInstanceUid, vr: 'UI', value: newUid() },
    ],
    { encoding: 'explicit-le' },
  );
  // (0011,0010) LO with an odd length: malformed; then 900 KB that do not compress.
  const odd = Buffer.from([0x11, 0x00, 0x10, 0x00, 0x4c, 0x4f, 0x03, 0x00, 0x61, 0x62, 0x63]);
  const deflated = zlib.deflateRawSync(Buffer.concat([head, odd, randomBytes(900_000)]));
  const before = (await storedObjects(h, 'images')).length;
  const c = await DimseClient.associate(h.dicom!.port, {
    calling: 'ZLIBMOD',
    called: 'KARTEI',
    contexts: [{ id: 1, abstractSyntax: sopClassUid, transferSyntax: TransferSyntax.DeflatedExplicitVrLittleEndian }],
  });
  c.send(
    1,
    {
      commandField: CommandField.CStoreRq,
      hasDataset: true,
      affectedSopClassUid: sopClassUid,
      affectedSopInstanceUid: sopInstanceUid,
      messageId: 1,
      priority: 0,
    },
    deflated,
  );
  const answer = await within(20_000, 'the C-STORE response', c.next());
  assert.notEqual(answer.command.status, Status.Success);
  await c.release();
  assert.equal((await storedObjects(h, 'images')).length, before, 'no file or temporary file left');
  const rows = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx.selectFrom('instances').select('id').where('sop_instance_uid', '=', sopInstanceUid).execute(),
  );
  assert.deepEqual(rows, []);
});
