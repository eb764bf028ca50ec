// Issue 16 attacked from outside its parts: a clerk of another department (SPDI) meets 403 on INF's
// lists and the same 404 for INF's things as for ids that do not exist; ids of one kind used as
// another (a contact as a case, a quarantine entry as a notification, an outbreak as a case, a case as
// an outbreak, a merge as a file) are 404; a clerk does no senior's act; crafted bundles (markup in
// names, a correction of another department's notification, another office's ResponsibleDepartment,
// a cancellation after acceptance) do no harm; after a day's workflow nothing identifying or clinical
// is in the database files or in the audit's details, and refusals are audited too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { diseaseBundle, laboratoryBundle } from '../helpers/demis-bundles.ts';
import {
  DIALECT,
  samplePerson,
  startHarness,
  setUpTenant,
  Client,
  type Harness,
  type Tenant,
} from '../helpers/harness.ts';

type C = Client & { id: string };
let h: Harness;
let t: Tenant;
let INF: string;
let SPDI: string;
let clerk: C;
let physician: C;
let head: C;
let psych: C;
/** INF's things, made once by the department's own people. */
const inf = {} as {
  person: string;
  caseId: string;
  contactId: string;
  outbreakId: string;
  notificationId: string;
  quarantineId: string;
  mergeId: string;
  transmissionId: string;
};

const db = <T>(work: Parameters<typeof inTenantTransaction<T>>[2]) =>
  inTenantTransaction(h.services.store, t.tenantId, work);

const upload = (c: Client, departmentId: string, body: unknown) =>
  c.call(
    'POST',
    `/api/departments/${departmentId}/notifications`,
    typeof body === 'string' ? body : JSON.stringify(body),
    { 'content-type': 'application/fhir+json' },
  );

const NAMES = {
  index: 'Zwetschgenbaumer',
  contact: 'Holunderstrauchner',
  absorbed: 'Mirabellenhofer',
  notified: 'Quittengartner',
  outbreak: 'Kita Pusteblume Windpockenausbruch',
  note: 'Vermerk Rhabarberkuchen',
  followUp: 'Fieber Stachelbeere',
  closeReason: 'Doppelt gemeldet Johannisbeere',
};

async function newPerson(by: Client, departmentId: string, familyName: string, birthDate = '1961-04-17') {
  const r = await by.post('/api/persons', { ...samplePerson(departmentId, familyName), birthDate });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id as string;
}

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h);
  INF = t.departments.INF!;
  SPDI = t.departments.SPDI!;
  clerk = await t.user({ memberships: [{ departmentId: INF, role: 'clerk' }] });
  physician = await t.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  head = await t.user({ memberships: [{ departmentId: INF, role: 'head' }] });
  psych = await t.user({ memberships: [{ departmentId: SPDI, role: 'clerk' }] });

  // A day's work in INF: a notification accepted into a case, a contact with a follow-up, an outbreak,
  // a quarantined bundle, a merge, a §11 transmission.
  const up = await upload(clerk, INF, diseaseBundle({ familyName: NAMES.notified, diseaseCode: 'msvd' }));
  assert.equal(up.status, 201, JSON.stringify(up.body));
  inf.notificationId = up.body.notificationId;
  const n = (await clerk.get(`/api/notifications/${inf.notificationId}`)).body;
  const linked = await clerk.post(`/api/notifications/${inf.notificationId}/person`, {
    create: { familyName: NAMES.index, givenName: 'Walburga', birthDate: '1957-03-21' },
    version: n.version,
  });
  assert.equal(linked.status, 200, JSON.stringify(linked.body));
  inf.person = linked.body.personId;
  const accepted = await clerk.post(`/api/notifications/${inf.notificationId}/accept`, {
    status: 'confirmed',
    version: linked.body.version,
  });
  assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
  inf.caseId = accepted.body.caseRecordId;
  const contact = await clerk.post(`/api/cases/${inf.caseId}/contacts`, {
    person: { familyName: NAMES.contact, givenName: 'Adelgunde', birthDate: '1980-02-29' },
    category: 'close',
    lastExposure: '2026-12-01',
    notes: NAMES.note,
  });
  assert.equal(contact.status, 201, JSON.stringify(contact.body));
  inf.contactId = contact.body.id;
  const fu = await clerk.post(`/api/contacts/${inf.contactId}/follow-ups`, {
    symptoms: true,
    which: NAMES.followUp,
    reached: 'phone',
  });
  assert.equal(fu.status, 201, JSON.stringify(fu.body));
  const ob = await clerk.post(`/api/departments/${INF}/outbreaks`, {
    name: NAMES.outbreak,
    setting: 'daycare',
    periodFrom: '2026-11-30',
  });
  assert.equal(ob.status, 201, JSON.stringify(ob.body));
  inf.outbreakId = ob.body.id;
  const joined = await clerk.post(`/api/outbreaks/${inf.outbreakId}/cases`, { caseId: inf.caseId, caseVersion: 1 });
  assert.equal(joined.status, 200, JSON.stringify(joined.body));
  const q = await upload(clerk, INF, '{"resourceType":"Bundle","type":"collection"}');
  assert.equal(q.status, 422);
  inf.quarantineId = q.body.quarantineId;
  const survivor = await newPerson(clerk, INF, `${NAMES.absorbed}x`);
  const absorbed = await newPerson(clerk, INF, NAMES.absorbed);
  const merged = await clerk.post(`/api/persons/${survivor}/merge`, {
    absorbedId: absorbed,
    survivorVersion: 1,
    absorbedVersion: 1,
  });
  assert.equal(merged.status, 201, JSON.stringify(merged.body));
  inf.mergeId = merged.body.id;
  const settings = await head.put(`/api/departments/${INF}/transmission-settings`, {
    districtCode: '09162',
    recipient: 'Landesamt',
    version: 0,
  });
  assert.equal(settings.status, 200, JSON.stringify(settings.body));
  const sent = await physician.post(`/api/departments/${INF}/transmissions`);
  assert.equal(sent.status, 201, JSON.stringify(sent.body));
  inf.transmissionId = sent.body.id;
});
after(() => h.close());

test("another department's clerk: INF's lists are 403, INF's things the same 404 as things that do not exist", async () => {
  const lists = [
    `/api/departments/${INF}/notifications`,
    `/api/departments/${INF}/quarantine`,
    `/api/departments/${INF}/cases`,
    `/api/departments/${INF}/follow-ups`,
    `/api/departments/${INF}/outbreaks`,
    `/api/departments/${INF}/numbers?from=2026-W40&to=2026-W50`,
    `/api/departments/${INF}/transmissions`,
    `/api/departments/${INF}/transmissions/preview`,
    `/api/departments/${INF}/transmission-settings`,
  ];
  for (const url of lists) assert.equal((await psych.get(url)).status, 403, url);
  assert.equal(
    (
      await psych.post(`/api/departments/${INF}/outbreaks`, {
        name: 'Fremd',
        setting: 'school',
        periodFrom: '2026-12-01',
      })
    ).status,
    403,
  );
  assert.equal((await psych.post(`/api/departments/${INF}/transmissions`)).status, 403);

  const none = randomUUID();
  const named = (id: string): [string, string, unknown?][] => [
    ['GET', `/api/notifications/${id}`],
    ['GET', `/api/notifications/${id}/bundle`],
    ['GET', `/api/quarantine/${id}`],
    ['GET', `/api/outbreaks/${id}`],
    ['PUT', `/api/outbreaks/${id}`, { name: 'Umbenannt', setting: 'school', periodFrom: '2026-12-01', version: 1 }],
    ['POST', `/api/outbreaks/${id}/timeline`, { day: '2026-12-02', text: 'Eintrag' }],
    ['GET', `/api/cases/${id}/contacts`],
    ['POST', `/api/cases/${id}/contacts`, { personId: randomUUID(), category: 'close', lastExposure: '2026-12-01' }],
    ['POST', `/api/contacts/${id}/convert`],
    ['GET', `/api/contacts/${id}/follow-ups`],
    ['POST', `/api/contacts/${id}/follow-ups`, { symptoms: false, reached: 'phone' }],
    ['GET', `/api/transmissions/${id}`],
    ['POST', `/api/person-merges/${id}/confirm`, { version: 1 }],
    ['POST', `/api/person-merges/${id}/undo`, { version: 1 }],
    ['GET', `/api/persons/${id}/merges`],
    ['GET', `/api/records/${id}`],
  ];
  const real: Record<string, string> = {
    notifications: inf.notificationId,
    quarantine: inf.quarantineId,
    outbreaks: inf.outbreakId,
    cases: inf.caseId,
    contacts: inf.contactId,
    transmissions: inf.transmissionId,
    'person-merges': inf.mergeId,
    persons: inf.person,
    records: inf.caseId,
  };
  for (const [i, [method, url, body]] of named(none).entries()) {
    const kind = url.split('/')[2]!;
    const theirs = named(real[kind]!)[i]!;
    const missing = await psych.call(method, url, body);
    const other = await psych.call(method, theirs[1], theirs[2]);
    assert.equal(missing.status, 404, `${method} ${url} ${JSON.stringify(missing.body)}`);
    assert.equal(other.status, 404, `${method} ${theirs[1]} ${JSON.stringify(other.body)}`);
    assert.equal(other.body.code, missing.body.code, theirs[1]);
  }
  // An INF outbreak or case named from psychiatry's side: the same answers as a made-up id.
  const mine = await newPerson(psych, SPDI, 'Seelenfrieden');
  const own = await psych.post(`/api/persons/${mine}/records`, {
    type: 'ifsg-case',
    sensitivity: 'normal',
    content: { disease: { code: 'cvdd' }, status: 'suspected', notifiedOn: '2026-12-01' },
  });
  assert.equal(own.status, 201, JSON.stringify(own.body));
  const into = (outbreakId: string) =>
    psych.post(`/api/outbreaks/${outbreakId}/cases`, { caseId: own.body.id, caseVersion: 1 });
  const a = await into(inf.outbreakId);
  const b = await into(randomUUID());
  assert.equal(a.status, b.status, JSON.stringify([a.body, b.body]));
  assert.equal(a.body.code, b.body.code);
  const put = (outbreakId: string) =>
    psych.put(`/api/records/${own.body.id}`, {
      content: { disease: { code: 'cvdd' }, status: 'suspected', notifiedOn: '2026-12-01', outbreakId },
      version: 1,
    });
  const c = await put(inf.outbreakId);
  const d = await put(randomUUID());
  assert.equal(c.status, 422);
  assert.deepEqual(c.body.errors, d.body.errors);
  // A contact of psychiatry's person naming INF's case as its index case: as unknown as a made-up one.
  const contactOf = (indexCaseId: string) =>
    psych.post(`/api/persons/${mine}/records`, {
      type: 'ifsg-contact',
      sensitivity: 'normal',
      content: {
        indexCaseId,
        category: 'close',
        lastExposure: '2026-12-01',
        followUpUntil: '2026-12-15',
        state: 'active',
      },
    });
  const e = await contactOf(inf.caseId);
  const f = await contactOf(randomUUID());
  assert.equal(e.status, 422, JSON.stringify(e.body));
  assert.deepEqual(e.body.errors, f.body.errors);
  // Nothing of INF changed.
  const o = (await clerk.get(`/api/outbreaks/${inf.outbreakId}`)).body;
  assert.equal(o.version, 1);
});

test('ids of one kind used as another are not there', async () => {
  const notFound = async (method: string, url: string, body?: unknown) => {
    const r = await physician.call(method, url, body);
    assert.ok([404, 422].includes(r.status), `${method} ${url}: ${r.status} ${JSON.stringify(r.body)}`);
    return r;
  };
  // A contact as a case, a case as a contact.
  assert.equal((await notFound('GET', `/api/cases/${inf.contactId}/contacts`)).status, 404);
  assert.equal(
    (
      await notFound('POST', `/api/cases/${inf.contactId}/contacts`, {
        person: { familyName: 'Verwechselt', givenName: 'Kontakt', birthDate: '1990-01-01' },
        category: 'close',
        lastExposure: '2026-12-01',
      })
    ).status,
    404,
  );
  assert.equal((await notFound('POST', `/api/contacts/${inf.caseId}/convert`)).status, 404);
  assert.equal(
    (await notFound('POST', `/api/contacts/${inf.caseId}/follow-ups`, { symptoms: false, reached: 'phone' })).status,
    404,
  );
  // A quarantine entry as a notification and back; a notification as a transmission, an outbreak, a merge.
  for (const url of [
    `/api/notifications/${inf.quarantineId}`,
    `/api/quarantine/${inf.notificationId}`,
    `/api/transmissions/${inf.notificationId}`,
    `/api/outbreaks/${inf.caseId}`,
    `/api/outbreaks/${inf.notificationId}`,
    `/api/records/${inf.outbreakId}`,
    `/api/persons/${inf.mergeId}/merges`,
    `/api/notifications/${inf.transmissionId}`,
  ])
    assert.equal((await physician.get(url)).status, 404, url);
  assert.equal((await physician.post(`/api/person-merges/${inf.person}/confirm`, { version: 1 })).status, 404);
  assert.equal(
    (await physician.post(`/api/notifications/${inf.quarantineId}/accept`, { status: 'confirmed', version: 1 })).status,
    404,
  );
  assert.equal(
    (await physician.post(`/api/quarantine/${inf.notificationId}/dismiss`, { reason: 'Verwechselt hier' })).status,
    404,
  );
  // An outbreak as the case to add, a contact as the case to add.
  assert.equal(
    (await physician.post(`/api/outbreaks/${inf.outbreakId}/cases`, { caseId: inf.outbreakId, caseVersion: 1 })).status,
    404,
  );
  const contactAsCase = await physician.post(`/api/outbreaks/${inf.outbreakId}/cases`, {
    caseId: inf.contactId,
    caseVersion: 1,
  });
  assert.equal(contactAsCase.status, 422, JSON.stringify(contactAsCase.body));
  assert.equal(contactAsCase.body.field, 'caseId');
  // A file's id as the absorbed file of a merge into itself; a case's record id as a file.
  const self = await physician.post(`/api/persons/${inf.person}/merge`, {
    absorbedId: inf.person,
    survivorVersion: 1,
    absorbedVersion: 1,
  });
  assert.equal(self.status, 422);
  const recordAsFile = await physician.post(`/api/persons/${inf.person}/merge`, {
    absorbedId: inf.caseId,
    survivorVersion: 1,
    absorbedVersion: 1,
  });
  assert.equal(recordAsFile.status, 404, JSON.stringify(recordAsFile.body));
});

test("a clerk does no senior's act: no transmission, no confirming a merge, no deleting a case", async () => {
  assert.equal((await clerk.post(`/api/departments/${INF}/transmissions`)).status, 403);
  assert.equal((await clerk.get(`/api/transmissions/${inf.transmissionId}`)).status, 403);
  const m = (await clerk.get(`/api/persons/${inf.person}/merges`)).body;
  assert.equal(m.mayMerge, true);
  const confirm = await clerk.post(`/api/person-merges/${inf.mergeId}/confirm`, { version: 1 });
  assert.equal(confirm.status, 403, JSON.stringify(confirm.body));
  const del = await clerk.call('DELETE', `/api/records/${inf.caseId}`, { reason: 'Versehentlich angelegt' });
  assert.equal(del.status, 403, JSON.stringify(del.body));
  const caseRow = await db((tx) =>
    tx.selectFrom('ifsg_cases').select(['deleted_at']).where('record_id', '=', inf.caseId).executeTakeFirstOrThrow(),
  );
  assert.equal(caseRow.deleted_at, null);
});

test('markup in a bundle’s names stays text: the raw bundle is a download, never HTML', async () => {
  const evil = '<img src=x onerror=alert(1)><script>alert(2)</script>';
  const r = await upload(clerk, INF, laboratoryBundle({ familyName: evil, givenName: '"><svg onload=alert(3)>' }));
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const n = await clerk.get(`/api/notifications/${r.body.notificationId}`);
  assert.equal(n.status, 200);
  assert.ok(JSON.stringify(n.body).includes('onerror'), 'kept as the notifier wrote it, as text');
  const raw = await clerk.call('GET', `/api/notifications/${r.body.notificationId}/bundle`);
  assert.equal(raw.status, 200);
  assert.match(String(raw.headers['content-type']), /^application\/fhir\+json/);
  assert.match(String(raw.headers['content-disposition']), /^attachment/);
  assert.equal(raw.headers['x-content-type-options'], 'nosniff');
  // The web renders names through React's text nodes only: nothing of web/src sets HTML.
  const offenders: string[] = [];
  for (const e of fs.readdirSync('web/src', { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || !/\.tsx?$/.test(e.name)) continue;
    const file = path.join(e.parentPath, e.name);
    if (
      /dangerouslySetInnerHTML|\.innerHTML\s*=|insertAdjacentHTML|document\.write/.test(fs.readFileSync(file, 'utf8'))
    )
      offenders.push(file);
  }
  assert.deepEqual(offenders, []);
});

test("a correction naming another department's notification is quarantined there; INF's stays as it was", async () => {
  const before = (await clerk.get(`/api/notifications/${inf.notificationId}`)).body;
  const theirs = (
    await db((tx) =>
      tx
        .selectFrom('demis_notifications')
        .select('notification_id')
        .where('id', '=', inf.notificationId)
        .executeTakeFirstOrThrow(),
    )
  ).notification_id;
  for (const code of ['replaces', 'appends'] as const) {
    const r = await upload(
      psych,
      SPDI,
      diseaseBundle({ familyName: 'Umgelenkt', diseaseCode: 'msvd', relatesTo: { code, notificationId: theirs } }),
    );
    assert.equal(r.status, 422, JSON.stringify(r.body));
    assert.equal(r.body.outcome ?? 'quarantined', 'quarantined');
    assert.ok(!JSON.stringify(r.body).includes(inf.notificationId));
  }
  // A cancellation of it from psychiatry's side: quarantined too.
  const cancel = await upload(
    psych,
    SPDI,
    diseaseBundle({ diseaseCode: 'msvd', status: 'entered-in-error', relatesTo: { notificationId: theirs } }),
  );
  assert.equal(cancel.status, 422, JSON.stringify(cancel.body));
  const after = (await clerk.get(`/api/notifications/${inf.notificationId}`)).body;
  assert.equal(after.version, before.version);
  assert.equal(after.cancelled, before.cancelled);
});

test('a bundle claiming another office’s ResponsibleDepartment lands only in the inbox it was uploaded to', async () => {
  const b = laboratoryBundle({ familyName: 'Fremdamt' });
  b.meta = {
    ...b.meta,
    tag: [{ system: 'https://demis.rki.de/fhir/CodeSystem/ResponsibleDepartment', code: '1.99.9.99.' }],
  };
  const r = await upload(psych, SPDI, b);
  assert.ok([201, 422].includes(r.status), JSON.stringify(r.body));
  const rows = await db((tx) =>
    tx
      .selectFrom('demis_notification_versions')
      .select('department_id')
      .where('bundle_id', '=', b.identifier!.value!)
      .execute(),
  );
  for (const row of rows) assert.equal(row.department_id, SPDI);
  const infList = (await clerk.get(`/api/departments/${INF}/notifications`)).body as { id: string }[];
  assert.ok(!infList.some((n) => n.id === r.body.notificationId));
});

test('a cancellation of an accepted notification marks it cancelled and for review; the case stays', async () => {
  const nid = randomUUID();
  const up = await upload(
    clerk,
    INF,
    diseaseBundle({ familyName: 'Storniert', notificationId: nid, notifiedAt: '2026-12-01T08:00:00+01:00' }),
  );
  const n = (await clerk.get(`/api/notifications/${up.body.notificationId}`)).body;
  const l = await clerk.post(`/api/notifications/${n.id}/person`, {
    create: { familyName: 'Storniert', givenName: 'Egon', birthDate: '1970-07-07' },
    version: n.version,
  });
  const a = await clerk.post(`/api/notifications/${n.id}/accept`, { status: 'confirmed', version: l.body.version });
  assert.equal(a.status, 200, JSON.stringify(a.body));
  const c = await upload(
    clerk,
    INF,
    diseaseBundle({
      familyName: 'Storniert',
      status: 'entered-in-error',
      notifiedAt: '2026-12-02T08:00:00+01:00',
      relatesTo: { notificationId: nid },
    }),
  );
  assert.equal(c.status, 201, JSON.stringify(c.body));
  assert.equal(c.body.outcome, 'version');
  assert.equal(c.body.notificationId, n.id);
  const after = (await clerk.get(`/api/notifications/${n.id}`)).body;
  assert.equal(after.cancelled, true);
  assert.equal(after.caseReview, true);
  assert.equal(after.caseRecordId, a.body.caseRecordId);
  const kase = await clerk.get(`/api/records/${a.body.caseRecordId}`);
  assert.equal(kase.status, 200, 'the case is a person’s decision to withdraw, not the cancellation’s');
});

test('a bundle id first uploaded in another department does not swallow the real notification later', async () => {
  const b = laboratoryBundle({ familyName: 'Vorweggenommen' });
  const early = await upload(psych, SPDI, b);
  assert.equal(early.status, 201);
  const real = await upload(clerk, INF, b);
  assert.equal(real.body.outcome, 'created', JSON.stringify(real.body));
});

test('every issue-16 action is audited, refusals too, and no detail names a person or a disease', async () => {
  const events = await db((tx) =>
    tx.selectFrom('audit_events').select(['action', 'outcome', 'detail', 'actor_id']).orderBy('seq').execute(),
  );
  const actions = new Set(events.map((e) => e.action));
  for (const a of [
    'notification.import',
    'notification.read',
    'notification.match',
    'notification.accept',
    'contact.create',
    'follow-up.record',
    'outbreak.create',
    'record.update',
    'person.merge',
    'transmission.create',
    'transmission.settings.update',
  ])
    assert.ok(actions.has(a), `${a} audited`);
  const refused = events.filter((e) => e.actor_id === psych.id && e.outcome !== 'allowed' && e.outcome !== 'success');
  assert.ok(
    refused.some((e) => e.action === 'outbreak.read'),
    `psychiatry's refused reads are audited: ${JSON.stringify(refused.map((e) => [e.action, e.outcome]))}`,
  );
  assert.ok(refused.some((e) => e.action === 'case.list'));
  assert.ok(
    refused.some((e) => e.action === 'person.merge-confirm'),
    JSON.stringify(refused.map((e) => [e.action, e.outcome])),
  );
  const clerkRefusals = events.filter((e) => e.actor_id === clerk.id && e.action === 'transmission.create');
  assert.ok(clerkRefusals.length > 0, 'the clerk’s refused transmission is audited');
  const needles = [...Object.values(NAMES), 'Walburga', 'Adelgunde', '1957-03-21', 'msvd', 'cvdd', 'Masern', 'SARS'];
  for (const e of events) {
    if (!e.detail) continue;
    for (const needle of needles)
      assert.ok(
        !e.detail.toLowerCase().includes(needle.toLowerCase()),
        `${needle} in the detail of ${e.action}: ${e.detail}`,
      );
  }
});

test('double clicks: creating the file of a notification twice at once makes one file', async () => {
  const up = await upload(clerk, INF, diseaseBundle({ familyName: 'Doppeldatei' }));
  const n = (await clerk.get(`/api/notifications/${up.body.notificationId}`)).body;
  const create = { familyName: 'Doppeldatei', givenName: 'Ottilie', birthDate: '1949-09-09' };
  const answers = await Promise.all(
    [1, 2, 3].map(() => clerk.post(`/api/notifications/${n.id}/person`, { create, version: n.version })),
  );
  assert.deepEqual(answers.map((a) => a.status).sort(), [200, 409, 409], JSON.stringify(answers.map((a) => a.body)));
  const files = await db((tx) =>
    tx
      .selectFrom('persons')
      .select('id')
      .where('department_id', '=', INF)
      .where(
        'id',
        'in',
        answers.filter((a) => a.body.personId).map((a) => a.body.personId),
      )
      .execute(),
  );
  assert.equal(files.length, 1);
});

test('double clicks: adding the same new contact person twice at once makes one file and one contact', async () => {
  const before = (await clerk.get(`/api/cases/${inf.caseId}/contacts`)).body.contacts.length;
  const body = {
    person: { familyName: 'Doppelkontakt', givenName: 'Ruprecht', birthDate: '1977-07-17' },
    category: 'close',
    lastExposure: '2026-12-02',
  };
  const answers = await Promise.all([1, 2, 3].map(() => clerk.post(`/api/cases/${inf.caseId}/contacts`, body)));
  const after = (await clerk.get(`/api/cases/${inf.caseId}/contacts`)).body.contacts as { familyName: string }[];
  assert.equal(
    after.filter((c) => c.familyName === 'Doppelkontakt').length,
    1,
    `contacts ${before}→${after.length}: ${JSON.stringify(answers.map((a) => [a.status, a.body.code]))}`,
  );
  assert.deepEqual(answers.map((a) => a.status).sort(), [201, 409, 409]);
  const refused = answers.find((a) => a.status === 409)!;
  assert.equal(refused.body.field, 'person');
  assert.equal(refused.body.errors[0].code, 'duplicate');
  assert.equal(refused.body.personId, answers.find((a) => a.status === 201)!.body.personId);
});

test('double clicks: parallel follow-ups of one day, parallel assignments and closes write once', async () => {
  const fu = await Promise.all(
    [1, 2, 3].map(() =>
      clerk.post(`/api/contacts/${inf.contactId}/follow-ups`, { day: '2026-12-03', symptoms: false, reached: 'phone' }),
    ),
  );
  assert.deepEqual(fu.map((a) => a.status).sort(), [201, 409, 409]);
  const up = await upload(clerk, INF, laboratoryBundle({ familyName: 'Zuweisung' }));
  const n = (await clerk.get(`/api/notifications/${up.body.notificationId}`)).body;
  const assign = await Promise.all(
    [clerk, physician, head].map((c) =>
      c.put(`/api/notifications/${n.id}/assignee`, { assigneeId: c.id, version: n.version }),
    ),
  );
  assert.deepEqual(assign.map((a) => a.status).sort(), [200, 409, 409]);
  const v = (await clerk.get(`/api/notifications/${n.id}`)).body.version;
  const close = await Promise.all(
    [1, 2].map(() => clerk.post(`/api/notifications/${n.id}/close`, { reason: NAMES.closeReason, version: v })),
  );
  assert.deepEqual(close.map((a) => a.status).sort(), [200, 409]);
});

test('a token with records:read and records:write does no person’s act: merge, confirm, §11, DEMIS settings', async () => {
  const made = await head.post('/api/auth/tokens', {
    name: 'Skript',
    scopes: ['records:read', 'records:write'],
    expiresInDays: 1,
  });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const auth = { authorization: `Bearer ${made.body.token}` };
  const api = new Client(h);
  const a = await newPerson(head, INF, 'Tokenzusammen');
  const b = await newPerson(head, INF, 'Tokenzusammen');
  for (const [method, url, body] of [
    ['POST', `/api/persons/${a}/merge`, { absorbedId: b, survivorVersion: 1, absorbedVersion: 1 }],
    ['POST', `/api/person-merges/${inf.mergeId}/confirm`, { version: 1 }],
    ['POST', `/api/person-merges/${inf.mergeId}/undo`, { version: 1 }],
    ['GET', `/api/departments/${INF}/transmissions/preview`],
    ['POST', `/api/departments/${INF}/transmissions`],
    ['GET', `/api/transmissions/${inf.transmissionId}`],
    ['PUT', `/api/departments/${INF}/transmission-settings`, { districtCode: '09162', recipient: 'X', version: 1 }],
  ] as [string, string, unknown?][]) {
    const r = await api.call(method, url, body, auth);
    assert.equal(r.status, 403, `${method} ${url}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, 'token-scope', url);
  }
  const merges = await db((tx) =>
    tx.selectFrom('person_merges').select('state').where('id', '=', inf.mergeId).executeTakeFirstOrThrow(),
  );
  assert.equal(merges.state, 'pending');
});

test('a name of megabytes, a bundle of 100,000 entries and JSON nested 100,000 deep are answered, not choked on', async () => {
  const long = 'Ü'.repeat(3 * 1024 * 1024);
  const r = await upload(clerk, INF, laboratoryBundle({ familyName: long }));
  assert.ok([201, 422].includes(r.status), JSON.stringify(r.body).slice(0, 500));
  if (r.status === 201) {
    const list = await clerk.get(`/api/departments/${INF}/notifications?limit=5`);
    assert.equal(list.status, 200);
    const matches = await clerk.get(`/api/notifications/${r.body.notificationId}/matches`);
    assert.equal(matches.status, 200, JSON.stringify(matches.body).slice(0, 300));
  } else assert.ok(JSON.stringify(r.body).length < 100_000, 'the refusal does not echo the name');
  const wide = laboratoryBundle({ familyName: 'Breitmeldung' });
  wide.entry = [...wide.entry!, ...Array.from({ length: 100_000 }, (_, i) => ({ fullUrl: `urn:uuid:${i}` }))];
  const w = await upload(clerk, INF, wide);
  assert.equal(w.status, 422);
  assert.ok(JSON.stringify(w.body).length < 2_000_000, `answer of ${JSON.stringify(w.body).length} characters`);
  const last = w.body.errors.at(-1);
  assert.equal(w.body.errors.length, 201, 'the first 200 problems and the line saying how many more');
  assert.equal(last.params.problem, 'more-problems', JSON.stringify(last));
  assert.ok(Number(last.params.count) > 0);
  const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
  const d = await upload(clerk, INF, deep);
  assert.equal(d.status, 422, JSON.stringify(d.body).slice(0, 300));
  const xml = `<Bundle xmlns="http://hl7.org/fhir">${'<entry>'.repeat(50_000)}${'</entry>'.repeat(50_000)}</Bundle>`;
  const x = await clerk.call('POST', `/api/departments/${INF}/notifications`, xml, {
    'content-type': 'application/fhir+xml',
  });
  assert.equal(x.status, 422, JSON.stringify(x.body).slice(0, 300));
  const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><Bundle xmlns="http://hl7.org/fhir"><id value="&lol2;"/></Bundle>`;
  const l = await clerk.call('POST', `/api/departments/${INF}/notifications`, laughs, {
    'content-type': 'application/fhir+xml',
  });
  assert.equal(l.status, 422);
});

test("the inbox names no other department's people: no suggestion, no link, no assignee from there", async () => {
  const name = 'Nachbarabteilungsfrau';
  const theirs = await newPerson(psych, SPDI, name, '1966-06-16');
  const up = await upload(
    clerk,
    INF,
    laboratoryBundle({ familyName: name, givenName: 'Hannelore', birthDate: '1966-06-16' }),
  );
  assert.equal(up.status, 201, JSON.stringify(up.body));
  const id = up.body.notificationId;
  const n = (await clerk.get(`/api/notifications/${id}`)).body;
  const matches = await clerk.get(`/api/notifications/${id}/matches`);
  assert.equal(matches.status, 200);
  assert.ok(!JSON.stringify(matches.body).includes(theirs), 'a file of psychiatry is no suggestion');
  const linkTheirs = await clerk.post(`/api/notifications/${id}/person`, { personId: theirs, version: n.version });
  const linkNone = await clerk.post(`/api/notifications/${id}/person`, { personId: randomUUID(), version: n.version });
  assert.ok([404, 422].includes(linkTheirs.status), JSON.stringify(linkTheirs.body));
  assert.equal(linkTheirs.status, linkNone.status);
  assert.deepEqual(linkTheirs.body.errors, linkNone.body.errors);
  const assign = await clerk.put(`/api/notifications/${id}/assignee`, { assigneeId: psych.id, version: n.version });
  assert.equal(assign.status, 422, JSON.stringify(assign.body));
  assert.equal(assign.body.field, 'assigneeId');
  const members = (await clerk.get(`/api/departments/${INF}/inbox-members`)).body as { id: string }[];
  assert.ok(!JSON.stringify(members).includes(psych.id));
  const after = (await clerk.get(`/api/notifications/${id}`)).body;
  assert.equal(after.version, n.version, 'nothing written');
  assert.equal(after.personId, null);
});

test('a restricted case is in no list a clerk sees: cases, outbreak, follow-ups', async () => {
  const p = await newPerson(physician, INF, 'Verschlusssache', '1959-05-19');
  const made = await physician.post(`/api/persons/${p}/records`, {
    type: 'ifsg-case',
    sensitivity: 'restricted',
    content: { disease: { code: 'hivd' }, status: 'confirmed', notifiedOn: '2026-12-01' },
  });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const joined = await physician.post(`/api/outbreaks/${inf.outbreakId}/cases`, {
    caseId: made.body.id,
    caseVersion: 1,
  });
  assert.equal(joined.status, 200, JSON.stringify(joined.body));
  const contact = await physician.post(`/api/cases/${made.body.id}/contacts`, {
    person: { familyName: 'Verschlusskontakt', givenName: 'Ida', birthDate: '1960-01-01' },
    category: 'close',
    lastExposure: '2026-12-04',
  });
  assert.equal(contact.status, 201, JSON.stringify(contact.body));
  const seen = [
    await clerk.get(`/api/departments/${INF}/cases?limit=200`),
    await clerk.get(`/api/departments/${INF}/cases?outbreak=${inf.outbreakId}`),
    await clerk.get(`/api/outbreaks/${inf.outbreakId}`),
    await clerk.get(`/api/departments/${INF}/follow-ups?when=today&on=2026-12-05`),
    await clerk.get(`/api/departments/${INF}/follow-ups?when=overdue&on=2026-12-09`),
  ];
  for (const r of seen) {
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const text = JSON.stringify(r.body);
    for (const needle of ['Verschlusssache', 'Verschlusskontakt', made.body.id, contact.body.id, p])
      assert.ok(!text.includes(needle), `${needle} shown to a clerk: ${text.slice(0, 300)}`);
  }
  // The physician sees them.
  assert.ok(
    JSON.stringify((await physician.get(`/api/departments/${INF}/cases?limit=200`)).body).includes(made.body.id),
  );
  assert.ok(JSON.stringify((await physician.get(`/api/outbreaks/${inf.outbreakId}`)).body).includes(made.body.id));
});

test('a merge does not make a case its own contact', async () => {
  const a = await newPerson(physician, INF, 'Selbstkontakt', '1971-01-11');
  const b = await newPerson(physician, INF, 'Selbstkontakt', '1971-01-11');
  const kase = await physician.post(`/api/persons/${a}/records`, {
    type: 'ifsg-case',
    sensitivity: 'normal',
    content: { disease: { code: 'cvdd' }, status: 'confirmed', notifiedOn: '2026-12-01' },
  });
  assert.equal(kase.status, 201, JSON.stringify(kase.body));
  const contact = await physician.post(`/api/cases/${kase.body.id}/contacts`, {
    personId: b,
    category: 'close',
    lastExposure: '2026-12-01',
  });
  assert.equal(contact.status, 201, JSON.stringify(contact.body));
  const v = async (id: string) => (await physician.get(`/api/persons/${id}`)).body.version as number;
  const m = await physician.post(`/api/persons/${a}/merge`, {
    absorbedId: b,
    survivorVersion: await v(a),
    absorbedVersion: await v(b),
  });
  const own = await db((tx) =>
    tx
      .selectFrom('ifsg_contacts')
      .select('record_id')
      .where('case_record_id', '=', kase.body.id)
      .where('person_id', '=', a)
      .where('deleted_at', 'is', null)
      .execute(),
  );
  assert.deepEqual(own, [], `merge answered ${m.status}: the case's person is now its own contact`);
  assert.equal(m.status, 409, JSON.stringify(m.body));
  assert.equal(m.body.errors[0].code, 'contact-is-case');
  // Once the contact's follow-up is ended, the two files merge.
  const record = (await physician.get(`/api/records/${contact.body.recordId ?? contact.body.id}`)).body;
  const ended = await physician.put(`/api/records/${record.id}`, {
    content: { ...record.content, state: 'ended' },
    version: record.version,
  });
  assert.equal(ended.status, 200, JSON.stringify(ended.body));
  const again = await physician.post(`/api/persons/${a}/merge`, {
    absorbedId: b,
    survivorVersion: await v(a),
    absorbedVersion: await v(b),
  });
  assert.equal(again.status, 201, JSON.stringify(again.body));
});

test('after the day: no name, birth date, disease, note or outbreak name in the database files', {
  skip: DIALECT === 'postgres' && 'the PostgreSQL files are the server’s',
}, async () => {
  const control = (
    await db((tx) =>
      tx
        .selectFrom('demis_notifications')
        .select('notification_id')
        .where('id', '=', inf.notificationId)
        .executeTakeFirstOrThrow(),
    )
  ).notification_id;
  await h.stop();
  const needles = [
    ...Object.values(NAMES),
    'Walburga',
    'Adelgunde',
    '1957-03-21',
    '1980-02-29',
    'Masern',
    'Measles',
    'msvd',
    'Windpocken',
    'Landesamt',
  ];
  const files = fs
    .readdirSync(h.config.dataDir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
  assert.ok(
    files.some((f) => /\.(db|sqlite)/.test(f)),
    files.join(','),
  );
  // The control: the DEMIS NotificationId of INF's notification is stored in clear by design.
  assert.ok(
    files.some((f) => fs.readFileSync(f).includes(Buffer.from(control))),
    'the control is found',
  );
  const found: string[] = [];
  for (const file of files) {
    const bytes = fs.readFileSync(file);
    for (const needle of needles)
      for (const b of [
        Buffer.from(needle, 'utf8'),
        Buffer.from(needle, 'utf16le'),
        Buffer.from(needle.toLowerCase(), 'utf8'),
      ])
        if (bytes.includes(b)) found.push(`${needle} in ${path.relative(h.config.dataDir, file)}`);
  }
  assert.deepEqual([...new Set(found)], []);
});
