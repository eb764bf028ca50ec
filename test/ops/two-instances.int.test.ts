// Two `kartei serve` processes serve one office from one PostgreSQL (issue 19), as an operator runs
// them: each with its own data directory, the same key directory, sealed files in the database
// (KARTEI_STORAGE=database), loopback only. Started together on a fresh installation they print one
// setup link between them. The office is set up, files, records and a document made, and images
// stored with storescu through instance A; instance B reads the records and the document and finds
// and retrieves the images (QIDO-RS, WADO-RS byte for byte, C-GET). Then A takes a stream of
// parallel writes (records, C-STOREs) and is SIGKILLed in the middle of it: every write A
// acknowledged is found and readable through B, nothing half-written is visible, and
// `kartei audit verify` finds the chains whole. A restarted on its data directory, both serve on.
// PostgreSQL only (KARTEI_TEST_PG): SQLite is one process's database.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { CommandField, Status } from '../../src/imaging/dicom/command.ts';
import { freshPostgres, PG_ADMIN } from '../helpers/harness.ts';
import { DimseClient } from '../helpers/dimse-client.ts';
import { makeInstance, newUid, type TestInstance } from '../helpers/dicom-files.ts';
import { testPdf } from '../helpers/documents.ts';
import {
  complaints,
  dcmtk,
  expectStatus,
  healthy,
  instanceEnv,
  setUpOffice,
  setupLinks,
  sleep,
  spawnInstance,
  storescu,
  writeFiles,
  type Answer,
  type HttpSession,
  type Instance,
  type InstanceSet,
  type Office,
} from '../helpers/kartei-instances.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const skip = PG_ADMIN ? false : 'PostgreSQL only (KARTEI_TEST_PG): several instances share one PostgreSQL';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-two-'));
const running = new Set<Instance>();
after(async () => {
  // Whatever happened: no instance outlives the test.
  await Promise.all([...running].map((i) => i.kill('SIGKILL')));
  fs.rmSync(dir, { recursive: true, force: true });
});

let set: InstanceSet;
let a: Instance;
let b: Instance;
let office: Office;
/** The physician's session at A and, the same session, at B (sessions live in the database). */
let atA: HttpSession;
let atB: HttpSession;
let personId: string;

async function start(name: string, dataDir: string, ports?: { http: number; dicom: number }) {
  const i = await spawnInstance(name, set, dataDir, { ports });
  running.add(i);
  return i;
}

const RECORD = (n: number, marker: string) => ({
  type: 'examination',
  sensitivity: 'normal',
  content: {
    date: '2026-11-02',
    reason: `Umgebungsuntersuchung ${n}`,
    findings: `Befund ${marker}`,
    diagnoses: ['Z11.1'],
  },
});

const DICOM_ACCEPT = { accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' };
const instanceUrl = (i: TestInstance) =>
  `/dicom-web/studies/${i.studyInstanceUid}/series/${i.seriesInstanceUid}/instances/${i.sopInstanceUid}`;

/** The parts of a multipart/related answer. */
function parts(a: Answer): Buffer[] {
  const boundary = /boundary="?([^";]+)"?/.exec(a.headers.get('content-type') ?? '')?.[1];
  if (!boundary) throw new Error(`not multipart: ${a.headers.get('content-type')}`);
  const out: Buffer[] = [];
  let at = a.raw.indexOf(`--${boundary}\r\n`);
  while (at >= 0) {
    const headEnd = a.raw.indexOf('\r\n\r\n', at);
    const next = a.raw.indexOf(`\r\n--${boundary}`, headEnd);
    out.push(a.raw.subarray(headEnd + 4, next));
    at = a.raw.indexOf(`--${boundary}\r\n`, next + 2);
  }
  return out;
}

/** WADO-RS of one instance through `s`: whole, and its dataset byte for byte as it was sent. */
async function retrievedWhole(s: HttpSession, i: TestInstance, what: string) {
  const r = await s.get(instanceUrl(i), DICOM_ACCEPT);
  assert.equal(
    r.status,
    200,
    `${what}: WADO-RS of ${i.sopInstanceUid}: HTTP ${r.status} ${r.raw.toString().slice(0, 300)}`,
  );
  const [file] = parts(r);
  assert.ok(file, `${what}: WADO-RS of ${i.sopInstanceUid} has no part`);
  assert.equal(file.subarray(128, 132).toString(), 'DICM', `${what}: a Part 10 file`);
  assert.ok(
    file.subarray(file.length - i.dataset.length).equals(i.dataset),
    `${what}: the dataset of ${i.sopInstanceUid} byte for byte as sent`,
  );
}

const instancesOf = async (s: HttpSession, studyUid: string): Promise<string[]> => {
  const r = await s.get(`/dicom-web/studies/${studyUid}/instances`, { accept: 'application/dicom+json' });
  if (r.status === 204) return [];
  assert.equal(r.status, 200, `QIDO-RS instances of ${studyUid}: HTTP ${r.status} ${r.raw.toString().slice(0, 300)}`);
  return (r.body as Record<string, { Value?: string[] }>[]).map((x) => x['00080018']!.Value![0]!).sort();
};

const study = { uid: newUid(), series: newUid() };
const image = (n: number, studyUid = study.uid, seriesUid = study.series) =>
  makeInstance({
    patientName: 'Zweistadt^Hannelore',
    patientId: 'PID-ZWEI',
    birthDate: '19610417',
    studyInstanceUid: studyUid,
    seriesInstanceUid: seriesUid,
    instanceNumber: n,
    rows: 32,
    columns: 32,
    seed: n + 1,
    undefinedLengthSequences: false,
  });
const sent: TestInstance[] = [];

test('two instances started together on a fresh installation print exactly one setup link between them', {
  skip,
  timeout: 60_000,
}, async () => {
  set = {
    ...(await freshPostgres()),
    keyDir: path.join(dir, 'keys'),
    env: { KARTEI_STORAGE: 'database', NODE_ENV: 'test' },
  } as InstanceSet;
  [a, b] = await Promise.all([start('A', path.join(dir, 'a')), start('B', path.join(dir, 'b'))]);
  await Promise.all([healthy(a), healthy(b)]);
  // The link is printed once the server is up, after its DICOM listener: both have got that far, then a moment more.
  await Promise.all([a.logged(/DICOM listener started/), b.logged(/DICOM listener started/)]);
  await sleep(1_000);
  const links = [...setupLinks(a), ...setupLinks(b)];
  assert.equal(
    links.length,
    1,
    `one setup link between A and B, not ${links.length}:\nA: ${a.stdout()}\nB: ${b.stdout()}`,
  );
});

test('through A: the office set up, a file, records, a document and images (storescu); through B all of it read', {
  skip,
  timeout: 60_000,
}, async () => {
  // The link that sets the office up (the first test says whether there was only one).
  const tokens = [...setupLinks(a), ...setupLinks(b)];
  assert.ok(tokens.length > 0, 'a setup link was printed');
  let lastError: unknown;
  for (const token of tokens.reverse()) {
    try {
      office = await setUpOffice(a.base, token);
      break;
    } catch (e) {
      lastError = e;
    }
  }
  if (!office) throw lastError;
  atA = office.physician;
  atB = office.physician.at(b.base);
  personId = expectStatus(
    await atA.post('/api/persons', {
      departmentId: office.departmentId,
      familyName: 'Zweistadt',
      givenName: 'Hannelore',
      birthDate: '1961-04-17',
    }),
    201,
    'file through A',
  ).body.id;
  const records: [string, ReturnType<typeof RECORD>][] = [];
  for (let n = 0; n < 3; n++) {
    const body = RECORD(n, `vorher-${n}`);
    records.push([
      expectStatus(await atA.post(`/api/persons/${personId}/records`, body), 201, 'record through A').body.id,
      body,
    ]);
  }
  for (const [id, body] of records) {
    const r = await atB.get(`/api/records/${id}`);
    assert.equal(r.status, 200, `record ${id} through B: HTTP ${r.status} ${r.raw.toString().slice(0, 300)}`);
    assert.deepEqual(r.body.content, body.content, `record ${id} through B as written through A`);
  }

  // Images: storescu to A, found and retrieved through B.
  for (let n = 1; n <= 3; n++) sent.push(image(n));
  await storescu(
    a.dicomPort,
    office.deviceAet,
    writeFiles(
      path.join(dir, 'sent'),
      'vorher',
      sent.map((i) => i.file),
    ),
  );
  assert.deepEqual(
    await instancesOf(atB, study.uid),
    sent.map((i) => i.sopInstanceUid).sort(),
    'QIDO-RS through B finds the instances stored through A',
  );
  for (const i of sent) await retrievedWhole(atB, i, 'through B');

  // C-GET from B by the modality: the instances stored through A come back.
  const out = path.join(dir, 'got');
  fs.mkdirSync(out);
  const got = await dcmtk('getscu', [
    '-aet',
    office.deviceAet,
    '-aec',
    'KARTEI',
    '-S',
    '-k',
    'QueryRetrieveLevel=STUDY',
    '-k',
    `StudyInstanceUID=${study.uid}`,
    '-od',
    out,
    '127.0.0.1',
    String(b.dicomPort),
  ]);
  assert.equal(got.code, 0, `getscu from B:\n${got.out}`);
  const files = fs.readdirSync(out).map((f) => fs.readFileSync(path.join(out, f)));
  assert.equal(files.length, sent.length, `C-GET from B retrieved ${files.length} of ${sent.length}:\n${got.out}`);
  for (const i of sent)
    assert.ok(
      files.some((f) => f.includes(Buffer.from(i.sopInstanceUid))),
      `C-GET from B brought ${i.sopInstanceUid}`,
    );

  // A document uploaded through A, downloaded through B.
  const pdf = testPdf('Befund aus Zweistadt');
  const doc = expectStatus(
    await atA.call('POST', `/api/persons/${personId}/documents`, pdf, {
      'content-type': 'application/octet-stream',
      'x-file-name': encodeURIComponent('Befund.pdf'),
    }),
    201,
    'document through A',
  );
  const content = await atB.get(`/api/documents/${doc.body.id}/content`);
  assert.equal(
    content.status,
    200,
    `document through B: HTTP ${content.status} ${content.raw.toString().slice(0, 300)}`,
  );
  assert.ok(content.raw.equals(pdf), 'the document through B byte for byte as uploaded through A');
});

/** What A acknowledged before it died, and what was in flight. */
const acked = { records: new Map<string, ReturnType<typeof RECORD>>(), images: [] as TestInstance[] };
const attempted = { records: new Map<string, ReturnType<typeof RECORD>>(), images: [] as TestInstance[] };
const killStudy = { uid: newUid(), series: newUid() };

test('A SIGKILLed in the middle of parallel writes: every write it acknowledged is found whole through B, nothing half-written', {
  skip,
  timeout: 90_000,
}, async (t) => {
  assert.ok(office, 'the office was set up (previous test)');
  let killed = false;
  const failures: string[] = [];
  let seq = 0;
  const recordWriter = async () => {
    while (!killed) {
      const n = seq++;
      const marker = `lauf-${n}-${randomBytes(4).toString('hex')}`;
      const body = RECORD(n, marker);
      attempted.records.set(marker, body);
      let r: Answer;
      try {
        r = await atA.post(`/api/persons/${personId}/records`, body);
      } catch (e) {
        if (!killed) failures.push(`record ${n} before the kill: ${(e as Error).message}`);
        return;
      }
      if (r.status === 201) acked.records.set(r.body.id, body);
      else if (!killed)
        failures.push(`record ${n} before the kill: HTTP ${r.status} ${r.raw.toString().slice(0, 200)}`);
    }
  };
  let imageSeq = 100;
  const storeWriter = async () => {
    let c: DimseClient;
    try {
      c = await DimseClient.associate(a.dicomPort, {
        calling: office.deviceAet,
        called: 'KARTEI',
        contexts: [{ id: 1, abstractSyntax: sent[0]!.sopClassUid, transferSyntax: sent[0]!.transferSyntax }],
      });
    } catch (e) {
      if (!killed) failures.push(`association before the kill: ${(e as Error).message}`);
      return;
    }
    for (let id = 1; !killed; id += 2) {
      const inst = image(imageSeq++, killStudy.uid, killStudy.series);
      attempted.images.push(inst);
      try {
        c.send(
          1,
          {
            commandField: CommandField.CStoreRq,
            hasDataset: true,
            affectedSopClassUid: inst.sopClassUid,
            affectedSopInstanceUid: inst.sopInstanceUid,
            messageId: id,
            priority: 0,
          },
          inst.dataset,
        );
        const rsp = await c.next();
        if (rsp.command.status === Status.Success) acked.images.push(inst);
        else if (!killed) failures.push(`C-STORE before the kill: status 0x${rsp.command.status?.toString(16)}`);
      } catch (e) {
        if (!killed) failures.push(`C-STORE before the kill: ${(e as Error).message}`);
        return;
      }
    }
    await c.release().catch(() => undefined);
  };
  const writers = [recordWriter(), recordWriter(), recordWriter(), recordWriter(), storeWriter(), storeWriter()];
  // Killed once enough is acknowledged, with every writer mid-request.
  const deadline = Date.now() + 30_000;
  while (acked.records.size < 12 || acked.images.length < 6) {
    if (failures.length) break;
    if (Date.now() > deadline)
      throw new Error(
        `A acknowledged only ${acked.records.size} records and ${acked.images.length} images in 30 s:\n${a.output().slice(-3000)}`,
      );
    await sleep(5);
  }
  a.child.kill('SIGKILL');
  killed = true;
  await a.exited;
  running.delete(a);
  await Promise.all(writers);
  assert.deepEqual(failures, [], `every write before the kill succeeded; A logged:\n${complaints(a)}`);
  assert.ok(acked.records.size >= 12 && acked.images.length >= 6);
  t.diagnostic(
    `A acknowledged ${acked.records.size} of ${attempted.records.size} records and ${acked.images.length} of ${attempted.images.length} images before its SIGKILL`,
  );

  // Every record A acknowledged, through B, as written.
  for (const [id, body] of acked.records) {
    const r = await atB.get(`/api/records/${id}`);
    assert.equal(r.status, 200, `acknowledged record ${id} through B: HTTP ${r.status}`);
    assert.deepEqual(r.body.content, body.content, `acknowledged record ${id} through B as written`);
  }
  // Nothing half-written: every record the file lists reads whole, and is one that was sent.
  const list = expectStatus(await atB.get(`/api/persons/${personId}/records?limit=200`), 200, 'records through B');
  const listed = list.body as { id: string }[];
  assert.ok(
    listed.length >= acked.records.size + 3,
    `B lists ${listed.length} records, A acknowledged ${acked.records.size} + 3`,
  );
  const sentFindings = new Set([...attempted.records.values()].map((r) => r.content.findings));
  for (const { id } of listed) {
    const r = await atB.get(`/api/records/${id}`);
    assert.equal(r.status, 200, `listed record ${id} reads through B`);
    if (r.body.content.findings.startsWith('Befund lauf-'))
      assert.ok(sentFindings.has(r.body.content.findings), `listed record ${id} is one that was sent, whole`);
  }
  // Every image A acknowledged, found and retrieved whole through B; every image B finds retrieves whole.
  const found = await instancesOf(atB, killStudy.uid);
  for (const i of acked.images)
    assert.ok(found.includes(i.sopInstanceUid), `acknowledged image ${i.sopInstanceUid} found through B`);
  for (const uid of found) {
    const i = attempted.images.find((x) => x.sopInstanceUid === uid);
    assert.ok(i, `B finds ${uid}, which was never sent`);
    await retrievedWhole(atB, i, 'after the kill, through B');
  }

  // The audit trail: the CLI, on a data directory of its own, finds every chain whole.
  const verify = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/kartei.js'), 'audit', 'verify'], {
      cwd: ROOT,
      env: instanceEnv(set, path.join(dir, 'cli'), { KARTEI_LOG_LEVEL: 'silent' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
  assert.equal(verify.code, 0, `kartei audit verify:\n${verify.out}`);
  // The count as the command's language (KARTEI_LANG=en, instanceEnv) groups it: 1,234.
  const counted = /audit chain OK: (\d{1,3}(?:,\d{3})*) events verified/.exec(verify.out)?.[1];
  const events = Number(counted?.replaceAll(',', ''));
  assert.ok(
    events >= acked.records.size + acked.images.length,
    `audit verify checked ${events} events, fewer than the ${acked.records.size + acked.images.length} acknowledged writes audited:\n${verify.out}`,
  );
  assert.doesNotMatch(verify.out, /BROKEN/);
});

test('A restarted on its data directory: both instances serve on, each reading what the other writes', {
  skip,
  timeout: 60_000,
}, async () => {
  assert.ok(office, 'the office was set up (first test)');
  a = await start('A (restarted)', path.join(dir, 'a'), { http: a.port, dicom: a.dicomPort });
  await healthy(a);
  assert.deepEqual(setupLinks(a), [], 'no setup link for an office that is set up');
  const throughB = RECORD(900, 'nach-neustart-b');
  const idB = expectStatus(await atB.post(`/api/persons/${personId}/records`, throughB), 201, 'record through B').body
    .id;
  const throughA = RECORD(901, 'nach-neustart-a');
  const idA = expectStatus(await atA.post(`/api/persons/${personId}/records`, throughA), 201, 'record through A').body
    .id;
  assert.deepEqual((await atA.get(`/api/records/${idB}`)).body?.content, throughB.content, 'A reads what B wrote');
  assert.deepEqual((await atB.get(`/api/records/${idA}`)).body?.content, throughA.content, 'B reads what A wrote');
  const later = [image(950), image(951)];
  await storescu(a.dicomPort, office.deviceAet, writeFiles(path.join(dir, 'sent'), 'nach-a', [later[0]!.file]));
  await storescu(b.dicomPort, office.deviceAet, writeFiles(path.join(dir, 'sent'), 'nach-b', [later[1]!.file]));
  await retrievedWhole(atB, later[0]!, 'stored through the restarted A, through B');
  await retrievedWhole(atA, later[1]!, 'stored through B, through the restarted A');
  await retrievedWhole(atA, sent[0]!, 'stored before the kill, through the restarted A');
  await Promise.all([a.kill('SIGTERM'), b.kill('SIGTERM')]);
  running.clear();
});
