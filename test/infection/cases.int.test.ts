// A department's IfSG case list (issue 16): filters by status, disease, reporting week, outbreak and
// name; names and diseases unsealed for the page only; restricted cases left out for whoever may not
// read them; another department's list refused; tokens within their scopes; nothing readable at rest.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { inTenantTransaction } from '../../src/db/connect.ts';
import {
  DIALECT,
  startHarness,
  setUpTenant,
  samplePerson,
  type Harness,
  type Tenant,
  type Client,
} from '../helpers/harness.ts';

let h: Harness;
let t: Tenant;
let INF: string;
let physician: Client & { id: string };
let clerk: Client & { id: string };
let head: Client & { id: string };
let stopped = false;
const ids: Record<string, string> = {};
let outbreak: string;

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h);
  INF = t.departments.INF!;
  head = await t.user({ memberships: [{ departmentId: INF, role: 'head' }] });
  physician = await t.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  clerk = await t.user({ memberships: [{ departmentId: INF, role: 'clerk' }] });
  const made = await physician.post(`/api/departments/${INF}/outbreaks`, {
    name: 'Kita Pusteblume',
    setting: 'daycare',
    periodFrom: '2026-11-01',
  });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  outbreak = made.body.id;
  const person = async (familyName: string, birthDate = '1961-04-17') => {
    const r = await physician.post('/api/persons', { ...samplePerson(INF, familyName), birthDate });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.id as string;
  };
  const kase = async (personId: string, content: object, sensitivity = 'normal') => {
    const r = await physician.post(`/api/persons/${personId}/records`, { type: 'ifsg-case', sensitivity, content });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.id as string;
  };
  ids.masern = await kase(await person('Zwirbelmoser', '1990-02-03'), {
    disease: { code: 'msvd', display: 'Masernvirus-Erkrankung' },
    status: 'confirmed',
    category: 'C',
    notifiedOn: '2026-12-04',
    outbreakId: outbreak,
    measures: [{ kind: 'isolation', from: '2026-12-01', until: '2099-12-20', legalBasis: '§30 IfSG' }],
  });
  ids.covid = await kase(await person('Quendelhuber'), {
    disease: { code: 'cvdd', display: 'Coronavirus-Krankheit-2019' },
    status: 'suspected',
    notifiedOn: '2026-11-20',
  });
  ids.secret = await kase(
    await person('Geheimrathsberg'),
    { disease: { code: 'msvd', display: 'Masernvirus-Erkrankung' }, status: 'probable', notifiedOn: '2026-12-02' },
    'restricted',
  );
});
after(async () => {
  if (stopped) fs.rmSync(h.dir, { recursive: true, force: true });
  else await h.close();
});

const list = (c: Client, query = '') => c.get(`/api/departments/${INF}/cases${query}`);
const recordIds = (body: { recordId: string }[]) => body.map((x) => x.recordId).sort();

test('the list shows the department cases with names, disease and facts, newest first', async () => {
  const r = await list(physician);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(
    r.body.map((x: { recordId: string }) => x.recordId),
    [ids.secret, ids.covid, ids.masern],
  );
  const m = r.body.find((x: { recordId: string }) => x.recordId === ids.masern);
  assert.equal(m.familyName, 'Zwirbelmoser');
  assert.equal(m.birthDate, '1990-02-03');
  assert.deepEqual(m.disease, { code: 'msvd', display: 'Masernvirus-Erkrankung' });
  assert.equal(m.status, 'confirmed');
  assert.equal(m.category, 'C');
  assert.equal(m.reportingWeek, '2026-W49');
  assert.equal(m.outbreakId, outbreak);
  assert.equal(m.measuresUntil, '2099-12-20');
  assert.equal(m.openMeasures, 1);
});

test('filters: status, disease, week, outbreak, name and birth date', async () => {
  assert.deepEqual(recordIds((await list(physician, '?status=confirmed')).body), [ids.masern]);
  assert.deepEqual(recordIds((await list(physician, '?disease=MSVD')).body), [ids.masern, ids.secret].sort());
  assert.deepEqual(recordIds((await list(physician, '?week=2026-W47')).body), [ids.covid]);
  assert.deepEqual(recordIds((await list(physician, `?outbreak=${outbreak}`)).body), [ids.masern]);
  assert.deepEqual(recordIds((await list(physician, '?q=quendelhuber')).body), [ids.covid]);
  assert.deepEqual(recordIds((await list(physician, '?q=03.02.1990')).body), [ids.masern]);
  assert.deepEqual(recordIds((await list(physician, '?q=Niemandsland')).body), []);
  assert.deepEqual(recordIds((await list(physician, '?disease=msvd&status=suspected')).body), []);
});

test('paged: a Link to the next page, which continues where the first stopped', async () => {
  const first = await list(physician, '?limit=2');
  assert.equal(first.body.length, 2);
  const link = /<([^>]+)>; rel="next"/.exec(String(first.headers.link))![1]!;
  const second = await physician.get(link);
  assert.deepEqual(
    second.body.map((x: { recordId: string }) => x.recordId),
    [ids.masern],
  );
  assert.equal(second.headers.link, undefined);
});

test('a restricted case is left out for a clerk (where the department hides them, and where it shows them)', async () => {
  assert.ok(recordIds((await list(head)).body).includes(ids.secret!));
  for (const listing of ['hidden', 'shown']) {
    assert.equal((await head.put(`/api/departments/${INF}/settings`, { restrictedListing: listing })).status, 200);
    const r = await list(clerk);
    assert.equal(r.status, 200);
    assert.deepEqual(recordIds(r.body), [ids.masern, ids.covid].sort(), listing);
    assert.equal((await list(clerk, '?disease=msvd')).body.length, 1);
  }
});

test('another department, a non-member, a token without the scope: refused; with records:read: allowed', async () => {
  const other = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'head' }] });
  assert.equal((await list(other)).status, 403);
  assert.equal((await t.admin.get(`/api/departments/${INF}/cases`)).status, 403);
  assert.equal((await list(physician, '?week=nächste')).status, 422);
  const bad = await list(physician, `?q=${'x'.repeat(300)}`);
  assert.equal(bad.status, 422);
  assert.equal(bad.body.field, 'querystring.q');
  const made = async (scopes: string[]) =>
    (await physician.post('/api/auth/tokens', { name: `t-${scopes.join('-')}`, scopes })).body.token as string;
  const read = await made(['records:read']);
  const dicom = await made(['dicomweb:read']);
  const asToken = (token: string) =>
    physician.call('GET', `/api/departments/${INF}/cases`, undefined, { authorization: `Bearer ${token}`, cookie: '' });
  assert.equal((await asToken(read)).status, 200);
  const refused = await asToken(dicom);
  assert.equal(refused.status, 403);
  assert.equal(refused.body.code, 'token-scope');
});

test('the list is audited, and each file it showed has its own event', async () => {
  const events = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .selectFrom('audit_events')
      .select(['action', 'person_id', 'outcome'])
      .where('action', '=', 'case.list')
      .execute(),
  );
  assert.ok(
    events.some((e) => e.outcome === 'allowed' && e.person_id !== null),
    'each file shown has its event',
  );
});

test('nothing readable at rest: names, disease codes and labels', { skip: DIALECT === 'postgres' }, async () => {
  await h.stop();
  stopped = true;
  const dir = h.config.dataDir;
  const files = fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  let control = false;
  const secrets = [
    'Zwirbelmoser',
    'Quendelhuber',
    'Geheimrathsberg',
    'Masernvirus',
    'Coronavirus-Krankheit',
    'msvd',
    'cvdd',
  ];
  for (const f of files) {
    const bytes = fs.readFileSync(path.join(f.parentPath, f.name)).toString('latin1').toLowerCase();
    for (const s of secrets) assert.ok(!bytes.includes(s.toLowerCase()), `${s} in ${f.name}`);
    if (bytes.includes('2026-w49')) control = true;
  }
  assert.ok(control, 'the scan finds what is stored in clear (the reporting week)');
});
