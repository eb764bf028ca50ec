// A department's daily work: create a file, find it, write and edit records,
// lose nothing to concurrent edits, delete with a reason.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { startHarness, setUpTenant, samplePerson, type Harness, type Tenant } from '../helpers/harness.ts';

let h: Harness;
let t: Tenant;
before(async () => {
  h = await startHarness();
  t = await setUpTenant(h);
});
after(() => h.close());

test('a clerk creates a file, finds it by exact and similar surname and by birth date', async () => {
  const clerk = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'clerk' }] });
  const created = await clerk.post('/api/persons', samplePerson(t.departments.INF!));
  assert.equal(created.status, 201);
  const id = created.body.id;

  for (const q of ['Quastenberg', 'quastenberg', 'Quasstenberg', 'Kwastenberg Hannelore', '1961-04-17', '17.04.1961']) {
    const found = await clerk.get(`/api/persons?q=${encodeURIComponent(q)}`);
    assert.equal(found.status, 200, q);
    assert.deepEqual(
      found.body.map((p: any) => p.id),
      q === 'Kwastenberg Hannelore' ? [] : [id],
      q,
    );
  }
  const found = await clerk.get('/api/persons?q=Quasstenberg');
  assert.deepEqual(found.body[0], {
    id,
    departmentId: t.departments.INF,
    familyName: 'Quastenberg',
    givenName: 'Hannelore',
    birthDate: '1961-04-17',
  });
  const none = await clerk.get('/api/persons?q=Schmidt');
  assert.deepEqual(none.body, []);

  const read = await clerk.get(`/api/persons/${id}`);
  assert.equal(read.status, 200);
  assert.equal(read.body.address.city, 'Musterstadt');
  assert.equal(read.body.version, 1);
});

test('records keep every version; a stale version answers 409 with the current one', async () => {
  const physician = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'physician' }] });
  const { body: person } = await physician.post('/api/persons', samplePerson(t.departments.TB!, 'Lehmann'));
  const created = await physician.post(`/api/persons/${person.id}/records`, {
    type: 'tb-screening',
    sensitivity: 'normal',
    content: { date: '2026-11-01', method: 'chest-x-ray', result: 'pending' },
  });
  assert.equal(created.status, 201);
  const rid = created.body.id;

  const v2 = await physician.put(`/api/records/${rid}`, {
    content: { date: '2026-11-01', method: 'chest-x-ray', result: 'negative' },
    version: 1,
  });
  assert.deepEqual(v2.body, { id: rid, version: 2 });
  const stale = await physician.put(`/api/records/${rid}`, {
    content: { date: '2026-11-01', method: 'chest-x-ray', result: 'positive' },
    version: 1,
  });
  assert.equal(stale.status, 409);
  assert.equal(stale.body.currentVersion, 2);

  const read = await physician.get(`/api/records/${rid}`);
  assert.equal(read.body.content.result, 'negative');
  assert.equal(read.body.personId, person.id);
  const versions = await physician.get(`/api/records/${rid}/versions`);
  assert.deepEqual(
    versions.body.map((v: any) => v.version),
    [2, 1],
  );

  const list = await physician.get(`/api/persons/${person.id}/records`);
  assert.deepEqual(
    list.body.map((r: any) => [r.id, r.type, r.sensitivity]),
    [[rid, 'tb-screening', 'normal']],
  );

  const del = await physician.del(`/api/records/${rid}`, { reason: 'Doppelt erfasst' });
  assert.equal(del.status, 204);
  assert.equal((await physician.get(`/api/records/${rid}`)).status, 404);
  assert.deepEqual((await physician.get(`/api/persons/${person.id}/records`)).body, []);
  // Kept, hidden, with its retention date.
  const row = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx.selectFrom('records').select(['deleted_at', 'retain_until']).where('id', '=', rid).executeTakeFirstOrThrow(),
  );
  assert.ok(row.deleted_at && row.retain_until && row.retain_until > row.deleted_at);
});

test('person edits are versioned and checked against the version too', async () => {
  const clerk = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'clerk' }] });
  const { body } = await clerk.post('/api/persons', samplePerson(t.departments.INF!, 'Becker'));
  const ok = await clerk.patch(`/api/persons/${body.id}`, { familyName: 'Becker-Schulz', version: 1 });
  assert.equal(ok.status, 200);
  assert.equal(ok.body.version, 2);
  const stale = await clerk.patch(`/api/persons/${body.id}`, { givenName: 'X', version: 1 });
  assert.equal(stale.status, 409);
  assert.equal(stale.body.currentVersion, 2);
  assert.equal((await clerk.get('/api/persons?q=Becker-Schulz')).body.length, 1);
  assert.equal((await clerk.get('/api/persons?q=Schulz')).body.length, 1);
});

test('each record type has its own schema; bad content names the field and writes nothing', async () => {
  const clerk = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'clerk' }] });
  const { body: p } = await clerk.post('/api/persons', samplePerson(t.departments.INF!, 'Fischer'));
  const cases: [unknown, string][] = [
    [{ type: 'horoscope', sensitivity: 'normal', content: {} }, 'type'],
    [{ type: 'note', sensitivity: 'normal', content: { text: '' } }, 'content.text'],
    [{ type: 'note', sensitivity: 'normal', content: { text: 'x', extra: 1 } }, 'content.extra'],
    [
      {
        type: 'notification',
        sensitivity: 'normal',
        content: { disease: 'Masern', legalBasis: '§6 IfSG', reportedAt: 'gestern', labConfirmed: true },
      },
      'content.reportedAt',
    ],
    [{ type: 'note', sensitivity: 'secret', content: { text: 'x' } }, 'sensitivity'],
  ];
  for (const [body, field] of cases) {
    const r = await clerk.post(`/api/persons/${p.id}/records`, body);
    assert.equal(r.status, 422, JSON.stringify(body));
    assert.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal(r.body.field, field, JSON.stringify(r.body));
  }
  assert.deepEqual((await clerk.get(`/api/persons/${p.id}/records`)).body, []);
});

test('ICD-10 codes are taken as clinicians type them (any case, with G, V, Z or A) and kept written one way', async () => {
  const physician = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'physician' }] });
  const { body: person } = await physician.post('/api/persons', samplePerson(t.departments.TB!, 'Kodierer'));
  const exam = (diagnoses: string[]) =>
    physician.post(`/api/persons/${person.id}/records`, {
      type: 'examination',
      sensitivity: 'normal',
      content: { date: '2026-12-01', reason: 'Umgebungsuntersuchung', findings: 'unauffällig', diagnoses },
    });
  const created = await exam(['a15.0', 'A15.0g', 'B20 v', ' z22.1 Z ', 'J18']);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.deepEqual((await physician.get(`/api/records/${created.body.id}`)).body.content.diagnoses, [
    'A15.0',
    'A15.0 G',
    'B20 V',
    'Z22.1 Z',
    'J18',
  ]);
  for (const bad of ['XYZ', 'A15.0 Q', 'A1', 'A15.000', 'A15.0 GG']) {
    const r = await exam([bad]);
    assert.equal(r.status, 422, bad);
    assert.equal(r.body.field, 'content.diagnoses.0', bad);
  }
  const notification = await physician.post(`/api/persons/${person.id}/records`, {
    type: 'notification',
    sensitivity: 'normal',
    content: {
      disease: 'Tuberkulose',
      icd10: 'a15.0v',
      legalBasis: '§6 IfSG',
      reportedAt: '2026-12-01',
      labConfirmed: false,
    },
  });
  assert.equal(notification.status, 201);
  assert.equal((await physician.get(`/api/records/${notification.body.id}`)).body.content.icd10, 'A15.0 V');
});
