// Contacts of IfSG cases (issue 16): adding them (a new person or an existing file), the follow-up
// period's default per disease, one follow-up entry per contact and day (also in parallel), the
// worklist of today and overdue on a fixed day, conversion into a case once (also in parallel), and
// the attacks: another department, a token without the scope, bad and oversized input, nothing
// half-written after a refusal, nothing readable at rest.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { followUpDays } from '../../src/infection/incubation.ts';
import { dueState } from '../../src/infection/follow-ups.ts';
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
let other: Client & { id: string };
let stopped = false;
let measlesCase: string;
let covidCase: string;
let indexPerson: string;
let existing: string;
const contacts: Record<string, string> = {};

const db = <T>(work: Parameters<typeof inTenantTransaction<T>>[2]) =>
  inTenantTransaction(h.services.store, t.tenantId, work);

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h);
  INF = t.departments.INF!;
  physician = await t.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  clerk = await t.user({ memberships: [{ departmentId: INF, role: 'clerk' }] });
  other = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'head' }] });
  indexPerson = (await physician.post('/api/persons', samplePerson(INF, 'Indexhuberin'))).body.id;
  const kase = async (code: string, display: string) =>
    (
      await physician.post(`/api/persons/${indexPerson}/records`, {
        type: 'ifsg-case',
        sensitivity: 'normal',
        content: { disease: { code, display }, status: 'confirmed', notifiedOn: '2026-12-01' },
      })
    ).body.id as string;
  measlesCase = await kase('msvd', 'Masernvirus-Erkrankung');
  covidCase = await kase('cvdd', 'Coronavirus-Krankheit-2019');
  existing = (await clerk.post('/api/persons', { ...samplePerson(INF, 'Bestandskontakt'), birthDate: '1988-08-08' }))
    .body.id;
});
after(async () => {
  if (stopped) fs.rmSync(h.dir, { recursive: true, force: true });
  else await h.close();
});

const newPerson = (familyName: string) => ({
  familyName,
  givenName: 'Kunigunde',
  birthDate: '1975-05-05',
});

test('the follow-up period by disease: measles 21 days, COVID-19 14, anything else 14', () => {
  assert.equal(followUpDays('msvd'), 21);
  assert.equal(followUpDays('MSVP'), 21);
  assert.equal(followUpDays('cvdd'), 14);
  assert.equal(followUpDays('xyzd'), 14);
});

test('the worklist rule: due today inside the period without an entry; days missed since the latest entry', () => {
  const c = (last_day: string | null, today_done = false) => ({
    last_exposure: '2026-11-30',
    follow_up_until: '2026-12-14',
    last_day,
    today_done,
  });
  assert.deepEqual(dueState(c(null), '2026-11-30'), { dueToday: false, daysMissed: 0 });
  assert.deepEqual(dueState(c(null), '2026-12-01'), { dueToday: true, daysMissed: 0 });
  assert.deepEqual(dueState(c(null), '2026-12-04'), { dueToday: true, daysMissed: 3 });
  assert.deepEqual(dueState(c('2026-12-03'), '2026-12-04'), { dueToday: true, daysMissed: 0 });
  assert.deepEqual(dueState(c('2026-12-04', true), '2026-12-04'), { dueToday: false, daysMissed: 0 });
  assert.deepEqual(dueState(c('2026-12-10'), '2026-12-20'), { dueToday: false, daysMissed: 4 });
});

test('a contact as a new person: created with the file in one go, follow-up until exposure + 21 days for measles', async () => {
  const r = await clerk.post(`/api/cases/${measlesCase}/contacts`, {
    person: newPerson('Kontaktmannsberger'),
    category: 'close',
    setting: 'household',
    lastExposure: '2026-11-28',
    measure: { kind: 'quarantine', until: '2026-12-19', legalBasis: '§30 IfSG' },
    notes: 'Lebt im selben Haushalt',
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.followUpUntil, '2026-12-19');
  contacts.neu = r.body.id;
  const file = await clerk.get(`/api/persons/${r.body.personId}`);
  assert.equal(file.body.familyName, 'Kontaktmannsberger');
  assert.equal(file.body.departmentId, INF);
  const rec = await clerk.get(`/api/records/${r.body.id}`);
  assert.equal(rec.body.type, 'ifsg-contact');
  assert.equal(rec.body.content.indexCaseId, measlesCase);
  assert.equal(rec.body.content.state, 'active');
});

test('a contact from an existing file, and the 14-day default of another disease; the case lists its contacts', async () => {
  const r = await clerk.post(`/api/cases/${measlesCase}/contacts`, {
    personId: existing,
    category: 'other',
    lastExposure: '2026-11-30',
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  contacts.bestand = r.body.id;
  const covid = await clerk.post(`/api/cases/${covidCase}/contacts`, {
    person: newPerson('Coronakontakt'),
    category: 'close',
    lastExposure: '2026-11-30',
  });
  assert.equal(covid.body.followUpUntil, '2026-12-14');
  const listed = await clerk.get(`/api/cases/${measlesCase}/contacts`);
  assert.equal(listed.status, 200, JSON.stringify(listed.body));
  assert.equal(listed.body.followUpDays, 21);
  assert.deepEqual(
    listed.body.contacts.map((c: { familyName: string; category: string; state: string }) => [
      c.familyName,
      c.category,
      c.state,
    ]),
    [
      ['Kontaktmannsberger', 'close', 'active'],
      ['Bestandskontakt', 'other', 'active'],
    ],
  );
  assert.equal(listed.body.contacts[0].setting, 'household');
  assert.equal(listed.body.contacts[0].measure.legalBasis, '§30 IfSG');
});

test('refused: the same person twice (also in parallel), the case person, a file of another department, bad dates; nothing half-written', async () => {
  const twice = await clerk.post(`/api/cases/${measlesCase}/contacts`, {
    personId: existing,
    category: 'close',
    lastExposure: '2026-11-30',
  });
  assert.equal(twice.status, 409);
  assert.equal(twice.body.field, 'personId');
  assert.equal(twice.body.errors[0].code, 'duplicate');
  const late = (await clerk.post('/api/persons', samplePerson(INF, 'Spätkontakt'))).body.id;
  const race = await Promise.all(
    Array.from({ length: 4 }, () =>
      clerk.post(`/api/cases/${measlesCase}/contacts`, {
        personId: late,
        category: 'close',
        lastExposure: '2026-12-01',
      }),
    ),
  );
  assert.deepEqual(race.map((r) => r.status).sort(), [201, 409, 409, 409]);
  const self = await clerk.post(`/api/cases/${measlesCase}/contacts`, {
    personId: indexPerson,
    category: 'close',
    lastExposure: '2026-11-30',
  });
  assert.equal(self.status, 422);
  assert.equal(self.body.errors[0].code, 'contact-is-case');
  const tbFile = (await other.post('/api/persons', samplePerson(t.departments.TB!, 'Fremdabteilung'))).body.id;
  const foreign = await clerk.post(`/api/cases/${measlesCase}/contacts`, {
    personId: tbFile,
    category: 'close',
    lastExposure: '2026-11-30',
  });
  assert.equal(foreign.status, 422);
  assert.equal(foreign.body.field, 'personId');
  const persons = () => db((tx) => tx.selectFrom('persons').select('id').execute());
  const before = (await persons()).length;
  const backwards = await clerk.post(`/api/cases/${measlesCase}/contacts`, {
    person: newPerson('Rückwärtsdatum'),
    category: 'close',
    lastExposure: '2026-11-30',
    followUpUntil: '2026-11-01',
  });
  assert.equal(backwards.status, 422);
  assert.equal(backwards.body.field, 'followUpUntil');
  assert.equal(backwards.body.errors[0].code, 'date-order');
  const malformed = await clerk.post(`/api/cases/${measlesCase}/contacts`, {
    person: newPerson('Kaputtdatum'),
    category: 'eng',
    lastExposure: 'gestern',
  });
  assert.equal(malformed.status, 422);
  assert.deepEqual(malformed.body.errors.map((e: { field: string }) => e.field).sort(), ['category', 'lastExposure']);
  const huge = await clerk.post(`/api/cases/${measlesCase}/contacts`, {
    person: newPerson('Riesennotiz'),
    category: 'close',
    lastExposure: '2026-11-30',
    notes: 'x'.repeat(20_001),
  });
  assert.equal(huge.status, 422);
  const oversized = await clerk.post(`/api/cases/${measlesCase}/contacts`, {
    person: newPerson('Übergroß'),
    category: 'close',
    lastExposure: '2026-11-30',
    notes: 'x'.repeat(3_000_000),
  });
  assert.equal(oversized.status, 413);
  // A case that is no case (a note) is no index case.
  const note = (
    await clerk.post(`/api/persons/${existing}/records`, {
      type: 'note',
      sensitivity: 'normal',
      content: { text: 'Notiz' },
    })
  ).body.id;
  assert.equal(
    (
      await clerk.post(`/api/cases/${note}/contacts`, {
        person: newPerson('Notizkontakt'),
        category: 'close',
        lastExposure: '2026-11-30',
      })
    ).status,
    404,
  );
  assert.equal((await persons()).length, before, 'no person was left behind by a refused contact');
});

test('follow-up entries: one per contact and day (also in parallel), not in the future, not before the exposure', async () => {
  const entry = (day: string, extra: object = {}) =>
    clerk.post(`/api/contacts/${contacts.neu}/follow-ups`, { day, symptoms: false, reached: 'phone', ...extra });
  const first = await entry('2026-12-02', { note: 'Telefonisch erreicht, beschwerdefrei' });
  assert.equal(first.status, 201, JSON.stringify(first.body));
  const again = await entry('2026-12-02');
  assert.equal(again.status, 409);
  assert.equal(again.body.field, 'day');
  assert.equal(again.body.errors[0].code, 'already-recorded');
  const race = await Promise.all(
    Array.from({ length: 5 }, () => entry('2026-12-03', { symptoms: true, which: 'Halskratzen und Fieberschub' })),
  );
  assert.deepEqual(race.map((r) => r.status).sort(), [201, 409, 409, 409, 409]);
  const future = await entry('2099-01-01');
  assert.equal(future.status, 422);
  assert.equal(future.body.errors[0].code, 'date-in-future');
  const early = await entry('2026-11-28');
  assert.equal(early.status, 422);
  assert.equal(early.body.errors[0].code, 'date-order');
  assert.equal((await entry('2026-12-04', { reached: 'fax' })).status, 422);
  const listed = await clerk.get(`/api/contacts/${contacts.neu}/follow-ups`);
  assert.equal(listed.status, 200);
  assert.deepEqual(
    listed.body.map((e: { day: string; symptoms: boolean }) => [e.day, e.symptoms]),
    [
      ['2026-12-03', true],
      ['2026-12-02', false],
    ],
  );
  assert.equal(listed.body[0].which, 'Halskratzen und Fieberschub');
  assert.equal(listed.body[0].byUser, clerk.id);
  const rows = await db((tx) =>
    tx.selectFrom('contact_follow_ups').selectAll().where('contact_record_id', '=', contacts.neu!).execute(),
  );
  assert.equal(rows.length, 2);
  // Append-only: not even the database's own user changes an entry.
  await assert.rejects(db((tx) => tx.updateTable('contact_follow_ups').set({ day: '2026-12-01' }).execute()));
});

test('the worklist on a fixed day: due today, and overdue with the days missed, the most urgent first', async () => {
  const on = '2026-12-04';
  const today = await clerk.get(`/api/departments/${INF}/follow-ups?when=today&on=${on}`);
  assert.equal(today.status, 200, JSON.stringify(today.body));
  const names = (body: { familyName: string }[]) => body.map((x) => x.familyName);
  assert.deepEqual(
    names(today.body).sort(),
    ['Bestandskontakt', 'Coronakontakt', 'Kontaktmannsberger', 'Spätkontakt'].sort(),
  );
  const overdue = await clerk.get(`/api/departments/${INF}/follow-ups?when=overdue&on=${on}`);
  assert.deepEqual(
    overdue.body.map((x: { familyName: string; daysMissed: number }) => [x.familyName, x.daysMissed]),
    [
      ['Coronakontakt', 3],
      ['Bestandskontakt', 3],
      ['Spätkontakt', 2],
    ],
  );
  const neu = today.body.find((x: { familyName: string }) => x.familyName === 'Kontaktmannsberger');
  assert.equal(neu.lastEntryDay, '2026-12-03');
  assert.equal(neu.dayOfPeriod, 6);
  assert.equal(neu.periodDays, 21);
  // An entry for the day takes the contact off that day's list.
  assert.equal(
    (await clerk.post(`/api/contacts/${contacts.neu}/follow-ups`, { day: on, symptoms: false, reached: 'phone' }))
      .status,
    201,
  );
  const after = await clerk.get(`/api/departments/${INF}/follow-ups?when=today&on=${on}`);
  assert.ok(!names(after.body).includes('Kontaktmannsberger'));
  assert.equal((await clerk.get(`/api/departments/${INF}/follow-ups?when=tomorrow`)).status, 422);
});

test('conversion into a case: once, also when asked in parallel; the contact ends its follow-up', async () => {
  const race = await Promise.all(
    Array.from({ length: 4 }, () => clerk.post(`/api/contacts/${contacts.bestand}/convert`)),
  );
  assert.deepEqual(race.map((r) => r.status).sort(), [200, 409, 409, 409], JSON.stringify(race.map((r) => r.body)));
  const won = race.find((r) => r.status === 200)!.body;
  assert.equal(won.created, true);
  const lost = race.find((r) => r.status === 409)!.body;
  assert.equal(lost.field, 'state');
  assert.equal(lost.errors[0].code, 'already-converted');
  assert.equal(lost.caseRecordId, won.caseRecordId);
  const kase = await clerk.get(`/api/records/${won.caseRecordId}`);
  assert.equal(kase.body.type, 'ifsg-case');
  assert.equal(kase.body.personId, existing);
  assert.equal(kase.body.content.status, 'suspected');
  assert.equal(kase.body.content.disease.code, 'msvd');
  assert.match(kase.body.content.notes, new RegExp(contacts.bestand!));
  const cases = await db((tx) =>
    tx.selectFrom('ifsg_cases').select('record_id').where('person_id', '=', existing).execute(),
  );
  assert.equal(cases.length, 1);
  const contact = await clerk.get(`/api/records/${contacts.bestand}`);
  assert.equal(contact.body.content.state, 'converted');
  assert.equal(contact.body.content.convertedCaseId, won.caseRecordId);
  const entry = await clerk.post(`/api/contacts/${contacts.bestand}/follow-ups`, {
    day: '2026-12-04',
    symptoms: true,
    reached: 'phone',
  });
  assert.equal(entry.status, 409);
  assert.equal(entry.body.errors[0].code, 'not-active');
  const overdue = await clerk.get(`/api/departments/${INF}/follow-ups?when=overdue&on=2026-12-04`);
  assert.ok(!overdue.body.some((x: { familyName: string }) => x.familyName === 'Bestandskontakt'));
});

test('a restricted case: its contacts are for physicians and heads; a clerk is refused and does not see them listed', async () => {
  const secretCase = (
    await physician.post(`/api/persons/${indexPerson}/records`, {
      type: 'ifsg-case',
      sensitivity: 'restricted',
      content: { disease: { code: 'hivd', display: 'HIV' }, status: 'confirmed', notifiedOn: '2026-12-01' },
    })
  ).body.id;
  const asClerk = await clerk.post(`/api/cases/${secretCase}/contacts`, {
    personId: existing,
    category: 'close',
    lastExposure: '2026-11-30',
  });
  assert.equal(asClerk.status, 403);
  assert.equal((await clerk.get(`/api/cases/${secretCase}/contacts`)).status, 403);
  // Restricted like its case, without being asked.
  const made = await physician.post(`/api/cases/${secretCase}/contacts`, {
    person: newPerson('Vertraulichkontakt'),
    category: 'close',
    lastExposure: '2026-12-01',
  });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  assert.equal((await physician.get(`/api/records/${made.body.id}`)).body.sensitivity, 'restricted');
  // A normal contact of a restricted case would tell a clerk of the case: it is refused with the field named.
  const leaky = await physician.post(`/api/cases/${secretCase}/contacts`, {
    person: newPerson('Offenkontakt'),
    sensitivity: 'normal',
    category: 'close',
    lastExposure: '2026-12-01',
  });
  assert.equal(leaky.status, 422, JSON.stringify(leaky.body));
  assert.equal(leaky.body.field, 'sensitivity');
  const listed = (await clerk.get(`/api/departments/${INF}/follow-ups?when=today&on=2026-12-04`)).body;
  assert.ok(!listed.some((x: { familyName: string }) => x.familyName === 'Vertraulichkontakt'));
  const forPhysician = (await physician.get(`/api/departments/${INF}/follow-ups?when=today&on=2026-12-04`)).body;
  assert.ok(forPhysician.some((x: { familyName: string }) => x.familyName === 'Vertraulichkontakt'));
  assert.equal(
    (
      await clerk.post(`/api/contacts/${made.body.id}/follow-ups`, {
        day: '2026-12-02',
        symptoms: false,
        reached: 'phone',
      })
    ).status,
    403,
  );
  assert.equal((await clerk.post(`/api/contacts/${made.body.id}/convert`)).status, 403);
});

test('two contacts of one person (of two cases of one disease) converted at the same moment make one case', async () => {
  const secondIndex = (await physician.post('/api/persons', samplePerson(INF, 'Zweitindex'))).body.id as string;
  const otherMeasles = await physician.post(`/api/persons/${secondIndex}/records`, {
    type: 'ifsg-case',
    sensitivity: 'normal',
    content: {
      disease: { code: 'msvd', display: 'Masernvirus-Erkrankung' },
      status: 'confirmed',
      notifiedOn: '2026-12-01',
    },
  });
  assert.equal(otherMeasles.status, 201, JSON.stringify(otherMeasles.body));
  const person = (await clerk.post('/api/persons', { ...samplePerson(INF, 'Doppelkontakt'), birthDate: '1977-07-07' }))
    .body.id as string;
  const contactIds: string[] = [];
  for (const caseId of [measlesCase, otherMeasles.body.id]) {
    const k = await clerk.post(`/api/cases/${caseId}/contacts`, {
      personId: person,
      category: 'close',
      lastExposure: '2026-11-30',
    });
    assert.equal(k.status, 201, JSON.stringify(k.body));
    contactIds.push(k.body.id);
  }
  const answers = await Promise.all(contactIds.map((id) => clerk.post(`/api/contacts/${id}/convert`)));
  for (const a of answers) assert.equal(a.status, 200, JSON.stringify(a.body));
  const cases = await db((tx) =>
    tx
      .selectFrom('ifsg_cases')
      .select('record_id')
      .where('person_id', '=', person)
      .where('deleted_at', 'is', null)
      .execute(),
  );
  assert.equal(cases.length, 1, JSON.stringify(answers.map((a) => a.body)));
  assert.equal(answers[0]!.body.caseRecordId, answers[1]!.body.caseRecordId);
});

test("converting a clerk's contact whose person has a restricted case of the disease: refused, the contact stays active and the case's id is not told", async () => {
  const person = (
    await physician.post('/api/persons', { ...samplePerson(INF, 'Verborgenfall'), birthDate: '1969-09-09' })
  ).body.id as string;
  const secret = await physician.post(`/api/persons/${person}/records`, {
    type: 'ifsg-case',
    sensitivity: 'restricted',
    content: {
      disease: { code: 'msvd', display: 'Masernvirus-Erkrankung' },
      status: 'confirmed',
      notifiedOn: '2026-12-01',
    },
  });
  assert.equal(secret.status, 201, JSON.stringify(secret.body));
  // The clerk's own, normal work: the person is a contact of the (normal) measles case.
  const contact = await clerk.post(`/api/cases/${measlesCase}/contacts`, {
    personId: person,
    category: 'close',
    lastExposure: '2026-11-30',
  });
  assert.equal(contact.status, 201, JSON.stringify(contact.body));
  const converted = await clerk.post(`/api/contacts/${contact.body.id}/convert`);
  assert.notEqual(
    converted.status,
    200,
    `a clerk was pointed at the restricted case: ${JSON.stringify(converted.body)}`,
  );
  assert.equal(converted.status, 403, JSON.stringify(converted.body));
  assert.ok(!JSON.stringify(converted.body).includes(secret.body.id));
  const still = await clerk.get(`/api/records/${contact.body.id}`);
  assert.equal(still.body.content.state, 'active');
  assert.equal(still.body.content.convertedCaseId, undefined);
  // A physician, who reads the restricted case, converts the contact into it.
  const byPhysician = await physician.post(`/api/contacts/${contact.body.id}/convert`);
  assert.equal(byPhysician.status, 200, JSON.stringify(byPhysician.body));
  assert.deepEqual(byPhysician.body, { caseRecordId: secret.body.id, created: false });
});

test('a case with normal contacts is not relabelled restricted (its contacts would tell a clerk of it); once they are, it is', async () => {
  const index = (await physician.post('/api/persons', samplePerson(INF, 'Spaetvertraulich'))).body.id as string;
  const kase = await physician.post(`/api/persons/${index}/records`, {
    type: 'ifsg-case',
    sensitivity: 'normal',
    content: {
      disease: { code: 'cvdd', display: 'Coronavirus-Krankheit-2019' },
      status: 'confirmed',
      notifiedOn: '2026-12-01',
    },
  });
  assert.equal(kase.status, 201, JSON.stringify(kase.body));
  const contact = await clerk.post(`/api/cases/${kase.body.id}/contacts`, {
    person: newPerson('Nachbarkontakt'),
    category: 'close',
    lastExposure: '2026-12-01',
  });
  assert.equal(contact.status, 201, JSON.stringify(contact.body));
  const relabel = (version: number) =>
    physician.put(`/api/records/${kase.body.id}`, {
      content: {
        disease: { code: 'cvdd', display: 'Coronavirus-Krankheit-2019' },
        status: 'confirmed',
        notifiedOn: '2026-12-01',
      },
      sensitivity: 'restricted',
      version,
    });
  const refused = await relabel(1);
  assert.equal(
    refused.status,
    422,
    `the case became restricted with a normal contact: ${JSON.stringify(refused.body)}`,
  );
  assert.equal(refused.body.field, 'sensitivity');
  assert.equal(refused.body.errors[0].code, 'contacts-not-restricted');
  assert.equal((await physician.get(`/api/records/${kase.body.id}`)).body.sensitivity, 'normal');
  // The contact relabelled first, the case follows.
  const c = (await physician.get(`/api/records/${contact.body.id}`)).body;
  const moved = await physician.put(`/api/records/${contact.body.id}`, {
    content: c.content,
    sensitivity: 'restricted',
    version: c.version,
  });
  assert.equal(moved.status, 200, JSON.stringify(moved.body));
  assert.equal((await relabel(1)).status, 200);
  const listed = (await clerk.get(`/api/departments/${INF}/follow-ups?when=today&on=2026-12-04`)).body;
  assert.ok(!listed.some((x: { familyName: string }) => x.familyName === 'Nachbarkontakt'));
});

test('another department: 404 for cases and contacts, 403 for the worklist; tokens only within their scope', async () => {
  assert.equal((await other.get(`/api/cases/${measlesCase}/contacts`)).status, 404);
  assert.equal(
    (
      await other.post(`/api/cases/${measlesCase}/contacts`, {
        person: newPerson('Eindringling'),
        category: 'close',
        lastExposure: '2026-11-30',
      })
    ).status,
    404,
  );
  assert.equal((await other.post(`/api/contacts/${contacts.neu}/convert`)).status, 404);
  assert.equal(
    (await other.post(`/api/contacts/${contacts.neu}/follow-ups`, { symptoms: false, reached: 'phone' })).status,
    404,
  );
  assert.equal((await other.get(`/api/contacts/${contacts.neu}/follow-ups`)).status, 404);
  assert.equal((await other.get(`/api/departments/${INF}/follow-ups`)).status, 403);
  const token = async (scopes: string[]) =>
    (await clerk.post('/api/auth/tokens', { name: `k-${scopes.join('-')}`, scopes })).body.token as string;
  const read = await token(['records:read']);
  const write = await token(['records:write']);
  const as = (tok: string, method: string, url: string, body?: unknown) =>
    clerk.call(method, url, body, { authorization: `Bearer ${tok}`, cookie: '' });
  assert.equal((await as(read, 'GET', `/api/departments/${INF}/follow-ups`)).status, 200);
  assert.equal((await as(read, 'GET', `/api/cases/${measlesCase}/contacts`)).status, 200);
  const refused = await as(read, 'POST', `/api/contacts/${contacts.neu}/follow-ups`, {
    day: '2026-12-01',
    symptoms: false,
    reached: 'phone',
  });
  assert.equal(refused.status, 403);
  assert.equal(refused.body.code, 'token-scope');
  assert.equal((await as(write, 'GET', `/api/departments/${INF}/follow-ups`)).status, 403);
  assert.equal(
    (
      await as(write, 'POST', `/api/contacts/${contacts.neu}/follow-ups`, {
        day: '2026-12-01',
        symptoms: false,
        reached: 'phone',
      })
    ).status,
    201,
  );
});

test('where restricted records are hidden from clerks, a restricted contact is not told by a new person of the same name: the clerk gets the answer of a person who is no contact', async () => {
  const head = await t.user({ memberships: [{ departmentId: INF, role: 'head' }] });
  assert.equal((await head.put(`/api/departments/${INF}/settings`, { restrictedListing: 'hidden' })).status, 200);
  const person = (familyName: string) => ({ familyName, givenName: 'Ilse', birthDate: '1977-07-07' });
  const hiddenContact = await physician.post(`/api/cases/${covidCase}/contacts`, {
    person: person('Sperrvermerkt'),
    sensitivity: 'restricted',
    category: 'close',
    lastExposure: '2026-12-02',
  });
  assert.equal(hiddenContact.status, 201, JSON.stringify(hiddenContact.body));
  const asClerk = (familyName: string) =>
    clerk.post(`/api/cases/${covidCase}/contacts`, {
      person: person(familyName),
      category: 'close',
      lastExposure: '2026-12-02',
    });
  const shape = (r: { status: number; body: Record<string, unknown> }) => [r.status, Object.keys(r.body).sort()];
  const noContact = await asClerk('Freivermerkt');
  const twin = await asClerk('Sperrvermerkt');
  assert.deepEqual(shape(twin), shape(noContact), `the hidden contact was told: ${JSON.stringify(twin.body)}`);
  assert.notEqual(twin.body.personId, hiddenContact.body.personId);
  // A second click of the clerk's own is still refused: its contact is one the clerk sees.
  const again = await asClerk('Sperrvermerkt');
  assert.equal(again.status, 409, JSON.stringify(again.body));
  assert.equal(again.body.personId, twin.body.personId);
  // The physician's restricted contact is untouched, and not listed to the clerk.
  const record = await physician.get(`/api/records/${hiddenContact.body.id}`);
  assert.equal(record.status, 200);
  assert.equal(record.body.version, 1);
  assert.equal(record.body.sensitivity, 'restricted');
  const listed = (await clerk.get(`/api/cases/${covidCase}/contacts`)).body.contacts as { personId: string }[];
  assert.ok(!listed.some((c) => c.personId === hiddenContact.body.personId));
  assert.equal((await head.put(`/api/departments/${INF}/settings`, { restrictedListing: 'shown' })).status, 200);
});

test('nothing readable at rest: names, disease, symptoms, notes', { skip: DIALECT === 'postgres' }, async () => {
  await h.stop();
  stopped = true;
  const files = fs.readdirSync(h.config.dataDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  const secrets = [
    'Kontaktmannsberger',
    'Bestandskontakt',
    'Coronakontakt',
    'Halskratzen',
    'beschwerdefrei',
    'Haushalt',
    'msvd',
    'Masernvirus',
  ];
  let control = false;
  for (const f of files) {
    const bytes = fs.readFileSync(path.join(f.parentPath, f.name)).toString('latin1').toLowerCase();
    for (const s of secrets) assert.ok(!bytes.includes(s.toLowerCase()), `${s} in ${f.name}`);
    if (bytes.includes('2026-12-19')) control = true;
  }
  assert.ok(control, 'the scan finds what is stored in clear (a follow-up end)');
});
