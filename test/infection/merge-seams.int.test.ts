// Where issue 16's parts meet a person merge: a file that is a contact (with follow-up entries sealed
// under its own key), an index case with contacts of its own, and the person of an inbox notification
// is merged into another. Everything reads under the survivor (the contact lists, the worklist, the
// entries, the notification's person); undo puts each back; confirmed, it stays. The §11 transmission
// sends a moved case as "changed" only when the survivor's sex or birth month differ.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { addDays, officeDay } from '../../src/infection/incubation.ts';
import { laboratoryBundle } from '../helpers/demis-bundles.ts';
import { startHarness, setUpTenant, type Client, type Harness, type Tenant } from '../helpers/harness.ts';

let h: Harness;
let t: Tenant;
let INF: string;
type User = Client & { id: string };
let clerk: User;
let physician: User;
let physician2: User;
let head: User;

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h);
  INF = t.departments.INF!;
  clerk = await t.user({ memberships: [{ departmentId: INF, role: 'clerk' }] });
  physician = await t.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  physician2 = await t.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  head = await t.user({ memberships: [{ departmentId: INF, role: 'head' }] });
});
after(() => h.close());

const db = <T>(work: Parameters<typeof inTenantTransaction<T>>[2]) =>
  inTenantTransaction(h.services.store, t.tenantId, work);

async function file(familyName: string, birthDate = '1961-04-17', sex = 'female'): Promise<string> {
  const r = await physician.post('/api/persons', {
    departmentId: INF,
    familyName,
    givenName: 'Hannelore',
    birthDate,
    sex,
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id;
}

async function caseOf(personId: string, code: string, display: string): Promise<string> {
  const r = await physician.post(`/api/persons/${personId}/records`, {
    type: 'ifsg-case',
    sensitivity: 'normal',
    content: { disease: { code, display }, status: 'confirmed', notifiedOn: '2026-12-01' },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id;
}

async function contact(caseId: string, personId: string, lastExposure: string): Promise<string> {
  const r = await clerk.post(`/api/cases/${caseId}/contacts`, { personId, category: 'close', lastExposure });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id;
}

const merge = (by: Client, survivor: string, absorbed: string) =>
  by.post(`/api/persons/${survivor}/merge`, { absorbedId: absorbed, survivorVersion: 1, absorbedVersion: 1 });

const today = officeDay(new Date().toISOString());

/** What each part shows of the files: who the contacts are, the worklist, the entries, the notification's person. */
async function seen(w: { kases: string[]; contacts: string[]; notification: string }) {
  const lists: Record<string, [string, string][]> = {};
  for (const k of w.kases) {
    const r = await clerk.get(`/api/cases/${k}/contacts`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    lists[k] = r.body.contacts.map((c: { recordId: string; personId: string }) => [c.recordId, c.personId]);
  }
  const entries: Record<string, unknown[]> = {};
  for (const c of w.contacts) {
    const r = await clerk.get(`/api/contacts/${c}/follow-ups`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    entries[c] = r.body.map((e: { day: string; symptoms: boolean; which?: string }) => [e.day, e.symptoms, e.which]);
  }
  const work = await clerk.get(`/api/departments/${INF}/follow-ups?when=today&on=${today}`);
  assert.equal(work.status, 200, JSON.stringify(work.body));
  const worklist = (work.body as { contactRecordId: string; personId: string; familyName: string }[])
    .filter((x) => w.contacts.includes(x.contactRecordId))
    .map((x) => [x.contactRecordId, x.personId, x.familyName])
    .sort();
  const n = await clerk.get(`/api/notifications/${w.notification}`);
  assert.equal(n.status, 200, JSON.stringify(n.body));
  const sideTable = await db((tx) =>
    tx
      .selectFrom('ifsg_contacts')
      .select(['record_id', 'person_id'])
      .where('record_id', 'in', w.contacts)
      .orderBy('record_id')
      .execute(),
  );
  return { lists, entries, worklist, notificationPerson: n.body.personId, sideTable };
}

test('a file that is a contact, an index case and a notified person merged: all reads under the survivor, undo restores, confirm stays', async () => {
  const survivor = await file('Zusammenkunft');
  const absorbed = await file('Zusammenkunft');
  const indexPerson = await file('Indexfrau');
  const other = await file('Nebenkontakt');
  const measles = await caseOf(indexPerson, 'msvd', 'Masernvirus-Erkrankung');
  const ownCase = await caseOf(absorbed, 'cvdd', 'Coronavirus-Krankheit-2019');
  const survivorCase = await caseOf(survivor, 'hcvd', 'Hepatitis C');
  const exposure = addDays(today, -4);
  // The absorbed file as a contact (with entries sealed under its key), as the index case of a contact,
  // and as a contact of the survivor's own case (refused while that follow-up runs: one file would be its own
  // contact; once it has ended, the files merge).
  const asContact = await contact(measles, absorbed, exposure);
  const ofOwnCase = await contact(ownCase, other, exposure);
  const ofSurvivor = await contact(survivorCase, absorbed, exposure);
  for (const [day, symptoms] of [
    [addDays(today, -3), false],
    [addDays(today, -2), true],
  ] as const) {
    const r = await clerk.post(`/api/contacts/${asContact}/follow-ups`, {
      day,
      symptoms,
      ...(symptoms ? { which: 'Fieber' } : {}),
      reached: 'phone',
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  // A notification matched to the absorbed file.
  const up = await clerk.call('POST', `/api/departments/${INF}/notifications`, JSON.stringify(laboratoryBundle()), {
    'content-type': 'application/fhir+json',
  });
  assert.equal(up.status, 201, JSON.stringify(up.body));
  const notification = up.body.notificationId as string;
  const n = (await clerk.get(`/api/notifications/${notification}`)).body;
  const linked = await clerk.post(`/api/notifications/${notification}/person`, {
    personId: absorbed,
    version: n.version,
  });
  assert.equal(linked.status, 200, JSON.stringify(linked.body));

  const watch = { kases: [measles, ownCase, survivorCase], contacts: [asContact, ofOwnCase, ofSurvivor], notification };
  const beforeMerge = await seen(watch);
  assert.deepEqual(beforeMerge.lists[measles], [[asContact, absorbed]]);
  assert.deepEqual(beforeMerge.entries[asContact], [
    [addDays(today, -2), true, 'Fieber'],
    [addDays(today, -3), false, undefined],
  ]);
  assert.equal(beforeMerge.worklist.length, 3);
  assert.equal(beforeMerge.notificationPerson, absorbed);

  const refusedMerge = await merge(clerk, survivor, absorbed);
  assert.equal(refusedMerge.status, 409, JSON.stringify(refusedMerge.body));
  assert.equal(refusedMerge.body.errors[0].code, 'contact-is-case');
  assert.deepEqual(await seen(watch), beforeMerge, 'the refused merge moved nothing');
  const rec = (await clerk.get(`/api/records/${ofSurvivor}`)).body;
  const ended = await clerk.put(`/api/records/${ofSurvivor}`, {
    content: { ...rec.content, state: 'ended' },
    version: rec.version,
  });
  assert.equal(ended.status, 200, JSON.stringify(ended.body));

  const m = await merge(clerk, survivor, absorbed);
  assert.equal(m.status, 201, JSON.stringify(m.body));
  const merged = await seen(watch);
  assert.deepEqual(merged.lists, {
    [measles]: [[asContact, survivor]],
    [ownCase]: [[ofOwnCase, other]],
    [survivorCase]: [[ofSurvivor, survivor]],
  });
  assert.deepEqual(merged.entries, beforeMerge.entries, 'the entries open with the key they were sealed with');
  assert.deepEqual(
    merged.worklist,
    [
      [asContact, survivor, 'Zusammenkunft'],
      [ofOwnCase, other, 'Nebenkontakt'],
    ].sort(),
  );
  assert.equal(merged.notificationPerson, survivor);
  assert.deepEqual(
    merged.sideTable.map((r) => r.person_id),
    merged.sideTable.map((r) => (r.record_id === ofOwnCase ? other : survivor)),
  );
  // The moved case is still the index case its contacts name; today's entry goes in under the survivor.
  const ownCaseRecord = await clerk.get(`/api/records/${ownCase}`);
  assert.equal(ownCaseRecord.body.personId, survivor);
  const todays = await clerk.post(`/api/contacts/${asContact}/follow-ups`, { symptoms: false, reached: 'phone' });
  assert.equal(todays.status, 201, JSON.stringify(todays.body));

  // Undo: everything back where it was; the entry written during the merge reads too.
  const u = await clerk.post(`/api/person-merges/${m.body.id}/undo`, { version: 1 });
  assert.equal(u.status, 200, JSON.stringify(u.body));
  const undone = await seen(watch);
  assert.deepEqual(undone.lists, beforeMerge.lists);
  assert.deepEqual(undone.sideTable, beforeMerge.sideTable);
  assert.equal(undone.notificationPerson, absorbed);
  assert.deepEqual(undone.entries[asContact], [[today, false, undefined], ...beforeMerge.entries[asContact]!]);
  assert.deepEqual(
    undone.worklist,
    [
      [ofOwnCase, other, 'Nebenkontakt'],
      // asContact had today's entry: not due any more; ofSurvivor ended.
    ].sort(),
  );

  // Merged again and confirmed by a second senior: it stays.
  const again = await merge(physician, survivor, absorbed);
  assert.equal(again.status, 201, JSON.stringify(again.body));
  const confirmed = await head.post(`/api/person-merges/${again.body.id}/confirm`, { version: 1 });
  assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
  const final = await seen(watch);
  assert.deepEqual(final.lists, merged.lists);
  assert.deepEqual(final.entries, undone.entries);
  assert.equal(final.notificationPerson, survivor);
  assert.deepEqual(final.worklist, [[ofOwnCase, other, 'Nebenkontakt']]);
  // A notification is not linked to the absorbed file any more: the answer names where it went.
  const later = await clerk.call('POST', `/api/departments/${INF}/notifications`, JSON.stringify(laboratoryBundle()), {
    'content-type': 'application/fhir+json',
  });
  const n2 = (await clerk.get(`/api/notifications/${later.body.notificationId}`)).body;
  const refused = await clerk.post(`/api/notifications/${n2.id}/person`, { personId: absorbed, version: n2.version });
  assert.equal(refused.status, 410, JSON.stringify(refused.body));
  assert.equal(refused.body.mergedInto, survivor);
  assert.equal((await clerk.get(`/api/notifications/${n2.id}`)).body.personId, null);
});

test('§11 after a merge: a case of the absorbed file sent before is "changed" only if sex or birth month differ', async () => {
  const saved = await head.put(`/api/departments/${INF}/transmission-settings`, {
    districtCode: '09162',
    recipient: 'Landesamt',
    version: 0,
  });
  assert.equal(saved.status, 200, JSON.stringify(saved.body));
  const same = { survivor: await file('Gleichmonat', '1970-03-02'), absorbed: await file('Gleichmonat', '1970-03-29') };
  const differ = { survivor: await file('Andermonat', '1970-04-02'), absorbed: await file('Andermonat', '1970-03-29') };
  const kSame = await caseOf(same.absorbed, 'cvdd', 'Coronavirus-Krankheit-2019');
  const kDiffer = await caseOf(differ.absorbed, 'cvdd', 'Coronavirus-Krankheit-2019');
  const first = await physician.post(`/api/departments/${INF}/transmissions`);
  assert.equal(first.status, 201, JSON.stringify(first.body));
  for (const p of [same, differ]) assert.equal((await merge(clerk, p.survivor, p.absorbed)).status, 201);
  const p = await physician.get(`/api/departments/${INF}/transmissions/preview`);
  assert.equal(p.status, 200, JSON.stringify(p.body));
  assert.deepEqual(p.body.counts, { new: 0, changed: 1, withdrawn: 0 });
  const next = await physician2.post(`/api/departments/${INF}/transmissions`);
  assert.equal(next.status, 201, JSON.stringify(next.body));
  const sent = JSON.parse(String((await physician2.get(`/api/transmissions/${next.body.id}`)).raw));
  assert.deepEqual(
    sent.cases.map((c: { caseId: string; change: string; birthMonth: string }) => [c.caseId, c.change, c.birthMonth]),
    [[kDiffer, 'changed', '1970-04']],
  );
  assert.ok(kSame);
});

test('both files contacts of one case: the merge keeps one contact per case (the one further along, normal over restricted), undo brings both back', async () => {
  const indexPerson = await file('Doppelindex');
  const kase = await caseOf(indexPerson, 'msvd', 'Masernvirus-Erkrankung');
  const exposure = addDays(today, -4);
  const live = async (personId: string) =>
    db((tx) =>
      tx
        .selectFrom('ifsg_contacts')
        .select(['record_id', 'state', 'sensitivity'])
        .where('tenant_id', '=', t.tenantId)
        .where('case_record_id', '=', kase)
        .where('person_id', '=', personId)
        .where('deleted_at', 'is', null)
        .orderBy('record_id')
        .execute(),
    );
  const listed = async (by: Client) => {
    const r = await by.get(`/api/cases/${kase}/contacts`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return (r.body.contacts as { recordId: string; personId: string }[]).map((c) => [c.recordId, c.personId]);
  };

  // Same sensitivity: the absorbed file's contact has ended, the survivor's is still open — the ended one stays.
  const survivor = await file('Doppelkontakt');
  const absorbed = await file('Doppelkontakt');
  const open = await contact(kase, survivor, exposure);
  const done = await contact(kase, absorbed, addDays(exposure, -1));
  const rec = (await clerk.get(`/api/records/${done}`)).body;
  const ended = await clerk.put(`/api/records/${done}`, { content: { ...rec.content, state: 'ended' }, version: 1 });
  assert.equal(ended.status, 200, JSON.stringify(ended.body));
  const m = await merge(clerk, survivor, absorbed);
  assert.equal(m.status, 201, JSON.stringify(m.body));
  assert.equal(m.body.records, 1, 'the merge moved one record');
  assert.deepEqual(await live(survivor), [{ record_id: done, state: 'ended', sensitivity: 'normal' }]);
  assert.deepEqual(await listed(clerk), [[done, survivor]]);
  assert.equal((await clerk.get(`/api/records/${open}`)).status, 404, 'the other contact is removed');
  const again = await clerk.post(`/api/cases/${kase}/contacts`, {
    personId: survivor,
    category: 'close',
    lastExposure: exposure,
  });
  assert.equal(again.status, 409, JSON.stringify(again.body));
  const event = await db((tx) =>
    tx
      .selectFrom('audit_events')
      .select('detail')
      .where('tenant_id', '=', t.tenantId)
      .where('action', '=', 'person.merge')
      .where('outcome', '=', 'allowed')
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow(),
  );
  assert.match(String(event.detail), new RegExp(open), 'the merge event names the contact it removed');
  // Undo: both contacts back, each in its own file.
  const u = await clerk.post(`/api/person-merges/${m.body.id}/undo`, { version: 1 });
  assert.equal(u.status, 200, JSON.stringify(u.body));
  assert.deepEqual(await live(survivor), [{ record_id: open, state: 'active', sensitivity: 'normal' }]);
  assert.deepEqual(await live(absorbed), [{ record_id: done, state: 'ended', sensitivity: 'normal' }]);
  assert.equal((await clerk.get(`/api/records/${open}`)).status, 200);
  // Merged again and confirmed: one contact stays.
  const m2 = await merge(physician, survivor, absorbed);
  assert.equal(m2.status, 201, JSON.stringify(m2.body));
  assert.equal((await head.post(`/api/person-merges/${m2.body.id}/confirm`, { version: 1 })).status, 200);
  assert.deepEqual(await live(survivor), [{ record_id: done, state: 'ended', sensitivity: 'normal' }]);

  // A restricted contact beside a normal one, merged by a clerk where restricted records are hidden from clerks:
  // the normal one stays (what the clerk sees does not change), the restricted one is removed, never shown.
  const hidden = await head.put(`/api/departments/${INF}/settings`, { restrictedListing: 'hidden' });
  assert.ok([200, 204].includes(hidden.status), JSON.stringify(hidden.body));
  const s2 = await file('Sperrkontakt');
  const a2 = await file('Sperrkontakt');
  const restricted = await physician.post(`/api/cases/${kase}/contacts`, {
    personId: s2,
    category: 'close',
    lastExposure: exposure,
    sensitivity: 'restricted',
  });
  assert.equal(restricted.status, 201, JSON.stringify(restricted.body));
  const normal = await contact(kase, a2, addDays(exposure, -2));
  const clerkBefore = await listed(clerk);
  const m3 = await merge(clerk, s2, a2);
  assert.equal(m3.status, 201, JSON.stringify(m3.body));
  assert.equal(m3.body.records, 1);
  assert.deepEqual(await live(s2), [{ record_id: normal, state: 'active', sensitivity: 'normal' }]);
  assert.deepEqual(
    await listed(clerk),
    clerkBefore.map(([r, p]) => [r, r === normal ? s2 : p]),
  );
  assert.deepEqual(await listed(physician), await listed(clerk));
  const back = await clerk.post(`/api/person-merges/${m3.body.id}/undo`, { version: 1 });
  assert.equal(back.status, 200, JSON.stringify(back.body));
  assert.deepEqual(await live(s2), [{ record_id: restricted.body.id, state: 'active', sensitivity: 'restricted' }]);
  assert.equal((await head.put(`/api/departments/${INF}/settings`, { restrictedListing: 'shown' })).status < 300, true);
});
