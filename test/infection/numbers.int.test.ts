// The team's numbers (issue 16): cases per disease per reporting week (ISO week), per status and per
// outbreak, straight from ifsg_cases. Right across a year's end (2026-W53), "not-a-case" apart,
// deleted cases gone, restricted ones counted, another department's never; weeks validated by field.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { weekMonday, weeksBetween } from '../../src/infection/numbers.ts';
import { Client, samplePerson, setUpTenant, startHarness, type Harness, type Tenant } from '../helpers/harness.ts';

let h: Harness;
let t: Tenant;
let INF: string;
let TB: string;
type C = Awaited<ReturnType<Tenant['user']>>;
let physician: C;
let clerk: C;
let other: C;
before(async () => {
  h = await startHarness();
  t = await setUpTenant(h);
  INF = t.departments.INF!;
  TB = t.departments.TB!;
  physician = await t.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  clerk = await t.user({ memberships: [{ departmentId: INF, role: 'clerk' }] });
  other = await t.user({ memberships: [{ departmentId: TB, role: 'physician' }] });
});
after(() => h.close());

const NORO = {
  system: 'https://demis.rki.de/fhir/CodeSystem/notificationCategory',
  code: 'norp',
  display: 'Norovirus',
};
const COVID = { code: 'cvdp', display: 'SARS-CoV-2' };

let n = 0;
async function newCase(
  by: C,
  dept: string,
  content: Record<string, unknown>,
  sensitivity: 'normal' | 'restricted' = 'normal',
): Promise<string> {
  const person = await by.post('/api/persons', samplePerson(dept, `Zählfall${++n}`));
  const r = await by.post(`/api/persons/${person.body.id}/records`, {
    type: 'ifsg-case',
    sensitivity,
    content: { status: 'confirmed', ...content },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id;
}

test('ISO weeks: which exist, and the weeks between two', () => {
  assert.ok(weekMonday('2026-W53'));
  assert.equal(weekMonday('2026-W53')!.toISOString().slice(0, 10), '2026-12-28');
  assert.equal(weekMonday('2025-W53'), null);
  assert.equal(weekMonday('2026-W00'), null);
  assert.equal(weekMonday('2026-W54'), null);
  assert.equal(weekMonday('2026-49'), null);
  assert.deepEqual(weeksBetween('2026-W52', '2027-W02'), ['2026-W52', '2026-W53', '2027-W01', '2027-W02']);
  assert.equal(weeksBetween('2025-W01', '2026-W53').length, 105);
});

test('cases per disease, week, status and outbreak, across the year end; not-a-case apart; deleted ones gone', async () => {
  const outbreak = (
    await clerk.post(`/api/departments/${INF}/outbreaks`, {
      name: 'Seniorenheim Lindenhof',
      setting: 'nursing-home',
      periodFrom: '2026-12-20',
    })
  ).body.id;
  // 2026-W52: 24.12.; 2026-W53: 28.12.–03.01.; 2027-W01: 04.01.
  const a = await newCase(physician, INF, { disease: NORO, notifiedOn: '2026-12-24' });
  const b = await newCase(physician, INF, { disease: NORO, notifiedOn: '2027-01-01', status: 'suspected' });
  await newCase(physician, INF, { disease: NORO, notifiedOn: '2026-12-28', status: 'probable' });
  await newCase(physician, INF, { disease: COVID, notifiedOn: '2027-01-03' });
  await newCase(physician, INF, { disease: COVID, notifiedOn: '2027-01-04' }, 'restricted');
  await newCase(physician, INF, { disease: COVID, notifiedOn: '2027-01-02', status: 'not-a-case' });
  const gone = await newCase(physician, INF, { disease: NORO, notifiedOn: '2027-01-01' });
  await newCase(physician, INF, { disease: NORO, notifiedOn: '2026-12-14' }); // W51: outside the range
  await newCase(other, TB, { disease: NORO, notifiedOn: '2027-01-01' }); // another department
  for (const id of [a, b])
    assert.equal((await clerk.post(`/api/outbreaks/${outbreak}/cases`, { caseId: id, caseVersion: 1 })).status, 200);
  assert.equal(
    (await physician.del(`/api/records/${gone}`, { reason: 'Doppelt erfasst, Fall besteht bereits' })).status,
    204,
  );

  const r = await clerk.get(`/api/departments/${INF}/numbers?from=2026-W52&to=2027-W01`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const x = r.body;
  assert.deepEqual(x.weeks, ['2026-W52', '2026-W53', '2027-W01']);
  const row = (code: string) => x.diseases.find((d: { disease: { code: string } }) => d.disease.code === code);
  assert.deepEqual(row('norp').counts, [1, 2, 0]);
  assert.equal(row('norp').disease.display, 'Norovirus');
  assert.equal(row('norp').notACase, 0);
  assert.deepEqual(row('cvdp').counts, [0, 1, 1]); // the restricted case is counted
  assert.equal(row('cvdp').notACase, 1);
  assert.deepEqual(x.weekTotals, [1, 3, 1]);
  assert.equal(x.total, 5);
  assert.equal(x.notACase, 1);
  const status = (s: string) => x.byStatus.find((b: { status: string }) => b.status === s);
  assert.deepEqual(status('confirmed').counts, [1, 1, 1]);
  assert.deepEqual(status('suspected').counts, [0, 1, 0]);
  assert.deepEqual(status('probable').counts, [0, 1, 0]);
  assert.deepEqual(status('not-a-case').counts, [0, 1, 0]);
  assert.deepEqual(
    x.byOutbreak.map((o: { outbreakId: string | null; name: string | null; counts: number[] }) => [
      o.outbreakId,
      o.name,
      o.counts,
    ]),
    [
      [outbreak, 'Seniorenheim Lindenhof', [1, 1, 0]],
      [null, null, [0, 2, 1]],
    ],
  );

  // The other department sees only its own case; each department's numbers are its own.
  const theirs = (await other.get(`/api/departments/${TB}/numbers?from=2026-W52&to=2027-W01`)).body;
  assert.equal(theirs.total, 1);
  assert.equal((await other.get(`/api/departments/${INF}/numbers?from=2026-W52&to=2027-W01`)).status, 403);

  // A status change moves the count; the audit event carries counts, never a disease.
  await physician.put(`/api/records/${b}`, {
    content: { disease: NORO, notifiedOn: '2027-01-01', status: 'not-a-case', outbreakId: outbreak },
    version: 2,
  });
  const moved = (await clerk.get(`/api/departments/${INF}/numbers?from=2026-W52&to=2027-W01`)).body;
  assert.deepEqual(row('norp').counts, [1, 2, 0]);
  assert.deepEqual(
    moved.diseases.find((d: { disease: { code: string } }) => d.disease.code === 'norp').counts,
    [1, 1, 0],
  );
  assert.equal(moved.notACase, 2);
  const dpo = await t.user({ tenantRoles: ['dpo'] });
  const events = (await dpo.get(`/api/audit?action=numbers.read&actorId=${clerk.id}`)).body as {
    detail?: Record<string, unknown>;
  }[];
  assert.ok(events.length >= 2);
  assert.ok(!JSON.stringify(events).includes('norp'));
  assert.ok(!JSON.stringify(events).includes('Norovirus'));
});

test('weeks are validated and each problem names its field', async () => {
  const ask = (q: string) => clerk.get(`/api/departments/${INF}/numbers?${q}`);
  const cases: [string, string, string][] = [
    ['from=2026-49&to=2026-W50', 'querystring.from', 'invalid-format'],
    ['from=2025-W53&to=2026-W02', 'querystring.from', 'invalid-format'],
    ['from=2026-W40&to=2026-W60', 'querystring.to', 'invalid-format'],
    ['from=2026-W49&to=2026-W40', 'querystring.to', 'date-order'],
    ['from=2024-W01&to=2026-W01', 'querystring.to', 'too-big'],
    ['from=2025-W01&to=2026-W53', 'querystring.to', 'too-big'],
    ['to=2026-W01', 'querystring.from', 'required'],
    [`from=${'2026-W01'.repeat(100)}&to=2026-W02`, 'querystring.from', 'too-long'],
  ];
  for (const [q, field, code] of cases) {
    const r = await ask(q);
    assert.equal(r.status, 422, q);
    assert.equal(r.body.errors[0].field, field, q);
    assert.equal(r.body.errors[0].code, code, `${q}: ${JSON.stringify(r.body.errors)}`);
  }
  // 104 weeks are answered.
  const wide = await ask('from=2025-W01&to=2026-W52');
  assert.equal(wide.status, 200, JSON.stringify(wide.body));
  assert.equal(wide.body.weeks.length, 104);
});

test('a token reads the numbers with records:read only; a non-member is forbidden', async () => {
  const made = await clerk.post('/api/auth/tokens', { name: 'Statistik', scopes: ['dicomweb:read'], expiresInDays: 1 });
  assert.equal(made.status, 201);
  const api = new Client(h);
  const r = await api.call('GET', `/api/departments/${INF}/numbers?from=2026-W40&to=2026-W49`, undefined, {
    authorization: `Bearer ${made.body.token}`,
  });
  assert.equal(r.status, 403);
  assert.ok(r.body.type.endsWith('token-scope'));
  const admin = await t.user({ tenantRoles: ['admin'] });
  assert.equal((await admin.get(`/api/departments/${INF}/numbers?from=2026-W40&to=2026-W49`)).status, 403);
});
