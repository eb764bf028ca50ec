// Two re-encryptions of one department at once (issue 19, keys-online): `kartei keys
// reencrypt-department` run by two operators, or again from a second instance's host while the first
// still runs. Each host has its own data directory, so the backup lock there does not keep them apart;
// whatever they do, every stored image must still open afterwards (nothing lost, nothing named that is
// gone). Run here as two calls on one set of services against one database.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { bindingBytes } from '../../src/vault/aead.ts';
import { instanceFileBinding } from '../../src/imaging/instance-store.ts';
import { recoverStore } from '../../src/imaging/store-recovery.ts';
import { departmentKeyState } from '../../src/vault/department-versions.ts';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { reencryptDepartment } from '../../src/ops/department-reencrypt.ts';
import { rotateDepartmentOnline } from '../../src/ops/department-rotation.ts';
import { makeInstance, newUid } from '../helpers/dicom-files.ts';
import { setUpTenant, startHarness, type Harness, type Tenant } from '../helpers/harness.ts';

let h: Harness;
let t: Tenant;

before(async () => {
  h = await startHarness({ dicom: true });
  h.services.keyring.refreshMs = 200;
  t = await setUpTenant(h, ['TB']);
  const device = await t.admin.post('/api/admin/devices', {
    aeTitle: 'MODALITY',
    departmentId: t.departments.TB,
    permissions: ['store'],
    host: '127.0.0.1',
  });
  assert.equal(device.status, 201);
});
after(async () => {
  await h?.close();
});

async function storeImages(n: number): Promise<void> {
  const study = newUid();
  const files = Array.from({ length: n }, (_, i) => {
    const f = path.join(h.dir, `twice-${i}.dcm`);
    fs.writeFileSync(
      f,
      makeInstance({ studyInstanceUid: study, instanceNumber: i + 1, rows: 64, columns: 64, seed: i + 1 }).file,
    );
    return f;
  });
  await new Promise<void>((resolve, reject) =>
    execFile(
      'storescu',
      ['-aet', 'MODALITY', '-aec', 'KARTEI', '127.0.0.1', String(h.dicom!.port), ...files],
      (err, stdout, stderr) => (err ? reject(new Error(stdout + stderr)) : resolve()),
    ),
  );
}

/** Each stored instance of the department: whether it opens whole with the department's key now. */
async function opening(): Promise<{ id: string; file: string; opens: string }[]> {
  const TB = t.departments.TB!;
  const { key, rows } = await inTenantTransaction(h.services.store, t.tenantId, async (tx) => ({
    key: await h.services.keyring.departmentKey(tx, t.tenantId, TB),
    rows: await tx.selectFrom('instances').select(['id', 'file']).where('department_id', '=', TB).execute(),
  }));
  const out = [];
  for (const r of rows) {
    let opens = 'yes';
    try {
      for await (const _ of h.services.instances.open(t.tenantId, r, key));
    } catch (e) {
      opens = (e as Error).message;
    }
    out.push({ ...r, opens });
  }
  return out;
}

test('two re-encryptions of one department at once lose no image; the second is refused while the first runs', {
  timeout: 180_000,
}, async () => {
  await storeImages(12);
  const before = await opening();
  assert.equal(before.length, 12);
  assert.ok(before.every((r) => r.opens === 'yes'));
  const d = { tenantId: t.tenantId, id: t.departments.TB! };
  await rotateDepartmentOnline(h.services, d);
  const runs = await Promise.allSettled([
    reencryptDepartment(h.services, d, { batch: 3, retire: false }),
    reencryptDepartment(h.services, d, { batch: 3, retire: false }),
  ]);
  const broken = (await opening()).filter((r) => r.opens !== 'yes');
  assert.deepEqual(
    broken,
    [],
    `images that no longer open after two runs (${runs.map((r) => r.status).join(', ')}): ${broken.length}`,
  );
  const refused = runs.filter((r) => r.status === 'rejected');
  assert.equal(refused.length, 1, 'one of the two ran, the other was refused');
  assert.match(String((refused[0] as PromiseRejectedResult).reason), /another re-encryption of this department/);
});

test("an image file under a re-encrypted name that no row names (a run killed before its switch) is an orphan to the store's recovery", async () => {
  const TB = t.departments.TB!;
  const key = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    h.services.keyring.departmentKey(tx, t.tenantId, TB),
  );
  const put = async (suffix: string) => {
    const id = randomUUID();
    const p = `${t.tenantId}/${TB}/${id.slice(0, 2)}/${id}${suffix}`;
    const w = h.services.instances.files.create(p, key, bindingBytes(instanceFileBinding(t.tenantId, id)));
    w.stream.end(Buffer.from('DICM'));
    await w.commit();
    return p;
  };
  const control = await put('.dcm');
  const orphan = await put('.k2.dcm');
  // Later than the shared store's grace: the writer is gone.
  await recoverStore(
    { store: h.services.store, images: h.services.images, audit: h.services.audit, dataDir: h.config.dataDir },
    { now: new Date(Date.now() + 20 * 60_000) },
  );
  const gone = (p: string) =>
    h.services.instances.files.plainSize(p).then(
      () => false,
      () => true,
    );
  assert.equal(await gone(control), true, 'the control: an orphan under the first name is removed');
  assert.equal(await gone(orphan), true, 'the orphan under a re-encrypted name is removed too');
});

let rotations: PromiseSettledResult<{ from: number; to: number }>[] = [];

test('two rotations of one department at once: one new version, and everything opens', async () => {
  const d = { tenantId: t.tenantId, id: t.departments.TB! };
  const before = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    departmentKeyState(tx, d.tenantId, d.id),
  );
  rotations = await Promise.allSettled([rotateDepartmentOnline(h.services, d), rotateDepartmentOnline(h.services, d)]);
  const after_ = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    departmentKeyState(tx, d.tenantId, d.id),
  );
  const outcomes = rotations.map((r) =>
    r.status === 'fulfilled' ? `${r.value.from}→${r.value.to}` : String(r.reason),
  );
  assert.ok(
    rotations.some((r) => r.status === 'fulfilled'),
    outcomes.join(' | '),
  );
  assert.equal(after_.version, before.version + 1, JSON.stringify({ before, after_, outcomes }));
  assert.equal(after_.pending, undefined);
  await storeImages(2);
  const broken = (await opening()).filter((r) => r.opens !== 'yes' && !/no sealed object|ENOENT/.test(r.opens));
  assert.deepEqual(broken, [], 'every image that is there opens');
});

test('the rotation that lost the race says so in words', () => {
  const refused = rotations
    .filter((r) => r.status === 'rejected')
    .map((r) => String((r as PromiseRejectedResult).reason));
  for (const m of refused) assert.doesNotMatch(m, /duplicate key|unique constraint|violates|SQLITE/);
});
