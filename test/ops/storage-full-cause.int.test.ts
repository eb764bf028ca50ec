// A full disk met while auditing a token's use on a self route, or a refused
// request, is answered 503 `storage-full` like every other full-disk refusal,
// not `audit-unavailable`: the audit's failure keeps its cause.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, setUpTenant, samplePerson, Client, type Harness, type Tenant } from '../helpers/harness.ts';

let h: Harness;
let t: Tenant;
before(async () => {
  h = await startHarness();
  t = await setUpTenant(h, ['TB']);
});
after(() => h.close());

/** Runs `work` while every audit append finds no space. */
async function withFullDisk<T>(work: () => Promise<T>): Promise<T> {
  const audit = h.services.audit;
  const append = audit.append;
  audit.append = () => {
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  };
  try {
    return await work();
  } finally {
    audit.append = append;
  }
}

test("a token's use on a self route that cannot be audited for lack of space is storage-full", async () => {
  const clerk = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'clerk' }] });
  const { body } = await clerk.post('/api/auth/tokens', { name: 'Skript', scopes: ['records:read'], expiresInDays: 1 });
  const c = new Client(h);
  const r = await withFullDisk(() => c.call('GET', '/api/me', undefined, { authorization: `Bearer ${body.token}` }));
  assert.equal(r.status, 503);
  assert.equal(r.body.type, 'https://kartei.invalid/problems/storage-full');
});

test('a refused request that cannot be audited for lack of space is storage-full', async () => {
  const clerk = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'clerk' }] });
  const bad = { ...samplePerson(t.departments.TB!), familyName: 42 };
  const r = await withFullDisk(() => clerk.post('/api/persons', bad));
  assert.equal(r.status, 503);
  assert.equal(r.body.type, 'https://kartei.invalid/problems/storage-full');
});
