// A department may hide its restricted records from members who may not read
// them: a clerk then sees neither their type nor their dates in the file's
// list (issue 13). Only the department's head sets it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { samplePerson, setUpTenant, startHarness, type Harness, type Tenant } from '../helpers/harness.ts';

let h: Harness;
let t: Tenant;
before(async () => {
  h = await startHarness();
  t = await setUpTenant(h, ['SPDI', 'TB']);
});
after(() => h.close());

test("a head hides the department's restricted records from its clerks' lists; physicians still see them; nobody else may set it", async () => {
  const SPDI = t.departments.SPDI!;
  const head = await t.user({ memberships: [{ departmentId: SPDI, role: 'head' }] });
  const physician = await t.user({ memberships: [{ departmentId: SPDI, role: 'physician' }] });
  const clerk = await t.user({ memberships: [{ departmentId: SPDI, role: 'clerk' }] });
  const tbHead = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'head' }] });
  const person = (await physician.post('/api/persons', samplePerson(SPDI, 'Verborgen'))).body.id as string;
  assert.equal(
    (
      await physician.post(`/api/persons/${person}/records`, {
        type: 'note',
        sensitivity: 'restricted',
        content: { text: 'Krisenintervention' },
      })
    ).status,
    201,
  );
  assert.equal(
    (
      await physician.post(`/api/persons/${person}/records`, {
        type: 'note',
        sensitivity: 'normal',
        content: { text: 'Termin vereinbart' },
      })
    ).status,
    201,
  );

  const listed = async (who: typeof clerk) =>
    ((await who.get(`/api/persons/${person}/records`)).body as { sensitivity: string }[])
      .map((r) => r.sensitivity)
      .sort();
  assert.deepEqual(await listed(clerk), ['normal', 'restricted'], 'by default listed (marked, not readable)');
  assert.deepEqual((await head.get(`/api/departments/${SPDI}/settings`)).body, { restrictedListing: 'shown' });

  for (const who of [clerk, physician, tbHead, t.admin]) {
    assert.equal((await who.put(`/api/departments/${SPDI}/settings`, { restrictedListing: 'hidden' })).status, 403);
  }
  assert.equal((await head.put(`/api/departments/${SPDI}/settings`, { restrictedListing: 'secret' })).status, 422);
  assert.equal((await head.put(`/api/departments/${SPDI}/settings`, { restrictedListing: 'hidden' })).status, 200);
  assert.deepEqual(await listed(clerk), ['normal']);
  assert.deepEqual(await listed(physician), ['normal', 'restricted']);
  assert.deepEqual(await listed(head), ['normal', 'restricted']);
  const dpo = await t.user({ tenantRoles: ['dpo'] });
  const log = await dpo.get('/api/audit?action=department.settings.update&outcome=allowed');
  assert.deepEqual(
    log.body.map((e: { actorId: string; detail: unknown }) => [e.actorId, e.detail]),
    [[head.id, { restrictedListing: 'hidden' }]],
  );
});

test('a hidden restricted record named by its id is "not found" for a clerk, exactly like a missing one; shown ones stay "forbidden"', async () => {
  const SPDI = t.departments.SPDI!;
  const head = await t.user({ memberships: [{ departmentId: SPDI, role: 'head' }] });
  const physician = await t.user({ memberships: [{ departmentId: SPDI, role: 'physician' }] });
  const clerk = await t.user({ memberships: [{ departmentId: SPDI, role: 'clerk' }] });
  const person = (await physician.post('/api/persons', samplePerson(SPDI, 'Unsichtbar'))).body.id as string;
  const secret = (
    await physician.post(`/api/persons/${person}/records`, {
      type: 'note',
      sensitivity: 'restricted',
      content: { text: 'Unterbringung erwogen' },
    })
  ).body.id as string;
  const plain = (
    await physician.post(`/api/persons/${person}/records`, {
      type: 'note',
      sensitivity: 'normal',
      content: { text: 'Rückruf' },
    })
  ).body.id as string;
  await head.put(`/api/departments/${SPDI}/settings`, { restrictedListing: 'shown' });
  assert.equal(
    (await clerk.get(`/api/records/${secret}`)).status,
    403,
    'listed and marked: the clerk knows it is there',
  );
  assert.equal((await head.put(`/api/departments/${SPDI}/settings`, { restrictedListing: 'hidden' })).status, 200);
  const missing = await clerk.get('/api/records/00000000-0000-4000-8000-000000000000');
  for (const [method, path, body] of [
    ['GET', `/api/records/${secret}`],
    ['GET', `/api/records/${secret}/versions`],
    ['PUT', `/api/records/${secret}`, { content: { text: 'x' }, version: 1 }],
    ['DELETE', `/api/records/${secret}`, { reason: 'Irrtümlich angelegt' }],
  ] as const) {
    const r = await clerk.call(method, path, body);
    assert.equal(r.status, 404, `${method} ${path}`);
    assert.deepEqual(r.body, missing.body, 'the same answer as for a record that does not exist');
  }
  assert.equal((await clerk.get(`/api/records/${plain}`)).status, 200);
  assert.equal((await physician.get(`/api/records/${secret}`)).status, 200);
  assert.equal((await head.get(`/api/records/${secret}`)).status, 200);
  await head.put(`/api/departments/${SPDI}/settings`, { restrictedListing: 'shown' });
});
