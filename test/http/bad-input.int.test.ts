// Bad input at the edge: every malformed, mistyped, oversized or unknown
// request gets a clear problem+json answer, writes nothing, and never echoes
// a stack trace, SQL or the personal data it was sent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { BODY_LIMIT } from '../../src/http/app.ts';
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
let clerk: Client;
let dpo: Client;
let personId: string;

// Distinctive values: if any of them shows up in a response, the server echoed submitted personal data.
const NAME = 'Zwiebelmeister';
const GIVEN = 'Roswitha';
const person = () => ({ ...samplePerson(t.departments.INF!, NAME), givenName: GIVEN });

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h, ['INF']);
  clerk = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'clerk' }] });
  dpo = await t.user({ tenantRoles: ['dpo'] });
  const created = await clerk.post('/api/persons', samplePerson(t.departments.INF!, 'Ausgangsfall'));
  assert.equal(created.status, 201);
  personId = created.body.id;
});
after(() => h.close());

/** Row counts of everything a person or record create writes. */
async function counts() {
  return inTenantTransaction(h.services.store, t.tenantId, async (tx) => {
    const out = { persons: 0, person_versions: 0, person_index: 0, records: 0, record_versions: 0, data_keys: 0 };
    for (const table of Object.keys(out) as (keyof typeof out)[]) {
      const row = await tx
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      out[table] = Number(row.n);
    }
    return out;
  });
}

/** A problem document that leaks nothing: no stack, no SQL, none of the submitted personal data. */
function assertCleanProblem(r: Reply, status: number, what: string) {
  assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`);
  assert.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8', what);
  assert.equal(typeof r.body, 'object', what);
  assert.equal(r.body.status, status, what);
  assert.equal(typeof r.body.type, 'string', what);
  assert.equal(typeof r.body.title, 'string', what);
  assert.equal(typeof r.body.detail, 'string', what);
  const text = JSON.stringify(r.body);
  assert.doesNotMatch(text, /\bat [\w.<>]+ \(|\.ts:\d+|node_modules|node:internal/, `${what}: stack trace in ${text}`);
  assert.doesNotMatch(
    text,
    /\b(select|insert into|update \w+ set|delete from)\b|sqlite|SQLSTATE|constraint/i,
    `${what}: SQL in ${text}`,
  );
  for (const secret of [NAME, GIVEN, 'Lindenallee', 'Musterstadt']) {
    assert.ok(!text.toLowerCase().includes(secret.toLowerCase()), `${what}: echoed "${secret}" in ${text}`);
  }
}

/** Runs a bad request and checks that it answered `status`, cleanly, and wrote nothing. */
async function refused(what: string, status: number, send: () => Promise<Reply>): Promise<Reply> {
  const was = await counts();
  const r = await send();
  assertCleanProblem(r, status, what);
  assert.deepEqual(await counts(), was, `${what}: rows were written`);
  return r;
}

test('the well-formed request is accepted (the refusals below are about the input, not the caller)', async () => {
  const was = await counts();
  const ok = await clerk.post('/api/persons', { ...person(), familyName: 'Kontrollfall' });
  assert.equal(ok.status, 201);
  const now = await counts();
  assert.equal(now.persons, was.persons + 1);
  assert.equal(now.person_versions, was.person_versions + 1);
  assert.equal(now.data_keys, was.data_keys + 1);
});

test('malformed JSON answers 400 malformed-json and does not quote the body', async () => {
  // The body is cut off mid-string, right after the name: a parser message would quote it.
  const full = JSON.stringify(person());
  const cut = full.slice(0, full.indexOf(NAME) + NAME.length);
  assert.ok(cut.includes(NAME), cut);
  for (const [url, body] of [
    ['/api/persons', cut],
    ['/api/persons', `{"familyName": ${NAME}}`],
    [`/api/persons/${personId}/records`, `{"type":"note","content":{"text":"${NAME}"`],
    ['/api/persons', ''],
  ] as const) {
    const r = await refused(`malformed ${body.slice(0, 20)}`, 400, () =>
      clerk.call('POST', url, body, { 'content-type': 'application/json' }),
    );
    assert.equal(r.body.code, 'malformed-json');
  }
});

test('wrong types answer 422 naming the field', async () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ ...person(), birthDate: 123 }, 'birthDate'],
    [{ ...person(), familyName: ['Zwiebelmeister'] }, 'familyName'],
    [{ ...person(), givenName: null }, 'givenName'],
    [{ ...person(), address: 'Lindenallee 12, Musterstadt' }, 'address'],
    [{ ...person(), address: { city: 12345 } }, 'address.city'],
    [{ ...person(), sex: 'Roswitha' }, 'sex'],
    [{ ...person(), birthDate: '17.04.1961' }, 'birthDate'],
    [{ ...person(), departmentId: 42 }, 'departmentId'],
  ];
  for (const [body, field] of cases) {
    const r = await refused(`type of ${field}`, 422, () => clerk.post('/api/persons', body));
    assert.equal(r.body.code, 'validation-failed');
    assert.equal(r.body.field, field, JSON.stringify(r.body));
    assert.match(r.body.detail, new RegExp(`^${field.replace('.', '\\.')}\\b`));
  }
  // A record with wrongly typed content names the content field.
  const r = await refused('record content type', 422, () =>
    clerk.post(`/api/persons/${personId}/records`, { type: 'note', sensitivity: 'normal', content: { text: 12 } }),
  );
  assert.equal(r.body.field, 'content.text');
});

test('over-long strings answer 422 naming the field', async () => {
  const long = NAME.repeat(715).slice(0, 10_000);
  assert.equal(long.length, 10_000);
  for (const [body, field] of [
    [{ ...person(), familyName: long }, 'familyName'],
    [{ ...person(), givenName: long }, 'givenName'],
    [{ ...person(), address: { street: long } }, 'address.street'],
  ] as const) {
    const r = await refused(`long ${field}`, 422, () => clerk.post('/api/persons', body));
    assert.equal(r.body.field, field);
  }
  const r = await refused('long note', 422, () =>
    clerk.post(`/api/persons/${personId}/records`, {
      type: 'note',
      sensitivity: 'normal',
      content: { text: long.repeat(20) },
    }),
  );
  assert.equal(r.body.field, 'content.text');
});

test('unknown fields answer 422 naming the unknown field', async () => {
  for (const [body, field] of [
    [{ ...person(), nickname: 'Rosi' }, 'nickname'],
    [{ ...person(), address: { street: 'Lindenallee 12', planet: 'Erde' } }, 'address.planet'],
    [{ ...person(), tenantId: t.tenantId }, 'tenantId'],
  ] as const) {
    const r = await refused(`unknown ${field}`, 422, () => clerk.post('/api/persons', body));
    assert.equal(r.body.field, field);
    assert.match(r.body.detail, /unknown field/);
  }
  // A PATCH may not smuggle in fields either (e.g. moving the file to another department).
  const r = await refused('unknown on patch', 422, () =>
    clerk.patch(`/api/persons/${personId}`, { departmentId: t.departments.INF, version: 1 }),
  );
  assert.equal(r.body.field, 'departmentId');
  assert.equal((await clerk.get(`/api/persons/${personId}`)).body.version, 1);
});

test(`a body over ${BODY_LIMIT / 1024} KiB answers 413`, async () => {
  const big = JSON.stringify({ ...person(), address: { street: 'x'.repeat(BODY_LIMIT) } });
  assert.ok(Buffer.byteLength(big) > BODY_LIMIT, 'body must exceed the limit');
  const r = await refused('oversized', 413, () => clerk.call('POST', '/api/persons', big));
  assert.equal(r.body.code, 'payload-too-large');
  // Just under the limit is parsed (and refused for its content, not its size).
  const under = JSON.stringify({ ...person(), address: { street: 'x'.repeat(BODY_LIMIT - 1024) } });
  assert.equal(
    (await refused('just under', 422, () => clerk.call('POST', '/api/persons', under))).body.field,
    'address.street',
  );
});

test('a body that is not JSON answers 415', async () => {
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
    const r = await refused(type, 415, () =>
      clerk.call('POST', '/api/persons', `familyName=${NAME}&givenName=${GIVEN}`, { 'content-type': type }),
    );
    assert.equal(r.body.code, 'unsupported-media-type');
  }
});

test('an invalid query answers 422 naming the parameter', async () => {
  assert.equal((await dpo.get('/api/audit?limit=5')).status, 200);
  for (const [qs, field] of [
    ['limit=abc', 'limit'],
    ['limit=0', 'limit'],
    ['limit=1000000', 'limit'],
    ['outcome=maybe', 'outcome'],
    ['from=yesterday', 'from'],
    ['color=red', 'color'],
  ] as const) {
    const r = await refused(qs, 422, () => dpo.get(`/api/audit?${qs}`));
    assert.equal(r.body.code, 'validation-failed');
    assert.match(r.body.field, new RegExp(`\\b${field}$`), JSON.stringify(r.body));
  }
  // A search term is personal data: a refused search must not echo it.
  const r = await refused('search too long', 422, () => clerk.get(`/api/persons?q=${NAME.repeat(20)}`));
  assert.match(r.body.field, /\bq$/);
});

test('an unknown route answers 404 problem+json, signed in or not', async () => {
  for (const [c, method, url] of [
    [clerk, 'GET', `/api/nope/${NAME}`],
    [clerk, 'POST', '/api/persons/x/y/z'],
    [clerk, 'DELETE', '/api/persons'],
    [clerk, 'GET', '/api'],
    [new Client(h), 'GET', `/api/patients?name=${NAME}`],
  ] as const) {
    const r = await refused(`${method} ${url}`, 404, () =>
      c.call(method, url, method === 'GET' ? undefined : person()),
    );
    assert.equal(r.body.code, 'not-found');
  }
});
