// Two files of one department found to be one person, merged (issue 16): every record with every
// version moves, re-sealed under the survivor's key (content and sensitivity unchanged), with its
// case facts and studies; the absorbed file leaves search and answers "merged into"; undo restores
// both files as they were; a second physician or head confirms. Attacks: another department,
// a clerk confirming, one's own merge, a token, stale versions, parallel and crossing merges, a
// record that does not open (nothing half-moved), bad input; the database file holds no name.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Principal } from '../../src/access/policy.ts';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { PersonMerges } from '../../src/records/person-merge.ts';
import { contentBinding, deleteReasonBinding } from '../../src/records/records.ts';
import { openField } from '../../src/vault/keyring.ts';
import { makeInstance } from '../helpers/dicom-files.ts';
import { startHarness, setUpTenant, DIALECT, type Client, type Harness, type Tenant } from '../helpers/harness.ts';

let h: Harness;
let t: Tenant;
let INF: string;
let TB: string;
type User = Client & { id: string };
let clerk: User;
let clerk2: User;
let physician: User;
let physician2: User;
let head: User;
let tbPhysician: User;
let both: User;

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h, ['INF', 'TB']);
  INF = t.departments.INF!;
  TB = t.departments.TB!;
  clerk = await t.user({ memberships: [{ departmentId: INF, role: 'clerk' }] });
  clerk2 = await t.user({ memberships: [{ departmentId: INF, role: 'clerk' }] });
  physician = await t.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  physician2 = await t.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  head = await t.user({ memberships: [{ departmentId: INF, role: 'head' }] });
  tbPhysician = await t.user({ memberships: [{ departmentId: TB, role: 'physician' }] });
  both = await t.user({
    memberships: [
      { departmentId: INF, role: 'physician' },
      { departmentId: TB, role: 'physician' },
    ],
  });
});
after(() => h.close());

let seq = 0;
/** A file of `departmentId` (INF by default); its family name is unique per call unless given. */
async function file(
  familyName = `Zusammenfeld${String.fromCharCode(97 + (seq++ % 26))}${String.fromCharCode(97 + Math.floor(seq / 26))}`,
  extra: Record<string, unknown> = {},
  departmentId = INF,
): Promise<string> {
  const by = departmentId === INF ? physician : tbPhysician;
  const r = await by.post('/api/persons', {
    departmentId,
    familyName,
    givenName: 'Hannelore',
    birthDate: '1961-04-17',
    address: { street: 'Lindenallee 12', postalCode: '12345', city: 'Musterstadt' },
    ...extra,
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id;
}

async function record(personId: string, type: string, content: unknown, sensitivity = 'normal', by = physician) {
  const r = await by.post(`/api/persons/${personId}/records`, { type, sensitivity, content });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id as string;
}

const caseContent = {
  disease: { system: 'https://demis.rki.de/fhir/CodeSystem/notificationCategory', code: 'cvdp', display: 'SARS-CoV-2' },
  status: 'suspected',
  notifiedOn: '2026-12-04',
};

const db = <T>(work: Parameters<typeof inTenantTransaction<T>>[2]) =>
  inTenantTransaction(h.services.store, t.tenantId, work);

/**
 * Everything a file holds, opened with ITS OWN person key straight from the database: each record with
 * every version (content, sensitivity), a deletion's reason, its case row, its studies and whether the
 * blind index finds it. What a merge and its undo must keep.
 */
async function contents(personId: string) {
  return db(async (tx) => {
    const p = await tx.selectFrom('persons').selectAll().where('id', '=', personId).executeTakeFirstOrThrow();
    const key = await h.services.keyring.personKey(tx, t.tenantId, p.department_id, personId);
    const records = await tx
      .selectFrom('records')
      .selectAll()
      .where('person_id', '=', personId)
      .orderBy('id')
      .execute();
    const out = [];
    for (const r of records) {
      const versions = await tx
        .selectFrom('record_versions')
        .selectAll()
        .where('record_id', '=', r.id)
        .orderBy('version')
        .execute();
      out.push({
        id: r.id,
        type: r.type,
        sensitivity: r.sensitivity,
        version: r.version,
        deleted: r.deleted_at !== null,
        deleteReason: r.delete_reason_enc
          ? openField(key, deleteReasonBinding(t.tenantId, r.id), r.delete_reason_enc)
          : null,
        versions: versions.map((v) => ({
          version: v.version,
          sensitivity: v.sensitivity,
          content: openField(key, contentBinding(t.tenantId, r.id, v.version, v.sensitivity), v.content_enc),
        })),
      });
    }
    const cases = await tx
      .selectFrom('ifsg_cases')
      .select('record_id')
      .where('person_id', '=', personId)
      .orderBy('record_id')
      .execute();
    const studies = await tx
      .selectFrom('studies')
      .select('id')
      .where('person_id', '=', personId)
      .orderBy('id')
      .execute();
    const indexed = await tx.selectFrom('person_index').select('digest').where('person_id', '=', personId).execute();
    return {
      records: out,
      cases: cases.map((c) => c.record_id),
      studies: studies.map((s) => s.id),
      indexed: indexed.length,
      mergedInto: p.merged_into,
      mergeId: p.merge_id,
    };
  });
}

const found = async (q: string, by: Client = clerk) =>
  ((await by.get(`/api/persons?q=${encodeURIComponent(q)}`)).body as { id: string }[]).map((p) => p.id).sort();

async function events(action: string, personId: string, outcome?: string) {
  return db((tx) =>
    tx
      .selectFrom('audit_events')
      .selectAll()
      .where('action', '=', action)
      .where('person_id', '=', personId)
      .$if(outcome !== undefined, (q) => q.where('outcome', '=', outcome!))
      .orderBy('seq')
      .execute(),
  );
}

/** Stores one study through STOW-RS into INF with this DICOM Patient ID (it links to the file carrying it). */
async function stow(patientId: string, familyName: string) {
  const inst = makeInstance({ rows: 8, columns: 8, modality: 'CR', patientId, patientName: `${familyName}^Hannelore` });
  const boundary = 'kartei-merge-boundary';
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`),
    inst.file,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const r = await physician.call('POST', `/dicom-web/studies?department=${INF}`, body, {
    'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

const merge = (by: Client, survivor: string, absorbed: string, versions = { survivorVersion: 1, absorbedVersion: 1 }) =>
  by.post(`/api/persons/${survivor}/merge`, { absorbedId: absorbed, ...versions });

test('a merge moves every record with every version, the cases and studies; undo puts all of it back', async () => {
  const name = 'Quastenwirbel';
  const survivor = await file(name);
  const absorbed = await file(name, { dicomPatientId: 'MERGE-PID-1' });
  await record(survivor, 'note', { text: 'Erstkontakt im Amt' });
  const note = await record(absorbed, 'note', { text: 'Hustenreiz seit Montag' });
  const upd = await physician.put(`/api/records/${note}`, {
    content: { text: 'Hustenreiz seit Dienstag' },
    version: 1,
  });
  assert.equal(upd.status, 200, JSON.stringify(upd.body));
  await record(
    absorbed,
    'examination',
    { date: '2026-12-01', reason: 'Verlaufskontrolle', findings: 'Befund vertraulich' },
    'restricted',
  );
  const caseId = await record(absorbed, 'ifsg-case', caseContent);
  const gone = await record(absorbed, 'note', { text: 'doppelt angelegt' });
  assert.equal(
    (await physician.del(`/api/records/${gone}`, { reason: 'Doppelt angelegt, gilt nicht mehr' })).status,
    204,
  );
  await stow('MERGE-PID-1', name);
  const beforeS = await contents(survivor);
  const beforeA = await contents(absorbed);
  assert.equal(beforeA.records.length, 4);
  assert.equal(beforeA.studies.length, 1, 'the study linked to the absorbed file by its Patient ID');
  assert.deepEqual(beforeA.cases, [caseId]);
  assert.deepEqual(await found(name), [survivor, absorbed].sort());

  // A clerk of the department merges (the daily work); it waits for a physician's or head's confirmation.
  const m = await merge(clerk, survivor, absorbed);
  assert.equal(m.status, 201, JSON.stringify(m.body));
  assert.equal(m.body.state, 'pending');
  assert.equal(m.body.records, 4);
  assert.equal(m.body.studies, 1);
  assert.equal(m.body.survivorId, survivor);
  assert.equal(m.body.absorbedId, absorbed);

  const afterS = await contents(survivor);
  const afterA = await contents(absorbed);
  // Every record, deleted ones too, with every version: readable under the survivor's key, the same content and sensitivity.
  assert.deepEqual(
    afterS.records,
    [...beforeS.records, ...beforeA.records].sort((a, b) => (a.id < b.id ? -1 : 1)),
  );
  assert.equal(
    afterS.records.reduce((n, r) => n + r.versions.length, 0),
    beforeS.records.reduce((n, r) => n + r.versions.length, 0) +
      beforeA.records.reduce((n, r) => n + r.versions.length, 0),
  );
  assert.equal(afterS.records.find((r) => r.type === 'examination')!.sensitivity, 'restricted');
  assert.deepEqual(afterS.cases, [caseId]);
  assert.deepEqual(afterS.studies, beforeA.studies);
  assert.deepEqual(afterA.records, []);
  assert.deepEqual(afterA.studies, []);
  assert.equal(afterA.indexed, 0, 'out of the blind index');
  assert.equal(afterA.mergedInto, survivor);
  // The absorbed file's own data versions stay.
  const versionsKept = await db((tx) =>
    tx.selectFrom('person_versions').select('version').where('person_id', '=', absorbed).execute(),
  );
  assert.equal(versionsKept.length, 1);

  // The absorbed file: not found, and read it answers where it went; it takes nothing new.
  assert.deepEqual(await found(name), [survivor]);
  const read = await clerk.get(`/api/persons/${absorbed}`);
  assert.equal(read.status, 410);
  assert.equal(read.body.code, 'person-merged');
  assert.equal(read.body.mergedInto, survivor);
  assert.equal(read.body.mergeId, m.body.id);
  assert.equal(
    (
      await physician.post(`/api/persons/${absorbed}/records`, {
        type: 'note',
        sensitivity: 'normal',
        content: { text: 'x' },
      })
    ).status,
    410,
  );
  assert.equal((await physician.patch(`/api/persons/${absorbed}`, { givenName: 'Anna', version: 1 })).status, 410);
  // The survivor's page lists the moved records and the study; a moved record opens as the survivor's.
  const listed = await clerk.get(`/api/persons/${survivor}/records`);
  assert.equal(listed.body.length, 4, 'three moved live records and the survivor’s own');
  const opened = await clerk.get(`/api/records/${note}`);
  assert.equal(opened.status, 200);
  assert.equal(opened.body.personId, survivor);
  assert.deepEqual(opened.body.content, { text: 'Hustenreiz seit Dienstag' });
  assert.equal((await clerk.get(`/api/persons/${survivor}/studies`)).body.length, 1);
  // Both files' access logs show the merge.
  for (const id of [survivor, absorbed]) {
    const [e, ...more] = await events('person.merge', id);
    assert.equal(more.length, 0);
    assert.equal(e!.outcome, 'allowed');
    assert.equal(e!.actor_id, clerk.id);
    const log = await head.get(`/api/persons/${id}/access-log`);
    assert.ok(
      (log.body as { action: string }[]).some((x) => x.action === 'person.merge'),
      `the access log of ${id} shows the merge`,
    );
  }
  // Both files show the merge, with what the caller may do.
  const listAsClerk = await clerk.get(`/api/persons/${survivor}/merges`);
  assert.equal(listAsClerk.status, 200, JSON.stringify(listAsClerk.body));
  assert.deepEqual(
    {
      confirm: listAsClerk.body.merges[0].confirm,
      undo: listAsClerk.body.merges[0].undo,
      mayMerge: listAsClerk.body.mayMerge,
    },
    { confirm: false, undo: true, mayMerge: true },
  );
  assert.deepEqual(listAsClerk.body.counts, { records: 4, studies: 1 });
  const listAsHead = await head.get(`/api/persons/${absorbed}/merges`);
  assert.equal(listAsHead.body.merges[0].confirm, true);
  // Another clerk may neither confirm nor undo it.
  assert.equal((await clerk2.post(`/api/person-merges/${m.body.id}/confirm`, { version: 1 })).status, 403);
  assert.equal((await clerk2.post(`/api/person-merges/${m.body.id}/undo`, { version: 1 })).status, 403);

  // Undo by whoever merged: everything back, re-sealed under the absorbed key, and found again.
  const u = await clerk.post(`/api/person-merges/${m.body.id}/undo`, { version: 1 });
  assert.equal(u.status, 200, JSON.stringify(u.body));
  assert.equal(u.body.state, 'undone');
  assert.deepEqual(await contents(survivor), beforeS);
  assert.deepEqual(await contents(absorbed), beforeA);
  assert.deepEqual(await found(name), [survivor, absorbed].sort());
  assert.equal((await clerk.get(`/api/persons/${absorbed}`)).status, 200);
  assert.equal((await events('person.merge-undo', absorbed, 'allowed')).length, 1);
  assert.equal((await events('person.merge-undo', survivor, 'allowed')).length, 1);
  // The other clerk's refused undo is on both files' record too.
  assert.equal((await events('person.merge-undo', absorbed, 'error')).length, 1);
  // Undone is final: neither confirmed nor undone again.
  const again = await head.post(`/api/person-merges/${m.body.id}/confirm`, { version: 2 });
  assert.equal(again.status, 409);
  assert.deepEqual(again.body.errors, [{ field: 'id', code: 'already-decided' }]);
  // And the two files may be merged again.
  assert.equal((await merge(physician, absorbed, survivor)).status, 201);
});

test('a second physician or head confirms, never the one who merged; confirmed is final', async () => {
  const survivor = await file('Grabenhorst');
  const absorbed = await file('Grabenhorst');
  await record(absorbed, 'note', { text: 'Notiz' });
  const m = await merge(physician, survivor, absorbed);
  assert.equal(m.status, 201);
  const own = await physician.post(`/api/person-merges/${m.body.id}/confirm`, { version: 1 });
  assert.equal(own.status, 403);
  assert.deepEqual(own.body.errors, [{ field: 'id', code: 'merge-own' }]);
  assert.equal((await clerk.post(`/api/person-merges/${m.body.id}/confirm`, { version: 1 })).status, 403, 'a clerk');
  assert.equal((await tbPhysician.post(`/api/person-merges/${m.body.id}/confirm`, { version: 1 })).status, 404);
  const stale = await physician2.post(`/api/person-merges/${m.body.id}/confirm`, { version: 7 });
  assert.equal(stale.status, 409);
  assert.equal(stale.body.currentVersion, 1);
  const ok = await physician2.post(`/api/person-merges/${m.body.id}/confirm`, { version: 1 });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.state, 'confirmed');
  assert.equal(ok.body.decidedBy, physician2.id);
  for (const id of [survivor, absorbed]) assert.equal((await events('person.merge-confirm', id, 'allowed')).length, 1);
  assert.equal((await head.post(`/api/person-merges/${m.body.id}/undo`, { version: 2 })).status, 409);
  // The absorbed file stays a tombstone: not found, "merged into", its key and data kept.
  assert.equal((await clerk.get(`/api/persons/${absorbed}`)).status, 410);
  const kept = await db((tx) =>
    tx.selectFrom('data_keys').select('destroyed_at').where('owner_id', '=', absorbed).executeTakeFirstOrThrow(),
  );
  assert.equal(kept.destroyed_at, null);
  // The survivor may take part in another merge now; the absorbed file never again.
  const third = await file();
  assert.equal((await merge(physician, survivor, third)).status, 201);
  const other = await file();
  const twice = await merge(physician, other, absorbed);
  assert.equal(twice.status, 409);
  assert.deepEqual(twice.body.errors, [{ field: 'absorbedId', code: 'already-merged' }]);
  // The DPO's search for an access report finds the files merged into the one found (confirmed or pending) beside it.
  const dpo = await t.user({ tenantRoles: ['dpo'] });
  const disclosure = await dpo.post('/api/access-reports/person-search', {
    familyName: 'Grabenhorst',
    birthDate: '1961-04-17',
  });
  assert.equal(disclosure.status, 200, JSON.stringify(disclosure.body));
  assert.deepEqual((disclosure.body as { id: string }[]).map((x) => x.id).sort(), [survivor, absorbed, third].sort());
});

test('a file in a pending merge takes part in no other; stale versions and bad input are refused, nothing moves', async () => {
  const a = await file();
  const b = await file();
  const c = await file();
  await record(b, 'note', { text: 'Notiz' });
  const self = await merge(physician, a, a);
  assert.equal(self.status, 422);
  assert.deepEqual(self.body.errors, [{ field: 'absorbedId', code: 'merge-self' }]);
  const stale = await merge(physician, a, b, { survivorVersion: 1, absorbedVersion: 3 });
  assert.equal(stale.status, 409);
  assert.equal(stale.body.code, 'stale-version');
  assert.equal(stale.body.field, 'absorbedVersion');
  assert.equal(stale.body.currentVersion, 1);
  for (const body of [
    { absorbedId: 'not-an-id', survivorVersion: 1, absorbedVersion: 1 },
    { absorbedId: b, survivorVersion: 1 },
    { absorbedId: b, survivorVersion: 1, absorbedVersion: 1, extra: true },
    { absorbedId: b, survivorVersion: 'x'.repeat(300_000), absorbedVersion: 1 },
  ]) {
    const r = await physician.post(`/api/persons/${a}/merge`, body);
    assert.ok([404, 413, 422].includes(r.status), `${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
  }
  assert.equal((await contents(b)).records.length, 1, 'nothing moved');
  const m = await merge(physician, a, b);
  assert.equal(m.status, 201);
  const busy = await merge(physician, c, a);
  assert.equal(busy.status, 409);
  assert.deepEqual(busy.body.errors, [{ field: 'absorbedId', code: 'merge-pending' }]);
  const busy2 = await merge(physician, a, c);
  assert.equal(busy2.status, 409);
  assert.deepEqual(busy2.body.errors, [{ field: 'id', code: 'merge-pending' }]);
  assert.equal((await physician.post(`/api/person-merges/${m.body.id}/undo`, { version: 1 })).status, 200);
});

test('another department: its files are not there (404), two departments are never merged (422); tokens may not merge', async () => {
  const mine = await file();
  const theirs = await file(undefined, {}, TB);
  const r = await merge(tbPhysician, mine, theirs);
  assert.equal(r.status, 404);
  const r2 = await merge(physician, mine, theirs);
  assert.equal(r2.status, 404, 'the other file is hidden from a physician of INF alone');
  const denied = await events('person.merge', theirs);
  assert.equal(denied.at(-1)!.outcome, 'denied', 'the refused second file is on the record');
  const across = await merge(both, mine, theirs);
  assert.equal(across.status, 422);
  assert.deepEqual(across.body.errors, [{ field: 'absorbedId', code: 'merge-other-department' }]);
  assert.equal((await contents(mine)).mergeId, null);
  assert.equal((await contents(theirs)).mergeId, null);
  const token = await physician.post('/api/auth/tokens', { name: 'skript', scopes: ['records:read', 'records:write'] });
  assert.equal(token.status, 201, JSON.stringify(token.body));
  const other = await file();
  const viaToken = await physician.call(
    'POST',
    `/api/persons/${mine}/merge`,
    { absorbedId: other, survivorVersion: 1, absorbedVersion: 1 },
    { authorization: `Bearer ${token.body.token}` },
  );
  assert.equal(viaToken.status, 403);
  assert.equal(viaToken.body.code, 'token-scope');
});

test('parallel merges of one pair, and crossing merges: one wins, the other 409s, nothing half-moved', async () => {
  for (const crossing of [false, true]) {
    const a = await file();
    const b = await file();
    await record(a, 'note', { text: 'Notiz A' });
    await record(b, 'note', { text: 'Notiz B' });
    await record(b, 'note', { text: 'Notiz B2' });
    const results = await Promise.all([
      merge(physician, a, b),
      crossing ? merge(physician2, b, a) : merge(physician2, a, b),
    ]);
    assert.deepEqual(results.map((r) => r.status).sort(), [201, 409], JSON.stringify(results.map((r) => r.body)));
    const [ca, cb] = [await contents(a), await contents(b)];
    const winner = results.find((r) => r.status === 201)!.body;
    const [kept, gone] = winner.survivorId === a ? [ca, cb] : [cb, ca];
    assert.equal(kept.records.length, 3);
    assert.equal(gone.records.length, 0);
    const merges = await db((tx) =>
      tx.selectFrom('person_merges').select('id').where('survivor_id', 'in', [a, b]).execute(),
    );
    assert.equal(merges.length, 1);
  }
});

test('a record that does not open stops the merge: both files stay exactly as they were', async () => {
  const a = await file();
  const b = await file();
  for (let i = 0; i < 3; i++) await record(b, 'note', { text: `Notiz ${i}` });
  const bad = await record(b, 'note', { text: 'wird beschädigt' });
  await db(async (tx) => {
    const v = await tx
      .selectFrom('record_versions')
      .select('content_enc')
      .where('record_id', '=', bad)
      .executeTakeFirstOrThrow();
    const broken = Buffer.from(v.content_enc);
    broken[broken.length - 1]! ^= 0xff;
    await tx.updateTable('record_versions').set({ content_enc: broken }).where('record_id', '=', bad).execute();
  });
  const open = async () => {
    const all = await db((tx) =>
      tx.selectFrom('records').select(['id', 'person_id']).where('person_id', 'in', [a, b]).execute(),
    );
    return all.sort((x, y) => (x.id < y.id ? -1 : 1));
  };
  const before = await open();
  const r = await merge(physician, a, b);
  assert.equal(r.status, 409, JSON.stringify(r.body));
  assert.deepEqual(r.body.errors, [{ field: 'absorbedId', code: 'merge-unreadable' }]);
  assert.deepEqual(await open(), before);
  const rows = await db((tx) =>
    tx.selectFrom('persons').select(['merge_id', 'merged_into']).where('id', 'in', [a, b]).execute(),
  );
  assert.deepEqual(rows, [
    { merge_id: null, merged_into: null },
    { merge_id: null, merged_into: null },
  ]);
  // The records that do open still open under b's own key: none was left re-sealed for a.
  await db(async (tx) => {
    const key = await h.services.keyring.personKey(tx, t.tenantId, INF, b);
    const versions = await tx
      .selectFrom('record_versions')
      .innerJoin('records', 'records.id', 'record_versions.record_id')
      .select(['record_versions.record_id', 'record_versions.version', 'record_versions.sensitivity', 'content_enc'])
      .where('records.person_id', '=', b)
      .where('records.id', '!=', bad)
      .execute();
    assert.equal(versions.length, 3);
    for (const v of versions)
      openField(key, contentBinding(t.tenantId, v.record_id, v.version, v.sensitivity), v.content_enc);
  });
  const indexed = await db((tx) => tx.selectFrom('person_index').select('digest').where('person_id', '=', b).execute());
  assert.ok(indexed.length > 0, 'still in the index');
  const failed = await events('person.merge', b);
  assert.equal(failed.at(-1)!.outcome, 'error', 'the failed attempt is on the absorbed file’s record too');
});

test('the database file holds no name, note or disease of a merged file', { skip: DIALECT !== 'sqlite' }, async () => {
  const secrets = [
    'Quastenwirbel',
    'Grabenhorst',
    'Zusammenfeld',
    'Hustenreiz',
    'Lindenallee',
    'Befund vertraulich',
    'SARS-CoV-2',
  ];
  await db((tx) => tx.selectFrom('person_merges').select('id').execute());
  const dir = h.config.dataDir;
  for (const f of ['kartei.sqlite', 'kartei.sqlite-wal']) {
    const p = path.join(dir, f);
    if (!fs.existsSync(p)) continue;
    const bytes = fs.readFileSync(p);
    for (const s of secrets) {
      assert.equal(bytes.includes(Buffer.from(s, 'utf8')), false, `${s} in ${f}`);
      assert.equal(bytes.includes(Buffer.from(s, 'utf16le')), false, `${s} (UTF-16) in ${f}`);
    }
  }
  // The merges table holds ids and states only.
  const merges = await db((tx) => tx.selectFrom('person_merges').selectAll().execute());
  assert.ok(merges.length > 0);
  for (const m of merges) {
    const moved = JSON.parse(m.moved) as { records: string[]; studies: string[]; others: Record<string, string[]> };
    assert.deepEqual(Object.keys(moved).sort(), ['others', 'records', 'studies']);
    // The registered participants (src/services.ts): contacts (and the contacts of one case a merge removed),
    // inbox notifications and (issue 17) documents and tasks, by their row ids.
    assert.deepEqual(Object.keys(moved.others).sort(), [
      'contactTwins',
      'contacts',
      'documents',
      'notifications',
      'tasks',
    ]);
    for (const id of [...moved.records, ...moved.studies, ...Object.values(moved.others).flat()])
      assert.match(id, /^[0-9a-f-]{36}$/);
  }
});

test('a confirm and an undo at once: one wins, the other 409s; a record changed while pending goes back with its new version', async () => {
  const a = await file();
  const b = await file();
  const note = await record(b, 'note', { text: 'vorher' });
  const m = await merge(clerk, a, b);
  assert.equal(m.status, 201);
  // Changed in the survivor while the merge waits: sealed for the survivor, and re-sealed back on undo.
  const changed = await physician.put(`/api/records/${note}`, { content: { text: 'nachher' }, version: 1 });
  assert.equal(changed.status, 200, JSON.stringify(changed.body));
  const [c, u] = await Promise.all([
    physician.post(`/api/person-merges/${m.body.id}/confirm`, { version: 1 }),
    head.post(`/api/person-merges/${m.body.id}/undo`, { version: 1 }),
  ]);
  assert.deepEqual([c.status, u.status].sort(), [200, 409], JSON.stringify([c.body, u.body]));
  const state = (
    await db((tx) =>
      tx.selectFrom('person_merges').select('state').where('id', '=', m.body.id).executeTakeFirstOrThrow(),
    )
  ).state;
  const [ca, cb] = [await contents(a), await contents(b)];
  if (state === 'undone') {
    assert.deepEqual(
      cb.records[0]!.versions.map((v) => v.content),
      [{ text: 'vorher' }, { text: 'nachher' }],
    );
    assert.equal(ca.records.length, 0);
  } else {
    assert.equal(state, 'confirmed');
    assert.equal(ca.records[0]!.versions.length, 2);
    assert.equal(cb.records.length, 0);
  }
});

test('where a department hides restricted records from clerks, the comparison does not count them for a clerk', async () => {
  const tbHead = await t.user({ memberships: [{ departmentId: TB, role: 'head' }] });
  const tbClerk = await t.user({ memberships: [{ departmentId: TB, role: 'clerk' }] });
  assert.equal((await tbHead.put(`/api/departments/${TB}/settings`, { restrictedListing: 'hidden' })).status, 200);
  const f = await file(undefined, {}, TB);
  await record(f, 'note', { text: 'offen' }, 'normal', tbPhysician);
  await record(f, 'note', { text: 'vertraulich' }, 'restricted', tbPhysician);
  assert.deepEqual((await tbClerk.get(`/api/persons/${f}/merges`)).body.counts, { records: 1, studies: 0 });
  assert.deepEqual((await tbPhysician.get(`/api/persons/${f}/merges`)).body.counts, { records: 2, studies: 0 });
});

test('where a department hides restricted records from clerks, the merge a clerk makes and lists does not count them either', async () => {
  const tbHead = await t.user({ memberships: [{ departmentId: TB, role: 'head' }] });
  const tbClerk = await t.user({ memberships: [{ departmentId: TB, role: 'clerk' }] });
  assert.equal((await tbHead.put(`/api/departments/${TB}/settings`, { restrictedListing: 'hidden' })).status, 200);
  const survivor = await file(undefined, {}, TB);
  const absorbed = await file(undefined, {}, TB);
  await record(absorbed, 'note', { text: 'offen' }, 'normal', tbPhysician);
  await record(absorbed, 'note', { text: 'vertraulich' }, 'restricted', tbPhysician);
  const version = async (id: string) => (await tbClerk.get(`/api/persons/${id}`)).body.version as number;
  const merged = await tbClerk.post(`/api/persons/${survivor}/merge`, {
    absorbedId: absorbed,
    survivorVersion: await version(survivor),
    absorbedVersion: await version(absorbed),
  });
  assert.equal(merged.status, 201, JSON.stringify(merged.body));
  assert.equal(merged.body.records, 1, 'the merge told a clerk of a restricted record the department hides');
  const listed = (await tbClerk.get(`/api/persons/${survivor}/merges`)).body;
  assert.equal(listed.merges[0].records, 1);
  assert.deepEqual(listed.counts, { records: 1, studies: 0 });
  // A physician, who reads them, is told of both.
  assert.equal((await tbPhysician.get(`/api/persons/${survivor}/merges`)).body.merges[0].records, 2);
});

test("another part's rows keyed by person (a registered participant) move in the merge and exactly those back on undo", async () => {
  const a = await file();
  const b = await file();
  const calls: string[] = [];
  const merges = new PersonMerges(h.services.keyring, h.services.persons, {
    contacts: {
      async move(ctx, from, to) {
        assert.ok(ctx.tx, 'inside the merge’s transaction');
        calls.push(`move ${from}→${to}`);
        return ['c-1', 'c-2'];
      },
      async moveBack(_ctx, ids, from, to) {
        calls.push(`back ${ids.join(',')} ${from}→${to}`);
      },
    },
  });
  const principal: Principal = {
    userId: physician.id,
    tenantId: t.tenantId,
    tenantRoles: [],
    memberships: [{ departmentId: INF, role: 'physician' }],
  };
  const m = await h.services.gate.run(principal, 'person.merge', { kind: 'person', personId: a }, (ctx) =>
    merges.merge(ctx, { absorbedId: b, survivorVersion: 1, absorbedVersion: 1 }),
  );
  await h.services.gate.run(principal, 'person.merge-undo', { kind: 'person-merge', mergeId: m.id }, (ctx) =>
    merges.undo(ctx, m.id, 1),
  );
  assert.deepEqual(calls, [`move ${b}→${a}`, `back c-1,c-2 ${a}→${b}`]);
});
