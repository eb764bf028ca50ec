// Attacks on the DEMIS inbox: another department's notification and quarantine entry are 404, its
// inbox 403; a token without records:write cannot change anything and no token uploads; parallel
// accepts make one case (of one notification, or of two of one person and disease), parallel uploads
// of one bundle one notification, parallel bundles of one NotificationId one notification with its
// versions (PostgreSQL: four, or a 500); a link to a file merged away at that moment ends on the
// surviving file or is refused 410; oversized and wrong-typed
// uploads are refused; nothing identifying or clinical is in the database files' bytes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { diseaseBundle, laboratoryBundle } from '../helpers/demis-bundles.ts';
import { Client, DIALECT, startHarness, setUpTenant, type Harness, type Tenant } from '../helpers/harness.ts';

let h: Harness;
let t: Tenant;
let clerk: Client & { id: string };
let INF: string;
before(async () => {
  h = await startHarness();
  t = await setUpTenant(h);
  INF = t.departments.INF!;
  clerk = await t.user({ memberships: [{ departmentId: INF, role: 'clerk' }] });
});
after(() => h.close());

const upload = (c: Client, departmentId: string, body: unknown, type = 'application/fhir+json', headers = {}) =>
  c.call(
    'POST',
    `/api/departments/${departmentId}/notifications`,
    typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
    { 'content-type': type, ...headers },
  );

function bearer(token: string) {
  const c = new Client(h);
  const auth = { authorization: `Bearer ${token}` };
  return {
    call: (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) =>
      c.call(method, url, body, { ...auth, ...headers }),
  };
}

/** A notification of INF, linked to a new file, ready to accept. */
async function linkedNotification(familyName: string) {
  const r = await upload(clerk, INF, diseaseBundle({ familyName }));
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const n = (await clerk.get(`/api/notifications/${r.body.notificationId}`)).body;
  const l = await clerk.post(`/api/notifications/${n.id}/person`, {
    create: { familyName, givenName: 'Gisela', birthDate: '1966-06-06' },
    version: n.version,
  });
  assert.equal(l.status, 200, JSON.stringify(l.body));
  return { id: n.id as string, version: l.body.version as number, personId: l.body.personId as string };
}

test("another department's notification and quarantine entry are 404, its inbox 403", async () => {
  const tb = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'head' }] });
  const r = await upload(clerk, INF, laboratoryBundle({ familyName: 'Fremdabteilung' }));
  const q = await upload(clerk, INF, '{"resourceType":"Patient"}');
  assert.equal(q.status, 422);
  const id = r.body.notificationId;
  for (const url of [
    `/api/notifications/${id}`,
    `/api/notifications/${id}/bundle`,
    `/api/notifications/${id}/matches`,
    `/api/quarantine/${q.body.quarantineId}`,
  ])
    assert.equal((await tb.get(url)).status, 404, url);
  assert.equal((await tb.put(`/api/notifications/${id}/assignee`, { assigneeId: tb.id, version: 1 })).status, 404);
  assert.equal((await tb.post(`/api/notifications/${id}/accept`, { status: 'confirmed', version: 1 })).status, 404);
  assert.equal(
    (await tb.post(`/api/notifications/${id}/close`, { reason: 'Nicht unsere Meldung hier', version: 1 })).status,
    404,
  );
  assert.equal(
    (await tb.post(`/api/quarantine/${q.body.quarantineId}/dismiss`, { reason: 'Nicht unsere Sache hier' })).status,
    404,
  );
  assert.equal((await tb.get(`/api/departments/${INF}/notifications`)).status, 403);
  assert.equal((await tb.get(`/api/departments/${INF}/quarantine`)).status, 403);
  assert.equal((await upload(tb, INF, laboratoryBundle())).status, 403);
  // An admin or DPO without membership has no inbox either.
  assert.equal((await t.admin.get(`/api/departments/${INF}/notifications`)).status, 403);
  assert.equal((await t.admin.get(`/api/notifications/${id}`)).status, 404);
});

test('a token reads with records:read, changes nothing without records:write, and never uploads', async () => {
  const r = await upload(clerk, INF, laboratoryBundle({ familyName: 'Tokenhalter' }));
  const id = r.body.notificationId;
  const read = await clerk.post('/api/auth/tokens', { name: 'Lesen', scopes: ['records:read'], expiresInDays: 1 });
  assert.equal(read.status, 201, JSON.stringify(read.body));
  const api = bearer(read.body.token);
  assert.equal((await api.call('GET', `/api/departments/${INF}/notifications`)).status, 200);
  const n = await api.call('GET', `/api/notifications/${id}`);
  assert.equal(n.status, 200);
  const assign = await api.call('PUT', `/api/notifications/${id}/assignee`, {
    assigneeId: clerk.id,
    version: n.body.version,
  });
  assert.equal(assign.status, 403);
  assert.equal(assign.body.code, 'token-scope');
  const close = await api.call('POST', `/api/notifications/${id}/close`, {
    reason: 'Per Skript geschlossen',
    version: n.body.version,
  });
  assert.equal(close.status, 403);
  const write = await clerk.post('/api/auth/tokens', {
    name: 'Alles',
    scopes: ['records:read', 'records:write'],
    expiresInDays: 1,
  });
  const up = await bearer(write.body.token).call(
    'POST',
    `/api/departments/${INF}/notifications`,
    JSON.stringify(laboratoryBundle()),
    { 'content-type': 'application/fhir+json' },
  );
  assert.equal(up.status, 403);
  assert.equal(up.body.code, 'token-scope');
  const after = (await clerk.get(`/api/notifications/${id}`)).body;
  assert.equal(after.version, n.body.version, 'nothing written');
});

test('accepting twice at the same moment makes one case; the other is refused', async () => {
  const n = await linkedNotification('Doppelklick');
  const answers = await Promise.all(
    [1, 2, 3].map(() => clerk.post(`/api/notifications/${n.id}/accept`, { status: 'confirmed', version: n.version })),
  );
  const statuses = answers.map((a) => a.status).sort();
  assert.deepEqual(statuses, [200, 409, 409], JSON.stringify(answers.map((a) => a.body)));
  const cases = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx.selectFrom('ifsg_cases').select('record_id').where('person_id', '=', n.personId).execute(),
  );
  assert.equal(cases.length, 1);
});

test('two notifications of one person and disease accepted at the same moment make one case, never two', async () => {
  const first = await linkedNotification('Zweimeldung');
  const second = await upload(clerk, INF, diseaseBundle({ familyName: 'Zweimeldung' }));
  assert.equal(second.status, 201, JSON.stringify(second.body));
  const n2 = (await clerk.get(`/api/notifications/${second.body.notificationId}`)).body;
  const linked = await clerk.post(`/api/notifications/${n2.id}/person`, {
    personId: first.personId,
    version: n2.version,
  });
  assert.equal(linked.status, 200, JSON.stringify(linked.body));
  const clerk2 = await t.user({ memberships: [{ departmentId: INF, role: 'clerk' }] });
  const answers = await Promise.all([
    clerk.post(`/api/notifications/${first.id}/accept`, { status: 'confirmed', version: first.version }),
    clerk2.post(`/api/notifications/${n2.id}/accept`, { status: 'confirmed', version: linked.body.version }),
  ]);
  for (const a of answers) assert.ok(a.status === 200 || a.status === 409, JSON.stringify(a.body));
  const cases = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .selectFrom('ifsg_cases')
      .select('record_id')
      .where('person_id', '=', first.personId)
      .where('deleted_at', 'is', null)
      .execute(),
  );
  assert.equal(cases.length, 1, JSON.stringify(answers.map((a) => a.body)));
});

test('linking a notification to a file while that file is merged away, at the same moment: it ends on the surviving file, or the link is refused naming it', async () => {
  const clerk2 = await t.user({ memberships: [{ departmentId: INF, role: 'clerk' }] });
  const file = async (familyName: string) => {
    const r = await clerk.post('/api/persons', {
      departmentId: INF,
      familyName,
      givenName: 'Gisela',
      birthDate: '1966-06-06',
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.id as string;
  };
  for (let round = 0; round < 6; round++) {
    const survivor = await file('Eilverbund');
    const absorbed = await file('Eilverbund');
    const up = await upload(clerk, INF, diseaseBundle({ familyName: 'Eilverbund' }));
    assert.equal(up.status, 201, JSON.stringify(up.body));
    const n = (await clerk.get(`/api/notifications/${up.body.notificationId}`)).body;
    const [link, merge] = await Promise.all([
      clerk.post(`/api/notifications/${n.id}/person`, { personId: absorbed, version: n.version }),
      clerk2.post(`/api/persons/${survivor}/merge`, { absorbedId: absorbed, survivorVersion: 1, absorbedVersion: 1 }),
    ]);
    assert.equal(merge.status, 201, JSON.stringify(merge.body));
    const now = (await clerk.get(`/api/notifications/${n.id}`)).body;
    if (link.status === 200) assert.equal(now.personId, survivor, `round ${round}: left on the absorbed file`);
    else {
      assert.equal(link.status, 410, JSON.stringify(link.body));
      assert.equal(link.body.mergedInto, survivor);
      assert.equal(now.personId, null);
    }
  }
});

test('the same bundle uploaded in parallel is one notification; the rest are duplicates', async () => {
  const bundle = JSON.stringify(laboratoryBundle({ familyName: 'Gleichzeitig' }));
  const answers = await Promise.all([1, 2, 3, 4].map(() => upload(clerk, INF, bundle)));
  const outcomes = answers.map((a) => a.body.outcome).sort();
  assert.deepEqual(
    outcomes,
    ['created', 'duplicate', 'duplicate', 'duplicate'],
    JSON.stringify(answers.map((a) => a.body)),
  );
  assert.equal(new Set(answers.map((a) => a.body.notificationId)).size, 1);
});

test('bundles of one NotificationId arriving at the same moment (the poller and a hand upload) are one notification with its versions', async () => {
  const notificationId = randomUUID();
  const bundles = [1, 2, 3, 4].map((i) =>
    JSON.stringify(
      laboratoryBundle({
        familyName: 'Zeitgleich',
        notificationId,
        notifiedAt: `2026-12-0${i}T10:00:00+01:00`,
      }),
    ),
  );
  const answers = await Promise.all(bundles.map((b) => upload(clerk, INF, b)));
  assert.deepEqual(
    answers.map((a) => a.status).sort(),
    [201, 201, 201, 201],
    JSON.stringify(answers.map((a) => a.body)),
  );
  assert.deepEqual(
    answers.map((a) => a.body.outcome).sort(),
    ['created', 'version', 'version', 'version'],
    JSON.stringify(answers.map((a) => a.body)),
  );
  assert.equal(new Set(answers.map((a) => a.body.notificationId)).size, 1);
  const n = (await clerk.get(`/api/notifications/${answers[0]!.body.notificationId}`)).body;
  assert.equal(n.versions.length, 4);
});

test('oversized, wrongly typed and unauthenticated uploads are refused and leave nothing behind', async () => {
  const count = async () =>
    inTenantTransaction(h.services.store, t.tenantId, async (tx) => ({
      n: (await tx.selectFrom('demis_notifications').select('id').execute()).length,
      q: (await tx.selectFrom('demis_quarantine').select('id').execute()).length,
    }));
  const before = await count();
  const big = Buffer.alloc(10 * 1024 * 1024 + 10, 0x20);
  assert.equal((await upload(clerk, INF, big)).status, 413);
  assert.equal((await upload(clerk, INF, JSON.stringify(laboratoryBundle()), 'text/plain')).status, 415);
  assert.equal((await upload(new Client(h), INF, laboratoryBundle())).status, 401);
  const noCsrf = Object.assign(new Client(h), { cookie: clerk.cookie });
  assert.equal((await upload(noCsrf, INF, laboratoryBundle())).status, 403);
  assert.equal((await clerk.post(`/api/notifications/nope/accept`, { status: 'nonsense', version: 1 })).status, 422);
  assert.deepEqual(await count(), before);
});

test('an accept the file refuses (a restricted case, a clerk) writes nothing: the notification stays open', async () => {
  const physician = await t.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  const n = await linkedNotification('Eingeschraenkt');
  const restricted = await physician.post(`/api/persons/${n.personId}/records`, {
    type: 'ifsg-case',
    sensitivity: 'restricted',
    content: {
      disease: { system: 'https://demis.rki.de/fhir/CodeSystem/notificationDiseaseCategory', code: 'cvdd' },
      status: 'suspected',
      notifiedOn: '2026-12-01',
    },
  });
  assert.equal(restricted.status, 201, JSON.stringify(restricted.body));
  const refused = await clerk.post(`/api/notifications/${n.id}/accept`, { status: 'confirmed', version: n.version });
  assert.equal(refused.status, 403, JSON.stringify(refused.body));
  const after = (await clerk.get(`/api/notifications/${n.id}`)).body;
  assert.equal(after.state, 'matched');
  assert.equal(after.version, n.version);
  assert.equal(after.caseRecordId, null);
  // The physician may: the notification goes into that case.
  const accepted = await physician.post(`/api/notifications/${n.id}/accept`, {
    status: 'confirmed',
    version: n.version,
  });
  assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
  assert.equal(accepted.body.caseRecordId, restricted.body.id);
});

test("where the department hides restricted records, a clerk's inbox does not name the restricted case a notification went into", async () => {
  const physician = await t.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  const head = await t.user({ memberships: [{ departmentId: INF, role: 'head' }] });
  const n = await linkedNotification('Verborgenfall');
  const restricted = await physician.post(`/api/persons/${n.personId}/records`, {
    type: 'ifsg-case',
    sensitivity: 'restricted',
    content: {
      disease: { system: 'https://demis.rki.de/fhir/CodeSystem/notificationDiseaseCategory', code: 'cvdd' },
      status: 'suspected',
      notifiedOn: '2026-12-01',
    },
  });
  assert.equal(restricted.status, 201, JSON.stringify(restricted.body));
  const accepted = await physician.post(`/api/notifications/${n.id}/accept`, {
    status: 'confirmed',
    version: n.version,
  });
  assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
  const caseId = restricted.body.id as string;
  const inList = async (c: Client) => {
    const page = (await c.get(`/api/departments/${INF}/notifications?limit=200`)).body as {
      id: string;
      caseRecordId: string | null;
    }[];
    return page.find((i) => i.id === n.id)!.caseRecordId;
  };
  const listing = (restrictedListing: string) =>
    head.put(`/api/departments/${INF}/settings`, { restrictedListing }).then((r) => assert.equal(r.status, 200));
  try {
    // Listed (the default): the clerk knows a restricted case is there, as the file's record list shows it.
    assert.equal(await inList(clerk), caseId);
    await listing('hidden');
    assert.equal((await clerk.get(`/api/records/${caseId}`)).status, 404, 'the case is hidden from the clerk');
    assert.equal(await inList(clerk), null, 'the list names the hidden case');
    assert.equal((await clerk.get(`/api/notifications/${n.id}`)).body.caseRecordId, null, 'the detail names it');
    const assigned = await clerk.put(`/api/notifications/${n.id}/assignee`, {
      assigneeId: clerk.id,
      version: accepted.body.version,
    });
    assert.equal(assigned.status, 200, JSON.stringify(assigned.body));
    assert.equal(assigned.body.caseRecordId, null, 'the answer to an assignment names it');
    // Whoever reads restricted records is told as before.
    assert.equal(await inList(physician), caseId);
    assert.equal((await physician.get(`/api/notifications/${n.id}`)).body.caseRecordId, caseId);
  } finally {
    await listing('shown');
  }
});

test('a clerk does the daily work: assign to self, create the file, accept, close', async () => {
  const n = await linkedNotification('Tagesgeschaeft');
  const assigned = await clerk.put(`/api/notifications/${n.id}/assignee`, { assigneeId: clerk.id, version: n.version });
  assert.equal(assigned.status, 200, JSON.stringify(assigned.body));
  const accepted = await clerk.post(`/api/notifications/${n.id}/accept`, {
    status: 'suspected',
    version: assigned.body.version,
  });
  assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
});

test('nothing identifying or clinical is in the database files', {
  skip: DIALECT === 'postgres' && 'the PostgreSQL files are the server’s',
}, async () => {
  const person = {
    familyName: 'Quakenbrueckhuber',
    givenName: 'Walpurgis',
    birthDate: '1944-09-19',
    street: 'Zinnoberweg 99',
    city: 'Schnurrbarthausen',
  };
  // The NotificationId is stored in clear by design (a UUID DEMIS made): the control that the scan sees.
  const control = randomUUID();
  await upload(clerk, INF, laboratoryBundle({ ...person, diseaseCode: 'cvdp', notificationId: control }));
  await upload(clerk, INF, diseaseBundle({ ...person, familyName: 'Masernhuber', diseaseCode: 'msvd' }));
  // A refused bundle is kept sealed too.
  const broken = { ...laboratoryBundle({ ...person, familyName: 'Quarantaenehuber' }), type: 'collection' };
  assert.equal((await upload(clerk, INF, broken)).status, 422);
  await h.stop();
  const needles = [
    person.familyName,
    person.givenName,
    person.street,
    person.city,
    'Masernhuber',
    'Quarantaenehuber',
    'SARS-CoV-2',
    'Coronavirus',
    'Masern',
  ];
  const files = fs
    .readdirSync(h.config.dataDir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
  assert.ok(
    files.some((f) => /\.(db|sqlite)/.test(f)),
    files.join(','),
  );
  assert.ok(
    files.some((f) => fs.readFileSync(f).includes(Buffer.from(control))),
    'control: the clear NotificationId is found',
  );
  for (const file of files) {
    const bytes = fs.readFileSync(file);
    for (const needle of needles) {
      for (const enc of ['utf8', 'utf16le'] as const)
        assert.ok(!bytes.includes(Buffer.from(needle, enc)), `${needle} in ${path.basename(file)}`);
      assert.ok(!bytes.includes(Buffer.from(needle.toLowerCase(), 'utf8')), `${needle} in ${path.basename(file)}`);
    }
  }
});
