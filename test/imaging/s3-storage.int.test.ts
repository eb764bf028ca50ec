// A server whose images live in an S3-compatible store (KARTEI_STORAGE=s3, a
// real one: s3rver on loopback): instances stored by C-STORE, one past a part
// of the store's multipart uploads, come back by WADO-RS byte for byte; the
// bucket holds them sealed, under their names only once stored, nothing left
// over; an instance's sealed object removed behind the server's back is a
// clean failure, not a partial answer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { startHarness, setUpTenant, type Client, type Harness, type Tenant } from '../helpers/harness.ts';
import { makeInstance, newUid, type TestInstance } from '../helpers/dicom-files.ts';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.ts';
import { PART_SIZE } from '../../src/vault/sealed-objects-s3.ts';

let s3: S3TestServer;
let h: Harness;
let t: Tenant;
let clerk: Client & { id: string };
const instances: TestInstance[] = [];

before(async () => {
  s3 = await startS3Server();
  h = await startHarness({
    dicom: true,
    env: {
      KARTEI_STORAGE: 's3',
      KARTEI_S3_ENDPOINT: s3.config.endpoint,
      KARTEI_S3_BUCKET: s3.config.bucket,
      KARTEI_S3_REGION: s3.config.region,
      KARTEI_S3_PREFIX: 'amt',
      KARTEI_S3_CREDENTIALS_FILE: s3.config.credentialsFile,
    },
  });
  t = await setUpTenant(h, ['TB']);
  const device = await t.admin.post('/api/admin/devices', {
    aeTitle: 'MODALITY',
    departmentId: t.departments.TB,
    permissions: ['store'],
    host: '127.0.0.1',
  });
  assert.equal(device.status, 201);
  clerk = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'clerk' }] });
  const study = newUid();
  const series = newUid();
  for (const [i, size] of [32, 2048].entries())
    instances.push(
      makeInstance({
        patientName: 'Quastenberg^Hannelore',
        birthDate: '19610417',
        patientId: 'PID-S3',
        studyInstanceUid: study,
        seriesInstanceUid: series,
        instanceNumber: i + 1,
        rows: size,
        columns: size,
        modality: 'CT',
        undefinedLengthSequences: false,
      }),
    );
  assert.ok(instances[1]!.file.length > PART_SIZE, 'the control: one instance goes up as a multipart upload');
  const files = instances.map((inst, i) => {
    const file = path.join(h.dir, `s3-${i}.dcm`);
    fs.writeFileSync(file, inst.file);
    return file;
  });
  await new Promise<void>((resolve, reject) =>
    execFile(
      'storescu',
      ['-aet', 'MODALITY', '-aec', 'KARTEI', '127.0.0.1', String(h.dicom!.port), ...files],
      (err, stdout, stderr) => (err ? reject(new Error(stdout + stderr)) : resolve()),
    ),
  );
});
after(async () => {
  await h?.close();
  await s3?.stop();
});

const instanceUrl = (i: TestInstance) =>
  `/dicom-web/studies/${i.studyInstanceUid}/series/${i.seriesInstanceUid}/instances/${i.sopInstanceUid}`;

function under(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? under(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

test('instances stored by C-STORE come back by WADO-RS byte for byte, from the bucket, sealed there', async () => {
  assert.equal(h.services.images.kind, 's3');
  for (const inst of instances) {
    const r = await clerk.call('GET', instanceUrl(inst), undefined, {
      accept: 'multipart/related; type="application/dicom"; transfer-syntax=*',
    });
    assert.equal(r.status, 200, r.raw.toString().slice(0, 500));
    assert.ok(r.raw.includes(inst.dataset), 'the dataset as it arrived');
  }
  const stored = [];
  for await (const e of h.services.images.walk()) stored.push(e);
  assert.equal(stored.length, 2, JSON.stringify(stored));
  assert.ok(stored.every((e) => !e.temporary && e.modifiedAt));
  assert.ok(
    under(s3.directory).some((f) => f.includes(`${path.sep}amt${path.sep}images${path.sep}`)),
    'under the prefix and the area',
  );
  assert.deepEqual(
    fs
      .readdirSync(path.join(h.config.dataDir))
      .filter((n) => n === 'images' && under(path.join(h.config.dataDir, n)).length > 0),
    [],
    'no image in the data directory',
  );
  // Names (office, department, instance id) and bytes: neither the patient nor the study's UIDs.
  const needles = ['Quastenberg', 'PID-S3', instances[0]!.studyInstanceUid, instances[1]!.sopInstanceUid];
  for (const f of under(s3.directory)) {
    const bytes = fs.readFileSync(f);
    for (const needle of needles) {
      assert.equal(bytes.includes(needle), false, `${needle} in ${f}`);
      assert.equal(f.includes(needle), false, `${needle} in the name ${f}`);
    }
  }
});

test("an instance whose object was removed behind the server's back fails cleanly", async () => {
  const all = [];
  for await (const e of h.services.images.walk()) all.push(e.relPath);
  for (const relPath of all) await h.services.images.remove(relPath);
  for (const inst of instances) {
    // An error answer, or (the answer under way, as WADO-RS streams) the connection cut: never a whole 200.
    const r = await clerk
      .call('GET', instanceUrl(inst), undefined, {
        accept: 'multipart/related; type="application/dicom"; transfer-syntax=*',
      })
      .catch((e: { code?: string }) => e);
    if ('status' in r) assert.notEqual(r.status, 200);
    else assert.equal(r.code, 'LIGHT_ECONNRESET');
  }
});
