// The §11 IfSG transmission: no identifying field ever leaves. Persons with unique, searchable
// names, birth dates, addresses, DICOM Patient IDs, and phone numbers, e-mail addresses and free
// text in their cases' notes and measures; transmissions of new, then changed, then withdrawn
// cases; every byte of every file is searched for all of it (and for the birth date in any
// format), every case object's keys are in the allowlist, every file passes the documented JSON
// Schema (ajv, draft 2020-12) and the server's zod schema. Then the attacks: a clerk, another
// department, a token, parallel creates, bad settings — and nothing written on a refusal.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import {
  TRANSMITTED_CASE_KEYS,
  WITHDRAWN_CASE_KEYS,
  transmissionPayload,
} from '../../src/contract/infection-transmission.ts';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { DIALECT, startHarness, setUpTenant, type Client, type Harness, type Tenant } from '../helpers/harness.ts';

const addFormats = addFormatsModule as unknown as (a: Ajv2020) => Ajv2020;
const schema = JSON.parse(
  fs.readFileSync(path.resolve(import.meta.dirname, '../../docs/transmission-11.schema.json'), 'utf8'),
);
const ajv = addFormats(new Ajv2020({ allErrors: true, strict: true }));
const validate = ajv.compile(schema);

let h: Harness;
let t: Tenant;
let INF: string;
let TB: string;
let physician: Client & { id: string };
let head: Client & { id: string };
let clerk: Client & { id: string };
let otherPhysician: Client & { id: string };

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h);
  INF = t.departments.INF!;
  TB = t.departments.TB!;
  physician = await t.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  head = await t.user({ memberships: [{ departmentId: INF, role: 'head' }] });
  clerk = await t.user({ memberships: [{ departmentId: INF, role: 'clerk' }] });
  otherPhysician = await t.user({ memberships: [{ departmentId: TB, role: 'physician' }] });
});
after(() => h.close());

/** Every string that must never leave in a transmission (and never lie readable in the database). */
const secrets: string[] = [];
/** Full birth dates, each to be searched for in every common format. */
const birthDates: string[] = [];
let seq = 0;

/** A person with unique identifying data, and an IfSG case in their file with notes full of contact data. */
async function personWithCase(
  by: Client,
  departmentId: string,
  caseContent: Record<string, unknown> = {},
  person: { birthDate?: string; sex?: string } = {},
) {
  const n = ++seq;
  const tag = `${n}${String.fromCharCode(97 + (n % 26))}`;
  const data = {
    departmentId,
    familyName: `Zwirbelmeyer${tag}`,
    givenName: `Quirinella${tag}`,
    birthDate: person.birthDate ?? `19${40 + n}-0${(n % 9) + 1}-2${n % 8}`,
    sex: person.sex ?? 'female',
    dicomPatientId: `PID-XQ-${48213 + n}`,
    address: { street: `Pfefferminzgasse ${70 + n}`, postalCode: `9${8760 + n}`, city: `Kleinwummersdorf${tag}` },
  };
  const phone = `0151-77${88120 + n}`;
  const mail = `quirinella${tag}@wummersdorf.example`;
  const note = `Rückruf unter ${phone}, ${mail}; Ehemann Trudbert${tag} informiert`;
  const measureNote = `Schlüssel bei Nachbarin Ottilie${tag}`;
  const notifier = `Labor Dr. Hinterhuber${tag}`;
  secrets.push(
    data.familyName,
    data.givenName,
    data.dicomPatientId,
    data.address.street,
    data.address.postalCode,
    data.address.city,
    phone,
    mail,
    `Trudbert${tag}`,
    `Ottilie${tag}`,
    `Hinterhuber${tag}`,
  );
  birthDates.push(data.birthDate);
  const p = await by.post('/api/persons', data);
  assert.equal(p.status, 201, JSON.stringify(p.body));
  const content = {
    disease: {
      system: 'https://demis.rki.de/fhir/CodeSystem/notificationCategory',
      code: 'cvdp',
      display: 'SARS-CoV-2',
    },
    status: 'confirmed',
    category: 'C',
    notifiedOn: '2026-12-03',
    onset: '2026-11-30',
    diagnosedOn: '2026-12-02',
    notifier,
    notes: note,
    measures: [
      { kind: 'isolation', from: '2026-12-03', until: '2026-12-13', legalBasis: '§30 IfSG', note: measureNote },
    ],
    ...caseContent,
  };
  const r = await by.post(`/api/persons/${p.body.id}/records`, { type: 'ifsg-case', sensitivity: 'normal', content });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { personId: p.body.id as string, caseId: r.body.id as string, content, data };
}

/** The full birth date in the formats a file could carry it in. */
function dateForms(iso: string): string[] {
  const [y, m, d] = iso.split('-') as [string, string, string];
  return [
    iso,
    `${d}.${m}.${y}`,
    `${Number(d)}.${Number(m)}.${y}`,
    `${d}.${m}.${y.slice(2)}`,
    `${y}${m}${d}`,
    `${m}/${d}/${y}`,
    `${d}/${m}/${y}`,
  ];
}

/** A transmission's file, downloaded as the browser would, with its checks. */
async function download(by: Client, id: string) {
  const r = await by.get(`/api/transmissions/${id}`);
  assert.equal(r.status, 200, String(r.raw));
  assert.match(String(r.headers['content-disposition']), /^attachment; filename="ifsg11-\d{5,8}-\d{4}\.json"$/);
  assert.match(String(r.headers['content-type']), /^application\/json/);
  return r.raw;
}

/** Every check of what left: no secret, no birth date, only allowlisted keys, valid by both schemas. */
function assertClean(bytes: Buffer) {
  const text = bytes.toString('utf8');
  // Random ids are hex and could hold a run of digits like a postal code by chance: they are set
  // aside for the search (an id of 122 random bits carries nothing about a person).
  const folded = text.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<id>').toLowerCase();
  for (const s of secrets) assert.ok(!folded.includes(s.toLowerCase()), `"${s}" left in a transmission`);
  for (const iso of birthDates)
    for (const form of dateForms(iso)) assert.ok(!folded.includes(form), `the birth date ${form} left`);
  const json = JSON.parse(text) as Record<string, unknown> & { cases: Record<string, unknown>[] };
  assert.ok(validate(json), JSON.stringify(validate.errors));
  const parsed = transmissionPayload.parse(json);
  for (const c of json.cases) {
    const allowed: readonly string[] = c.change === 'withdrawn' ? WITHDRAWN_CASE_KEYS : TRANSMITTED_CASE_KEYS;
    for (const k of Object.keys(c)) assert.ok(allowed.includes(k), `key ${k} is not in the allowlist`);
    assert.deepEqual(Object.keys(c).sort(), [...allowed].sort());
  }
  const headerKeys = Object.keys(json).sort();
  assert.deepEqual(headerKeys, [
    'cases',
    'counts',
    'createdAt',
    'districtCode',
    'format',
    'formatVersion',
    'previousTransmissionId',
    'recipient',
    'sequence',
    'transmissionId',
  ]);
  return parsed;
}

const settingsOf = (by: Client, dept = INF) => by.get(`/api/departments/${dept}/transmission-settings`);
const preview = (by: Client, dept = INF) => by.get(`/api/departments/${dept}/transmissions/preview`);
const create = (by: Client, dept = INF) => by.post(`/api/departments/${dept}/transmissions`);
const countRows = (table: 'transmissions' | 'transmitted_cases' | 'transmission_settings') =>
  inTenantTransaction(
    h.services.store,
    t.tenantId,
    async (tx) => (await tx.selectFrom(table).select('tenant_id').execute()).length,
  );

test('the documented JSON Schema is itself valid draft 2020-12 and compiles strictly', () => {
  assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
  assert.ok(ajv.validateSchema(schema));
});

let firstId = '';
let caseA: Awaited<ReturnType<typeof personWithCase>>;
let caseB: Awaited<ReturnType<typeof personWithCase>>;

test('new, then changed, then withdrawn: only what changed, nothing identifying, withdrawn once', async () => {
  // Before settings: nothing can be sent, and the refusal names the field.
  caseA = await personWithCase(
    physician,
    INF,
    { hospitalised: true, hospitalisedFrom: '2026-12-01', pathogen: { code: 'SARS-CoV-2' } },
    { birthDate: '1958-11-23', sex: 'male' },
  );
  caseB = await personWithCase(physician, INF, { status: 'suspected', category: undefined, onset: undefined });
  // A case that never was one is never sent; another department's case is not this department's.
  await personWithCase(physician, INF, { status: 'not-a-case' });
  await personWithCase(otherPhysician, TB);
  const early = await create(physician);
  assert.equal(early.status, 409);
  assert.equal(early.body.field, 'districtCode');
  assert.equal(early.body.errors[0].code, 'settings-missing');
  assert.equal(await countRows('transmissions'), 0);

  const saved = await head.put(`/api/departments/${INF}/transmission-settings`, {
    districtCode: '09162',
    recipient: 'Landesamt für Gesundheit und Lebensmittelsicherheit',
    version: 0,
  });
  assert.equal(saved.status, 200, JSON.stringify(saved.body));
  assert.equal(saved.body.version, 1);
  assert.deepEqual((await settingsOf(physician)).body.districtCode, '09162');

  const p1 = await preview(physician);
  assert.equal(p1.status, 200, JSON.stringify(p1.body));
  assert.deepEqual(p1.body.counts, { new: 2, changed: 0, withdrawn: 0 });
  assert.equal(p1.body.configured, true);
  assert.equal(p1.body.lastTransmission, null);

  const first = await create(physician);
  assert.equal(first.status, 201, JSON.stringify(first.body));
  assert.equal(first.body.sequence, 1);
  assert.deepEqual(first.body.counts, { new: 2, changed: 0, withdrawn: 0 });
  firstId = first.body.id;
  const bytes = await download(physician, firstId);
  assert.equal(createHash('sha256').update(bytes).digest('hex'), first.body.sha256);
  assert.deepEqual(await download(head, firstId), bytes, 'the same bytes at every download');
  const one = assertClean(bytes);
  assert.equal(one.districtCode, '09162');
  assert.equal(one.previousTransmissionId, null);
  assert.deepEqual(one.cases.map((c) => c.caseId).sort(), [caseA.caseId, caseB.caseId].sort());
  const a = one.cases.find((c) => c.caseId === caseA.caseId)!;
  assert.ok(a.change === 'new');
  assert.equal(a.birthMonth, '1958-11');
  assert.equal(a.sex, 'male');
  assert.equal(a.version, 1);
  assert.equal(a.status, 'confirmed');
  assert.equal(a.category, 'C');
  assert.equal(a.onset, '2026-11-30');
  assert.equal(a.diagnosedOn, '2026-12-02');
  assert.equal(a.notifiedOn, '2026-12-03');
  assert.equal(a.reportingWeek, '2026-W49');
  assert.equal(a.hospitalised, true);
  assert.equal(a.hospitalisedFrom, '2026-12-01');
  assert.deepEqual(a.pathogen, { system: null, code: 'SARS-CoV-2', display: null });
  assert.deepEqual(a.disease.code, 'cvdp');
  const b = one.cases.find((c) => c.caseId === caseB.caseId)!;
  if (b.change !== 'withdrawn') {
    assert.equal(b.status, 'suspected');
    assert.equal(b.category, null);
    assert.equal(b.onset, null);
    assert.equal(b.birthMonth, caseB.data.birthDate.slice(0, 7));
  }

  // A second click: nothing new, a clear conflict, nothing written.
  const again = await create(physician);
  assert.equal(again.status, 409);
  assert.equal(again.body.errors[0].code, 'nothing-to-transmit');
  assert.equal(await countRows('transmissions'), 1);

  // Changed: only case A, at its new version.
  const upd = await physician.put(`/api/records/${caseA.caseId}`, {
    content: { ...caseA.content, died: true, diedOn: '2026-12-04' },
    version: 1,
  });
  assert.equal(upd.status, 200, JSON.stringify(upd.body));
  assert.deepEqual((await preview(physician)).body.counts, { new: 0, changed: 1, withdrawn: 0 });
  const second = await create(head);
  assert.equal(second.status, 201, JSON.stringify(second.body));
  const two = assertClean(await download(physician, second.body.id));
  assert.equal(two.sequence, 2);
  assert.equal(two.previousTransmissionId, firstId);
  assert.equal(two.cases.length, 1);
  const a2 = two.cases[0]!;
  assert.equal(a2.caseId, caseA.caseId);
  assert.ok(a2.change === 'changed');
  assert.equal(a2.version, 2);
  assert.equal(a2.diedOn, '2026-12-04');

  // The person's file: a new address changes nothing sent; a corrected sex is sent as a change of
  // the case (its next revision), though the case record itself did not change.
  const personA = (await physician.get(`/api/persons/${caseA.personId}`)).body;
  const moved = await physician.patch(`/api/persons/${caseA.personId}`, {
    address: { street: 'Pfefferminzgasse 99', postalCode: '98799', city: 'Kleinwummersdorf-Süd' },
    version: personA.version,
  });
  assert.equal(moved.status, 200, JSON.stringify(moved.body));
  secrets.push('Pfefferminzgasse 99', '98799', 'Kleinwummersdorf-Süd');
  assert.deepEqual((await preview(physician)).body.counts, { new: 0, changed: 0, withdrawn: 0 });
  assert.equal((await create(physician)).status, 409, 'an address is not transmitted');
  const corrected = await physician.patch(`/api/persons/${caseA.personId}`, {
    sex: 'diverse',
    version: moved.body.version,
  });
  assert.equal(corrected.status, 200, JSON.stringify(corrected.body));
  assert.deepEqual((await preview(physician)).body.counts, { new: 0, changed: 1, withdrawn: 0 });
  const afterCorrection = await create(physician);
  assert.equal(afterCorrection.status, 201, JSON.stringify(afterCorrection.body));
  const corr = assertClean(await download(physician, afterCorrection.body.id));
  assert.equal(corr.cases.length, 1);
  const a3 = corr.cases[0]!;
  assert.ok(a3.change === 'changed' && a3.caseId === caseA.caseId);
  assert.equal(a3.version, 3, 'the third revision of the case in the files');
  assert.equal(a3.sex, 'diverse');
  assert.equal(a3.birthMonth, '1958-11');
  assert.equal(a3.diedOn, '2026-12-04');

  // Withdrawn: B is not a case after all, A's record is deleted (entered twice).
  const notACase = await physician.put(`/api/records/${caseB.caseId}`, {
    content: { ...caseB.content, status: 'not-a-case' },
    version: 1,
  });
  assert.equal(notACase.status, 200, JSON.stringify(notACase.body));
  const removed = await physician.del(`/api/records/${caseA.caseId}`, {
    reason: 'Doppelt angelegt, der Fall wird woanders geführt',
  });
  assert.equal(removed.status, 204, JSON.stringify(removed.body));
  assert.deepEqual((await preview(physician)).body.counts, { new: 0, changed: 0, withdrawn: 2 });
  const third = await create(physician);
  assert.equal(third.status, 201, JSON.stringify(third.body));
  const three = assertClean(await download(physician, third.body.id));
  assert.deepEqual(
    three.cases.map((c) => [c.caseId, c.change, c.change === 'withdrawn' ? c.withdrawal : null]).sort(),
    [
      [caseA.caseId, 'withdrawn', 'deleted'],
      [caseB.caseId, 'withdrawn', 'not-a-case'],
    ].sort(),
  );
  assert.deepEqual(
    Object.fromEntries(three.cases.map((c) => [c.caseId, c.version])),
    { [caseA.caseId]: 4, [caseB.caseId]: 2 },
    'each case counts its own revisions in the files',
  );
  // Withdrawn once: nothing more to send.
  assert.deepEqual((await preview(physician)).body.counts, { new: 0, changed: 0, withdrawn: 0 });
  assert.equal((await create(physician)).status, 409);

  // A case again: B comes back as new, at its later version.
  const back = await physician.put(`/api/records/${caseB.caseId}`, {
    content: { ...caseB.content, status: 'probable' },
    version: 2,
  });
  assert.equal(back.status, 200);
  const fourth = await create(physician);
  assert.equal(fourth.status, 201);
  const four = assertClean(await download(physician, fourth.body.id));
  assert.deepEqual(
    four.cases.map((c) => [c.caseId, c.change, c.version]),
    [[caseB.caseId, 'new', 3]],
  );

  const list = await physician.get(`/api/departments/${INF}/transmissions`);
  assert.equal(list.status, 200);
  assert.deepEqual(
    list.body.items.map((i: { sequence: number }) => i.sequence),
    [5, 4, 3, 2, 1],
  );
  assert.equal(list.body.items[4].sha256, first.body.sha256);
  assert.ok(list.body.items[0].createdByName);
});

test('the audit records each transmission with counts only, and each file whose data left', async () => {
  const events = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .selectFrom('audit_events')
      .selectAll()
      .where('action', '=', 'transmission.create')
      .where('outcome', '=', 'allowed')
      .orderBy('seq')
      .execute(),
  );
  const main = events.filter((e) => e.resource_type === 'department');
  assert.equal(main.length, 5);
  assert.deepEqual(JSON.parse(main[0]!.detail!), { sequence: 1, new: 2, changed: 0, withdrawn: 0 });
  assert.equal(main[0]!.resource_id, firstId);
  const shown = events.filter((e) => e.resource_type === 'person').map((e) => e.person_id);
  assert.ok(shown.includes(caseA.personId) && shown.includes(caseB.personId));
  for (const e of events) for (const s of secrets) assert.ok(!(e.detail ?? '').includes(s));
  // The person's access report (Art. 15 GDPR) says that, and when, their case data went out.
  const report = await head.get(`/api/persons/${caseB.personId}/access-report`);
  assert.equal(report.status, 200, JSON.stringify(report.body));
  const sent = report.body.lines.filter((l: { act: string }) => l.act === 'file.transmitted');
  assert.ok(sent.length >= 1, JSON.stringify(report.body.lines.map((l: { act: string }) => l.act)));
});

test('a clerk is refused (403), another department sees no transmission of this one (404 by id, 403 on its routes)', async () => {
  for (const r of [
    await preview(clerk),
    await create(clerk),
    await clerk.get(`/api/departments/${INF}/transmissions`),
    await settingsOf(clerk),
    await clerk.put(`/api/departments/${INF}/transmission-settings`, {
      districtCode: '09162',
      recipient: 'X',
      version: 1,
    }),
    await clerk.get(`/api/transmissions/${firstId}`),
  ])
    assert.equal(r.status, 403, JSON.stringify(r.body));
  assert.equal((await otherPhysician.get(`/api/transmissions/${firstId}`)).status, 404);
  assert.equal(
    (await otherPhysician.get('/api/transmissions/00000000-0000-4000-8000-000000000016')).status,
    404,
    'the same as a missing one',
  );
  for (const r of [
    await preview(otherPhysician),
    await create(otherPhysician),
    await otherPhysician.get(`/api/departments/${INF}/transmissions`),
    await settingsOf(otherPhysician),
  ])
    assert.equal(r.status, 403);
  // The DPO and the admin are no department's physicians.
  assert.equal((await t.admin.get(`/api/transmissions/${firstId}`)).status, 404);
  assert.equal((await create(t.admin)).status, 403);
});

test('an API token cannot transmit, preview or download, whatever its scopes (a person’s act, in a session)', async () => {
  const made = await physician.post('/api/auth/tokens', { name: 'skript', scopes: ['records:read', 'records:write'] });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const bearer = { authorization: `Bearer ${made.body.token}` };
  const before = await countRows('transmissions');
  await personWithCase(physician, INF);
  for (const [method, url] of [
    ['GET', `/api/departments/${INF}/transmissions/preview`],
    ['POST', `/api/departments/${INF}/transmissions`],
    ['GET', `/api/departments/${INF}/transmissions`],
    ['GET', `/api/departments/${INF}/transmission-settings`],
    ['GET', `/api/transmissions/${firstId}`],
  ] as const) {
    const r = await physician.call(method, url, method === 'POST' ? {} : undefined, { ...bearer, cookie: '' });
    assert.equal(r.status, 403, `${method} ${url}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, 'token-scope');
  }
  assert.equal(await countRows('transmissions'), before);
});

test('bad settings are refused naming the field (422), a stale version is 409, and nothing is written', async () => {
  const current = (await settingsOf(head)).body;
  const bad = [
    [{ districtCode: '0916', recipient: 'LGL', version: current.version }, 'districtCode', 'ags-format'],
    [{ districtCode: '09162abc', recipient: 'LGL', version: current.version }, 'districtCode', 'ags-format'],
    [{ districtCode: '091620000', recipient: 'LGL', version: current.version }, 'districtCode', 'too-long'],
    [{ districtCode: '09162', recipient: 'L'.repeat(201), version: current.version }, 'recipient', 'too-long'],
    [{ districtCode: '09162', recipient: '', version: current.version }, 'recipient', 'required'],
    [{ districtCode: '09162', recipient: 'a\u0000b', version: current.version }, 'recipient', 'no-nul'],
    [{ districtCode: '09162', recipient: 'LGL', version: current.version, extra: 1 }, 'extra', 'unknown-field'],
    [{ districtCode: '09162', recipient: 'LGL' }, 'version', 'required'],
    [{ districtCode: 9162, recipient: 'LGL', version: current.version }, 'districtCode', 'invalid-type'],
  ] as const;
  for (const [body, field, code] of bad) {
    const r = await head.put(`/api/departments/${INF}/transmission-settings`, body);
    assert.equal(r.status, 422, JSON.stringify(body));
    assert.ok(
      r.body.errors.some((e: { field: string; code: string }) => e.field === field && e.code === code),
      `${JSON.stringify(body)} → ${JSON.stringify(r.body.errors)}`,
    );
  }
  const huge = await head.call('PUT', `/api/departments/${INF}/transmission-settings`, 'x'.repeat(2_000_000));
  assert.ok([400, 413].includes(huge.status), String(huge.status));
  const broken = await head.call('PUT', `/api/departments/${INF}/transmission-settings`, '{"districtCode":');
  assert.equal(broken.status, 400);
  const stale = await head.put(`/api/departments/${INF}/transmission-settings`, {
    districtCode: '09163',
    recipient: 'LGL',
    version: current.version - 1,
  });
  assert.equal(stale.status, 409);
  assert.equal(stale.body.currentVersion, current.version);
  assert.deepEqual((await settingsOf(head)).body, current, 'nothing written');
});

test('parallel creates send each case once overall; the others are refused, nothing doubled', async () => {
  const made = [];
  for (let i = 0; i < 3; i++) made.push((await personWithCase(physician, INF)).caseId);
  const before = (await physician.get(`/api/departments/${INF}/transmissions`)).body.items.length;
  const answers = await Promise.all([create(physician), create(head), create(physician), create(head)]);
  const ok = answers.filter((r) => r.status === 201);
  assert.equal(ok.length, 1, JSON.stringify(answers.map((r) => [r.status, r.body?.errors])));
  for (const r of answers.filter((x) => x.status !== 201)) {
    assert.equal(r.status, 409);
    assert.equal(r.body.errors[0].code, 'nothing-to-transmit');
  }
  const list = (await physician.get(`/api/departments/${INF}/transmissions`)).body.items;
  assert.equal(list.length, before + 1);
  // Across every transmission of the department, each case arrives as new exactly once.
  const seen = new Map<string, number>();
  for (const item of list) {
    const file = assertClean(await download(physician, item.id));
    for (const c of file.cases) if (c.change === 'new') seen.set(c.caseId, (seen.get(c.caseId) ?? 0) + 1);
  }
  for (const id of made) assert.equal(seen.get(id), 1, id);
  assert.equal(seen.get(caseA.caseId), 1);
  assert.equal(seen.get(caseB.caseId), 2, 'B: new, withdrawn, new again');
  const sequences = list.map((i: { sequence: number }) => i.sequence);
  assert.deepEqual(
    sequences,
    [...sequences].sort((x: number, y: number) => y - x),
  );
  assert.equal(new Set(sequences).size, sequences.length);
});

test('nothing identifying lies readable in the database files (recipient sealed, files sealed)', {
  skip: DIALECT === 'postgres' && 'the PostgreSQL files are the server’s',
}, async () => {
  await inTenantTransaction(h.services.store, t.tenantId, async (tx) => {
    const rows = await tx.selectFrom('transmissions').select('payload_enc').execute();
    for (const r of rows) assert.ok(!Buffer.from(r.payload_enc).toString('latin1').includes('kartei-ifsg-11'));
  });
  const dir = h.config.dataDir;
  // A bare run of digits (a postal code) is left to the payload's scan: the database file holds megabytes of
  // hex digests and ids, in which any given five digits turn up by chance (about one in a million positions).
  const needles = [...secrets, 'Lebensmittelsicherheit', 'kartei-ifsg-11', 'SARS-CoV-2'].filter(
    (s) => !/^\d+$/.test(s),
  );
  for (const f of fs.readdirSync(dir).filter((n) => n.startsWith('kartei.sqlite'))) {
    const hay = fs.readFileSync(path.join(dir, f)).toString('latin1').toLowerCase();
    for (const s of needles) {
      for (const form of [s, Buffer.from(s, 'utf8').toString('latin1')])
        assert.ok(!hay.includes(form.toLowerCase()), `${s} readable in ${f}`);
    }
  }
});
