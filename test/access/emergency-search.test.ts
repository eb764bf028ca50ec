// Before breaking the glass: finding a file of another department. Only with a
// reason, only other departments' files, only a few, and every file shown is
// on the record with the reason; then the glass is broken for the one meant.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, setUpTenant, samplePerson, type Client, type Harness, type Tenant } from '../helpers/harness.ts';

let h: Harness;
let t: Tenant;
let tbClerk: Client & { id: string };
let infFile: string;
let tbFile: string;
const reason = 'Patient in der Sprechstunde kollabiert, Vorbefunde werden gebraucht';

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h);
  const infClerk = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'clerk' }] });
  tbClerk = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'clerk' }] });
  infFile = (await infClerk.post('/api/persons', samplePerson(t.departments.INF!, 'Wisniewski'))).body.id;
  tbFile = (await tbClerk.post('/api/persons', samplePerson(t.departments.TB!, 'Wisniewski'))).body.id;
  for (let i = 0; i < 12; i++) await infClerk.post('/api/persons', { ...samplePerson(t.departments.INF!, 'Lewandowski'), givenName: `Kind${i}` });
});
after(() => h.close());

test('a member finds other departments\' files by surname (also as it sounds), never its own, at most ten', async () => {
  const r = await tbClerk.post('/api/persons/emergency-search', { q: 'Wischnewski', reason });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.map((p: { id: string }) => p.id), [infFile]);
  assert.deepEqual(Object.keys(r.body[0]).sort(), ['birthDate', 'departmentId', 'familyName', 'givenName', 'id']);
  assert.equal((await tbClerk.post('/api/persons/emergency-search', { q: 'Lewandowski', reason })).body.length, 10);
  // The ordinary search still shows only the own department's file.
  assert.deepEqual((await tbClerk.get('/api/persons?q=Wisniewski')).body.map((p: { id: string }) => p.id), [tbFile]);
});

test('without a reason of 20 characters, or as administrator or DPO, nothing is found', async () => {
  const short = await tbClerk.post('/api/persons/emergency-search', { q: 'Wisniewski', reason: 'dringend' });
  assert.equal(short.status, 422);
  assert.equal(short.body.field, 'reason');
  assert.equal((await tbClerk.post('/api/persons/emergency-search', { q: 'Wisniewski' })).status, 422);
  assert.equal((await t.admin.post('/api/persons/emergency-search', { q: 'Wisniewski', reason })).status, 403);
  const dpo = await t.user({ tenantRoles: ['dpo'] });
  assert.equal((await dpo.post('/api/persons/emergency-search', { q: 'Wisniewski', reason })).status, 403);
  // A session cookie without the CSRF header searches nothing either.
  assert.equal((await tbClerk.call('POST', '/api/persons/emergency-search', { q: 'Wisniewski', reason }, { 'x-csrf-token': 'forged' })).status, 403);
});

test('the search is on the record with its reason and each file it showed; the glass is then broken for the one meant', async () => {
  const dpo = await t.user({ tenantRoles: ['dpo'] });
  await tbClerk.post('/api/persons/emergency-search', { q: 'Wisniewski', reason });
  const log = (await dpo.get('/api/audit?action=person.emergency-search&outcome=allowed')).body;
  const ofFile = log.filter((e: { personId: string | null }) => e.personId === infFile);
  assert.ok(ofFile.length > 0, 'the file shown is named in the log');
  assert.ok(log.some((e: { reason: string; actorId: string }) => e.reason === reason && e.actorId === tbClerk.id));
  assert.equal((await tbClerk.get(`/api/persons/${infFile}`)).status, 404, 'finding is not reading');
  assert.equal((await tbClerk.post(`/api/persons/${infFile}/break-glass`, { reason })).status, 200);
  assert.equal((await tbClerk.get(`/api/persons/${infFile}`)).status, 200);
});
