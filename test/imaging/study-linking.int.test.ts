// Which file a received study belongs to: by the Patient ID a file carries, else
// by family and given name as German transliterates them (MUELLER is Müller,
// MULLER is not) and birth date — and when that is not one file, never a guess:
// the study waits in its department's unassigned studies, where a physician of
// that department links it by hand (clerks may not, other departments do not see
// it). The viewer's banner names the file's person, or the header's. Audited.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { upgradePersonIndex } from '../../src/records/persons.ts';
import type { DimseListener } from '../../src/imaging/dimse/listener.ts';
import { startHarness, setUpTenant, Client, DIALECT, type Harness, type Tenant } from '../helpers/harness.ts';
import { makeInstance, type InstanceOptions, type TestInstance } from '../helpers/dicom-files.ts';

let h: Harness;
let t: Tenant;
let listener: DimseListener;
let physician: Client & { id: string };
let colleague: Client & { id: string };
let clerk: Client & { id: string };
let infPhysician: Client & { id: string };
let TB: string;

before(async () => {
  h = await startHarness({ dicom: true });
  t = await setUpTenant(h, ['TB', 'INF']);
  TB = t.departments.TB!;
  const device = await t.admin.post('/api/admin/devices', {
    aeTitle: 'MODALITY',
    departmentId: TB,
    permissions: ['store'],
    host: '127.0.0.1',
  });
  assert.equal(device.status, 201);
  listener = h.dicom!;
  physician = await t.user({ memberships: [{ departmentId: TB, role: 'physician' }] });
  colleague = await t.user({ memberships: [{ departmentId: TB, role: 'physician' }] });
  clerk = await t.user({ memberships: [{ departmentId: TB, role: 'clerk' }] });
  infPhysician = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'physician' }] });
});
after(async () => {
  await h.close();
});

/** Sends the instances from the registered modality with DCMTK's storescu (the DIMSE path). */
function storescu(instances: TestInstance[]): Promise<void> {
  const files = instances.map((inst, i) => {
    const f = path.join(h.dir, `link-${inst.sopInstanceUid}-${i}.dcm`);
    fs.writeFileSync(f, inst.file);
    return f;
  });
  return new Promise((resolve, reject) => {
    execFile(
      'storescu',
      ['-aet', 'MODALITY', '-aec', 'KARTEI', '127.0.0.1', String(listener.port), ...files],
      (err, stdout, stderr) => (err ? reject(new Error(stdout + stderr)) : resolve()),
    );
  });
}

/** Stores through STOW-RS into TB, as the physician. */
async function stow(inst: TestInstance) {
  const boundary = 'kartei-link-boundary';
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`),
    inst.file,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const r = await physician.call('POST', `/dicom-web/studies?department=${TB}`, body, {
    'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

const study = (o: InstanceOptions) => makeInstance({ rows: 8, columns: 8, modality: 'CR', ...o });

async function person(
  familyName: string,
  givenName: string,
  birthDate: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const r = await physician.post('/api/persons', { departmentId: TB, familyName, givenName, birthDate, ...extra });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id;
}

async function linkedTo(studyUid: string): Promise<string | null> {
  const row = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx.selectFrom('studies').select('person_id').where('study_uid', '=', studyUid).executeTakeFirstOrThrow(),
  );
  return row.person_id;
}

const unassigned = async (c: Client = physician) =>
  (await c.get(`/api/departments/${TB}/unassigned-studies`)).body as {
    studyUid: string;
    patient: { familyName: string; givenName: string; birthDate: string | null; patientId: string };
  }[];

async function audit(action: string) {
  return inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .selectFrom('audit_events')
      .selectAll()
      .where('tenant_id', '=', t.tenantId)
      .where('action', '=', action)
      .orderBy('seq')
      .execute(),
  );
}

test("a modality's MUELLER^HANS links to the file of Müller, Hans (DIMSE); MULLER^HANS and another given name do not", async () => {
  const mueller = await person('Müller', 'Hans', '1961-04-12');
  const sent = study({ patientName: 'MUELLER^HANS', birthDate: '19610412', patientId: 'CT-77' });
  const muller = study({ patientName: 'MULLER^HANS', birthDate: '19610412', patientId: 'CT-78' });
  const anna = study({ patientName: 'MUELLER^ANNA', birthDate: '19610412', patientId: 'CT-79' });
  await storescu([sent, muller, anna]);
  assert.equal(await linkedTo(sent.studyInstanceUid), mueller, 'ü is ue');
  assert.equal(await linkedTo(muller.studyInstanceUid), null, 'ü is not u');
  assert.equal(await linkedTo(anna.studyInstanceUid), null, 'the given name counts too');
  const shown = (await physician.get(`/api/persons/${mueller}/studies`)).body.map(
    (s: { studyUid: string }) => s.studyUid,
  );
  assert.deepEqual(shown, [sent.studyInstanceUid]);
  // ß, hyphens and the other direction: the file transliterated, the header written with umlauts.
  const gross = await person('Groß-Öztürk', 'Jürgen Paul', '1970-01-02');
  const spelled = study({ patientName: 'GROSS OEZTUERK^JUERGEN^PAUL', birthDate: '19700102' });
  await stow(spelled);
  assert.equal(await linkedTo(spelled.studyInstanceUid), gross, 'ß is ss, ö is oe, hyphens and the middle name');
});

test("a file's DICOM Patient ID links a study whatever name the header carries, and finds the file", async () => {
  const id = await person('Schmidt', 'Eva', '1980-05-06', { dicomPatientId: 'KA-2026-0815' });
  const sent = study({ patientName: 'SCHMIDT-MEIER^EVA', birthDate: '19800506', patientId: 'KA-2026-0815' });
  await stow(sent);
  assert.equal(await linkedTo(sent.studyInstanceUid), id);
  assert.equal((await physician.get(`/api/persons/${id}`)).body.dicomPatientId, 'KA-2026-0815');
  if (DIALECT === 'sqlite') {
    // Sealed at rest: neither the database (with its WAL) nor the image files hold it in clear.
    for (const f of fs
      .readdirSync(h.config.dataDir, { recursive: true })
      .map((x) => path.join(h.config.dataDir, String(x)))) {
      if (fs.statSync(f).isFile()) assert.ok(!fs.readFileSync(f).includes('KA-2026-0815'), `${f} holds the Patient ID`);
    }
  }
  const found = await physician.get('/api/persons?q=KA-2026-0815');
  assert.deepEqual(
    found.body.map((p: { id: string }) => p.id),
    [id],
    'searched by its Patient ID',
  );
  // Set later by editing the file: the next study links by it.
  const later = await person('Weber', 'Lutz', '1955-03-03');
  const edited = await physician.patch(`/api/persons/${later}`, { dicomPatientId: 'KA-2026-0999', version: 1 });
  assert.equal(edited.status, 200, JSON.stringify(edited.body));
  const next = study({ patientName: 'UNBEKANNT^X', patientId: 'KA-2026-0999' });
  await stow(next);
  assert.equal(await linkedTo(next.studyInstanceUid), later);
  // In another department the same Patient ID links nothing.
  const elsewhere = study({ patientName: 'UNBEKANNT^Y', patientId: 'KA-2026-0815' });
  const boundary = 'b';
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`),
    elsewhere.file,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  assert.equal(
    (
      await infPhysician.call('POST', '/dicom-web/studies', body, {
        'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
      })
    ).status,
    200,
  );
  assert.equal(await linkedTo(elsewhere.studyInstanceUid), null);
});

test('two files that fit: never a guess, the study waits unassigned', async () => {
  await person('Groß', 'Paul', '1990-09-09');
  await person('Gross', 'Paul', '1990-09-09');
  const byName = study({ patientName: 'GROSS^PAUL', birthDate: '19900909', patientId: 'CT-GP' });
  await person('Klein', 'Ida', '1991-01-01', { dicomPatientId: 'KA-TWICE' });
  await person('Kleine', 'Ida', '1991-01-01', { dicomPatientId: 'KA-TWICE' });
  const byId = study({ patientName: 'KLEIN^IDA', birthDate: '19910101', patientId: 'KA-TWICE' });
  await stow(byName);
  await stow(byId);
  assert.equal(await linkedTo(byName.studyInstanceUid), null, 'two files by name and birth date');
  assert.equal(
    await linkedTo(byId.studyInstanceUid),
    null,
    'two files with that Patient ID (the name is not asked then)',
  );
  const list = await unassigned();
  const gp = list.find((s) => s.studyUid === byName.studyInstanceUid);
  assert.deepEqual(
    gp?.patient,
    { familyName: 'GROSS', givenName: 'PAUL', birthDate: '1990-09-09', patientId: 'CT-GP' },
    'named as the header names them',
  );
  assert.ok(list.some((s) => s.studyUid === byId.studyInstanceUid));
});

test("the unassigned studies: a department's physicians see them; clerks 403, other departments and the admin 404; audited", async () => {
  const sent = study({ patientName: 'NIEMAND^NORA', birthDate: '20000101', studyDescription: 'Thorax pa' });
  await stow(sent);
  const r = await physician.get(`/api/departments/${TB}/unassigned-studies`);
  assert.equal(r.status, 200);
  const row = r.body.find((s: { studyUid: string }) => s.studyUid === sent.studyInstanceUid);
  assert.equal(row.description, 'Thorax pa');
  assert.deepEqual(row.modalities, ['CR']);
  assert.equal(row.instanceCount, 1);
  assert.equal((await clerk.get(`/api/departments/${TB}/unassigned-studies`)).status, 403);
  assert.equal((await infPhysician.get(`/api/departments/${TB}/unassigned-studies`)).status, 404);
  assert.equal((await t.admin.get(`/api/departments/${TB}/unassigned-studies`)).status, 404);
  const events = await audit('study.unassigned');
  assert.ok(
    events.some((e) => e.actor_id === physician.id && e.outcome === 'allowed' && JSON.parse(e.detail!).count >= 1),
  );
  for (const who of [clerk, infPhysician])
    assert.ok(
      events.some((e) => e.actor_id === who.id && e.outcome === 'denied'),
      'the refusals too',
    );
});

test('a physician links an unassigned study by hand: in the file, off the list, named in the banner; taken off again; audited', async () => {
  const id = await person('Lindqvist', 'Ola', '1975-07-07');
  const sent = study({ patientName: 'LINDKVIST^OLA', birthDate: '19750707' });
  await stow(sent);
  assert.ok((await unassigned()).some((s) => s.studyUid === sent.studyInstanceUid));
  const before = await physician.get(`/api/studies/${sent.studyInstanceUid}`);
  assert.equal(before.status, 200);
  assert.equal(before.body.person, null, 'unassigned: the banner has the header only');
  assert.equal(before.body.linked, false);
  assert.deepEqual(before.body.patient, {
    familyName: 'LINDKVIST',
    givenName: 'OLA',
    birthDate: '1975-07-07',
    patientId: 'PID-0001',
  });
  assert.equal(before.body.department.code, 'TB');

  assert.equal(
    (await clerk.post(`/api/persons/${id}/studies/${sent.studyInstanceUid}`)).status,
    403,
    'a clerk does not decide',
  );
  assert.equal(
    (await infPhysician.post(`/api/persons/${id}/studies/${sent.studyInstanceUid}`)).status,
    404,
    'another department: hidden',
  );
  const linked = await physician.post(`/api/persons/${id}/studies/${sent.studyInstanceUid}`);
  assert.equal(linked.status, 200, JSON.stringify(linked.body));
  assert.deepEqual(
    (await clerk.get(`/api/persons/${id}/studies`)).body.map((s: { studyUid: string }) => s.studyUid),
    [sent.studyInstanceUid],
    'the file shows it',
  );
  assert.ok(!(await unassigned()).some((s) => s.studyUid === sent.studyInstanceUid), 'off the list');
  const banner = await clerk.get(`/api/studies/${sent.studyInstanceUid}`);
  assert.deepEqual(
    banner.body.person,
    { id, familyName: 'Lindqvist', givenName: 'Ola', birthDate: '1975-07-07' },
    "the file's person",
  );
  assert.equal(banner.body.linked, true);
  assert.equal((await infPhysician.get(`/api/studies/${sent.studyInstanceUid}`)).status, 404);
  // A token for DICOMweb alone reads the study, not the file: linked, but no person.
  const minted = await clerk.post('/api/auth/tokens', {
    name: 'PACS-Skript',
    scopes: ['dicomweb:read'],
    expiresInDays: 1,
  });
  assert.equal(minted.status, 201, JSON.stringify(minted.body));
  const viaToken = await new Client(h).call('GET', `/api/studies/${sent.studyInstanceUid}`, undefined, {
    authorization: `Bearer ${minted.body.token}`,
  });
  assert.equal(viaToken.status, 200, JSON.stringify(viaToken.body));
  assert.equal(viaToken.body.linked, true);
  assert.equal(viaToken.body.person, null, "the file's data needs records:read");
  const read = (await audit('study.read')).filter((e) => e.actor_id === clerk.id && e.outcome === 'allowed');
  assert.ok(
    read.some((e) => e.person_id === id),
    "the banner's read names the file",
  );

  assert.equal((await clerk.del(`/api/persons/${id}/studies/${sent.studyInstanceUid}`)).status, 403);
  assert.equal((await physician.del(`/api/persons/${id}/studies/${sent.studyInstanceUid}`)).status, 204);
  assert.equal(await linkedTo(sent.studyInstanceUid), null);
  assert.equal(
    (await physician.del(`/api/persons/${id}/studies/${sent.studyInstanceUid}`)).status,
    404,
    'not linked to it any more',
  );
  const links = (await audit('study.link')).filter((e) => e.person_id === id);
  assert.ok(
    links.some((e) => e.actor_id === physician.id && e.outcome === 'allowed' && !JSON.parse(e.detail!).unlinked),
    'linking is on the record',
  );
  assert.ok(
    links.some(
      (e) => e.actor_id === physician.id && e.outcome === 'allowed' && JSON.parse(e.detail!).unlinked === true,
    ),
    'taking it off is on the record',
  );
  assert.ok(links.some((e) => e.actor_id === clerk.id && e.outcome === 'denied'));
});

test('two physicians linking one study to two files at once: one wins, the other is told 409', async () => {
  const a = await person('Zwilling', 'Anton', '1999-12-12');
  const b = await person('Zwilling', 'Berta', '1999-12-12');
  for (let round = 0; round < 5; round++) {
    const sent = study({ patientName: `RENNEN^R${round}`, birthDate: '19991212' });
    await stow(sent);
    const answers = await Promise.all([
      physician.post(`/api/persons/${a}/studies/${sent.studyInstanceUid}`),
      colleague.post(`/api/persons/${b}/studies/${sent.studyInstanceUid}`),
    ]);
    assert.deepEqual(answers.map((r) => r.status).sort(), [200, 409], JSON.stringify(answers.map((r) => r.body)));
    const winner = answers[0]!.status === 200 ? a : b;
    assert.equal(await linkedTo(sent.studyInstanceUid), winner, 'the file told yes holds it');
  }
});

test('files indexed before transliterated linking are indexed again once at start, audited; studies then link to them', async () => {
  const id = await person('Jäger', 'Ötzi', '1966-06-06');
  // As an older version indexed it: no `link` entry, and the upgrade not recorded as done (before migration 032).
  await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx.deleteFrom('person_index').where('person_id', '=', id).where('kind', '=', 'link').execute(),
  );
  await h.services.store.db.deleteFrom('store_upgrades').where('name', '=', 'person-index-links').execute();
  const early = study({ patientName: 'JAEGER^OETZI', birthDate: '19660606' });
  await stow(early);
  assert.equal(await linkedTo(early.studyInstanceUid), null, 'without the entry nothing links');
  assert.equal(await upgradePersonIndex(h.services.store, h.services.keyring, h.services.audit), 1);
  assert.deepEqual(await upgradesDone(), ['person-index-links'], 'recorded once every office is done');
  assert.equal(await upgradePersonIndex(h.services.store, h.services.keyring, h.services.audit), 0, 'once');
  const events = await audit('system.person-index');
  assert.equal(events.length, 1);
  assert.deepEqual(JSON.parse(events[0]!.detail!), { files: 1 });
  const later = study({ patientName: 'JAEGER^OETZI', birthDate: '19660606' });
  await stow(later);
  assert.equal(await linkedTo(later.studyInstanceUid), id);
});

// Issue 18: gate3
test('a store whose index upgrade is recorded as done is not read again at start (the start read every file)', async () => {
  assert.deepEqual(await upgradesDone(), ['person-index-links'], 'the harness start recorded it');
  const id = await person('Kühn', 'Ägidius', '1971-07-07');
  // A file without its `link` entries — which only an older version could leave — is not looked for any more:
  // the upgrade reads the one row that says it is done, and nothing else.
  await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx.deleteFrom('person_index').where('person_id', '=', id).where('kind', '=', 'link').execute(),
  );
  const before = (await audit('system.person-index')).length;
  assert.equal(await upgradePersonIndex(h.services.store, h.services.keyring, h.services.audit), 0);
  const links = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx.selectFrom('person_index').select('digest').where('person_id', '=', id).where('kind', '=', 'link').execute(),
  );
  assert.equal(links.length, 0, 'the file was not read');
  assert.equal((await audit('system.person-index')).length, before, 'nothing read, nothing audited');
});

const upgradesDone = async () =>
  (await h.services.store.db.selectFrom('store_upgrades').select('name').orderBy('name').execute()).map((r) => r.name);
