// An IfSG case is a record of type `ifsg-case`; its facts beside it (ifsg_cases) follow every
// version and the delete in the same transaction, and hold nothing readable about the disease.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Principal } from '../../src/access/policy.ts';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { reportingWeek } from '../../src/infection/reporting-week.ts';
import { startHarness, setUpTenant, samplePerson, type Harness, type Tenant } from '../helpers/harness.ts';

let h: Harness;
let t: Tenant;
before(async () => {
  h = await startHarness();
  t = await setUpTenant(h);
});
after(() => h.close());

const caseRow = (recordId: string) =>
  inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx.selectFrom('ifsg_cases').selectAll().where('record_id', '=', recordId).executeTakeFirst(),
  );

const content = {
  disease: { system: 'https://demis.rki.de/fhir/CodeSystem/notificationCategory', code: 'cvdp', display: 'SARS-CoV-2' },
  status: 'suspected',
  notifiedOn: '2026-12-04',
};

test('the reporting week is the ISO week, across year ends', () => {
  assert.equal(reportingWeek('2026-12-04'), '2026-W49');
  assert.equal(reportingWeek('2027-01-01'), '2026-W53');
  assert.equal(reportingWeek('2026-01-01'), '2026-W01');
  assert.equal(reportingWeek('2024-12-30'), '2025-W01');
  assert.equal(reportingWeek('2021-01-03'), '2020-W53');
});

test('a case record writes, follows and withdraws its facts; the disease is a digest and sealed', async () => {
  const physician = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'physician' }] });
  const { body: person } = await physician.post('/api/persons', samplePerson(t.departments.INF!, 'Fallmeier'));
  const created = await physician.post(`/api/persons/${person.id}/records`, {
    type: 'ifsg-case',
    sensitivity: 'normal',
    content,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.id;
  const first = await caseRow(id);
  assert.ok(first);
  assert.equal(first.status, 'suspected');
  assert.equal(first.reporting_week, '2026-W49');
  assert.equal(first.department_id, t.departments.INF);
  assert.equal(first.person_id, person.id);
  assert.equal(first.version, 1);
  assert.match(first.disease_digest, /^[0-9a-f]{32}$/);
  for (const needle of ['cvdp', 'SARS', 'CoV'])
    assert.ok(!Buffer.from(first.disease_enc).toString('latin1').includes(needle), needle);
  const principal: Principal = {
    userId: physician.id,
    tenantId: t.tenantId,
    tenantRoles: [],
    memberships: [{ departmentId: t.departments.INF!, role: 'physician' }],
  };
  const found = await h.services.gate.run(principal, 'record.read', { kind: 'record', recordId: id }, (ctx) =>
    h.services.cases.findCase(ctx, person.id, 'CVDP'),
  );
  assert.equal(found, id);

  const updated = await physician.put(`/api/records/${id}`, {
    content: { ...content, status: 'confirmed', category: 'C', notifiedOn: '2027-01-01' },
    version: 1,
  });
  assert.equal(updated.status, 200);
  const second = await caseRow(id);
  assert.equal(second!.status, 'confirmed');
  assert.equal(second!.category, 'C');
  assert.equal(second!.reporting_week, '2026-W53');
  assert.equal(second!.version, 2);
  assert.equal(second!.disease_digest, first.disease_digest);

  const removed = await physician.del(`/api/records/${id}`, { reason: 'Doppelt angelegt, Fall besteht bereits' });
  assert.equal(removed.status, 204, JSON.stringify(removed.body));
  const gone = await caseRow(id);
  assert.ok(gone!.deleted_at);
});

test('a measure ending before it starts is refused with the field named, and nothing is written', async () => {
  const physician = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'physician' }] });
  const { body: person } = await physician.post('/api/persons', samplePerson(t.departments.INF!, 'Maßnahmer'));
  const refused = await physician.post(`/api/persons/${person.id}/records`, {
    type: 'ifsg-case',
    sensitivity: 'normal',
    content: {
      ...content,
      measures: [{ kind: 'isolation', from: '2026-12-05', until: '2026-12-01', legalBasis: '§30 IfSG' }],
    },
  });
  assert.equal(refused.status, 422);
  assert.deepEqual(
    refused.body.errors.map((f: { field: string; code: string }) => [f.field, f.code]),
    [['content.measures.0.until', 'date-order']],
  );
  const rows = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx.selectFrom('ifsg_cases').select('record_id').where('person_id', '=', person.id).execute(),
  );
  assert.deepEqual(rows, []);
});
