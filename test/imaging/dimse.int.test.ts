// The DICOM listener against DCMTK's own clients: a registered device echoes
// and stores; the stored file is the sent dataset byte for byte behind a Part
// 10 header, sealed (no name, no pixel bytes on disk); unknown AEs, wrong
// called AEs, wrong hosts and devices without the permission are refused and
// audited; over TLS only the pinned certificate gets in; instances arriving on
// several associations at once each keep their own bytes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import { execFile, spawn } from 'node:child_process';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { DEPLOYMENT_CHAIN } from '../../src/db/schema.ts';
import { bindingBytes } from '../../src/vault/aead.ts';
import { instanceFileBinding } from '../../src/imaging/instance-store.ts';
import { startDimseListener, type DimseListener } from '../../src/imaging/dimse/listener.ts';
import { registerDevice } from '../../src/imaging/device-registry.ts';
import { cEcho } from '../../src/imaging/dimse/c-echo.ts';
import { UndeclaredServiceError, type DimseService } from '../../src/imaging/dimse/service-classes.ts';
import { startHarness, setUpTenant, samplePerson, freePort, type Harness, type Tenant } from '../helpers/harness.ts';
import { storedObjects } from '../helpers/stored-objects.ts';
import { makeInstance } from '../helpers/dicom-files.ts';
import { testCa, testCertificate } from '../helpers/certificates.ts';
import { answerStore, DimseClient, getStudy } from '../helpers/dimse-client.ts';
import { CommandField, Status } from '../../src/imaging/dicom/command.ts';
import { writeDataset } from '../../src/imaging/dicom/dataset-writer.ts';
import { Tag } from '../../src/imaging/dicom/tags.ts';
import { QueryRetrieveSopClass, TransferSyntax } from '../../src/imaging/dicom/uids.ts';

let h: Harness;
let t: Tenant;
let plain: DimseListener;
let secure: DimseListener;
const modality = testCertificate('CT-TB-TLS');
const stranger = testCertificate('STRANGER');
const server = testCertificate('localhost');

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h, ['TB', 'INF']);
  const add = async (body: Record<string, unknown>) => {
    const r = await t.admin.post('/api/admin/devices', { departmentId: t.departments.TB, ...body });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  };
  await add({ aeTitle: 'STORESCU', permissions: ['store'], host: '127.0.0.1' });
  await add({ aeTitle: 'FINDONLY', permissions: ['find'], host: '127.0.0.1' });
  await add({ aeTitle: 'ELSEWHERE', permissions: ['store'], host: '127.0.0.2' });
  await add({ aeTitle: 'CT_TLS', permissions: ['store'], certificate: modality.cert });
  const opts = { deps: h.dimseDeps };
  plain = await startDimseListener({ host: '127.0.0.1', port: await freePort(), aeTitle: 'KARTEI' }, opts);
  secure = await startDimseListener(
    {
      host: '127.0.0.1',
      port: await freePort(),
      aeTitle: 'KARTEI',
      tls: { certFile: server.certFile, keyFile: server.keyFile, caFile: testCa().certFile },
    },
    opts,
  );
});
after(async () => {
  await plain?.close();
  await secure?.close();
  await h.close();
});

function dcmtk(tool: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(tool, args, { env: { ...process.env, TCP_NODELAY: '1' }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

const at = (l: DimseListener, aet: string, called = 'KARTEI') => [
  '-aet',
  aet,
  '-aec',
  called,
  '127.0.0.1',
  String(l.port),
];

async function auditRows(tenantId: string, action: string) {
  return inTenantTransaction(h.services.store, tenantId, (tx) =>
    tx
      .selectFrom('audit_events')
      .selectAll()
      .where('action', '=', action)
      .where('tenant_id', '=', tenantId)
      .orderBy('seq')
      .execute(),
  );
}

function writeFile(name: string, bytes: Buffer) {
  const file = path.join(h.dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

test('a registered device echoes; strangers, wrong called AEs and wrong hosts are refused and audited', async () => {
  assert.equal((await dcmtk('echoscu', at(plain, 'STORESCU'))).code, 0);
  assert.notEqual((await dcmtk('echoscu', at(plain, 'NOBODY'))).code, 0);
  assert.notEqual((await dcmtk('echoscu', at(plain, 'STORESCU', 'SOMEONE_ELSE'))).code, 0);
  assert.notEqual((await dcmtk('echoscu', at(plain, 'ELSEWHERE'))).code, 0, 'registered for another host');
  assert.notEqual(
    (await dcmtk('echoscu', at(plain, 'CT_TLS'))).code,
    0,
    'a certificate device without its certificate',
  );

  const tenantEvents = await auditRows(t.tenantId, 'dicom.associate');
  const whys = tenantEvents
    .filter((e) => e.outcome === 'denied')
    .map((e) => JSON.parse(e.detail!).why)
    .sort();
  assert.deepEqual(whys, ['certificate-required', 'wrong-called-ae', 'wrong-host']);
  assert.ok(tenantEvents.some((e) => e.outcome === 'allowed'));
  const unknown = await auditRows(DEPLOYMENT_CHAIN, 'dicom.associate');
  assert.ok(unknown.some((e) => JSON.parse(e.detail!).callingAe === 'NOBODY' && e.outcome === 'denied'));
  assert.equal((await auditRows(t.tenantId, 'dicom.echo')).length, 1);
});

test('storescu stores an instance: indexed, linked to the file, byte for byte behind a Part 10 header, sealed on disk', async () => {
  const physician = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'physician' }] });
  const person = await physician.post('/api/persons', samplePerson(t.departments.TB!, 'Müller'));
  // storescu sends sequences with explicit lengths whatever the file has; with such a file
  // what it sends is the file's dataset, so byte equality with the file is the test.
  const sent = makeInstance({
    patientName: 'Müller^Hannelore',
    characterSet: 'ISO_IR 100',
    birthDate: '19610417',
    patientId: 'PID-4711',
    rows: 64,
    columns: 64,
    undefinedLengthSequences: false,
  });
  const file = writeFile('ct.dcm', sent.file);
  const r = await dcmtk('storescu', [...at(plain, 'STORESCU'), file]);
  assert.equal(r.code, 0, r.out);

  const row = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .selectFrom('instances')
      .innerJoin('studies', 'studies.id', 'instances.study_id')
      .selectAll('instances')
      .select('studies.person_id')
      .where('sop_instance_uid', '=', sent.sopInstanceUid)
      .executeTakeFirstOrThrow(),
  );
  assert.equal(row.person_id, person.body.id, 'linked by name and birth date');
  assert.equal(row.rows, 64);
  const stored = await streamToBuffer(
    h.services.images.openRead(row.file, await deptKey(), bindingBytes(instanceFileBinding(t.tenantId, row.id))),
  );
  assert.ok(stored.subarray(stored.length - sent.dataset.length).equals(sent.dataset), 'the dataset exactly as sent');
  const pixels = sent.dataset.subarray(sent.dataset.length - sent.pixelDataLength);
  assert.ok(
    stored.subarray(row.pixel_offset!, row.pixel_offset! + row.pixel_length!).equals(pixels),
    'the pixel offset points at the pixels',
  );
  const roundTrip = writeFile('stored.dcm', stored);
  const dataset = (dump: string) => dump.slice(dump.indexOf('# Dicom-Data-Set'));
  const [a, b] = await Promise.all([dcmtk('dcmdump', ['+L', file]), dcmtk('dcmdump', ['+L', roundTrip])]);
  assert.equal(dataset(b.out), dataset(a.out), 'dcmdump +L of the dataset is the same');

  // Issue 19: storage-db — the stored bytes, a file or the database's rows.
  const onDisk = (await storedObjects(h, 'images')).find((o) => o.path === row.file)!.bytes;
  assert.ok(!onDisk.includes(pixels.subarray(0, 64)), 'no pixel bytes in the file');
  // Nothing in the data directory — image files, database, WAL — shows the patient's name or ID,
  // nor a digest of the image that would confirm a known file is stored here.
  const digest = createHash('sha256').update(stored).digest();
  const secrets = [
    Buffer.from('M\xfcller', 'latin1'),
    Buffer.from('Müller', 'utf8'),
    Buffer.from('Hannelore'),
    Buffer.from('PID-4711'),
    digest,
    Buffer.from(digest.toString('hex')),
  ];
  for (const f of fs.readdirSync(h.config.dataDir, { recursive: true }).map(String)) {
    const full = path.join(h.config.dataDir, f);
    if (!fs.statSync(full).isFile()) continue;
    const bytes = fs.readFileSync(full);
    for (const secret of secrets) assert.ok(!bytes.includes(secret), `${secret.toString('latin1')} readable in ${f}`);
  }
  for (const o of await storedObjects(h, 'images'))
    for (const secret of secrets)
      assert.ok(!o.bytes.includes(secret), `${secret.toString('latin1')} readable in ${o.path}`);
  const events = await auditRows(t.tenantId, 'dicom.store');
  assert.equal(events.at(-1)!.outcome, 'allowed');
  assert.equal(events.at(-1)!.person_id, person.body.id);
});

test('four associations storing at once, with PDUs cut across socket reads, each keep their own bytes', async () => {
  // Kartei hands PDV data on as views of the received chunks and frees its sealing buffers once
  // written: instances arriving together must not take each other's bytes.
  const sent = Array.from({ length: 4 }, (_, a) =>
    Array.from({ length: 3 }, () =>
      makeInstance({
        rows: 512,
        columns: 300 + 7 * a,
        bitsAllocated: 16,
        pixels: 'random',
        undefinedLengthSequences: false,
      }),
    ),
  );
  const runs = await Promise.all(
    sent.map((files, a) =>
      dcmtk('storescu', [
        '--max-send-pdu',
        String(16_384 + 1_112 * a),
        ...at(plain, 'STORESCU'),
        ...files.map((f, i) => writeFile(`interleaved-${a}-${i}.dcm`, f.file)),
      ]),
    ),
  );
  for (const r of runs) assert.equal(r.code, 0, r.out);
  const key = await deptKey();
  for (const inst of sent.flat()) {
    const row = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
      tx
        .selectFrom('instances')
        .select(['id', 'file'])
        .where('sop_instance_uid', '=', inst.sopInstanceUid)
        .executeTakeFirstOrThrow(),
    );
    const stored = await streamToBuffer(
      h.services.images.openRead(row.file, key, bindingBytes(instanceFileBinding(t.tenantId, row.id))),
    );
    assert.ok(stored.subarray(stored.length - inst.dataset.length).equals(inst.dataset), 'the dataset exactly as sent');
  }
});

test('a device without the store permission and a dataset that cannot be indexed are refused; nothing is kept', async () => {
  const count = () =>
    inTenantTransaction(
      h.services.store,
      t.tenantId,
      async (tx) => (await tx.selectFrom('instances').select('id').execute()).length,
    );
  const before = await count();
  const images = path.join(h.config.dataDir, 'images');
  const files = () =>
    fs.existsSync(images)
      ? fs.readdirSync(images, { recursive: true }).filter((f) => String(f).includes('.dcm')).length
      : 0;
  const filesBefore = files();

  const refused = await dcmtk('storescu', ['-v', ...at(plain, 'FINDONLY'), writeFile('a.dcm', makeInstance().file)]);
  assert.match(refused.out, /Status: 0x124\b/, refused.out);
  const denied = (await auditRows(t.tenantId, 'dicom.store')).filter((e) => e.outcome === 'denied');
  assert.equal(denied.length, 1, JSON.stringify(denied));

  // A dataset whose Study Instance UID is not a UID cannot be indexed: refused whole.
  const bad = makeInstance();
  const forged = Buffer.from(bad.file);
  const uidAt = forged.indexOf(Buffer.from(bad.studyInstanceUid, 'latin1'));
  assert.ok(uidAt > 0);
  forged.write('2.25.X', uidAt, 'latin1');
  const mismatched = await dcmtk('storescu', ['-v', ...at(plain, 'STORESCU'), writeFile('forged.dcm', forged)]);
  assert.match(mismatched.out, /DataSetDoesNotMatchSOPClass/, mismatched.out);

  assert.equal(await count(), before);
  assert.equal(files(), filesBefore, 'no file left behind');
});

test("findscu finds the department's studies by patient ID, name and level; another department's device finds nothing", async () => {
  const sent = makeInstance({
    patientName: 'Kowalczyk^Zofia',
    birthDate: '19800202',
    patientId: 'PID-FIND-1',
    rows: 8,
    columns: 8,
    modality: 'CR',
  });
  assert.equal((await dcmtk('storescu', [...at(plain, 'STORESCU'), writeFile('find.dcm', sent.file)])).code, 0);
  const find = (aet: string, level: string, keys: string[], root = '-S') =>
    dcmtk('findscu', [
      '-v',
      root,
      ...at(plain, aet),
      '-k',
      `QueryRetrieveLevel=${level}`,
      ...keys.flatMap((k) => ['-k', k]),
    ]);
  const byId = await find('FINDONLY', 'STUDY', [
    'PatientID=PID-FIND-1',
    'PatientName',
    'StudyInstanceUID',
    'ModalitiesInStudy',
    'NumberOfStudyRelatedInstances',
  ]);
  assert.equal(byId.code, 0, byId.out);
  assert.match(byId.out, /Kowalczyk\^Zofia/);
  assert.ok(byId.out.includes(sent.studyInstanceUid));
  assert.match(byId.out, /\(0020,1208\) IS \[1 ?\]/);
  assert.equal((byId.out.match(/Find Response: \d+ \(Pending\)/g) ?? []).length, 1, byId.out);

  const byName = await find('FINDONLY', 'STUDY', ['PatientName=KOWALCZYK', 'PatientID']);
  assert.match(byName.out, /PID-FIND-1/, 'family names match case-insensitively through the blind index');
  const wild = await find('FINDONLY', 'STUDY', ['PatientName=Kowal*', 'PatientID']);
  assert.match(wild.out, /PID-FIND-1/);
  const images = await find('FINDONLY', 'IMAGE', [
    `StudyInstanceUID=${sent.studyInstanceUid}`,
    `SeriesInstanceUID=${sent.seriesInstanceUid}`,
    'SOPInstanceUID',
  ]);
  assert.ok(images.out.includes(sent.sopInstanceUid), images.out);
  const patients = await find('FINDONLY', 'PATIENT', ['PatientID=PID-FIND-1', 'NumberOfPatientRelatedStudies'], '-P');
  assert.match(patients.out, /\(0020,1200\) IS \[1 ?\]/, patients.out);

  const r = await t.admin.post('/api/admin/devices', {
    aeTitle: 'INF_FIND',
    departmentId: t.departments.INF,
    permissions: ['find'],
    host: '127.0.0.1',
  });
  assert.equal(r.status, 201);
  const elsewhere = await find('INF_FIND', 'STUDY', ['PatientID=PID-FIND-1', 'PatientName']);
  assert.equal((elsewhere.out.match(/\(Pending\)/g) ?? []).length, 0, "another department's device finds nothing");
  const noFind = await find('STORESCU', 'STUDY', ['PatientID=PID-FIND-1']);
  assert.doesNotMatch(noFind.out, /\(Pending\)/);
  assert.match(noFind.out, /Final Find Response \(Unknown Status: 0x124\)/);
  const events = await auditRows(t.tenantId, 'dicom.find');
  assert.ok(
    events.some((e) => e.outcome === 'denied'),
    "the store-only device's query is a denial",
  );
  // The same search use case as QIDO-RS: the count of matches and of those shown.
  assert.ok(
    events.some(
      (e) => e.outcome === 'allowed' && JSON.parse(e.detail!).matches === 1 && JSON.parse(e.detail!).shown === 1,
    ),
  );
});

test('a deflated instance is stored as it came, indexed from its inflated attributes, and read back', async () => {
  const sent = makeInstance({
    patientName: 'Zlib^Zora',
    patientId: 'PID-DEFLATE',
    rows: 16,
    columns: 16,
    pixels: 'gradient',
  });
  const plainFile = writeFile('deflate-src.dcm', sent.file);
  const deflatedFile = path.join(h.dir, 'deflated.dcm');
  assert.equal((await dcmtk('dcmconv', ['+td', plainFile, deflatedFile])).code, 0);
  const stored = await dcmtk('storescu', ['-xd', ...at(plain, 'STORESCU'), deflatedFile]);
  assert.equal(stored.code, 0, stored.out);
  const row = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .selectFrom('instances')
      .selectAll()
      .where('sop_instance_uid', '=', sent.sopInstanceUid)
      .executeTakeFirstOrThrow(),
  );
  assert.equal(row.transfer_syntax_uid, TransferSyntax.DeflatedExplicitVrLittleEndian);
  assert.equal(row.rows, 16, 'indexed from the inflated dataset');

  const staff = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'clerk' }] });
  const url = `/dicom-web/studies/${sent.studyInstanceUid}/series/${sent.seriesInstanceUid}/instances/${sent.sopInstanceUid}`;
  const meta = await staff.get(`${url}/metadata`);
  assert.equal(meta.status, 200, JSON.stringify(meta.body));
  assert.deepEqual(meta.body[0]['00100020'].Value, ['PID-DEFLATE']);
  assert.equal((await staff.get(`${url}/frames/1`)).status, 406);
  const back = await staff.call('GET', url, undefined, {
    accept: 'multipart/related; type="application/dicom"; transfer-syntax=*',
  });
  const boundary = /boundary=(\S+)/.exec(String(back.headers['content-type']))![1]!;
  const body = back.raw.subarray(back.raw.indexOf('\r\n\r\n') + 4, back.raw.lastIndexOf(`\r\n--${boundary}--`));
  const dataset = (dump: string) => dump.slice(dump.indexOf('# Dicom-Data-Set'));
  const [a, b] = await Promise.all([
    dcmtk('dcmdump', ['+L', deflatedFile]),
    dcmtk('dcmdump', ['+L', writeFile('deflated-back.dcm', body)]),
  ]);
  assert.match(b.out, /Deflated Explicit VR Little Endian[\s\S]*PID-DEFLATE/, b.out);
  assert.equal(dataset(b.out), dataset(a.out), 'the same dataset comes back');
});

test('a C-CANCEL stops a C-FIND before its next pending response; the final response says Cancel', async () => {
  const study = makeInstance({ patientId: 'PID-CANCEL', rows: 8, columns: 8 });
  const more = [2, 3, 4].map((n) =>
    makeInstance({
      patientId: 'PID-CANCEL',
      rows: 8,
      columns: 8,
      studyInstanceUid: study.studyInstanceUid,
      seriesInstanceUid: study.seriesInstanceUid,
      instanceNumber: n,
    }),
  );
  const files = [study, ...more].map((inst, i) => writeFile(`cancel${i}.dcm`, inst.file));
  assert.equal((await dcmtk('storescu', [...at(plain, 'STORESCU'), ...files])).code, 0);
  const find = (extra: string[]) =>
    dcmtk('findscu', [
      '-v',
      '-S',
      ...at(plain, 'FINDONLY'),
      ...extra,
      '-k',
      'QueryRetrieveLevel=IMAGE',
      '-k',
      `StudyInstanceUID=${study.studyInstanceUid}`,
      '-k',
      'SOPInstanceUID',
    ]);
  const all = await find([]);
  assert.equal((all.out.match(/\(Pending\)/g) ?? []).length, 4, all.out);

  // The cancel follows the request at once, so it is read before the first match goes out.
  const c = await DimseClient.associate(plain.port, {
    calling: 'FINDONLY',
    called: 'KARTEI',
    contexts: [
      {
        id: 1,
        abstractSyntax: QueryRetrieveSopClass.StudyRootFind,
        transferSyntax: TransferSyntax.ExplicitVrLittleEndian,
      },
    ],
  });
  const identifier = writeDataset(
    [
      { tag: Tag.QueryRetrieveLevel, vr: 'CS', value: 'IMAGE' },
      { tag: Tag.StudyInstanceUid, vr: 'UI', value: study.studyInstanceUid },
      { tag: Tag.SopInstanceUid, vr: 'UI', value: null },
    ],
    { encoding: 'explicit-le' },
  );
  c.send(
    1,
    {
      commandField: CommandField.CFindRq,
      hasDataset: true,
      affectedSopClassUid: QueryRetrieveSopClass.StudyRootFind,
      messageId: 9,
      priority: 0,
    },
    identifier,
  );
  c.send(1, { commandField: CommandField.CCancelRq, hasDataset: false, messageIdBeingRespondedTo: 9 });
  const answer = await c.next();
  assert.equal(answer.command.status, Status.Cancel, JSON.stringify(answer.command));
  await c.release();
  assert.equal((await find([])).code, 0, 'the server keeps serving');
});

test('a C-CANCEL stops a C-GET between sub-operations; the final response says Cancel and counts what was not sent', async () => {
  const r = await t.admin.post('/api/admin/devices', {
    aeTitle: 'CANCELGET',
    departmentId: t.departments.TB,
    permissions: ['retrieve'],
    host: '127.0.0.1',
  });
  assert.equal(r.status, 201);
  const first = makeInstance({ patientId: 'PID-CANCEL-GET', rows: 8, columns: 8 });
  const rest = [2, 3].map((n) =>
    makeInstance({
      patientId: 'PID-CANCEL-GET',
      rows: 8,
      columns: 8,
      studyInstanceUid: first.studyInstanceUid,
      seriesInstanceUid: first.seriesInstanceUid,
      instanceNumber: n,
    }),
  );
  const files = [first, ...rest].map((inst, i) => writeFile(`cancel-get${i}.dcm`, inst.file));
  assert.equal((await dcmtk('storescu', [...at(plain, 'STORESCU'), ...files])).code, 0);

  const c = await getStudy(plain.port, first, { calling: 'CANCELGET', messageId: 7 });
  const sub = await c.next();
  assert.equal(sub.command.commandField, CommandField.CStoreRq);
  c.send(1, { commandField: CommandField.CCancelRq, hasDataset: false, messageIdBeingRespondedTo: 7 });
  answerStore(c, sub);
  let final = await c.next();
  while (final.command.status === Status.Pending) final = await c.next();
  assert.equal(final.command.commandField, CommandField.CGetRsp);
  assert.equal(final.command.status, Status.Cancel);
  assert.equal(final.command.completedSuboperations, 1);
  assert.equal(final.command.remainingSuboperations, 2);
  await c.release();
});

test('getscu retrieves a study: the instances come back as they were stored; other departments and devices without the permission get nothing', async () => {
  const r = await t.admin.post('/api/admin/devices', {
    aeTitle: 'GETTER',
    departmentId: t.departments.TB,
    permissions: ['retrieve'],
    host: '127.0.0.1',
  });
  assert.equal(r.status, 201);
  const study = makeInstance({
    patientName: 'Nowak^Jan',
    patientId: 'PID-GET-1',
    rows: 32,
    columns: 32,
    undefinedLengthSequences: false,
  });
  const second = makeInstance({
    patientName: 'Nowak^Jan',
    patientId: 'PID-GET-1',
    rows: 32,
    columns: 32,
    studyInstanceUid: study.studyInstanceUid,
    seriesInstanceUid: study.seriesInstanceUid,
    instanceNumber: 2,
    undefinedLengthSequences: false,
  });
  const sentFiles = [writeFile('get1.dcm', study.file), writeFile('get2.dcm', second.file)];
  assert.equal((await dcmtk('storescu', [...at(plain, 'STORESCU'), ...sentFiles])).code, 0);

  const get = async (aet: string) => {
    const out = fs.mkdtempSync(path.join(h.dir, 'get-'));
    const run = await dcmtk('getscu', [
      '-v',
      '-S',
      ...at(plain, aet),
      '-k',
      'QueryRetrieveLevel=STUDY',
      '-k',
      `StudyInstanceUID=${study.studyInstanceUid}`,
      '-od',
      out,
    ]);
    return { run, files: fs.readdirSync(out).map((f) => path.join(out, f)) };
  };
  const got = await get('GETTER');
  assert.equal(got.run.code, 0, got.run.out);
  assert.equal(got.files.length, 2, got.run.out);
  // getscu's file writer re-encodes sequences with undefined lengths; everything else must be identical.
  const dataset = (dump: string) =>
    dump
      .slice(dump.indexOf('# Dicom-Data-Set'))
      .split('\n')
      .filter((l) => !l.includes('Delimitation'))
      .map((l) => l.replace(/\((Sequence|Item) with (explicit|undefined) length (#=\d+)\)\s+#\s*[\du/l]+,/, '$1 $3'))
      .join('\n');
  for (const [i, inst] of [study, second].entries()) {
    const received = got.files.find((f) => path.basename(f).includes(inst.sopInstanceUid))!;
    assert.ok(received, `instance ${i} came back`);
    const [a, b] = await Promise.all([dcmtk('dcmdump', ['+L', sentFiles[i]!]), dcmtk('dcmdump', ['+L', received])]);
    assert.equal(dataset(b.out), dataset(a.out), 'dcmdump +L of the retrieved instance equals the sent one');
  }

  assert.equal((await get('FINDONLY')).files.length, 0);
  const infGet = await t.admin.post('/api/admin/devices', {
    aeTitle: 'INF_GET',
    departmentId: t.departments.INF,
    permissions: ['retrieve'],
    host: '127.0.0.1',
  });
  assert.equal(infGet.status, 201);
  assert.equal((await get('INF_GET')).files.length, 0, "another department's device retrieves nothing");
  const events = await auditRows(t.tenantId, 'dicom.retrieve');
  assert.ok(events.some((e) => e.outcome === 'allowed' && JSON.parse(e.detail!).instances === 2));
  assert.ok(events.some((e) => e.outcome === 'allowed' && JSON.parse(e.detail!).instances === 0));
  assert.ok(events.some((e) => e.outcome === 'denied'));
});

test("staff see a file's studies and link a study by hand, within the policy", async () => {
  const sent = makeInstance({
    patientName: 'Unbekannt^Ohne',
    patientId: 'PID-LINK',
    birthDate: '20010101',
    modality: 'DX',
    rows: 8,
    columns: 8,
    instanceNumber: 2,
  });
  // Stored after it, numbered before it: the study's first image.
  const first = makeInstance({
    patientName: 'Unbekannt^Ohne',
    patientId: 'PID-LINK',
    birthDate: '20010101',
    modality: 'DX',
    rows: 8,
    columns: 8,
    instanceNumber: 1,
    studyInstanceUid: sent.studyInstanceUid,
    seriesInstanceUid: sent.seriesInstanceUid,
  });
  assert.equal(
    (
      await dcmtk('storescu', [
        ...at(plain, 'STORESCU'),
        writeFile('link.dcm', sent.file),
        writeFile('link-1.dcm', first.file),
      ])
    ).code,
    0,
  );
  const physician = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'physician' }] });
  const clerk = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'clerk' }] });
  const infHead = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'head' }] });
  const { body: person } = await physician.post('/api/persons', samplePerson(t.departments.TB!, 'Lindqvist'));
  const { body: other } = await physician.post('/api/persons', samplePerson(t.departments.TB!, 'Andersson'));
  assert.deepEqual((await physician.get(`/api/persons/${person.id}/studies`)).body, [], 'not linked: the names differ');

  assert.equal(
    (await infHead.post(`/api/persons/${person.id}/studies/${sent.studyInstanceUid}`)).status,
    404,
    'another department: hidden',
  );
  const bad = await clerk.post(`/api/persons/${person.id}/studies/not-a-uid`);
  assert.equal(bad.status, 422);
  assert.equal(bad.body.field, 'params.studyUid');
  assert.equal((await physician.post(`/api/persons/${person.id}/studies/1.2.3.999`)).status, 404);
  assert.equal(
    (await clerk.post(`/api/persons/${person.id}/studies/${sent.studyInstanceUid}`)).status,
    403,
    'a clerk links nothing: a physician decides',
  );
  const linked = await physician.post(`/api/persons/${person.id}/studies/${sent.studyInstanceUid}`);
  assert.equal(linked.status, 200, JSON.stringify(linked.body));
  assert.equal(
    (await physician.post(`/api/persons/${other.id}/studies/${sent.studyInstanceUid}`)).status,
    409,
    'one study, one file',
  );

  const list = await physician.get(`/api/persons/${person.id}/studies`);
  assert.deepEqual(
    list.body.map((x: { studyUid: string; modalities: string[]; instanceCount: number }) => [
      x.studyUid,
      x.modalities,
      x.instanceCount,
    ]),
    [[sent.studyInstanceUid, ['DX'], 2]],
  );
  assert.deepEqual(list.body[0].firstImage, {
    seriesUid: sent.seriesInstanceUid,
    sopInstanceUid: first.sopInstanceUid,
  });
  assert.equal((await infHead.get(`/api/persons/${person.id}/studies`)).status, 404);

  const head = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'head' }] });
  await head.post(`/api/persons/${person.id}/shares`, {
    departmentId: t.departments.INF,
    purpose: 'Umgebungsuntersuchung',
    until: new Date(Date.now() + 86_400_000).toISOString(),
  });
  assert.equal((await infHead.get(`/api/persons/${person.id}/studies`)).body.length, 1, 'a share shows the images');
  assert.equal(
    (await infHead.post(`/api/persons/${person.id}/studies/${sent.studyInstanceUid}`)).status,
    403,
    'but links nothing',
  );
  const log = (await head.get(`/api/persons/${person.id}/access-log`)).body.map(
    (e: { action: string; actorId: string }) => `${e.action}:${e.actorId === infHead.id ? 'inf' : 'tb'}`,
  );
  for (const e of ['study.link:tb', 'study.list:inf', 'study.list:tb']) assert.ok(log.includes(e), `${e} in ${log}`);
});

test('movescu moves a study to a registered destination only; storescp receives it as stored', async () => {
  const destPort = await freePort();
  const inbox = fs.mkdtempSync(path.join(h.dir, 'inbox-'));
  const storescp = spawn('storescp', ['-aet', 'DEST', '-od', inbox, String(destPort)], {
    env: { ...process.env, TCP_NODELAY: '1' },
    stdio: 'ignore',
  });
  try {
    const add = (body: Record<string, unknown>) =>
      t.admin.post('/api/admin/devices', { departmentId: t.departments.TB, host: '127.0.0.1', ...body });
    assert.equal((await add({ aeTitle: 'MOVER', permissions: ['retrieve'] })).status, 201);
    assert.equal((await add({ aeTitle: 'DEST', permissions: ['retrieve'], port: destPort })).status, 201);
    assert.equal((await add({ aeTitle: 'NO_RECEIVE', permissions: ['find'], port: destPort })).status, 201);
    assert.equal(
      (
        await t.admin.post('/api/admin/devices', {
          aeTitle: 'INF_DEST',
          departmentId: t.departments.INF,
          host: '127.0.0.1',
          permissions: ['retrieve'],
          port: destPort,
        })
      ).status,
      201,
    );
    // A destination row whose host was changed behind the registry's back to an address on the network, without a certificate.
    assert.equal((await add({ aeTitle: 'TAMPERED', permissions: ['retrieve'], port: destPort })).status, 201);
    await h.services.store.db
      .updateTable('devices')
      .set({ host: '192.0.2.10' })
      .where('ae_title', '=', 'TAMPERED')
      .execute();
    // Another office registers a destination of the same AE title, elsewhere: a move never reaches it.
    const elsewhere = net.createServer((socket) => {
      reachedElsewhere++;
      socket.destroy();
    });
    let reachedElsewhere = 0;
    const elsewherePort = await freePort();
    await new Promise<void>((r) => elsewhere.listen(elsewherePort, '127.0.0.1', () => r()));
    const now = new Date().toISOString();
    await inTenantTransaction(h.services.store, 'tenant-move-b', async (tx) => {
      await tx.insertInto('tenants').values({ id: 'tenant-move-b', name: 'Nachbaramt', created_at: now }).execute();
      await tx
        .insertInto('departments')
        .values({ id: 'dept-move-b', tenant_id: 'tenant-move-b', code: 'TB', name: 'TB', created_at: now })
        .execute();
      await h.services.audit.startChain(tx, 'tenant-move-b');
    });
    // Registered by that office's administrator, through the gate as the route does.
    const adminB = { userId: 'x', tenantId: 'tenant-move-b', tenantRoles: ['admin' as const], memberships: [] };
    await h.services.gate.run(adminB, 'admin.device.create', { kind: 'tenant' }, async (ctx) => {
      await registerDevice(ctx, {
        aeTitle: 'DEST',
        departmentId: 'dept-move-b',
        permissions: ['retrieve'],
        certificate: testCertificate('DEST-B').cert,
        host: '127.0.0.1',
        port: elsewherePort,
      });
      await registerDevice(ctx, {
        aeTitle: 'B_ONLY',
        departmentId: 'dept-move-b',
        permissions: ['retrieve'],
        host: '127.0.0.9',
        port: elsewherePort,
      });
    });
    const sent = makeInstance({
      patientName: 'Berg^Ida',
      patientId: 'PID-MOVE',
      rows: 16,
      columns: 16,
      undefinedLengthSequences: false,
    });
    const file = writeFile('move.dcm', sent.file);
    assert.equal((await dcmtk('storescu', [...at(plain, 'STORESCU'), file])).code, 0);
    await waitForPort(destPort);

    const move = (dest: string) =>
      dcmtk('movescu', [
        '-v',
        '-S',
        ...at(plain, 'MOVER'),
        '-aem',
        dest,
        '-k',
        'QueryRetrieveLevel=STUDY',
        '-k',
        `StudyInstanceUID=${sent.studyInstanceUid}`,
      ]);
    const moved = await move('DEST');
    assert.equal(moved.code, 0, moved.out);
    const received = fs.readdirSync(inbox);
    assert.equal(received.length, 1, moved.out);
    const dataset = (dump: string) => dump.slice(dump.indexOf('# Dicom-Data-Set'));
    const [a, b] = await Promise.all([
      dcmtk('dcmdump', ['+L', file]),
      dcmtk('dcmdump', ['+L', path.join(inbox, received[0]!)]),
    ]);
    assert.equal(dataset(b.out), dataset(a.out));

    for (const dest of ['NO_RECEIVE', 'INF_DEST', 'UNKNOWN_AE', 'STORESCU', 'TAMPERED', 'B_ONLY']) {
      const refused = await move(dest);
      assert.match(refused.out, /MoveDestinationUnknown|0xa801/i, `${dest}: ${refused.out}`);
    }
    assert.equal(fs.readdirSync(inbox).length, 1, 'nothing reached the destination for the refused moves');
    assert.equal(reachedElsewhere, 0, "the other office's destination of the same AE title was never contacted");
    elsewhere.close();
    const events = await auditRows(t.tenantId, 'dicom.retrieve');
    assert.ok(events.some((e) => e.outcome === 'allowed' && JSON.parse(e.detail!).destination === 'DEST'));
    assert.equal(events.filter((e) => e.outcome === 'denied' && JSON.parse(e.detail ?? '{}').why).length, 6);
  } finally {
    storescp.kill();
  }
});

function waitForPort(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tryOnce = () => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve();
      });
      s.on('error', () =>
        Date.now() - started > 10_000 ? reject(new Error('storescp did not start')) : setTimeout(tryOnce, 100),
      );
    };
    tryOnce();
  });
}

test('over TLS only the device with the pinned certificate is let in', async () => {
  const tls = (cert: { keyFile: string; certFile: string }) => [
    '+tls',
    cert.keyFile,
    cert.certFile,
    '+cf',
    testCa().certFile,
  ];
  const ok = await dcmtk('storescu', [
    ...tls(modality),
    ...at(secure, 'CT_TLS'),
    writeFile('tls.dcm', makeInstance().file),
  ]);
  assert.equal(ok.code, 0, ok.out);
  assert.notEqual(
    (await dcmtk('echoscu', [...tls(stranger), ...at(secure, 'CT_TLS')])).code,
    0,
    'another certificate from the same CA',
  );
  assert.notEqual((await dcmtk('echoscu', at(secure, 'CT_TLS'))).code, 0, 'no TLS at all');
  assert.notEqual(
    (await dcmtk('echoscu', [...tls(modality), ...at(secure, 'STORESCU')])).code,
    0,
    "a loopback-host device over TLS with someone else's certificate",
  );
  const denied = (await auditRows(t.tenantId, 'dicom.associate'))
    .filter((e) => e.outcome === 'denied')
    .map((e) => JSON.parse(e.detail!).why);
  assert.ok(denied.includes('wrong-certificate'));
  const handshakes = (await auditRows(DEPLOYMENT_CHAIN, 'dicom.associate')).filter(
    (e) => JSON.parse(e.detail!).why === 'tls-handshake-failed',
  );
  assert.ok(handshakes.length >= 1, 'a caller that fails the TLS handshake is audited too');
});

test('over TLS a device with its pinned certificate stores, finds, gets and moves (to a TLS destination whose certificate is pinned)', async () => {
  const viewer = testCertificate('VIEWER-TLS');
  const destCert = testCertificate('DEST-TLS');
  const destPort = await freePort();
  const add = (body: Record<string, unknown>) =>
    t.admin.post('/api/admin/devices', { departmentId: t.departments.TB, ...body });
  assert.equal(
    (await add({ aeTitle: 'VIEWER_TLS', permissions: ['store', 'find', 'retrieve'], certificate: viewer.cert })).status,
    201,
  );
  assert.equal(
    (
      await add({
        aeTitle: 'DEST_TLS',
        permissions: ['retrieve'],
        certificate: destCert.cert,
        host: '127.0.0.1',
        port: destPort,
      })
    ).status,
    201,
  );
  const tls = ['+tls', viewer.keyFile, viewer.certFile, '+cf', testCa().certFile];
  const sent = makeInstance({ patientId: 'PID-TLS-ALL', rows: 8, columns: 8, undefinedLengthSequences: false });
  assert.equal(
    (await dcmtk('storescu', [...tls, ...at(secure, 'VIEWER_TLS'), writeFile('tls-all.dcm', sent.file)])).code,
    0,
  );
  const found = await dcmtk('findscu', [
    '-v',
    '-S',
    ...tls,
    ...at(secure, 'VIEWER_TLS'),
    '-k',
    'QueryRetrieveLevel=STUDY',
    '-k',
    'PatientID=PID-TLS-ALL',
    '-k',
    'StudyInstanceUID',
  ]);
  assert.ok(found.out.includes(sent.studyInstanceUid), found.out);

  const contexts = [
    {
      id: 1,
      abstractSyntax: QueryRetrieveSopClass.StudyRootGet,
      transferSyntax: TransferSyntax.ExplicitVrLittleEndian,
    },
    {
      id: 3,
      abstractSyntax: QueryRetrieveSopClass.StudyRootMove,
      transferSyntax: TransferSyntax.ExplicitVrLittleEndian,
    },
    { id: 5, abstractSyntax: sent.sopClassUid, transferSyntax: sent.transferSyntax },
  ];
  const c = await DimseClient.associate(secure.port, {
    calling: 'VIEWER_TLS',
    called: 'KARTEI',
    contexts,
    roles: new Map([[sent.sopClassUid, { scu: false, scp: true }]]),
    tls: { ...viewer, caFile: testCa().certFile },
  });
  const identifier = writeDataset(
    [
      { tag: Tag.QueryRetrieveLevel, vr: 'CS', value: 'STUDY' },
      { tag: Tag.StudyInstanceUid, vr: 'UI', value: sent.studyInstanceUid },
    ],
    { encoding: 'explicit-le' },
  );
  c.send(
    1,
    {
      commandField: CommandField.CGetRq,
      hasDataset: true,
      affectedSopClassUid: QueryRetrieveSopClass.StudyRootGet,
      messageId: 1,
      priority: 0,
    },
    identifier,
  );
  const sub = await c.next();
  assert.equal(sub.command.commandField, CommandField.CStoreRq);
  assert.ok(sub.dataset!.equals(sent.dataset), 'C-GET over TLS: the dataset as it was sent');
  c.send(sub.contextId, {
    commandField: CommandField.CStoreRsp,
    hasDataset: false,
    messageIdBeingRespondedTo: sub.command.messageId,
    affectedSopClassUid: sent.sopClassUid,
    affectedSopInstanceUid: sent.sopInstanceUid,
    status: Status.Success,
  });
  assert.equal((await c.next()).command.status, Status.Success);

  const inbox = fs.mkdtempSync(path.join(h.dir, 'tls-inbox-'));
  const storescp = spawn(
    'storescp',
    [
      '-aet',
      'DEST_TLS',
      '+tls',
      destCert.keyFile,
      destCert.certFile,
      '+cf',
      testCa().certFile,
      '-od',
      inbox,
      String(destPort),
    ],
    { env: { ...process.env, TCP_NODELAY: '1' }, stdio: 'ignore' },
  );
  try {
    await waitForPort(destPort);
    c.send(
      3,
      {
        commandField: CommandField.CMoveRq,
        hasDataset: true,
        affectedSopClassUid: QueryRetrieveSopClass.StudyRootMove,
        messageId: 2,
        priority: 0,
        moveDestination: 'DEST_TLS',
      },
      identifier,
    );
    let moved = await c.next();
    while (moved.command.status === Status.Pending) moved = await c.next();
    assert.equal(moved.command.status, Status.Success, JSON.stringify(moved.command));
    assert.equal(fs.readdirSync(inbox).length, 1, 'the destination received the instance over TLS');
  } finally {
    storescp.kill();
    await c.release();
  }
});

test('a DIMSE service that does not declare its action and resource stops the listener from starting', async () => {
  const undeclared = { ...cEcho, access: undefined } as unknown as DimseService;
  await assert.rejects(
    startDimseListener({ host: '127.0.0.1', port: await freePort(), aeTitle: 'KARTEI' }, { deps: h.dimseDeps }, [
      undeclared,
    ]),
    UndeclaredServiceError,
  );
});

async function deptKey() {
  return inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    h.services.keyring.departmentKey(tx, t.tenantId, t.departments.TB!),
  );
}

async function streamToBuffer(s: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}
