// Issue 14's new surfaces attacked from outside: the DPO's search and merged
// report used by others, by tokens, with other offices' ids, oversized and
// duplicated lists, files of different persons merged into one letter; the
// head's report of a file not the head's; forged cursors and bad limits;
// restricted titles and changed field names; the file's hints to share and
// emergency readers; linking studies across departments and offices, racing
// link and unlink; whether each access is on the record; whether a refusal's
// field codes echo what was sent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { startHarness, setUpTenant, samplePerson, Client, type Harness, type Tenant } from '../helpers/harness.ts';
import { makeInstance, type TestInstance } from '../helpers/dicom-files.ts';

let h: Harness;
let t: Tenant;
type Named = Client & { id: string; displayName: string };
let dpo: Named,
  infHead: Named,
  infClerk: Named,
  infPhysician: Named,
  infPhysician2: Named,
  tbHead: Named,
  tbClerk: Named,
  tbPhysician: Named;
let INF: string, TB: string;
/** One person's files in two departments, and another person's file. */
let P1: string, P2: string, OTHER: string;
/** Office B on the same installation: a department, a file with a record, a study. */
const B = {
  tenant: randomUUID(),
  department: randomUUID(),
  person: randomUUID(),
  record: randomUUID(),
  studyUid: `1.2.826.0.1.3680043.9.${Date.now()}.77`,
};

const ok = (r: { status: number; body: unknown }, status = 200) => {
  assert.equal(r.status, status, JSON.stringify(r.body));
  return r.body as any;
};

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h, ['INF', 'TB']);
  INF = t.departments.INF!;
  TB = t.departments.TB!;
  dpo = await t.user({ tenantRoles: ['dpo'] });
  infHead = await t.user({ memberships: [{ departmentId: INF, role: 'head' }] });
  infClerk = await t.user({ memberships: [{ departmentId: INF, role: 'clerk' }] });
  infPhysician = await t.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  infPhysician2 = await t.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  tbHead = await t.user({ memberships: [{ departmentId: TB, role: 'head' }] });
  tbClerk = await t.user({ memberships: [{ departmentId: TB, role: 'clerk' }] });
  tbPhysician = await t.user({ memberships: [{ departmentId: TB, role: 'physician' }] });
  P1 = ok(await infClerk.post('/api/persons', samplePerson(INF, 'Angriffsziel')), 201).id;
  P2 = ok(await tbClerk.post('/api/persons', samplePerson(TB, 'Angriffsziel')), 201).id;
  OTHER = ok(
    await tbClerk.post('/api/persons', {
      ...samplePerson(TB, 'Fremdperson'),
      givenName: 'Otto',
      birthDate: '1950-01-01',
    }),
    201,
  ).id;

  const now = new Date().toISOString();
  await inTenantTransaction(h.services.store, B.tenant, async (tx) => {
    await tx.insertInto('tenants').values({ id: B.tenant, name: 'Nachbaramt', created_at: now }).execute();
    await h.services.keyring.createTenantKey(tx, B.tenant);
    await h.services.audit.startChain(tx, B.tenant);
    await tx
      .insertInto('departments')
      .values({ id: B.department, tenant_id: B.tenant, code: 'INF', name: 'Nachbar INF', created_at: now })
      .execute();
    await tx
      .insertInto('persons')
      .values({
        id: B.person,
        tenant_id: B.tenant,
        department_id: B.department,
        version: 1,
        created_at: now,
        created_by: 'x',
        updated_at: now,
      })
      .execute();
    await tx
      .insertInto('person_versions')
      .values({
        person_id: B.person,
        version: 1,
        tenant_id: B.tenant,
        data_enc: randomBytes(64),
        created_at: now,
        created_by: 'x',
      })
      .execute();
    await tx
      .insertInto('records')
      .values({
        id: B.record,
        tenant_id: B.tenant,
        person_id: B.person,
        type: 'note',
        sensitivity: 'normal',
        version: 1,
        created_at: now,
        created_by: 'x',
        updated_at: now,
        deleted_at: null,
        deleted_by: null,
        delete_reason_enc: null,
        retain_until: null,
      })
      .execute();
    await tx
      .insertInto('record_versions')
      .values({
        record_id: B.record,
        version: 1,
        tenant_id: B.tenant,
        sensitivity: 'normal',
        content_enc: randomBytes(64),
        created_at: now,
        created_by: 'x',
      })
      .execute();
    await tx
      .insertInto('studies')
      .values({
        id: randomUUID(),
        tenant_id: B.tenant,
        department_id: B.department,
        study_uid: B.studyUid,
        person_id: null,
        patient_enc: randomBytes(64),
        study_enc: randomBytes(64),
        study_date: null,
        study_time: null,
        modalities: 'CR',
        created_at: now,
        updated_at: now,
      })
      .execute();
  });
});
after(() => h.close());

async function events(action: string, actor?: string) {
  const rows = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .selectFrom('audit_events')
      .selectAll()
      .where('tenant_id', '=', t.tenantId)
      .where('action', '=', action)
      .orderBy('seq')
      .execute(),
  );
  return actor ? rows.filter((e) => e.actor_id === actor) : rows;
}

/** Stores an instance through STOW-RS into a department, as a physician of it. */
async function stow(who: Client, departmentId: string, inst: TestInstance) {
  const boundary = 'kartei-attack-boundary';
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`),
    inst.file,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const r = await who.call('POST', `/dicom-web/studies?department=${departmentId}`, body, {
    'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

const study = (patientName: string, birthDate = '19800101') =>
  makeInstance({ rows: 8, columns: 8, modality: 'CR', patientName, birthDate });

test('anonymous callers get 401 from every new route; a POST without the CSRF header is refused', async () => {
  const anon = new Client(h);
  for (const url of [
    `/api/access-reports?persons=${P1}`,
    `/api/access-reports/letter.pdf?persons=${P1}`,
    `/api/persons/${P1}/access-report`,
    `/api/persons/${P1}/access-report.pdf`,
    `/api/departments/${INF}/unassigned-studies`,
    `/api/studies/1.2.3`,
    `/api/persons/${P1}/records?limit=1`,
    `/api/reviews?state=decided`,
  ]) {
    assert.equal((await anon.get(url)).status, 401, url);
  }
  assert.equal(
    (await anon.post('/api/access-reports/person-search', { familyName: 'Angriffsziel', birthDate: '1961-04-17' }))
      .status,
    401,
  );
  const noCsrf = Object.assign(new Client(h), { cookie: dpo.cookie });
  assert.equal(
    (await noCsrf.post('/api/access-reports/person-search', { familyName: 'Angriffsziel', birthDate: '1961-04-17' }))
      .status,
    403,
    'a cross-site POST with the DPO cookie alone',
  );
});

test("the DPO's report takes no other office's file, no 10,000 ids, no 1 MB list; duplicates count once", async () => {
  assert.equal((await dpo.get(`/api/access-reports?persons=${B.person}`)).status, 404, "office B's file");
  assert.equal(
    (await dpo.get(`/api/access-reports/letter.pdf?persons=${P1},${B.person}`)).status,
    404,
    "office B's file beside one of ours",
  );
  assert.equal((await dpo.get(`/api/persons/${B.person}/access-report`)).status, 404);
  const many = Array.from({ length: 10_000 }, () => randomUUID()).join(',');
  const r = await dpo.get(`/api/access-reports?persons=${many}`);
  assert.equal(r.status, 422);
  assert.equal(r.body.errors[0].field, 'querystring.persons');
  assert.equal((await dpo.get(`/api/access-reports?persons=${'a'.repeat(1_000_000)}`)).status, 422);
  assert.equal(
    (await dpo.get(`/api/access-reports?persons=${Array(21).fill(P1).join(',')}`)).status,
    200,
    'the same file 21 times is one file',
  );
  assert.equal((await dpo.get(`/api/access-reports?persons=,,,`)).status, 422);
  assert.equal((await dpo.get(`/api/access-reports?persons=${P1}&persons=${P2}`)).status, 422, 'the parameter twice');
  assert.equal((await dpo.get(`/api/access-reports/letter.pdf?persons=${P1}&lang=fr`)).status, 422);
  assert.equal((await dpo.get(`/api/access-reports/letter.pdf?persons=${P1}&lang=de&lang=en`)).status, 422);
  assert.equal(
    (await infHead.get(`/api/persons/${P1}/access-report.pdf?lang=de&persons=${P2}`)).status,
    422,
    'the head cannot smuggle in other files',
  );
});

test("one letter never merges two persons' files: files with different birth dates are refused, naming the field", async () => {
  const r = await dpo.get(`/api/access-reports?persons=${P1},${OTHER}`);
  assert.equal(r.status, 422, JSON.stringify(r.body));
  assert.deepEqual(r.body.errors, [{ field: 'querystring.persons', code: 'different-persons' }]);
  assert.equal((await dpo.get(`/api/access-reports/letter.pdf?persons=${OTHER},${P1}`)).status, 422);
  ok(await dpo.get(`/api/access-reports?persons=${P1},${P2}`), 200);
  const refused = (await events('audit.access-report', dpo.id)).filter((e) => e.outcome === 'error');
  assert.ok(refused.length >= 2, 'the refused attempts are on the record');
});

test("the head's report: of the own department's file only; a share gives none", async () => {
  const until = new Date(Date.now() + 86_400_000).toISOString();
  ok(
    await infHead.post(`/api/persons/${P1}/shares`, {
      departmentId: TB,
      purpose: 'Umgebungsuntersuchung Schule Nord',
      until,
    }),
    201,
  );
  assert.equal(
    (await tbHead.get(`/api/persons/${P1}/access-report`)).status,
    403,
    'shared with TB: its head reads, but gets no report',
  );
  assert.equal((await tbHead.get(`/api/persons/${P1}/access-report.pdf`)).status, 403);
  assert.equal(
    (await infHead.get(`/api/persons/${P2}/access-report`)).status,
    404,
    "TB's file is hidden from INF's head",
  );
  for (const who of [infClerk, infPhysician])
    assert.equal((await who.get(`/api/persons/${P1}/access-report`)).status, 403);
  const denied = (await events('person.access-report', tbHead.id)).filter(
    (e) => e.outcome === 'denied' && e.person_id === P1,
  );
  assert.equal(denied.length, 2, 'both refusals on the record, on the file');
});

test('an id from the audit log never turns into a name through a token: access reports are read in a session', async () => {
  const bearer = async (who: Client) => {
    const token = ok(
      await who.post('/api/auth/tokens', {
        name: 'Prüfskript',
        scopes: ['audit:read', 'records:read'],
        expiresInDays: 1,
      }),
      201,
    ).token as string;
    return (url: string) => new Client(h).call('GET', url, undefined, { authorization: `Bearer ${token}` });
  };
  const asDpo = await bearer(dpo);
  const log = ok(await asDpo('/api/audit?limit=1000'));
  assert.ok(
    log.some((e: { personId: string | null }) => e.personId === OTHER),
    'the token reads ids in the audit log, as before',
  );
  for (const url of [
    `/api/access-reports?persons=${OTHER}`,
    `/api/access-reports/letter.pdf?persons=${OTHER}`,
    `/api/persons/${OTHER}/access-report`,
    `/api/persons/${OTHER}/access-report.pdf`,
  ]) {
    const r = await asDpo(url);
    assert.equal(r.status, 403, `${url}: ${r.raw.toString().slice(0, 300)}`);
    assert.equal(r.body.code, 'token-scope');
    assert.ok(!r.raw.toString().includes('Fremdperson'));
  }
  const asHead = await bearer(infHead);
  assert.equal((await asHead(`/api/persons/${P1}/access-report`)).status, 403, "the head's token neither");
  assert.equal(
    (await asHead(`/api/persons/${P1}/access-log`)).status,
    200,
    'the log of ids stays readable with audit:read',
  );
  const refused = (await events('audit.access-report', dpo.id)).filter(
    (e) => e.outcome === 'denied' && JSON.parse(e.detail!).missingScope === 'session',
  );
  assert.equal(refused.length, 2, 'refusals on the record');
  // In a session, as before.
  assert.equal(ok(await dpo.get(`/api/access-reports?persons=${OTHER}`)).persons[0].familyName, 'Fremdperson');
  assert.equal(ok(await infHead.get(`/api/persons/${P1}/access-report`)).persons[0].familyName, 'Angriffsziel');
});

test('forged, tampered and huge cursors and limits: 422 naming the field, or a page of this file only', async () => {
  const r1 = ok(
    await infClerk.post(`/api/persons/${P1}/records`, {
      type: 'note',
      sensitivity: 'normal',
      content: { text: 'Erster Eintrag' },
    }),
    201,
  ).id;
  ok(
    await infClerk.post(`/api/persons/${P1}/records`, {
      type: 'note',
      sensitivity: 'normal',
      content: { text: 'Zweiter Eintrag' },
    }),
    201,
  );
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
  for (const before of [
    'not*base64',
    b64('garbage'),
    b64(`2026-01-01T00:00:00Z|${r1}|extra`),
    b64(`2026-01-01T00:00:00Z|' OR 1=1 --`),
    b64(`99999-01-01T00:00:00Z|${r1}`),
    b64(`2026-01-01T00:00:00Z|${'a'.repeat(65)}`),
    'A'.repeat(201),
  ]) {
    const r = await infClerk.get(`/api/persons/${P1}/records?before=${encodeURIComponent(before)}`);
    assert.equal(r.status, 422, before);
    assert.equal(r.body.errors[0].field, 'querystring.before');
  }
  for (const limit of ['-1', '0', '201', '1e9', 'abc', '1.5', '']) {
    const r = await infClerk.get(`/api/persons/${P1}/records?limit=${limit}`);
    assert.equal(r.status, 422, `limit=${limit}`);
  }
  // A cursor naming office B's record, or a far-future point: only this file's records.
  const far = ok(await infClerk.get(`/api/persons/${P1}/records?before=${b64(`9999-12-31T23:59:59Z|${B.record}`)}`));
  assert.ok(far.length >= 2 && far.every((x: { personId: string }) => x.personId === P1));
  assert.deepEqual(
    ok(await infClerk.get(`/api/persons/${P1}/records?before=${b64(`0001-01-01T00:00:00Z|${r1}`)}`)),
    [],
  );
  assert.ok(
    Array.isArray(ok(await infClerk.get(`/api/persons/${P1}/records?before=${b64(`2026-13-45T99:99:99Z|${r1}`)}`))),
    'an impossible time is only a point to continue from',
  );
  assert.equal((await infClerk.get(`/api/persons/${B.person}/records`)).status, 404, "office B's file");
  assert.equal((await infClerk.get(`/api/records/${B.record}/versions`)).status, 404, "office B's record");
  assert.equal((await infClerk.get(`/api/records/${B.record}/versions/1`)).status, 404);
  assert.equal((await tbClerk.get(`/api/records/${r1}/versions`)).status, 200, 'shared with TB (the test before)');
  assert.equal((await infClerk.get(`/api/records/${r1}/versions/0`)).status, 422);
  assert.equal((await infClerk.get(`/api/records/${r1}/versions/99`)).status, 404);
});

test('restricted content: no title in the list, no changed field names, no old version for a clerk', async () => {
  const id = ok(
    await infPhysician.post(`/api/persons/${P1}/records`, {
      type: 'note',
      sensitivity: 'restricted',
      content: { text: 'Geheimtitel Diagnose X' },
    }),
    201,
  ).id;
  // Restricted, then normal: the clerk may read the record now, but not what the restricted versions said or changed.
  ok(await infPhysician.put(`/api/records/${id}`, { content: { text: 'Geheimtitel Diagnose Y' }, version: 1 }));
  ok(await infPhysician.put(`/api/records/${id}`, { content: { text: 'Offen' }, sensitivity: 'normal', version: 2 }));
  const versions = ok(await infClerk.get(`/api/records/${id}/versions`));
  assert.deepEqual(
    versions.map((v: { changes: unknown }) => v.changes),
    [null, null, []],
    'no changes across restricted versions',
  );
  assert.equal((await infClerk.get(`/api/records/${id}/versions/2`)).status, 403);
  assert.ok(!JSON.stringify(versions).includes('Geheimtitel'));

  const still = ok(
    await infPhysician.post(`/api/persons/${P1}/records`, {
      type: 'note',
      sensitivity: 'restricted',
      content: { text: 'Geheimtitel Z' },
    }),
    201,
  ).id;
  const list = ok(await infClerk.get(`/api/persons/${P1}/records?limit=200`));
  const row = list.find((x: { id: string }) => x.id === still);
  assert.equal(row.title, null);
  assert.ok(!JSON.stringify(list).includes('Geheimtitel'));
  const shared = ok(await tbClerk.get(`/api/persons/${P1}/records?limit=200`));
  assert.ok(!JSON.stringify(shared).includes('Geheimtitel'), "a share's clerk neither");
  assert.ok(
    JSON.stringify(ok(await tbPhysician.get(`/api/persons/${P1}/records?limit=200`))).includes('Geheimtitel Z'),
    "a share's physician reads restricted content, so the title too",
  );
});

test("the file's hints: heads' names only to the owning department's members; the emergency banner only for the own grant", async () => {
  const clerkView = ok(await infClerk.get(`/api/persons/${P1}`));
  assert.deepEqual(clerkView.shareAskHeads, [infHead.displayName]);
  assert.equal(ok(await infHead.get(`/api/persons/${P1}`)).shareAskHeads, undefined, 'the head may share');
  const viaShare = ok(await tbClerk.get(`/api/persons/${P1}`));
  assert.equal(viaShare.shareAskHeads, undefined, "a share's reader is told no names");
  ok(
    await tbPhysician.post(`/api/persons/${P1}/break-glass`, { reason: 'Notfall in der Ambulanz, Vorbefunde fehlen' }),
  );
  const glass = ok(await tbPhysician.get(`/api/persons/${P1}`));
  assert.equal(glass.shareAskHeads, undefined, 'an emergency reader neither');
  assert.ok(glass.emergencyAccess?.expiresAt);
  assert.equal(
    ok(await tbClerk.get(`/api/persons/${P1}`)).emergencyAccess,
    null,
    "a colleague's grant is not the clerk's",
  );
  assert.equal(ok(await infClerk.get(`/api/persons/${P1}`)).emergencyAccess, null);
});

test("studies across departments and offices: another department's study is 404 like a missing one, never linked to another department's file", async () => {
  const infStudy = study('ANGRIFF^INF');
  await stow(infPhysician, INF, infStudy);
  const tbStudy = study('ANGRIFF^TB');
  await stow(tbPhysician, TB, tbStudy);
  const missing = await tbPhysician.get('/api/studies/1.2.3.4.5.6.7.8.9');
  const other = await tbPhysician.get(`/api/studies/${infStudy.studyInstanceUid}`);
  assert.equal(other.status, 404);
  assert.deepEqual({ ...other.body }, { ...missing.body }, 'the same answer as for no study at all');
  assert.equal((await tbPhysician.get(`/api/studies/${B.studyUid}`)).status, 404, "office B's study");
  assert.equal((await dpo.get(`/api/studies/${infStudy.studyInstanceUid}`)).status, 404, 'the DPO reads no images');
  assert.equal((await t.admin.get(`/api/studies/${infStudy.studyInstanceUid}`)).status, 404);

  // Linking INF's study into TB's file, TB's study into INF's file, office B's study anywhere.
  assert.equal((await tbPhysician.post(`/api/persons/${P2}/studies/${infStudy.studyInstanceUid}`)).status, 404);
  assert.equal(
    (await tbPhysician.post(`/api/persons/${P1}/studies/${tbStudy.studyInstanceUid}`)).status,
    403,
    'P1 is shared with TB: read, never link',
  );
  assert.equal(
    (await infPhysician.post(`/api/persons/${P2}/studies/${infStudy.studyInstanceUid}`)).status,
    404,
    "TB's file is hidden from INF",
  );
  assert.equal((await infPhysician.post(`/api/persons/${P1}/studies/${B.studyUid}`)).status, 404);
  assert.equal((await infPhysician.post(`/api/persons/${B.person}/studies/${infStudy.studyInstanceUid}`)).status, 404);
  assert.equal((await infPhysician.get(`/api/departments/${B.department}/unassigned-studies`)).status, 404);
  assert.equal((await infPhysician.get(`/api/departments/${TB}/unassigned-studies`)).status, 404);
  const tbList = ok(await tbPhysician.get(`/api/departments/${TB}/unassigned-studies`));
  assert.ok(!tbList.some((s: { studyUid: string }) => s.studyUid === infStudy.studyInstanceUid));
  const rows = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .selectFrom('studies')
      .select(['study_uid', 'person_id'])
      .where('study_uid', 'in', [infStudy.studyInstanceUid, tbStudy.studyInstanceUid])
      .execute(),
  );
  assert.ok(
    rows.every((r) => r.person_id === null),
    'nothing linked',
  );
  const denied = (await events('study.link', tbPhysician.id)).filter((e) => e.outcome !== 'allowed');
  assert.ok(denied.length >= 2, 'the attempts are on the record');
});

test("a study's Patient ID links only within its department: the same ID on a file of another department claims nothing", async () => {
  ok(
    await infClerk.patch(`/api/persons/${P1}`, {
      dicomPatientId: 'PID-ATTACK-1',
      version: ok(await infClerk.get(`/api/persons/${P1}`)).version,
    }),
  );
  const sent = makeInstance({
    rows: 8,
    columns: 8,
    modality: 'CR',
    patientName: 'IRGENDWER^IRENE',
    birthDate: '19900101',
    patientId: 'PID-ATTACK-1',
  });
  await stow(tbPhysician, TB, sent);
  const row = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .selectFrom('studies')
      .select('person_id')
      .where('study_uid', '=', sent.studyInstanceUid)
      .executeTakeFirstOrThrow(),
  );
  assert.equal(row.person_id, null, "TB's study stays TB's, unassigned");
  assert.equal((await infPhysician.get(`/api/studies/${sent.studyInstanceUid}`)).status, 404);
});

test('racing link and unlink: the answers tell what the study ends with', async () => {
  const A = ok(
    await infPhysician.post('/api/persons', {
      departmentId: INF,
      familyName: 'Rennfahrer',
      givenName: 'Anna',
      birthDate: '1991-01-01',
    }),
    201,
  ).id;
  const Bp = ok(
    await infPhysician.post('/api/persons', {
      departmentId: INF,
      familyName: 'Rennfahrer',
      givenName: 'Berta',
      birthDate: '1992-02-02',
    }),
    201,
  ).id;
  for (let round = 0; round < 6; round++) {
    const sent = study(`RACE^R${round}`, '19930303');
    await stow(infPhysician, INF, sent);
    const uid = sent.studyInstanceUid;
    ok(await infPhysician.post(`/api/persons/${A}/studies/${uid}`));
    const [unlink, link, relink] = await Promise.all([
      infPhysician.del(`/api/persons/${A}/studies/${uid}`),
      infPhysician2.post(`/api/persons/${Bp}/studies/${uid}`),
      infPhysician2.post(`/api/persons/${A}/studies/${uid}`),
    ]);
    assert.equal(unlink.status, 204, 'A held it: the unlink removes it (or finds it relinked to A)');
    const row = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
      tx.selectFrom('studies').select('person_id').where('study_uid', '=', uid).executeTakeFirstOrThrow(),
    );
    if (link.status === 200)
      assert.equal(row.person_id, Bp, JSON.stringify([unlink.status, link.status, relink.status]));
    else {
      assert.equal(link.status, 409);
      assert.ok(row.person_id === null || row.person_id === A, JSON.stringify(row));
    }
    assert.ok([200, 409].includes(relink.status));
    if (row.person_id === A) assert.equal(relink.status, 200);
  }
});

test('the new reads are on the record: person search, reports, banner, unassigned list, versions, an old version', async () => {
  const rec = ok(
    await infClerk.post(`/api/persons/${P1}/records`, {
      type: 'note',
      sensitivity: 'normal',
      content: { text: 'Protokoll' },
    }),
    201,
  ).id;
  ok(await infClerk.put(`/api/records/${rec}`, { content: { text: 'Protokoll 2' }, version: 1 }));
  ok(await infClerk.get(`/api/records/${rec}/versions`));
  ok(await infClerk.get(`/api/records/${rec}/versions/1`));
  assert.ok(
    (await events('record.versions', infClerk.id)).some(
      (e) => e.resource_id === rec && e.person_id === P1 && e.outcome === 'allowed',
    ),
  );
  assert.ok(
    (await events('record.read', infClerk.id)).some(
      (e) => e.resource_id === rec && JSON.parse(e.detail ?? '{}').version === 1,
    ),
  );
  ok(await dpo.post('/api/access-reports/person-search', { familyName: 'Angriffsziel', birthDate: '1961-04-17' }));
  const pdf = await dpo.get(`/api/access-reports/letter.pdf?persons=${P1},${P2}`);
  assert.equal(pdf.status, 200);
  const reports = (await events('audit.access-report', dpo.id)).filter((e) => e.outcome === 'allowed');
  assert.ok(
    reports.some((e) => e.person_id === P1) && reports.some((e) => e.person_id === P2),
    'each file the letter covers has its event',
  );
  ok(await infHead.get(`/api/persons/${P1}/access-report`));
  assert.ok(
    (await events('person.access-report', infHead.id)).some(
      (e) => e.person_id === P1 && JSON.parse(e.detail!).format === 'screen',
    ),
  );
  ok(await infPhysician.get(`/api/departments/${INF}/unassigned-studies`));
  assert.ok(
    (await events('study.unassigned', infPhysician.id)).some((e) => e.outcome === 'allowed' && e.department_id === INF),
  );
});

test('a refusal names fields and codes, never the value that was sent', async () => {
  const marker = 'Zxqvmarker';
  const answers = [
    await infClerk.post('/api/persons', {
      departmentId: INF,
      familyName: `${marker}`.repeat(30),
      givenName: marker,
      birthDate: `${marker}-1961`,
      sex: marker,
    }),
    await infClerk.post(`/api/persons/${P1}/records`, { type: 'note', sensitivity: marker, content: { text: 7 } }),
    await infClerk.post(`/api/persons/${P1}/records`, {
      type: marker,
      sensitivity: 'normal',
      content: { text: marker },
    }),
    await dpo.post('/api/access-reports/person-search', { familyName: `${marker}`.repeat(30), birthDate: marker }),
    await infHead.post(`/api/persons/${P1}/shares`, { departmentId: marker, purpose: marker, until: marker }),
    await infClerk.get(`/api/persons?q=${marker}&limit=${marker}&after=${marker}`),
    await dpo.get(`/api/access-reports?persons=${marker}&lang=${marker}`),
    await infClerk.get(`/api/persons/${P1}/records?before=${marker}&limit=${marker}`),
  ];
  for (const r of answers) {
    assert.ok(r.status === 422 || r.status === 400, `${r.status} ${JSON.stringify(r.body)}`);
    const values = JSON.stringify({
      detail: r.body.detail,
      errors: (r.body.errors ?? []).map((e: { code: string; params?: unknown }) => ({
        code: e.code,
        params: e.params,
      })),
    });
    assert.ok(!values.includes(marker), values);
  }
});
