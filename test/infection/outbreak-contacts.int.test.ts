// An outbreak's view lists the contact persons of its cases (issue 16): counted by state (restricted ones
// too), listed with names for whoever may read them (a clerk does not see a restricted case's contact),
// contacts of cases outside the outbreak or of cases taken out of it not at all; each listed file is
// on the record of the read.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { startHarness, setUpTenant, samplePerson, type Client, type Harness, type Tenant } from '../helpers/harness.ts';

let h: Harness;
let t: Tenant;
let INF: string;
let clerk: Client & { id: string };
let physician: Client & { id: string };
let other: Client & { id: string };

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h);
  INF = t.departments.INF!;
  clerk = await t.user({ memberships: [{ departmentId: INF, role: 'clerk' }] });
  physician = await t.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  other = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'head' }] });
});
after(() => h.close());

const person = async (name: string) =>
  (await physician.post('/api/persons', samplePerson(INF, name))).body.id as string;

async function kase(personId: string, sensitivity = 'normal') {
  const r = await physician.post(`/api/persons/${personId}/records`, {
    type: 'ifsg-case',
    sensitivity,
    content: { disease: { code: 'nrvd', display: 'Norovirus' }, status: 'confirmed', notifiedOn: '2026-12-01' },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id as string;
}

async function contact(caseId: string, name: string, lastExposure: string, by = clerk) {
  const r = await by.post(`/api/cases/${caseId}/contacts`, {
    person: { familyName: name, givenName: 'Kunigunde', birthDate: '1975-05-05' },
    category: 'close',
    lastExposure,
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id as string;
}

test("an outbreak lists and counts its cases' contacts; restricted ones counted but not named for a clerk", async () => {
  const outbreak = (
    await clerk.post(`/api/departments/${INF}/outbreaks`, {
      name: 'Kita Sonnenschein',
      setting: 'daycare',
      periodFrom: '2026-11-25',
    })
  ).body.id as string;
  const normal = await kase(await person('Ausbruchsfall'));
  const secret = await kase(await person('Geheimfall'), 'restricted');
  const outside = await kase(await person('Andersfall'));
  const removed = await kase(await person('Herausfall'));
  for (const c of [normal, secret, removed]) {
    const r = await physician.post(`/api/outbreaks/${outbreak}/cases`, { caseId: c, caseVersion: 1 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  const active = await contact(normal, 'Kontaktaktiv', '2026-12-02');
  const ended = await contact(normal, 'Kontaktbeendet', '2026-12-01');
  const converted = await contact(normal, 'Kontaktumgewandelt', '2026-11-30');
  const hidden = await contact(secret, 'Kontaktgeheim', '2026-12-03', physician);
  await contact(outside, 'Kontaktdraussen', '2026-12-02');
  await contact(removed, 'Kontaktheraus', '2026-12-02');
  assert.equal((await clerk.del(`/api/outbreaks/${outbreak}/cases/${removed}`)).status, 200);
  const rec = (await clerk.get(`/api/records/${ended}`)).body;
  assert.equal(
    (await clerk.put(`/api/records/${ended}`, { content: { ...rec.content, state: 'ended' }, version: rec.version }))
      .status,
    200,
  );
  assert.equal((await clerk.post(`/api/contacts/${converted}/convert`)).status, 200);

  const asClerk = await clerk.get(`/api/outbreaks/${outbreak}`);
  assert.equal(asClerk.status, 200, JSON.stringify(asClerk.body));
  assert.deepEqual(asClerk.body.contactCounts, { active: 2, ended: 1, converted: 1 });
  assert.deepEqual(
    asClerk.body.contactList.map((c: { id: string; familyName: string; state: string; caseId: string }) => [
      c.id,
      c.familyName,
      c.state,
      c.caseId,
    ]),
    [
      [active, 'Kontaktaktiv', 'active', normal],
      [ended, 'Kontaktbeendet', 'ended', normal],
      [converted, 'Kontaktumgewandelt', 'converted', normal],
    ],
  );
  assert.equal(asClerk.body.contactsNotListed, 1);
  assert.ok(!JSON.stringify(asClerk.body).includes('Kontaktgeheim'));

  const asPhysician = await physician.get(`/api/outbreaks/${outbreak}`);
  assert.equal(asPhysician.body.contactList[0].id, hidden);
  assert.equal(asPhysician.body.contactList[0].sensitivity, 'restricted');
  assert.equal(asPhysician.body.contactList.length, 4);
  assert.equal(asPhysician.body.contactsNotListed, 0);

  // Another department does not see the outbreak at all.
  assert.equal((await other.get(`/api/outbreaks/${outbreak}`)).status, 404);

  // The read is on the record of each listed file, with counts only in its detail.
  const events = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .selectFrom('audit_events')
      .select(['person_id', 'detail'])
      .where('action', '=', 'outbreak.read')
      .where('actor_id', '=', clerk.id)
      .execute(),
  );
  const contactPersons = asClerk.body.contactList.map((c: { personId: string }) => c.personId);
  for (const p of contactPersons)
    assert.ok(
      events.some((e) => e.person_id === p),
      `the read is on ${p}'s record`,
    );
  assert.ok(events.some((e) => e.detail && JSON.parse(e.detail).contacts === 3));
  assert.ok(!events.some((e) => e.detail?.includes('Kontakt')));
});
