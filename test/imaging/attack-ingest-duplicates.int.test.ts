// Attacks on the index of a stored instance, its lookups and insert now
// prepared statements (issue 18, ingest): one SOP instance sent on 6
// associations at once is answered Success on each (a duplicate keeps the first
// copy) and leaves one row and one file; a dataset without Rows, Columns,
// Instance Number or Pixel Data is indexed with those columns empty (null, not
// 0 or a string). Runs on PostgreSQL too with KARTEI_TEST_PG.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { CommandField, Status } from '../../src/imaging/dicom/command.ts';
import { writeDataset } from '../../src/imaging/dicom/dataset-writer.ts';
import { Tag } from '../../src/imaging/dicom/tags.ts';
import { StorageSopClass, TransferSyntax } from '../../src/imaging/dicom/uids.ts';
import { setUpTenant, startHarness } from '../helpers/harness.ts';
import { DimseClient } from '../helpers/dimse-client.ts';
import { makeInstance, newUid } from '../helpers/dicom-files.ts';
import { storedObjects } from '../helpers/stored-objects.ts';

const h = await startHarness({ dicom: true });
after(() => h.close());
const t = await setUpTenant(h, ['INF']);
const device = await t.admin.post('/api/admin/devices', {
  aeTitle: 'DUPMOD',
  departmentId: t.departments.INF,
  permissions: ['store'],
  host: '127.0.0.1',
});
assert.equal(device.status, 201, JSON.stringify(device.body));

const associate = (sopClassUid: string, transferSyntax: string) =>
  DimseClient.associate(h.dicom!.port, {
    calling: 'DUPMOD',
    called: 'KARTEI',
    contexts: [{ id: 1, abstractSyntax: sopClassUid, transferSyntax }],
  });
const store = (c: DimseClient, sopClassUid: string, sopInstanceUid: string, dataset: Buffer) =>
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
    dataset,
  );
/** The image store's objects (files, or PostgreSQL's sealed objects), committed and temporary. */
const sealedFiles = async () => (await storedObjects(h, 'images')).map((o) => o.path);

/**
 * Each copy on an association of its own, all sent before any answer is read (the stores overlap in the
 * server), then released: asserts that every C-STORE succeeded.
 */
async function storeAtOnce(copies: ReturnType<typeof makeInstance>[], sopInstanceUid: string) {
  const clients = await Promise.all(copies.map((c) => associate(c.sopClassUid, c.transferSyntax)));
  for (const [i, copy] of copies.entries()) store(clients[i]!, copy.sopClassUid, sopInstanceUid, copy.dataset);
  const statuses = await Promise.all(clients.map(async (c) => (await c.next()).command.status));
  await Promise.all(clients.map((c) => c.release()));
  assert.deepEqual(
    statuses,
    clients.map(() => Status.Success),
    'every C-STORE succeeded',
  );
}

test('attack: one SOP instance on 6 associations at once — every C-STORE succeeds, one row, one file', async () => {
  const inst = makeInstance({ rows: 32, columns: 32 });
  const filesBefore = (await sealedFiles()).length;
  await storeAtOnce(
    Array.from({ length: 6 }, () => inst),
    inst.sopInstanceUid,
  );
  const rows = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx.selectFrom('instances').select(['id', 'file']).where('sop_instance_uid', '=', inst.sopInstanceUid).execute(),
  );
  assert.equal(rows.length, 1, 'one row');
  const after = await sealedFiles();
  assert.equal(after.length, filesBefore + 1, `one file more, no copy or temporary file left: ${after.join(', ')}`);
  assert.ok(
    after.some((f) => f.endsWith(rows[0]!.file.split('/').at(-1)!)),
    'the file is the row’s',
  );
});

test('one SOP instance on 6 associations at once, each copy naming another study — one row, no empty study or series', async () => {
  const sopInstanceUid = newUid();
  const copies = Array.from({ length: 6 }, () =>
    makeInstance({ rows: 16, columns: 16, sopInstanceUid, modality: 'MR' }),
  );
  await storeAtOnce(copies, sopInstanceUid);
  const { rows, studies, series } = await inTenantTransaction(h.services.store, t.tenantId, async (tx) => ({
    rows: await tx
      .selectFrom('instances')
      .select(['study_id', 'series_id'])
      .where('sop_instance_uid', '=', sopInstanceUid)
      .execute(),
    studies: await tx
      .selectFrom('studies')
      .select('id')
      .where(
        'study_uid',
        'in',
        copies.map((c) => c.studyInstanceUid),
      )
      .execute(),
    series: await tx
      .selectFrom('series')
      .select('id')
      .where(
        'series_uid',
        'in',
        copies.map((c) => c.seriesInstanceUid),
      )
      .execute(),
  }));
  assert.equal(rows.length, 1, 'one row');
  assert.deepEqual(
    studies.map((s) => s.id),
    [rows[0]!.study_id],
    'only the study of the copy kept: the others were not left empty',
  );
  assert.deepEqual(
    series.map((s) => s.id),
    [rows[0]!.series_id],
    'only its series',
  );
});

// s23-review: the losing copies' work on a study they share with the winner — a modality or a series added
// to an existing study, or a new study made by whichever copy came first — must go with them.
const MODALITIES = ['CT', 'US', 'XA', 'DX', 'CR', 'NM'];
async function twinsNaming(studyInstanceUid: string) {
  const sopInstanceUid = newUid();
  const copies = MODALITIES.map((modality) =>
    makeInstance({ rows: 16, columns: 16, sopInstanceUid, studyInstanceUid, modality }),
  );
  await storeAtOnce(copies, sopInstanceUid);
  return inTenantTransaction(h.services.store, t.tenantId, async (tx) => {
    const rows = await tx
      .selectFrom('instances')
      .innerJoin('series', 'series.id', 'instances.series_id')
      .select(['instances.study_id', 'series.modality'])
      .where('sop_instance_uid', '=', sopInstanceUid)
      .execute();
    const studies = await tx
      .selectFrom('studies')
      .select(['id', 'modalities'])
      .where('study_uid', '=', studyInstanceUid)
      .execute();
    const series = await tx
      .selectFrom('series')
      .select('modality')
      .where('study_id', 'in', studies.length ? studies.map((s) => s.id) : [''])
      .orderBy('modality')
      .execute();
    return { rows, studies, series: series.map((s) => s.modality) };
  });
}

test('one SOP instance on 6 associations at once, each copy another modality of an existing study — the study gains only the kept copy’s', async () => {
  const first = makeInstance({ rows: 16, columns: 16, modality: 'MR' });
  const c = await associate(first.sopClassUid, first.transferSyntax);
  store(c, first.sopClassUid, first.sopInstanceUid, first.dataset);
  assert.equal((await c.next()).command.status, Status.Success);
  await c.release();
  const { rows, studies, series } = await twinsNaming(first.studyInstanceUid);
  assert.equal(rows.length, 1, 'one row');
  const kept = rows[0]!.modality!;
  assert.equal(studies.length, 1);
  assert.equal(studies[0]!.modalities, `MR\\${kept}`, 'no losing copy’s modality on the study');
  assert.deepEqual(series, ['MR', kept].sort(), 'no losing copy’s series');
});

test('one SOP instance on 6 associations at once, all naming one new study, each another modality — one study with the kept copy’s', async () => {
  const { rows, studies, series } = await twinsNaming(newUid());
  assert.equal(rows.length, 1, 'one row');
  assert.equal(studies.length, 1, 'one study');
  assert.equal(studies[0]!.modalities, rows[0]!.modality);
  assert.deepEqual(series, [rows[0]!.modality]);
});

test('a dataset without Rows, Columns, Instance Number, frames or Pixel Data is indexed with those columns null', async () => {
  const sopClassUid = StorageSopClass.Ct;
  const sopInstanceUid = newUid();
  const dataset = writeDataset(
    [
      { tag: Tag.SopClassUid, vr: 'UI', value: sopClassUid },
      { tag: Tag.SopInstanceUid, vr: 'UI', value: sopInstanceUid },
      { tag: Tag.Modality, vr: 'CS', value: 'CT' },
      { tag: Tag.PatientName, vr: 'PN', value: 'Ohne^Bild' },
      { tag: Tag.StudyInstanceUid, vr: 'UI', value: newUid() },
      { tag: Tag.SeriesInstanceUid, vr: 'UI', value: newUid() },
    ],
    { encoding: 'explicit-le' },
  );
  const c = await associate(sopClassUid, TransferSyntax.ExplicitVrLittleEndian);
  store(c, sopClassUid, sopInstanceUid, dataset);
  assert.equal((await c.next()).command.status, Status.Success);
  await c.release();
  const row = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx.selectFrom('instances').selectAll().where('sop_instance_uid', '=', sopInstanceUid).executeTakeFirstOrThrow(),
  );
  for (const column of [
    'instance_number',
    'rows',
    'columns',
    'frames',
    'bits_allocated',
    'samples_per_pixel',
    'pixel_offset',
    'pixel_length',
  ] as const)
    assert.equal(row[column], null, column);
  assert.equal(row.sop_class_uid, sopClassUid);
  assert.equal(row.transfer_syntax_uid, TransferSyntax.ExplicitVrLittleEndian);
  assert.equal(row.received_from, (device.body as { id: string }).id);
  assert.ok(Number(row.size) > dataset.length);
});
