// Race: the first images of a new study arrive on several associations at once (two modalities, or
// two instances of the server on one PostgreSQL, issue 19). Every C-STORE succeeds, and the study and
// its series are made once. On PostgreSQL each store's index transaction ran the find-or-create on
// its own: all but one failed with 0x0110 on the study's unique key.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { CommandField, Status } from '../../src/imaging/dicom/command.ts';
import { setUpTenant, startHarness } from '../helpers/harness.ts';
import { DimseClient } from '../helpers/dimse-client.ts';
import { makeInstance, newUid } from '../helpers/dicom-files.ts';

const h = await startHarness({ dicom: true });
after(() => h.close());

test('attack: one new study stored on 8 associations at once — every C-STORE succeeds, one study, one series', async () => {
  const t = await setUpTenant(h, ['INF']);
  const device = await t.admin.post('/api/admin/devices', {
    aeTitle: 'RACEMOD',
    departmentId: t.departments.INF,
    permissions: ['store'],
    host: '127.0.0.1',
  });
  assert.equal(device.status, 201, JSON.stringify(device.body));
  const studyUid = newUid();
  const seriesUid = newUid();
  const images = Array.from({ length: 8 }, (_, n) =>
    makeInstance({
      studyInstanceUid: studyUid,
      seriesInstanceUid: seriesUid,
      instanceNumber: n,
      rows: 16,
      columns: 16,
    }),
  );
  const clients = await Promise.all(
    images.map((i) =>
      DimseClient.associate(h.dicom!.port, {
        calling: 'RACEMOD',
        called: 'KARTEI',
        contexts: [{ id: 1, abstractSyntax: i.sopClassUid, transferSyntax: i.transferSyntax }],
      }),
    ),
  );
  // All datasets sent before any answer is read: the stores overlap in the server.
  for (const [n, i] of images.entries())
    clients[n]!.send(
      1,
      {
        commandField: CommandField.CStoreRq,
        hasDataset: true,
        affectedSopClassUid: i.sopClassUid,
        affectedSopInstanceUid: i.sopInstanceUid,
        messageId: 1,
        priority: 0,
      },
      i.dataset,
    );
  const statuses = await Promise.all(clients.map(async (c) => (await c.next()).command.status));
  await Promise.all(clients.map((c) => c.release()));
  assert.deepEqual(
    statuses,
    images.map(() => Status.Success),
    'every C-STORE succeeded',
  );
  const rows = await inTenantTransaction(h.services.store, t.tenantId, async (tx) => ({
    studies: await tx.selectFrom('studies').select('id').where('study_uid', '=', studyUid).execute(),
    series: await tx.selectFrom('series').select('id').where('series_uid', '=', seriesUid).execute(),
    instances: await tx.selectFrom('instances').select('id').execute(),
  }));
  assert.equal(rows.studies.length, 1, 'one study');
  assert.equal(rows.series.length, 1, 'one series');
  assert.equal(rows.instances.length, images.length, 'every instance indexed');
});
