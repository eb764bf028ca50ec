// The inbox's person suggestions score by what agreed, tier by tier (link 100, phonetic + given +
// birth 80, family + birth 75, phonetic + birth 70, family + given 50, phonetic + given 45,
// birth + given 40, family 20, phonetic 15, birth 10), best first, at most five; a file that agrees
// on the given name alone is no candidate at all, and another department's files are never counted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { authenticate } from '../../src/identity/sessions.ts';
import type { Principal } from '../../src/access/policy.ts';
import { matchPerson } from '../../src/infection/person-matching.ts';
import { startHarness, setUpTenant, samplePerson, type Client, type Harness, type Tenant } from '../helpers/harness.ts';

let h: Harness;
let t: Tenant;
let clerk: Client & { id: string };
let principal: Principal;
let INF: string;
before(async () => {
  h = await startHarness();
  t = await setUpTenant(h, ['INF', 'TB']);
  INF = t.departments.INF!;
  clerk = await t.user({ memberships: [{ departmentId: INF, role: 'clerk' }] });
  principal = (await authenticate(h.services.store.db, clerk.cookie!))!.principal;
});
after(() => h.close());

async function file(familyName: string, givenName: string, birthDate: string, c: Client = clerk, departmentId = INF) {
  const r = await c.post('/api/persons', { ...samplePerson(departmentId, familyName), givenName, birthDate });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id as string;
}

const match = (person: { familyName: string; givenName: string; birthDate: string }) =>
  h.services.gate.run(principal, 'notification.list', { kind: 'department', departmentId: INF }, async (ctx) => {
    const out = await matchPerson(ctx, h.services, INF, person);
    return { out, detail: ctx.audit.detail };
  });

test('the upper tiers: the link, then phonetic + given + birth, family + birth, phonetic + birth, family + given', async () => {
  const ids = {
    link: await file('Brandtner', 'Ilse', '1950-02-03'),
    phoneticGivenBirth: await file('Brantner', 'Ilse', '1950-02-03'),
    familyBirth: await file('Brandtner', 'Karl', '1950-02-03'),
    phoneticBirth: await file('Brantner', 'Karl', '1950-02-03'),
    familyGiven: await file('Brandtner', 'Ilse', '1977-01-01'),
  };
  // Another department's exact file: never a suggestion, never counted.
  const tbHead = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'head' }] });
  await file('Brandtner', 'Ilse', '1950-02-03', tbHead, t.departments.TB!);
  const { out, detail } = await match({ familyName: 'Brandtner', givenName: 'Ilse', birthDate: '1950-02-03' });
  assert.deepEqual(
    out.map((m) => [m.personId, m.score, m.agreed.join(' ')]),
    [
      [ids.link, 100, 'link family phonetic given birth'],
      [ids.phoneticGivenBirth, 80, 'phonetic given birth'],
      [ids.familyBirth, 75, 'family phonetic birth'],
      [ids.phoneticBirth, 70, 'phonetic birth'],
      [ids.familyGiven, 50, 'family phonetic given'],
    ],
  );
  assert.equal(out[0]!.familyName, 'Brandtner');
  assert.deepEqual(detail, { candidates: 5, shown: 5 });
});

test('the lower tiers: phonetic + given, birth + given, family, phonetic, birth; the given name alone is no candidate', async () => {
  const ids = {
    phoneticGiven: await file('Quantmaier', 'Edeltraud', '1960-01-01'),
    birthGiven: await file('Oberschmied', 'Edeltraud', '1944-07-08'),
    family: await file('Quandtmeyer', 'Otto', '1960-01-01'),
    phonetic: await file('Quantmaier', 'Otto', '1961-01-01'),
    birth: await file('Xylander', 'Otto', '1944-07-08'),
  };
  await file('Yelverton', 'Edeltraud', '1930-01-01');
  const { out, detail } = await match({ familyName: 'Quandtmeyer', givenName: 'Edeltraud', birthDate: '1944-07-08' });
  assert.deepEqual(
    out.map((m) => [m.personId, m.score, m.agreed.join(' ')]),
    [
      [ids.phoneticGiven, 45, 'phonetic given'],
      [ids.birthGiven, 40, 'given birth'],
      [ids.family, 20, 'family phonetic'],
      [ids.phonetic, 15, 'phonetic'],
      [ids.birth, 10, 'birth'],
    ],
  );
  // Yelverton (and the other Edeltraud files) share only the given name: not candidates.
  assert.deepEqual(detail, { candidates: 5, shown: 5 });

  const none = await match({ familyName: 'Zanderbrock', givenName: 'Edeltraud', birthDate: '1999-09-09' });
  assert.deepEqual(none.out, []);
});

test('a partial birth date matches no full one; names still do', async () => {
  const id = await file('Wohlgemuth', 'Ansgar', '1971-06-15');
  const { out } = await match({ familyName: 'Wohlgemuth', givenName: 'Ansgar', birthDate: '1971-06' });
  assert.deepEqual(
    out.map((m) => [m.personId, m.score, m.agreed.join(' ')]),
    [[id, 50, 'family phonetic given']],
  );
});
