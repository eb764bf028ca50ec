// Every invalid field at once, each with a stable code: a refusal lists all of them in
// `errors: [{field, code, params}]` (keeping `field` = the first and the English `detail`),
// for schema checks and for the domain's own refusals, so a screen can word each in German.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { FIELD_CODES } from '../../src/errors.ts';
import {
  startHarness,
  setUpTenant,
  samplePerson,
  Client,
  type Harness,
  type Tenant,
  type Reply,
} from '../helpers/harness.ts';

let h: Harness;
let t: Tenant;
let clerk: Client & { id: string };
let head: Client;
let personId: string;

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h, ['INF', 'TB']);
  clerk = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'clerk' }] });
  head = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'head' }] });
  const created = await clerk.post('/api/persons', samplePerson(t.departments.INF!));
  assert.equal(created.status, 201);
  personId = created.body.id;
});
after(() => h.close());

type Listed = { field: string; code: string; params?: Record<string, unknown> };

/** The listed errors by field, after checking the members every such problem keeps. */
function errorsOf(r: Reply, status: number, code: string): Map<string, Listed> {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body.code, code);
  const list = r.body.errors as Listed[];
  assert.ok(Array.isArray(list) && list.length > 0, `errors listed: ${JSON.stringify(r.body)}`);
  assert.equal(r.body.field, list[0]!.field, 'field stays the first offending field');
  assert.match(
    r.body.detail,
    new RegExp(`^${list[0]!.field.replace(/\./g, '\\.')}: `),
    'detail stays, starting with the first field',
  );
  for (const e of list)
    assert.ok((FIELD_CODES as readonly string[]).includes(e.code), `${e.code} is a catalogued field code`);
  assert.equal(new Set(list.map((e) => e.field)).size, list.length, 'each field once');
  return new Map(list.map((e) => [e.field, e]));
}

test('a person created with an empty body names family name, given name, birth date and department at once', async () => {
  const errors = errorsOf(await clerk.post('/api/persons', {}), 422, 'validation-failed');
  for (const f of ['familyName', 'givenName', 'birthDate', 'departmentId'])
    assert.equal(errors.get(f)?.code, 'required', f);
});

test('wrong input in several fields: each with its own code', async () => {
  const r = await clerk.post('/api/persons', {
    departmentId: t.departments.INF,
    familyName: '   ',
    givenName: 'x'.repeat(201),
    birthDate: '2020-02-31',
    sex: 'robot',
    hobby: 'chess',
  });
  const errors = errorsOf(r, 422, 'validation-failed');
  assert.equal(errors.get('familyName')?.code, 'required');
  assert.deepEqual(errors.get('givenName'), { field: 'givenName', code: 'too-long', params: { max: 200 } });
  assert.equal(errors.get('birthDate')?.code, 'invalid-date');
  assert.equal(errors.get('sex')?.code, 'not-one-of');
  assert.deepEqual(errors.get('sex')?.params, { options: ['female', 'male', 'diverse', 'unknown'] });
  assert.equal(errors.get('hobby')?.code, 'unknown-field');
  const future = await clerk.post('/api/persons', { ...samplePerson(t.departments.INF!), birthDate: '2999-01-01' });
  assert.equal(errorsOf(future, 422, 'validation-failed').get('birthDate')?.code, 'date-in-future');
});

test('record content: every invalid field of the type under content, ICD-10 by its own code', async () => {
  const r = await clerk.post(`/api/persons/${personId}/records`, {
    type: 'examination',
    sensitivity: 'normal',
    content: { diagnoses: ['Tuberkulose'] },
  });
  const errors = errorsOf(r, 422, 'validation-failed');
  for (const f of ['content.date', 'content.reason', 'content.findings'])
    assert.equal(errors.get(f)?.code, 'required', f);
  assert.equal(errors.get('content.diagnoses.0')?.code, 'icd10-format');
});

test("domain refusals carry their codes: a taken username, a weak password with the estimator's feedback as keys", async () => {
  const taken = await t.admin.post('/api/admin/users', {
    username: 'admin',
    displayName: 'Noch eine',
    tenantRoles: [],
    memberships: [],
  });
  assert.equal(errorsOf(taken, 409, 'conflict').get('username')?.code, 'taken');
  const user = await t.admin.post('/api/admin/users', {
    username: 'hannelore.k',
    displayName: 'Hannelore K',
    tenantRoles: [],
    memberships: [],
  });
  assert.equal(user.status, 201);
  const short = await new Client(h).post('/api/auth/enrol', { token: user.body.enrolment.token, password: 'kurz' });
  assert.deepEqual(errorsOf(short, 422, 'weak-password').get('password'), {
    field: 'password',
    code: 'password-too-short',
    params: { min: 12 },
  });
  const weak = await new Client(h).post('/api/auth/enrol', {
    token: user.body.enrolment.token,
    password: 'passwort1234',
  });
  const e = errorsOf(weak, 422, 'weak-password').get('password')!;
  assert.equal(e.code, 'password-weak');
  assert.match(String(e.params?.warning), /^[a-zA-Z]+$/, "the warning is zxcvbn's key, not its English sentence");
  assert.ok(Array.isArray(e.params?.suggestions));
  for (const s of e.params!.suggestions as string[]) assert.match(s, /^[a-zA-Z0-9]+$/);
});

test('an admin token asked for too long and without a code: both at once', async () => {
  const r = await t.admin.post('/api/auth/tokens', { name: 'Skript', scopes: ['admin'], expiresInDays: 90 });
  const errors = errorsOf(r, 422, 'validation-failed');
  assert.deepEqual(errors.get('expiresInDays'), {
    field: 'expiresInDays',
    code: 'admin-token-days',
    params: { max: 30 },
  });
  assert.equal(errors.get('code')?.code, 'code-required');
});

test('a device without certificate or host in an unknown department: both at once', async () => {
  const r = await t.admin.post('/api/admin/devices', {
    aeTitle: 'CT1',
    departmentId: 'no-such-department',
    permissions: ['store'],
  });
  const errors = errorsOf(r, 422, 'validation-failed');
  assert.equal(errors.get('certificate')?.code, 'device-needs-certificate');
  assert.equal(errors.get('departmentId')?.code, 'department-unknown');
  const remote = await t.admin.post('/api/admin/devices', {
    aeTitle: 'CT1',
    departmentId: t.departments.INF,
    permissions: ['store'],
    host: '10.1.2.3',
  });
  assert.equal(errorsOf(remote, 422, 'validation-failed').get('host')?.code, 'host-not-loopback');
});

test('a share to the own department, for no real purpose, ending in the past: all three fields, with codes', async () => {
  const r = await head.post(`/api/persons/${personId}/shares`, {
    departmentId: t.departments.INF,
    purpose: 'asdfasdfasdfasdfasdfasdf',
    until: '2001-01-01',
  });
  const errors = errorsOf(r, 422, 'validation-failed');
  assert.equal(errors.get('departmentId')?.code, 'department-own');
  assert.equal(errors.get('until')?.code, 'must-be-future');
  assert.equal(errors.get('purpose')?.code, 'reason-repeated');
  const far = await head.post(`/api/persons/${personId}/shares`, {
    departmentId: t.departments.TB,
    purpose: 'Mitbehandlung wegen Tuberkulose-Verdacht im Umfeld',
    until: '2999-01-01',
  });
  assert.deepEqual(errorsOf(far, 422, 'validation-failed').get('until'), {
    field: 'until',
    code: 'too-far-ahead',
    params: { days: 366 },
  });
  const nonsense = await head.post(`/api/persons/${personId}/shares`, {
    departmentId: t.departments.TB,
    purpose: 'kurz',
    until: '31.02.2020',
  });
  const both = errorsOf(nonsense, 422, 'validation-failed');
  assert.equal(both.get('purpose')?.code, 'reason-too-short');
  assert.deepEqual(both.get('purpose')?.params, { min: 20 });
  assert.equal(both.get('until')?.code, 'invalid-date');
});

test('no refusal in src/ names a field without a code: validation-failed, weak-password and conflict go through fieldRefused', () => {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts')) files.push(p);
    }
  };
  walk(new URL('../../src', import.meta.url).pathname);
  const bare = files.flatMap((f) =>
    fs
      .readFileSync(f, 'utf8')
      .split('\n')
      .map((line, i) => [f, i + 1, line] as const)
      .filter(([, , line]) => /new KarteiError\('(validation-failed|weak-password|conflict)'/.test(line)),
  );
  assert.deepEqual(
    bare.map(([f, n]) => `${f}:${n}`),
    [],
  );
});
