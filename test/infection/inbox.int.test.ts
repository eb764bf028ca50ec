// The DEMIS inbox end to end over HTTP: uploads of gematik's example bundles and builder bundles,
// duplicates, corrections as versions (also when they arrive out of order), cancellations, unknown
// relatesTo and malformed bundles into the quarantine, filters, assigning, matching by the blind
// index, linking or creating the file, accepting into the case, and the DEMIS connection's principal.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { importFromConnection } from '../../src/infection/notification-import.ts';
import { diseaseBundle, laboratoryBundle } from '../helpers/demis-bundles.ts';
import { startHarness, setUpTenant, samplePerson, type Client, type Harness, type Tenant } from '../helpers/harness.ts';

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

const FIXTURES = new URL('../fixtures/demis/', import.meta.url);
const fixture = (name: string) => fs.readFileSync(new URL(name, FIXTURES));

const upload = (c: Client, departmentId: string, body: unknown, type = 'application/fhir+json') =>
  c.call(
    'POST',
    `/api/departments/${departmentId}/notifications`,
    typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
    { 'content-type': type },
  );

const rows = (table: 'demis_notifications' | 'demis_notification_versions' | 'demis_quarantine') =>
  inTenantTransaction(h.services.store, t.tenantId, (tx) => tx.selectFrom(table).selectAll().execute());

test('every public example bundle gets its answer: new, a version, a duplicate, or quarantined naming the element', async () => {
  const type = (name: string) => (name.endsWith('.xml') ? 'application/fhir+xml' : 'application/fhir+json');
  const expect = async (name: string, status: number, outcome: string) => {
    const r = await upload(clerk, INF, fixture(name), type(name));
    assert.equal(r.status, status, `${name}: ${JSON.stringify(r.body)}`);
    if (status === 422) {
      assert.ok(r.body.quarantineId, name);
      assert.ok(
        r.body.errors.every((e: { code: string }) => e.code === 'bundle-element'),
        name,
      );
      return r.body;
    }
    assert.equal(r.body.outcome, outcome, name);
    return r.body;
  };
  // The first notifications, as labs and physicians send them (JSON and FHIR XML).
  const lab = await expect('laboratory-cvdp.json', 201, 'created');
  await expect('laboratory-hcvp.xml', 201, 'created');
  const disease = await expect('disease-cvdd.json', 201, 'created');
  await expect('disease-cvdd-preliminary.xml', 201, 'created');
  // As DEMIS forwards them to the health office: a new Bundle.identifier, the same NotificationId — a version.
  assert.equal(
    (await expect('laboratory-cvdp-to-health-office.json', 201, 'version')).notificationId,
    lab.notificationId,
  );
  // gematik's forwarded disease example carries the same Bundle.identifier as the forwarded laboratory one (their
  // test data): a bundle identifier is unique, so it counts as that bundle again and nothing of it is written.
  assert.equal(
    (await expect('disease-cvdd-to-health-office.json', 200, 'duplicate')).notificationId,
    lab.notificationId,
  );
  const versions = (await clerk.get(`/api/notifications/${disease.notificationId}`)).body.versions;
  assert.equal(versions.length, 1);
  // gematik's follow-up example reuses the Bundle.identifier of disease-cvdd.json: the same bundle, nothing written.
  await expect('disease-cvdd-appends.json', 200, 'duplicate');
  // Follow-ups of notifications this office never received: quarantined, naming Composition.relatesTo.
  for (const name of ['disease-msvd.json', 'laboratory-ecop-specimens.json']) {
    const q = await expect(name, 422, '');
    assert.equal(q.field, 'Composition.relatesTo', name);
  }
  // A §7.3 non-nominal notification is for the RKI, not a health office: another profile, refused.
  await expect('laboratory-nonnominal-7_3.json', 422, '');
  const known = [
    'laboratory-cvdp.json',
    'laboratory-hcvp.xml',
    'disease-cvdd.json',
    'disease-cvdd-preliminary.xml',
    'laboratory-cvdp-to-health-office.json',
    'disease-cvdd-to-health-office.json',
    'disease-cvdd-appends.json',
    'disease-msvd.json',
    'laboratory-ecop-specimens.json',
    'laboratory-nonnominal-7_3.json',
  ];
  const present = fs.readdirSync(FIXTURES).filter((f) => /\.(json|xml)$/.test(f));
  assert.deepEqual(present.sort(), known.sort(), 'a new example bundle gets its expectation here');
});

test('a bundle seen before is a duplicate and writes nothing; a correction is version 2, not a second notification', async () => {
  const notificationId = randomUUID();
  const first = laboratoryBundle({
    familyName: 'Korrekturia',
    notificationId,
    notifiedAt: '2026-12-01T10:00:00+01:00',
  });
  const created = await upload(clerk, INF, first);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.outcome, 'created');
  const before = (await rows('demis_notification_versions')).length;
  const again = await upload(clerk, INF, first);
  assert.equal(again.status, 200);
  assert.deepEqual(again.body, { outcome: 'duplicate', notificationId: created.body.notificationId });
  assert.equal((await rows('demis_notification_versions')).length, before);

  const correction = laboratoryBundle({
    familyName: 'Korrektura',
    notifiedAt: '2026-12-02T10:00:00+01:00',
    relatesTo: { notificationId },
  });
  const v2 = await upload(clerk, INF, correction);
  assert.equal(v2.status, 201, JSON.stringify(v2.body));
  assert.deepEqual(v2.body, { outcome: 'version', notificationId: created.body.notificationId });
  const detail = await clerk.get(`/api/notifications/${created.body.notificationId}`);
  assert.equal(detail.status, 200, JSON.stringify(detail.body));
  assert.equal(detail.body.versions.length, 2);
  assert.equal(detail.body.corrected, true);
  assert.equal(detail.body.person.familyName, 'Korrektura');
  assert.deepEqual(detail.body.versions[0].changes, ['notifiedAt', 'person.familyName']);

  // A stale correction (issued before version 2, arriving after it) is kept, but does not overwrite.
  const stale = laboratoryBundle({
    familyName: 'Veraltet',
    notifiedAt: '2026-12-01T12:00:00+01:00',
    relatesTo: { notificationId },
  });
  const v3 = await upload(clerk, INF, stale);
  assert.equal(v3.body.outcome, 'version');
  const after = await clerk.get(`/api/notifications/${created.body.notificationId}`);
  assert.equal(after.body.versions.length, 3);
  assert.equal(after.body.person.familyName, 'Korrektura');
  assert.equal(after.body.versions.find((v: { current: boolean }) => v.current).version, 2);

  // Another correction that names the follow-up's own NotificationId lands on the same notification.
  const raw = await clerk.get(`/api/notifications/${created.body.notificationId}/bundle?version=1`);
  assert.equal(raw.status, 200);
  assert.equal(JSON.parse(raw.raw.toString('utf8')).identifier.value, first.identifier!.value);
});

test('a cancellation marks the notification cancelled; one accepted into a case shows that the case needs a look', async () => {
  const notificationId = randomUUID();
  const created = await upload(
    clerk,
    INF,
    diseaseBundle({ familyName: 'Stornowski', notificationId, notifiedAt: '2026-12-01T10:00:00Z' }),
  );
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.notificationId;
  let n = (await clerk.get(`/api/notifications/${id}`)).body;
  const linked = await clerk.post(`/api/notifications/${id}/person`, {
    create: { familyName: 'Stornowski', givenName: 'Eva', birthDate: '1970-01-02' },
    version: n.version,
  });
  assert.equal(linked.status, 200, JSON.stringify(linked.body));
  const accepted = await clerk.post(`/api/notifications/${id}/accept`, {
    status: 'suspected',
    version: linked.body.version,
  });
  assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
  const cancel = await upload(
    clerk,
    INF,
    diseaseBundle({ status: 'entered-in-error', notifiedAt: '2026-12-03T10:00:00Z', relatesTo: { notificationId } }),
  );
  assert.equal(cancel.body.outcome, 'version', JSON.stringify(cancel.body));
  n = (await clerk.get(`/api/notifications/${id}`)).body;
  assert.equal(n.cancelled, true);
  assert.equal(n.caseReview, true);
  assert.equal(n.state, 'closed');
});

test('a relatesTo naming a notification the office does not have goes to the quarantine, naming Composition.relatesTo', async () => {
  const r = await upload(clerk, INF, laboratoryBundle({ relatesTo: { notificationId: randomUUID() } }));
  assert.equal(r.status, 422);
  assert.equal(r.body.field, 'Composition.relatesTo');
  const q = await clerk.get(`/api/quarantine/${r.body.quarantineId}`);
  assert.equal(q.status, 200);
  assert.equal(q.body.problems[0].path, 'Composition.relatesTo');
  assert.equal(q.body.state, 'open');
  // A stable code with params for the screens (worded in German there), beside the English `expected`.
  assert.equal(q.body.problems[0].code, 'related-unknown');
  assert.deepEqual(q.body.problems[0].params, { kind: 'correction' });
  assert.equal(r.body.errors[0].params.problem, 'related-unknown');
  assert.equal(r.body.errors[0].params.kind, 'correction');
  assert.match(r.body.errors[0].params.expected, /^the NotificationId of a notification/);
});

test('a malformed bundle answers 422 with its problems and is kept once, however often it comes', async () => {
  const broken = '{"resourceType":"Bundle","type":"document"';
  const a = await upload(clerk, INF, broken);
  assert.equal(a.status, 422);
  assert.equal(a.body.errors[0].code, 'bundle-element');
  assert.equal(a.body.errors[0].params.problem, 'malformed-json');
  const b = await upload(clerk, INF, broken);
  assert.equal(b.body.quarantineId, a.body.quarantineId);
  const list = await clerk.get(`/api/departments/${INF}/quarantine`);
  assert.equal(list.status, 200);
  assert.equal(list.body.filter((e: { id: string }) => e.id === a.body.quarantineId).length, 1);
  const read = await clerk.get(`/api/quarantine/${a.body.quarantineId}`);
  assert.equal(read.body.raw, broken);
  const dismissed = await clerk.post(`/api/quarantine/${a.body.quarantineId}/dismiss`, {
    reason: 'Testdatei des Labors, verworfen',
  });
  assert.equal(dismissed.status, 204);
  const twice = await clerk.post(`/api/quarantine/${a.body.quarantineId}/dismiss`, {
    reason: 'Testdatei des Labors, verworfen',
  });
  assert.equal(twice.status, 409);
});

test('the inbox filters by state, disease and date; assigning only to members of the department', async () => {
  const tb = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'clerk' }] });
  const colleague = await t.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  const r = await upload(clerk, INF, diseaseBundle({ diseaseCode: 'msvd', notifiedAt: '2026-11-20T08:00:00Z' }));
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const measles = await clerk.get(`/api/departments/${INF}/notifications?disease=msvd`);
  assert.equal(measles.status, 200, JSON.stringify(measles.body));
  assert.deepEqual(
    measles.body.map((n: { id: string }) => n.id),
    [r.body.notificationId],
  );
  assert.equal(measles.body[0].disease.code, 'msvd');
  const dated = await clerk.get(`/api/departments/${INF}/notifications?from=2026-11-20&to=2026-11-20`);
  assert.ok(dated.body.some((n: { id: string }) => n.id === r.body.notificationId));
  const none = await clerk.get(`/api/departments/${INF}/notifications?from=2026-11-21&to=2026-11-21`);
  assert.ok(!none.body.some((n: { id: string }) => n.id === r.body.notificationId));
  // The day is the office's (Europe/Berlin): 23:30 UTC on the 20th is 00:30 on the 21st there.
  const late = await upload(clerk, INF, diseaseBundle({ diseaseCode: 'msvd', notifiedAt: '2026-11-20T23:30:00Z' }));
  const on21 = await clerk.get(`/api/departments/${INF}/notifications?from=2026-11-21&to=2026-11-21`);
  assert.ok(on21.body.some((n: { id: string }) => n.id === late.body.notificationId));
  const on20 = await clerk.get(`/api/departments/${INF}/notifications?to=2026-11-20&disease=msvd`);
  assert.deepEqual(
    on20.body.map((n: { id: string }) => n.id),
    [r.body.notificationId],
  );

  const n = (await clerk.get(`/api/notifications/${r.body.notificationId}`)).body;
  const outsider = await clerk.put(`/api/notifications/${n.id}/assignee`, { assigneeId: tb.id, version: n.version });
  assert.equal(outsider.status, 422);
  assert.equal(outsider.body.errors[0].code, 'not-member');
  const assigned = await clerk.put(`/api/notifications/${n.id}/assignee`, {
    assigneeId: colleague.id,
    version: n.version,
  });
  assert.equal(assigned.status, 200, JSON.stringify(assigned.body));
  assert.equal(assigned.body.state, 'assigned');
  const staleAssign = await clerk.put(`/api/notifications/${n.id}/assignee`, { assigneeId: null, version: n.version });
  assert.equal(staleAssign.status, 409);
  const mine = await colleague.get(`/api/departments/${INF}/notifications?assignee=${colleague.id}&state=assigned`);
  assert.deepEqual(
    mine.body.map((x: { id: string; assigneeName: string }) => [x.id, x.assigneeName]),
    [[n.id, colleague.displayName]],
  );
});

test('matching finds Müller as Mueller and by sound, never a file of another department', async () => {
  const tbHead = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'head' }] });
  const mk = async (c: Client, departmentId: string, familyName: string, givenName: string, birthDate: string) => {
    const r = await c.post('/api/persons', { ...samplePerson(departmentId, familyName), givenName, birthDate });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.id as string;
  };
  const exact = await mk(clerk, INF, 'Müller', 'Jürgen', '1980-05-06');
  const sound = await mk(clerk, INF, 'Müler', 'Hans', '1980-05-06');
  const elsewhere = await mk(tbHead, t.departments.TB!, 'Mueller', 'Jürgen', '1980-05-06');
  const r = await upload(
    clerk,
    INF,
    laboratoryBundle({ familyName: 'Mueller', givenName: 'Juergen', birthDate: '1980-05-06' }),
  );
  const matches = await clerk.get(`/api/notifications/${r.body.notificationId}/matches`);
  assert.equal(matches.status, 200, JSON.stringify(matches.body));
  const ids = matches.body.map((m: { personId: string }) => m.personId);
  assert.equal(ids[0], exact);
  assert.equal(matches.body[0].score, 100);
  assert.ok(matches.body[0].agreed.includes('link'));
  assert.equal(matches.body[0].familyName, 'Müller');
  assert.ok(ids.includes(sound));
  assert.ok(matches.body.find((m: { personId: string }) => m.personId === sound).agreed.includes('phonetic'));
  assert.ok(!ids.includes(elsewhere));

  // Linking a file of another department is refused as if it did not exist.
  const n = (await clerk.get(`/api/notifications/${r.body.notificationId}`)).body;
  const foreign = await clerk.post(`/api/notifications/${n.id}/person`, { personId: elsewhere, version: n.version });
  assert.equal(foreign.status, 422);
  assert.equal(foreign.body.errors[0].code, 'not-in-department');
  const linked = await clerk.post(`/api/notifications/${n.id}/person`, { personId: exact, version: n.version });
  assert.equal(linked.status, 200);
  assert.equal(linked.body.state, 'matched');
});

test('a partial birth date must be completed before a file is made; then accepted, the case holds the notification', async () => {
  const r = await upload(clerk, INF, diseaseBundle({ familyName: 'Teilgeboren', birthDate: '1975-03' }));
  const n = (await clerk.get(`/api/notifications/${r.body.notificationId}`)).body;
  assert.equal(n.person.birthDate, '1975-03');
  const partial = await clerk.post(`/api/notifications/${n.id}/person`, {
    create: { familyName: 'Teilgeboren', givenName: 'Anna', birthDate: '1975-03' },
    version: n.version,
  });
  assert.equal(partial.status, 422);
  assert.equal(partial.body.field, 'create.birthDate');
  const linked = await clerk.post(`/api/notifications/${n.id}/person`, {
    create: { familyName: 'Teilgeboren', givenName: 'Anna', birthDate: '1975-03-14' },
    version: n.version,
  });
  assert.equal(linked.status, 200, JSON.stringify(linked.body));
  const notLinkedYet = await upload(clerk, INF, diseaseBundle());
  const other = (await clerk.get(`/api/notifications/${notLinkedYet.body.notificationId}`)).body;
  const noPerson = await clerk.post(`/api/notifications/${other.id}/accept`, {
    status: 'suspected',
    version: other.version,
  });
  assert.equal(noPerson.status, 422);
  assert.equal(noPerson.body.errors[0].code, 'person-required');

  const accepted = await clerk.post(`/api/notifications/${n.id}/accept`, {
    status: 'confirmed',
    category: 'C',
    version: linked.body.version,
  });
  assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
  assert.equal(accepted.body.created, true);
  assert.equal(accepted.body.state, 'closed');
  const record = await clerk.get(`/api/records/${accepted.body.caseRecordId}`);
  assert.equal(record.status, 200);
  assert.equal(record.body.type, 'ifsg-case');
  assert.equal(record.body.content.status, 'confirmed');
  assert.equal(record.body.content.disease.code, 'cvdd');
  assert.deepEqual(record.body.content.notificationIds, [n.id]);

  // A second notification of the same disease for the same person updates that case; staff's entries stay.
  const edited = await clerk.put(`/api/records/${record.body.id}`, {
    content: { ...record.body.content, notes: 'Telefonisch erreicht', notifier: 'Von Hand eingetragen' },
    version: record.body.version,
  });
  assert.equal(edited.status, 200, JSON.stringify(edited.body));
  const second = await upload(clerk, INF, diseaseBundle({ familyName: 'Teilgeboren' }));
  const n2 = (await clerk.get(`/api/notifications/${second.body.notificationId}`)).body;
  const l2 = await clerk.post(`/api/notifications/${n2.id}/person`, {
    personId: linked.body.personId,
    version: n2.version,
  });
  const a2 = await clerk.post(`/api/notifications/${n2.id}/accept`, { status: 'confirmed', version: l2.body.version });
  assert.equal(a2.status, 200, JSON.stringify(a2.body));
  assert.equal(a2.body.created, false);
  assert.equal(a2.body.caseRecordId, record.body.id);
  const updated = await clerk.get(`/api/records/${record.body.id}`);
  assert.deepEqual(updated.body.content.notificationIds, [n.id, n2.id]);
  assert.equal(updated.body.content.notifier, 'Von Hand eingetragen');
  assert.equal(updated.body.content.notes, 'Telefonisch erreicht');
});

test('closing without a case keeps the reason; a closed notification takes no person', async () => {
  const r = await upload(clerk, INF, laboratoryBundle());
  const n = (await clerk.get(`/api/notifications/${r.body.notificationId}`)).body;
  const closed = await clerk.post(`/api/notifications/${n.id}/close`, {
    reason: 'Doppelmeldung eines zweiten Labors',
    version: n.version,
  });
  assert.equal(closed.status, 200, JSON.stringify(closed.body));
  const after = await clerk.get(`/api/notifications/${n.id}`);
  assert.equal(after.body.closeReason, 'Doppelmeldung eines zweiten Labors');
  const link = await clerk.post(`/api/notifications/${n.id}/person`, {
    create: { familyName: 'Spät', givenName: 'Kommer', birthDate: '1990-01-01' },
    version: closed.body.version,
  });
  assert.equal(link.status, 409);
  assert.equal(link.body.errors[0].code, 'notification-closed');
});

test('the DEMIS connection imports as its own principal, for its own department only', async () => {
  const raw = Buffer.from(JSON.stringify(laboratoryBundle({ familyName: 'Abholung' })));
  const r = await importFromConnection(h.services, t.tenantId, INF, raw, 'application/fhir+json');
  assert.equal(r.outcome, 'created');
  const versions = await rows('demis_notification_versions');
  const v = versions.find((x) => x.notification_row_id === r.notificationId)!;
  assert.equal(v.source, 'demis');
  assert.equal(v.received_by, `demis:${INF}`);
  const again = await importFromConnection(h.services, t.tenantId, INF, raw, 'application/fhir+json');
  assert.equal(again.outcome, 'duplicate');
  // Its principal has no memberships: it reads nothing, not even its own inbox.
  const { demisPrincipal } = await import('../../src/infection/notification-import.ts');
  await assert.rejects(
    h.services.gate.run(
      demisPrincipal(t.tenantId, INF),
      'notification.list',
      { kind: 'department', departmentId: INF },
      async () => 1,
    ),
    { code: 'forbidden' },
  );
  await assert.rejects(
    h.services.gate.run(
      demisPrincipal(t.tenantId, INF),
      'notification.import',
      { kind: 'department', departmentId: t.departments.TB! },
      async () => 1,
    ),
    { code: 'forbidden' },
  );
});
