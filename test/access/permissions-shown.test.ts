// What a file and a record say the caller may do with them: the policy's own
// answer for the same resource, so that a screen offers only what the server allows.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, setUpTenant, samplePerson, type Client, type Harness, type Tenant } from '../helpers/harness.ts';

let h: Harness;
let t: Tenant;
let file: string;
let normal: string;
let restricted: string;
const member = (departmentId: string, role: 'clerk' | 'physician' | 'head') => t.user({ memberships: [{ departmentId, role }] });

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h);
  const physician = await member(t.departments.TB!, 'physician');
  file = (await physician.post('/api/persons', samplePerson(t.departments.TB!, 'Wojciechowski'))).body.id;
  normal = (await physician.post(`/api/persons/${file}/records`, { type: 'note', sensitivity: 'normal', content: { text: 'Kontrolle in 3 Monaten' } })).body.id;
  restricted = (await physician.post(`/api/persons/${file}/records`, { type: 'note', sensitivity: 'restricted', content: { text: 'Vertraulich' } })).body.id;
});
after(() => h.close());

const permissions = async (c: Client, path: string) => {
  const r = await c.get(path);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.permissions;
};

test('the owning department: each role as the policy says, restricted content only for senior roles', async () => {
  const clerk = await member(t.departments.TB!, 'clerk');
  const physician = await member(t.departments.TB!, 'physician');
  const head = await member(t.departments.TB!, 'head');
  const own = { update: true, createRecord: true };
  assert.deepEqual(await permissions(clerk, `/api/persons/${file}`), { ...own, createRestrictedRecord: false, readRestricted: false, share: false, accessLog: false });
  assert.deepEqual(await permissions(physician, `/api/persons/${file}`), { ...own, createRestrictedRecord: true, readRestricted: true, share: false, accessLog: false });
  assert.deepEqual(await permissions(head, `/api/persons/${file}`), { ...own, createRestrictedRecord: true, readRestricted: true, share: true, accessLog: true });
  assert.deepEqual(await permissions(clerk, `/api/records/${normal}`), { update: true, restrict: false, delete: false });
  assert.deepEqual(await permissions(physician, `/api/records/${normal}`), { update: true, restrict: true, delete: true });
  assert.deepEqual(await permissions(physician, `/api/records/${restricted}`), { update: true, restrict: true, delete: true });
  // What the answers withhold, the server refuses: a clerk neither opens, writes nor relabels restricted content.
  assert.equal((await clerk.get(`/api/records/${restricted}`)).status, 403);
  assert.equal((await clerk.post(`/api/persons/${file}/records`, { type: 'note', sensitivity: 'restricted', content: { text: 'x' } })).status, 403);
  assert.equal((await clerk.put(`/api/records/${normal}`, { content: { text: 'Kontrolle in 3 Monaten' }, sensitivity: 'restricted', version: 1 })).status, 403);
});

test('a share and a broken glass read, and may change nothing', async () => {
  const owner = await member(t.departments.TB!, 'head');
  const infHead = await member(t.departments.INF!, 'head');
  const share = await owner.post(`/api/persons/${file}/shares`, { departmentId: t.departments.INF, purpose: 'Umgebungsuntersuchung', until: new Date(Date.now() + 86_400_000).toISOString() });
  assert.equal(share.status, 201, JSON.stringify(share.body));
  const readOnly = { update: false, createRecord: false, createRestrictedRecord: false, share: false, accessLog: false };
  assert.deepEqual(await permissions(infHead, `/api/persons/${file}`), { ...readOnly, readRestricted: (await infHead.get(`/api/records/${restricted}`)).status === 200 });
  assert.deepEqual(await permissions(infHead, `/api/records/${normal}`), { update: false, restrict: false, delete: false });
  assert.equal((await infHead.put(`/api/records/${normal}`, { content: { text: 'geändert' }, version: 1 })).status, 403, 'and the server refuses it');

  const spdi = await member(t.departments.SPDI!, 'physician');
  assert.equal((await spdi.post(`/api/persons/${file}/break-glass`, { reason: 'Patient bewusstlos eingeliefert, Vorbefunde nötig' })).status, 200);
  assert.deepEqual(await permissions(spdi, `/api/persons/${file}`), { ...readOnly, readRestricted: true });
  assert.deepEqual(await permissions(spdi, `/api/records/${restricted}`), { update: false, restrict: false, delete: false });
});
