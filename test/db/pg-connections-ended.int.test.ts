// PostgreSQL ends a server's idle connections (a restart, an operator's pg_terminate_backend, a network
// cut): the pools of the application and of the sealed objects in the database must let them go and
// open new ones; before, pg's 'error' on a pool without a listener was thrown and ended the process (seen
// in CI, where a test's DROP DATABASE … WITH (FORCE) killed the test process).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { DIALECT, samplePerson, setUpTenant, startHarness } from '../helpers/harness.ts';
import { makeInstance, stowFile } from '../helpers/dicom-files.ts';

test('idle connections ended by PostgreSQL: the server keeps running and the next requests are answered', {
  skip: DIALECT !== 'postgres' ? 'runs with KARTEI_TEST_PG' : false,
}, async () => {
  const h = await startHarness();
  try {
    assert.equal(h.services.images.kind, 'database');
    const office = await setUpTenant(h, ['INF']);
    const INF = office.departments.INF!;
    const physician = await office.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
    const created = await physician.post('/api/persons', samplePerson(INF, 'Abgerissen'));
    assert.equal(created.status, 201);
    const inst = makeInstance({ rows: 8, columns: 8 });
    assert.equal((await stowFile(physician, inst.file)).status, 200);
    const admin = new pg.Client({ connectionString: h.installation.database.databaseAdminUrl! });
    await admin.connect();
    let ended = 0;
    try {
      const r = await admin.query(
        'select count(*) filter (where pg_terminate_backend(pid)) as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
      );
      ended = Number(r.rows[0].n);
    } finally {
      await admin.end();
    }
    assert.ok(ended >= 2, `the application's and the sealed objects' connections were ended (${ended})`);
    // Give pg the moment to see its sockets closed (the uncaught 'error' came here).
    await new Promise((r) => setTimeout(r, 300));
    const read = await physician.get(`/api/persons/${created.body.id}`);
    assert.equal(read.status, 200);
    const image = await physician.call('GET', `/dicom-web/studies/${inst.studyInstanceUid}`, undefined, {
      accept: 'multipart/related; type="application/dicom"',
    });
    assert.equal(image.status, 200);
    assert.ok(image.raw.includes(inst.file.subarray(inst.file.length - 64)), 'the image reads back');
  } finally {
    await h.close();
  }
});
