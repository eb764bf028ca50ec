// Issue 19: keys-online — `kartei keys reencrypt-department` while the server runs: everything of
// the department under the earlier key version (tasks' fields, the image index, persons' keys,
// images) is sealed again under the current one, with progress; users changing tasks meanwhile
// keep what they wrote; killed in the middle and run again it completes; every image still reads
// back through WADO-RS, nothing is left under the old version, which is then retired (digests
// still match); one audit event per completed run, with counts only.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { DecryptionError, registerKeyVersions, sealedVersion } from '../../src/vault/aead.ts';
import { openField } from '../../src/vault/keyring.ts';
import { departmentKeyState } from '../../src/vault/department-versions.ts';
import { KEYS_CRASH_VARIABLE } from '../../src/cli/key-commands.ts';
import { databaseFindings } from '../../src/ops/security-findings.ts';
import { samplePerson, setUpTenant, startHarness, type Harness, type Tenant } from '../helpers/harness.ts';
import { makeInstance, type TestInstance } from '../helpers/dicom-files.ts';
import { kartei } from '../helpers/kartei-cli.ts';

let h: Harness | undefined;
after(() => h?.close());

test('reencrypt-department with the server running: killed in the middle, run again, nothing left under version 1', async () => {
  h = await startHarness();
  const hh = h;
  hh.services.keyring.refreshMs = 300;
  const t: Tenant = await setUpTenant(hh, ['INF']);
  const INF = t.departments.INF!;
  const clerk = await t.user({ memberships: [{ departmentId: INF, role: 'clerk' }] });
  const physician = await t.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  const tx = <R>(fn: Parameters<typeof inTenantTransaction<R>>[2]) =>
    inTenantTransaction(hh.services.store, t.tenantId, fn);

  const images: TestInstance[] = [];
  const stow = async () => {
    const inst = makeInstance({ rows: 8, columns: 8 });
    const boundary = 'b0undary';
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`),
      inst.file,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const r = await physician.call('POST', '/dicom-web/studies', body, {
      'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    images.push(inst);
  };
  const tasks: { id: string; version: number; title: string }[] = [];
  const task = async (title: string) => {
    const r = await clerk.post(`/api/departments/${INF}/tasks`, { title, dueDate: '2026-12-10', type: 'other' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    tasks.push({ id: r.body.id, version: r.body.version, title });
  };
  const persons: string[] = [];
  for (const name of ['Auerbach', 'Brenninger']) {
    const p = await physician.post('/api/persons', samplePerson(INF, name));
    assert.equal(p.status, 201, JSON.stringify(p.body));
    persons.push(p.body.id);
  }
  for (let i = 0; i < 4; i++) await stow();
  for (let i = 0; i < 12; i++) await task(`Aufgabe ${i}`);

  const rotated = await kartei(hh.installation, ['keys', 'rotate-department', 'INF']);
  assert.equal(rotated.code, 0, rotated.out);
  await new Promise((r) => setTimeout(r, 700));
  await stow(); // under version 2 already
  await task('nach der Rotation');

  /** How many of the department's sealed things are under version 1 (form 1 or a form-2 version 1). */
  const stale = async () => {
    const rows = await tx((x) =>
      x.selectFrom('tasks').select(['title_enc']).where('department_id', '=', INF).execute(),
    );
    const studies = await tx((x) =>
      x.selectFrom('studies').select(['patient_enc']).where('department_id', '=', INF).execute(),
    );
    const refs = await tx((x) =>
      x.selectFrom('instances').select(['id', 'file']).where('department_id', '=', INF).execute(),
    );
    const key = await tx((x) => hh.services.keyring.departmentKey(x, t.tenantId, INF));
    const only = Buffer.from(key);
    registerKeyVersions(only, { version: 2, byVersion: new Map([[2, only]]) });
    let images = 0;
    for (const ref of refs) {
      const it = hh.services.instances.open(t.tenantId, ref, only);
      try {
        await it.next();
      } catch (e) {
        assert.ok(e instanceof DecryptionError, String(e));
        images++;
      } finally {
        await it.return(undefined);
      }
    }
    return {
      tasks: rows.filter((r) => sealedVersion(r.title_enc) === 1).length,
      studies: studies.filter((r) => sealedVersion(r.patient_enc) === 1).length,
      images,
    };
  };
  assert.deepEqual(await stale(), { tasks: 12, studies: 4, images: 4 });
  const keyFindings = async () =>
    (await databaseFindings(hh.services, t.tenantId))
      .filter((f) => f.code.startsWith('department-key-'))
      .map((f) => [f.code, f.params]);
  assert.deepEqual(await keyFindings(), [['department-key-versions-kept', { department: 'INF', versions: '1' }]]);

  // Killed after its second batch of images (one image a batch), while a user changes tasks.
  const editing = (async () => {
    for (const x of tasks.slice(0, 6)) {
      const title = `${x.title} geändert`;
      const r = await clerk.patch(`/api/tasks/${x.id}`, { version: x.version, title });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      x.version = r.body.version;
      x.title = title;
    }
  })();
  const crashed = await kartei(hh.installation, ['keys', 'reencrypt-department', 'INF', '--batch', '1'], {
    [KEYS_CRASH_VARIABLE]: 'reencrypt-images:2',
  });
  await editing;
  assert.equal(crashed.signal ?? (crashed.code === 137 ? 'SIGKILL' : null), 'SIGKILL', crashed.out);
  assert.match(crashed.out, /sealed fields \d+\/\d+ looked at/);
  assert.match(crashed.out, /images 2\/5 looked at/);
  const between = await stale();
  assert.deepEqual([between.tasks, between.studies], [0, 0]);
  assert.ok(between.images >= 1 && between.images <= 3, JSON.stringify(between));

  const done = await kartei(hh.installation, ['keys', 'reencrypt-department', 'INF', '--batch', '2']);
  assert.equal(done.code, 0, done.out);
  assert.match(done.out, /images 5\/5 looked at/);
  assert.match(done.out, /earlier key version\(s\) 1 retired/);
  assert.deepEqual(await stale(), { tasks: 0, studies: 0, images: 0 });
  const state = await tx((x) => departmentKeyState(x, t.tenantId, INF));
  assert.deepEqual(state.earlier, [{ version: 1, retired: true }]);
  assert.deepEqual(await keyFindings(), [], 'retired: no finding any more');
  const status = await kartei(hh.installation, ['keys', 'status']);
  assert.match(status.out, /department INF \(office [^)]+\): key version 2, earlier 1 \(retired\)/);

  // The server looks again: version 1 no longer opens anything; everything reads back through the gate.
  await new Promise((r) => setTimeout(r, 400));
  for (const i of images) {
    const r = await physician.call(
      'GET',
      `/dicom-web/studies/${i.studyInstanceUid}/series/${i.seriesInstanceUid}/instances/${i.sopInstanceUid}`,
      undefined,
      { accept: 'multipart/related; type="application/dicom"' },
    );
    assert.equal(r.status, 200, i.sopInstanceUid);
    assert.ok(r.raw.includes(i.dataset), 'the image reads back byte for byte');
  }
  const rows = await tx((x) =>
    x.selectFrom('tasks').select(['id', 'title_enc']).where('department_id', '=', INF).execute(),
  );
  const key = await tx((x) => hh.services.keyring.departmentKey(x, t.tenantId, INF));
  const titles = new Map(
    rows.map((r) => [
      r.id,
      openField<string>(key, { tenantId: t.tenantId, table: 'tasks', rowId: r.id, field: 'title' }, r.title_enc),
    ]),
  );
  for (const x of tasks) assert.equal(titles.get(x.id), x.title, 'what the user wrote meanwhile is kept');
  for (const id of persons) assert.equal((await physician.get(`/api/persons/${id}`)).status, 200);
  // Found by name: the blind-index digests still derive from the (retired) first version.
  const found = await physician.get('/api/persons?q=Auerbach');
  assert.equal(found.status, 200, JSON.stringify(found.body));
  assert.ok(JSON.stringify(found.body).includes(persons[0]!), JSON.stringify(found.body));
  // Every sealed object the store holds is one the index names: no old object left behind.
  const named = new Set((await tx((x) => x.selectFrom('instances').select('file').execute())).map((r) => r.file));
  const held: string[] = [];
  for await (const e of hh.services.images.walk()) if (!e.temporary) held.push(e.relPath);
  assert.deepEqual(held.sort(), [...named].sort());

  // One event per completed run (the killed one wrote none), counts and no content.
  const events = await tx((x) =>
    x
      .selectFrom('audit_events')
      .select('detail')
      .where('tenant_id', '=', t.tenantId)
      .where('action', '=', 'keys.department.reencrypt')
      .execute(),
  );
  assert.equal(events.length, 1);
  const detail = JSON.parse(String(events[0]!.detail));
  assert.equal(detail.version, 2);
  assert.equal(detail.retired, '1');
  assert.equal(detail.unreadable, 0);
  assert.ok(detail.images >= 1 && detail.images <= 3);
  assert.equal(JSON.stringify(detail).includes('Aufgabe'), false);
});
