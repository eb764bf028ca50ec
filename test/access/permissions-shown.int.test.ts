// What a file and a record say the caller may do with them: the policy's own
// answer for the same resource, so that a screen offers only what the server allows.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  login,
  startHarness,
  setUpTenant,
  samplePerson,
  type Client,
  type Harness,
  type Tenant,
} from '../helpers/harness.ts';

let h: Harness;
let t: Tenant;
let file: string;
let normal: string;
let restricted: string;
const member = (departmentId: string, role: 'clerk' | 'physician' | 'head') =>
  t.user({ memberships: [{ departmentId, role }] });

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h);
  const physician = await member(t.departments.TB!, 'physician');
  file = (await physician.post('/api/persons', samplePerson(t.departments.TB!, 'Wojciechowski'))).body.id;
  normal = (
    await physician.post(`/api/persons/${file}/records`, {
      type: 'note',
      sensitivity: 'normal',
      content: { text: 'Kontrolle in 3 Monaten' },
    })
  ).body.id;
  restricted = (
    await physician.post(`/api/persons/${file}/records`, {
      type: 'note',
      sensitivity: 'restricted',
      content: { text: 'Vertraulich' },
    })
  ).body.id;
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
  assert.deepEqual(await permissions(clerk, `/api/persons/${file}`), {
    ...own,
    createRestrictedRecord: false,
    readRestricted: false,
    share: false,
    accessLog: false,
  });
  assert.deepEqual(await permissions(physician, `/api/persons/${file}`), {
    ...own,
    createRestrictedRecord: true,
    readRestricted: true,
    share: false,
    accessLog: false,
  });
  assert.deepEqual(await permissions(head, `/api/persons/${file}`), {
    ...own,
    createRestrictedRecord: true,
    readRestricted: true,
    share: true,
    accessLog: true,
  });
  assert.deepEqual(await permissions(clerk, `/api/records/${normal}`), {
    update: true,
    restrict: false,
    delete: false,
  });
  assert.deepEqual(await permissions(physician, `/api/records/${normal}`), {
    update: true,
    restrict: true,
    delete: true,
  });
  assert.deepEqual(await permissions(physician, `/api/records/${restricted}`), {
    update: true,
    restrict: true,
    delete: true,
  });
  // What the answers withhold, the server refuses: a clerk neither opens, writes nor relabels restricted content.
  assert.equal((await clerk.get(`/api/records/${restricted}`)).status, 403);
  assert.equal(
    (
      await clerk.post(`/api/persons/${file}/records`, {
        type: 'note',
        sensitivity: 'restricted',
        content: { text: 'x' },
      })
    ).status,
    403,
  );
  assert.equal(
    (
      await clerk.put(`/api/records/${normal}`, {
        content: { text: 'Kontrolle in 3 Monaten' },
        sensitivity: 'restricted',
        version: 1,
      })
    ).status,
    403,
  );
});

test('a share and a broken glass read, and may change nothing', async () => {
  const owner = await member(t.departments.TB!, 'head');
  const infHead = await member(t.departments.INF!, 'head');
  const share = await owner.post(`/api/persons/${file}/shares`, {
    departmentId: t.departments.INF,
    purpose: 'Umgebungsuntersuchung',
    until: new Date(Date.now() + 86_400_000).toISOString(),
  });
  assert.equal(share.status, 201, JSON.stringify(share.body));
  const readOnly = {
    update: false,
    createRecord: false,
    createRestrictedRecord: false,
    share: false,
    accessLog: false,
  };
  assert.deepEqual(await permissions(infHead, `/api/persons/${file}`), {
    ...readOnly,
    readRestricted: (await infHead.get(`/api/records/${restricted}`)).status === 200,
  });
  assert.deepEqual(await permissions(infHead, `/api/records/${normal}`), {
    update: false,
    restrict: false,
    delete: false,
  });
  assert.equal(
    (await infHead.put(`/api/records/${normal}`, { content: { text: 'geändert' }, version: 1 })).status,
    403,
    'and the server refuses it',
  );

  const spdi = await member(t.departments.SPDI!, 'physician');
  assert.equal(
    (
      await spdi.post(`/api/persons/${file}/break-glass`, {
        reason: 'Patient bewusstlos eingeliefert, Vorbefunde nötig',
      })
    ).status,
    200,
  );
  assert.deepEqual(await permissions(spdi, `/api/persons/${file}`), { ...readOnly, readRestricted: true });
  assert.deepEqual(await permissions(spdi, `/api/records/${restricted}`), {
    update: false,
    restrict: false,
    delete: false,
  });
});

test('the file says who may share it to a member who may not, and nobody else', async () => {
  const spdi = t.departments.SPDI!;
  const named = async (displayName: string, role: 'clerk' | 'physician' | 'head') => {
    const a = await t.account({ memberships: [{ departmentId: spdi, role }] }, { displayName });
    return login(h, a.username, a.password);
  };
  const zora = await member(spdi, 'head');
  await named('Anton Albers', 'head');
  const physician = await named('Paul Praxis', 'physician');
  const own = (await physician.post('/api/persons', samplePerson(spdi, 'Freigabefrage'))).body.id;
  const asked = await physician.get(`/api/persons/${own}`);
  assert.equal(asked.body.permissions.share, false);
  assert.deepEqual(asked.body.shareAskHeads, ['Anton Albers', zora.displayName].sort());
  // A head may share: nothing to ask. A reader through a break-glass grant belongs elsewhere: not told.
  assert.equal((await zora.get(`/api/persons/${own}`)).body.shareAskHeads, undefined);
  const outsider = await member(t.departments.INF!, 'clerk');
  assert.equal(
    (
      await outsider.post(`/api/persons/${own}/break-glass`, {
        reason: 'Patient bewusstlos eingeliefert, Vorbefunde nötig',
      })
    ).status,
    200,
  );
  assert.equal((await outsider.get(`/api/persons/${own}`)).body.shareAskHeads, undefined);
});

test("the reader's own running emergency access comes with the file, not another reader's, and not once ended", async () => {
  const owner = await member(t.departments.TB!, 'physician');
  const target = (await owner.post('/api/persons', samplePerson(t.departments.TB!, 'Notfallbanner'))).body.id;
  const grantee = await member(t.departments.INF!, 'physician');
  const other = await member(t.departments.INF!, 'physician');
  assert.equal((await grantee.get(`/api/persons/${target}`)).status, 404);
  const opened = await grantee.post(`/api/persons/${target}/break-glass`, {
    reason: 'Patient bewusstlos eingeliefert, Vorbefunde nötig',
  });
  assert.equal(opened.status, 200);
  assert.deepEqual((await grantee.get(`/api/persons/${target}`)).body.emergencyAccess, {
    expiresAt: opened.body.expiresAt,
  });
  assert.equal(
    (await owner.get(`/api/persons/${target}`)).body.emergencyAccess,
    null,
    'the owning department reads without one',
  );
  assert.equal((await other.get(`/api/persons/${target}`)).status, 404, "the grant is the grantee's alone");
  // Ended by the owning head: the next read is refused, and no banner could outlive it.
  const head = await member(t.departments.TB!, 'head');
  const review = (await head.get('/api/reviews')).body.find((x: { personId: string }) => x.personId === target);
  assert.equal((await head.del(`/api/break-glass/${review.id}`)).status, 204);
  assert.equal((await grantee.get(`/api/persons/${target}`)).status, 404);
});
