// DICOMweb under /dicom-web, walked as the people who use it: images arrive
// from a modality (storescu); staff of the department find them (QIDO-RS)
// and retrieve them (WADO-RS); staff of another department find nothing and
// are answered 404 for a study they name, until the file is shared with them;
// an admin searches nothing; no login answers 401; every access is audited.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { inTenantTransaction } from '../../src/db/connect.ts';
import type { DimseListener } from '../../src/imaging/dimse/listener.ts';
import { startHarness, setUpTenant, samplePerson, Client, type Harness, type Tenant } from '../helpers/harness.ts';
import { storedObjects } from '../helpers/stored-objects.ts';
import { makeInstance, makeJpegInstance, newUid, type TestInstance } from '../helpers/dicom-files.ts';
import { randomBytes } from 'node:crypto';
import { part10Header } from '../../src/imaging/dicom/part10.ts';
import { TransferSyntax } from '../../src/imaging/dicom/uids.ts';

let h: Harness;
let t: Tenant;
let listener: DimseListener;
let tbClerk: Client & { id: string };
let infHead: Client & { id: string };
let tbHead: Client & { id: string };
let personId: string;
/** Three CT images of the person's file, one series; and an unlinked CR study of a stranger. */
const linked: TestInstance[] = [];
let unlinked: TestInstance;

function storescu(files: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'storescu',
      ['-aet', 'MODALITY', '-aec', 'KARTEI', '127.0.0.1', String(listener.port), ...files],
      { env: { ...process.env, TCP_NODELAY: '1' } },
      (err, stdout, stderr) => (err ? reject(new Error(stdout + stderr)) : resolve(stdout)),
    );
  });
}

before(async () => {
  h = await startHarness({ dicom: true });
  t = await setUpTenant(h, ['TB', 'INF']);
  const device = await t.admin.post('/api/admin/devices', {
    aeTitle: 'MODALITY',
    departmentId: t.departments.TB,
    permissions: ['store'],
    host: '127.0.0.1',
  });
  assert.equal(device.status, 201);
  listener = h.dicom!;
  tbClerk = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'clerk' }] });
  infHead = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'head' }] });
  tbHead = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'head' }] });
  personId = (await tbClerk.post('/api/persons', samplePerson(t.departments.TB!, 'Quastenberg'))).body.id;

  const study = newUid();
  const series = newUid();
  for (let i = 1; i <= 3; i++) {
    linked.push(
      makeInstance({
        patientName: 'Quastenberg^Hannelore',
        birthDate: '19610417',
        patientId: 'PID-1',
        studyInstanceUid: study,
        seriesInstanceUid: series,
        instanceNumber: i,
        rows: 32,
        columns: 32,
        modality: 'CT',
        undefinedLengthSequences: false,
      }),
    );
  }
  unlinked = makeInstance({
    patientName: 'Fremd^Otto',
    birthDate: '19500101',
    patientId: 'PID-2',
    modality: 'CR',
    rows: 16,
    columns: 16,
    undefinedLengthSequences: false,
  });
  const files = [...linked, unlinked].map((inst, i) => {
    const file = path.join(h.dir, `wado-${i}.dcm`);
    fs.writeFileSync(file, inst.file);
    return file;
  });
  await storescu(files);
});
after(async () => {
  await h.close();
});

const tag = (json: Record<string, { Value?: unknown[] }>, t: string) => json[t]?.Value?.[0];
const studyUids = (body: Record<string, { Value?: unknown[] }>[]) => body.map((s) => tag(s, '0020000D')).sort();

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

test('QIDO-RS without a login answers 401; with a session or an API token the department finds its studies', async () => {
  const anon = new Client(h);
  assert.equal((await anon.get('/dicom-web/studies')).status, 401);
  assert.equal(
    (await anon.call('GET', '/dicom-web/studies', undefined, { authorization: 'Bearer kt_not-a-token' })).status,
    401,
  );

  const r = await tbClerk.get('/dicom-web/studies');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.match(String(r.headers['content-type']), /^application\/dicom\+json/);
  assert.deepEqual(studyUids(r.body), [linked[0]!.studyInstanceUid, unlinked.studyInstanceUid].sort());
  const ct = r.body.find(
    (s: Record<string, { Value?: unknown[] }>) => tag(s, '0020000D') === linked[0]!.studyInstanceUid,
  );
  assert.deepEqual(tag(ct, '00100010'), { Alphabetic: 'Quastenberg^Hannelore' });
  assert.equal(tag(ct, '00201208'), 3, 'number of study related instances');
  assert.deepEqual(ct['00080061'].Value, ['CT']);

  const token = await tbClerk.post('/api/auth/tokens', { name: 'viewer', scopes: ['dicomweb:read'], expiresInDays: 1 });
  const bearer = await new Client(h).call('GET', '/dicom-web/studies?PatientID=PID-2', undefined, {
    authorization: `Bearer ${token.body.token}`,
  });
  assert.equal(bearer.status, 200);
  assert.deepEqual(studyUids(bearer.body), [unlinked.studyInstanceUid]);
});

test('QIDO-RS matching: names with wildcards and accents, UID lists, dates, levels, limit and offset', async () => {
  const uids = async (url: string) => {
    const r = await tbClerk.get(url);
    assert.equal(r.status, 200, `${url}: ${JSON.stringify(r.body)}`);
    return r.body as Record<string, { Value?: unknown[] }>[];
  };
  assert.deepEqual(studyUids(await uids('/dicom-web/studies?PatientName=quasten*')), [linked[0]!.studyInstanceUid]);
  assert.deepEqual(studyUids(await uids('/dicom-web/studies?00100010=QUASTENBERG')), [linked[0]!.studyInstanceUid]);
  assert.deepEqual(studyUids(await uids('/dicom-web/studies?PatientName=Nobody')), []);
  assert.deepEqual(
    studyUids(
      await uids(`/dicom-web/studies?StudyInstanceUID=${linked[0]!.studyInstanceUid},${unlinked.studyInstanceUid}`),
    ),
    studyUids(await uids('/dicom-web/studies')),
  );
  assert.deepEqual(studyUids(await uids('/dicom-web/studies?ModalitiesInStudy=CR')), [unlinked.studyInstanceUid]);
  assert.equal((await uids('/dicom-web/studies?StudyDate=19000101-19000102')).length, 0);

  const series = await uids(`/dicom-web/studies/${linked[0]!.studyInstanceUid}/series`);
  assert.deepEqual(
    series.map((s) => tag(s, '0020000E')),
    [linked[0]!.seriesInstanceUid],
  );
  assert.equal(tag(series[0]!, '00201209'), 3);
  const instances = await uids(
    `/dicom-web/studies/${linked[0]!.studyInstanceUid}/series/${linked[0]!.seriesInstanceUid}/instances`,
  );
  assert.deepEqual(
    instances.map((i) => tag(i, '00080018')),
    linked.map((i) => i.sopInstanceUid),
  );
  assert.equal(tag(instances[0]!, '00280010'), 32);
  const paged = await uids(`/dicom-web/studies/${linked[0]!.studyInstanceUid}/instances?limit=1&offset=1`);
  assert.deepEqual(
    paged.map((i) => tag(i, '00080018')),
    [linked[1]!.sopInstanceUid],
  );
  assert.equal((await uids(`/dicom-web/instances?SOPInstanceUID=${unlinked.sopInstanceUid}`)).length, 1);
  assert.equal((await uids('/dicom-web/series?Modality=CT')).length, 1);
});

test('QIDO-RS refuses what it cannot match, naming the field; an Accept it cannot serve is 406', async () => {
  for (const [query, field] of [
    ['PatientWeight=70', 'PatientWeight'],
    ['StudyInstanceUID=1.2.abc', 'StudyInstanceUID'],
    ['StudyDate=yesterday', 'StudyDate'],
    ['limit=0', 'limit'],
    ['fuzzymatching=true', 'fuzzymatching'],
    ['PatientID=a&PatientID=b', 'PatientID'],
    ['constructor=x', 'constructor'],
    ['toString=1', 'toString'],
  ]) {
    const r = await tbClerk.get(`/dicom-web/studies?${query}`);
    assert.equal(r.status, 400, query);
    assert.equal(r.body.field, field, query);
  }
  const xml = await tbClerk.call('GET', '/dicom-web/studies', undefined, { accept: 'application/dicom+xml' });
  assert.equal(xml.status, 406);
  assert.equal((await tbClerk.get('/dicom-web/studies/not-a-uid/series')).status, 422);
});

test('another department finds nothing and is answered 404 for a named study, until the file is shared; an admin searches nothing', async () => {
  const study = linked[0]!.studyInstanceUid;
  assert.deepEqual((await infHead.get('/dicom-web/studies')).body, []);
  assert.equal((await infHead.get(`/dicom-web/studies/${study}/series`)).status, 404);
  assert.equal((await infHead.get(`/dicom-web/studies/${unlinked.studyInstanceUid}/series`)).status, 404);
  assert.equal(
    (await infHead.get(`/dicom-web/studies/${newUid()}/series`)).status,
    404,
    'hidden is answered like missing',
  );
  assert.equal((await t.admin.get('/dicom-web/studies')).status, 403);
  assert.equal((await t.admin.get(`/dicom-web/studies/${study}/series`)).status, 404);

  const share = await tbHead.post(`/api/persons/${personId}/shares`, {
    departmentId: t.departments.INF,
    purpose: 'Umgebungsuntersuchung',
    until: new Date(h.clock.now + 86_400_000).toISOString(),
  });
  assert.equal(share.status, 201, JSON.stringify(share.body));
  const shared = await infHead.get(`/dicom-web/studies/${study}/series`);
  assert.equal(shared.status, 200);
  assert.equal(shared.body.length, 1);
  assert.equal(
    (await infHead.get(`/dicom-web/studies/${unlinked.studyInstanceUid}/series`)).status,
    404,
    'the unlinked study stays with its department',
  );
  assert.equal((await tbHead.del(`/api/shares/${share.body.id}`)).status, 204);
  assert.equal((await infHead.get(`/dicom-web/studies/${study}/series`)).status, 404);

  const reads = await audit('study.read');
  assert.ok(reads.some((e) => e.actor_id === infHead.id && e.outcome === 'denied'));
  assert.ok(reads.some((e) => e.actor_id === infHead.id && e.outcome === 'allowed' && e.person_id === personId));
  const searches = await audit('study.search');
  assert.ok(
    searches.some((e) => e.actor_id === tbClerk.id && e.person_id === personId),
    'a search that showed the file is in its access report',
  );
});

/** The parts of a multipart/related body, each its headers and bytes. */
function parts(r: { headers: Record<string, unknown>; raw: Buffer }): { type: string; body: Buffer }[] {
  const boundary = /boundary="?([^";]+)"?/.exec(String(r.headers['content-type']))![1]!;
  const out = [];
  let at = r.raw.indexOf(`--${boundary}\r\n`);
  while (at >= 0) {
    const headEnd = r.raw.indexOf('\r\n\r\n', at);
    const head = r.raw.subarray(at, headEnd).toString();
    const next = r.raw.indexOf(`\r\n--${boundary}`, headEnd);
    out.push({ type: /Content-Type: (.*)/i.exec(head)![1]!.trim(), body: r.raw.subarray(headEnd + 4, next) });
    at = r.raw.indexOf(`--${boundary}\r\n`, next + 2);
  }
  assert.ok(
    r.raw.subarray(-`--${boundary}--\r\n`.length).equals(Buffer.from(`--${boundary}--\r\n`)),
    'closing boundary',
  );
  return out;
}

const instanceUrl = (i: TestInstance) =>
  `/dicom-web/studies/${i.studyInstanceUid}/series/${i.seriesInstanceUid}/instances/${i.sopInstanceUid}`;
/** The app's address, listening once for the tests that need a real socket. */
let address: Promise<string> | undefined;
const listening = () => (address ??= h.app.listen({ host: '127.0.0.1', port: 0 }));

/** How many descriptors this process holds on files under `dir`. */
const openUnder = (dir: string) =>
  fs.readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir);
    } catch {
      return false;
    }
  }).length;

/** Every file under `dir`. */
const walk = (dir: string) =>
  fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.join(d.parentPath, d.name));
const DICOM = { accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' };

test('WADO-RS sends an instance, a series and a study as stored: the dataset byte for byte as it arrived', async () => {
  const one = await tbClerk.call('GET', instanceUrl(linked[1]!), undefined, DICOM);
  assert.equal(one.status, 200, one.raw.toString());
  assert.match(String(one.headers['content-type']), /^multipart\/related; type="application\/dicom"; boundary=/);
  const [file] = parts(one);
  assert.match(file!.type, /^application\/dicom; transfer-syntax=1\.2\.840\.10008\.1\.2\.1$/);
  assert.equal(file!.body.subarray(128, 132).toString(), 'DICM');
  assert.ok(file!.body.subarray(file!.body.length - linked[1]!.dataset.length).equals(linked[1]!.dataset));

  const study = await tbClerk.call('GET', `/dicom-web/studies/${linked[0]!.studyInstanceUid}`, undefined, {
    accept: 'multipart/related; type="application/dicom"',
  });
  assert.equal(parts(study).length, 3);
  const series = await tbClerk.call(
    'GET',
    `/dicom-web/studies/${linked[0]!.studyInstanceUid}/series/${linked[0]!.seriesInstanceUid}`,
    undefined,
    {},
  );
  assert.equal(series.status, 200, 'no Accept header takes the default');
  assert.equal(parts(series).length, 3);

  const reads = (await audit('study.read')).filter((e) => e.actor_id === tbClerk.id && e.outcome === 'allowed');
  assert.deepEqual(
    reads.slice(-3).map((e) => JSON.parse(e.detail!).instances),
    [1, 3, 3],
  );
  assert.ok(
    reads.slice(-3).every((e) => e.person_id === personId),
    "the retrievals are in the file's access report",
  );
});

test('a WADO-RS client that goes away mid-study leaves no stored file open', async (c) => {
  // Issue 19: storage-db — the database's store holds no descriptor (nor a connection) between reads.
  if (h.services.images.kind !== 'files') return c.skip('images are not files here');
  const study = newUid();
  const series = newUid();
  // 2 MB each: larger than what the server reads ahead of the socket, so a file is open when it stalls.
  const files = Array.from({ length: 6 }, (_, i) => {
    const inst = makeInstance({
      patientName: 'Abwesend^Anna',
      birthDate: '19700101',
      patientId: 'PID-GONE',
      studyInstanceUid: study,
      seriesInstanceUid: series,
      instanceNumber: i + 1,
      rows: 1024,
      columns: 1024,
      modality: 'CT',
      seed: i + 1,
      undefinedLengthSequences: false,
    });
    const file = path.join(h.dir, `gone-${i}.dcm`);
    fs.writeFileSync(file, inst.file);
    return file;
  });
  await storescu(files);
  const images = path.join(h.config.dataDir, 'images');
  const openImages = () => openUnder(images);
  const base = await listening();
  const whileStalled = await new Promise<number>((resolve, reject) => {
    const req = http.get(
      `${base}/dicom-web/studies/${study}`,
      { headers: { cookie: `kartei_session=${tbClerk.cookie}`, ...DICOM } },
      (res) => {
        assert.equal(res.statusCode, 200);
        // Read one chunk, then stop reading: 12 MB do not fit in the socket's buffers, so the server stalls mid-study.
        res.once('data', () => {
          res.pause();
          setTimeout(() => {
            const open = openImages();
            req.destroy();
            resolve(open);
          }, 300);
        });
      },
    );
    req.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(e)));
  });
  assert.ok(whileStalled >= 1, 'stalled mid-study, the server holds the file it is sending');
  for (let i = 0; i < 50 && openImages() > 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(openImages(), 0, 'every file it opened, the one being sent and the one read ahead, is closed');
});

test('a stored file altered on disk mid-study: the response ends there, unfinished, and every file is closed', async (c) => {
  if (h.services.images.kind !== 'files') return c.skip('images are not files here');
  const study = newUid();
  const series = newUid();
  const files = Array.from({ length: 4 }, (_, i) => {
    const file = path.join(h.dir, `altered-${i}.dcm`);
    fs.writeFileSync(
      file,
      makeInstance({
        patientName: 'Verändert^Vera',
        birthDate: '19710101',
        patientId: 'PID-ALTERED',
        studyInstanceUid: study,
        seriesInstanceUid: series,
        instanceNumber: i + 1,
        rows: 512,
        columns: 512,
        modality: 'CT',
        seed: 40 + i,
        undefinedLengthSequences: false,
      }).file,
    );
    return file;
  });
  const images = path.join(h.config.dataDir, 'images');
  const before = new Set(walk(images));
  await storescu(files);
  const stored = walk(images).filter((f) => !before.has(f));
  assert.equal(stored.length, 4);
  // One byte flipped in the middle of one stored file: its chunk no longer authenticates.
  const victim = stored[2]!;
  const sealed = fs.readFileSync(victim);
  const middle = sealed.length >> 1;
  sealed.writeUInt8(sealed.readUInt8(middle) ^ 0x01, middle);
  fs.writeFileSync(victim, sealed);
  const base = await listening();
  const got = await new Promise<{ status: number; type: string; body: Buffer; complete: boolean }>(
    (resolve, reject) => {
      http
        .get(
          `${base}/dicom-web/studies/${study}`,
          { headers: { cookie: `kartei_session=${tbClerk.cookie}`, ...DICOM } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (d: Buffer) => chunks.push(d));
            const done = () =>
              resolve({
                status: res.statusCode!,
                type: String(res.headers['content-type']),
                body: Buffer.concat(chunks),
                complete: res.complete,
              });
            res.on('end', done);
            res.on('error', done);
            res.on('aborted', done);
          },
        )
        // A reset after the answer began ends it (above); one before any answer fails the test at once.
        .on('error', (e) => setImmediate(() => reject(e)));
    },
  );
  assert.equal(got.status, 200, 'decided and audited, the study started');
  const boundary = /boundary=([^;\s]+)/.exec(got.type)![1]!;
  assert.equal(got.complete, false, 'the response is cut off, not finished');
  assert.ok(!got.body.includes(`--${boundary}--`), 'no closing boundary: a client cannot take it for the whole study');
  assert.ok(got.body.toString('latin1').split(`--${boundary}`).length - 1 <= 4, 'no more parts than instances');
  const openImages = () => openUnder(images);
  for (let i = 0; i < 50 && openImages() > 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(openImages(), 0, 'the altered file and those read ahead are closed');
});

test('WADO-RS metadata is DICOM JSON of the stored attributes, pixel data by reference', async () => {
  const r = await tbClerk.get(`${instanceUrl(linked[0]!)}/metadata`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const [json] = r.body;
  assert.deepEqual(tag(json, '00100010'), { Alphabetic: 'Quastenberg^Hannelore' });
  assert.equal(tag(json, '00080018'), linked[0]!.sopInstanceUid);
  assert.equal(tag(json, '00280010'), 32);
  assert.equal(json['7FE00010'].BulkDataURI, `${instanceUrl(linked[0]!)}/frames/1`);
  assert.equal(json['7FE00010'].InlineBinary, undefined);
  const study = await tbClerk.get(`/dicom-web/studies/${linked[0]!.studyInstanceUid}/metadata`);
  assert.deepEqual(study.body.map((j: Record<string, { Value?: unknown[] }>) => tag(j, '00200013')).sort(), [1, 2, 3]);
});

test('WADO-RS frames are the stored pixel bytes; rendered frames are PNG or JPEG, windowed as asked', async () => {
  const inst = linked[2]!;
  const frames = await tbClerk.call('GET', `${instanceUrl(inst)}/frames/1`, undefined, {
    accept: 'multipart/related; type="application/octet-stream"',
  });
  assert.equal(frames.status, 200, frames.raw.toString());
  const [frame] = parts(frames);
  assert.ok(frame!.body.equals(inst.dataset.subarray(inst.dataset.length - inst.pixelDataLength)));
  assert.equal((await tbClerk.get(`${instanceUrl(inst)}/frames/2`)).status, 404);
  // The index locates the frame; an instance indexed before it recorded samples per pixel is read as before.
  const indexed = () =>
    inTenantTransaction(h.services.store, t.tenantId, (tx) =>
      tx
        .selectFrom('instances')
        .select('samples_per_pixel')
        .where('sop_instance_uid', '=', inst.sopInstanceUid)
        .executeTakeFirstOrThrow(),
    );
  assert.equal((await indexed()).samples_per_pixel, 1);
  // Seen by what the index says: one row fewer there, one row shorter the frame.
  const setRows = (rows: number) =>
    inTenantTransaction(h.services.store, t.tenantId, (tx) =>
      tx.updateTable('instances').set({ rows }).where('sop_instance_uid', '=', inst.sopInstanceUid).execute(),
    );
  const { rows, columns } = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .selectFrom('instances')
      .select(['rows', 'columns'])
      .where('sop_instance_uid', '=', inst.sopInstanceUid)
      .executeTakeFirstOrThrow(),
  );
  await setRows(rows! - 1);
  const short = await tbClerk.call('GET', `${instanceUrl(inst)}/frames/1`, undefined, {
    accept: 'multipart/related; type="application/octet-stream"',
  });
  assert.equal(parts(short)[0]!.body.length, frame!.body.length - columns! * 2);
  await setRows(rows!);
  await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .updateTable('instances')
      .set({ samples_per_pixel: null })
      .where('sop_instance_uid', '=', inst.sopInstanceUid)
      .execute(),
  );
  const older = await tbClerk.call('GET', `${instanceUrl(inst)}/frames/1`, undefined, {
    accept: 'multipart/related; type="application/octet-stream"',
  });
  assert.ok(parts(older)[0]!.body.equals(frame!.body));
  assert.equal((await tbClerk.get(`${instanceUrl(inst)}/frames/2`)).status, 404);

  const png = await tbClerk.call('GET', `${instanceUrl(inst)}/rendered`, undefined, { accept: 'image/png' });
  assert.equal(png.status, 200, png.raw.toString());
  assert.equal(png.headers['content-type'], 'image/png');
  assert.equal(png.headers['cache-control'], 'no-store');
  const sharp = (await import('sharp')).default;
  const meta = await sharp(png.raw).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['png', 32, 32]);
  const narrow = await tbClerk.call('GET', `${instanceUrl(inst)}/frames/1/rendered?window=100,10`, undefined, {
    accept: 'image/png',
  });
  const grey = async (b: Buffer) => await sharp(b).greyscale().raw().toBuffer();
  assert.ok(!(await grey(narrow.raw)).equals(await grey(png.raw)), 'another window, another picture');
  const jpeg = await tbClerk.call('GET', `${instanceUrl(inst)}/rendered?quality=80`, undefined, {
    accept: 'image/jpeg',
  });
  assert.equal((await sharp(jpeg.raw).metadata()).format, 'jpeg');
  assert.equal((await tbClerk.get(`${instanceUrl(inst)}/rendered?window=wide`)).status, 422);
});

test('WADO-RS: another department, an admin and a wrong UID get 404; what cannot be sent is 406; all audited', async () => {
  for (const c of [infHead, t.admin]) {
    assert.equal((await c.get(instanceUrl(linked[0]!))).status, 404);
    assert.equal((await c.get(`${instanceUrl(linked[0]!)}/metadata`)).status, 404);
    assert.equal((await c.get(`${instanceUrl(unlinked)}/rendered`)).status, 404);
  }
  const wrongSeries = `/dicom-web/studies/${linked[0]!.studyInstanceUid}/series/${unlinked.seriesInstanceUid}`;
  assert.equal((await tbClerk.get(wrongSeries)).status, 404, 'a series of another study');
  assert.equal((await tbClerk.call('GET', instanceUrl(linked[0]!), undefined, { accept: 'text/html' })).status, 406);
  const jpegSyntax = await tbClerk.call('GET', instanceUrl(linked[0]!), undefined, {
    accept: 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50',
  });
  assert.equal(jpegSyntax.status, 406);
  assert.match(jpegSyntax.body.detail, /does not transcode/);
  const denied = (await audit('study.read')).filter((e) => e.outcome === 'denied' && e.actor_id === t.adminId);
  assert.ok(denied.length >= 3);
});

/** A STOW-RS body: each part a Part 10 file (or whatever bytes a test sends). */
function stowBody(
  files: Buffer[],
  boundary = 'kartei-test-boundary',
): { body: Buffer; headers: Record<string, string> } {
  const chunks = files.flatMap((f) => [
    Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`),
    f,
    Buffer.from('\r\n'),
  ]);
  return {
    body: Buffer.concat([...chunks, Buffer.from(`--${boundary}--\r\n`)]),
    headers: { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` },
  };
}

const stow = (c: Client, url: string, files: Buffer[], extra: Record<string, string> = {}) => {
  const { body, headers } = stowBody(files);
  return c.call('POST', url, body, { ...headers, ...extra });
};

async function storedCount() {
  return inTenantTransaction(
    h.services.store,
    t.tenantId,
    async (tx) => (await tx.selectFrom('instances').select('id').execute()).length,
  );
}

test("STOW-RS stores instances into the caller's department: found, retrieved byte for byte, audited", async () => {
  const a = makeInstance({ patientName: 'Stow^Stefan', patientId: 'PID-S', rows: 16, columns: 16 });
  const b = makeInstance({
    patientName: 'Stow^Stefan',
    patientId: 'PID-S',
    studyInstanceUid: a.studyInstanceUid,
    seriesInstanceUid: a.seriesInstanceUid,
    syntax: 'implicit',
    rows: 16,
    columns: 16,
  });
  const r = await stow(tbClerk, '/dicom-web/studies', [a.file, b.file]);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const refs = r.body['00081199'].Value.map((v: Record<string, { Value: string[] }>) => v['00081155']!.Value[0]);
  assert.deepEqual(refs, [a.sopInstanceUid, b.sopInstanceUid]);
  assert.equal(r.body['00081198'].Value, undefined, 'no failures');

  const found = await tbClerk.get(`/dicom-web/studies?PatientID=PID-S`);
  assert.equal(tag(found.body[0], '00201208'), 2);
  const back = parts(await tbClerk.get(instanceUrl(b)));
  assert.ok(
    back[0]!.body.subarray(back[0]!.body.length - b.dataset.length).equals(b.dataset),
    'the dataset as it was sent',
  );
  assert.match(back[0]!.type, /transfer-syntax=1\.2\.840\.10008\.1\.2$/);
  const stores = (await audit('study.store')).filter((e) => e.actor_id === tbClerk.id && e.outcome === 'allowed');
  assert.equal(stores.length, 2);
});

test('STOW-RS reports each instance it could not store and why; keeps none of them', async () => {
  const before = await storedCount();
  const good = makeInstance({ rows: 8, columns: 8 });
  const notDicom = Buffer.from('this is not a DICOM file at all, just text padded out to look long enough'.repeat(4));
  const unknownClass = makeInstance({ sopClassUid: '1.2.3.4.5.6.7', rows: 8, columns: 8 });
  const truncated = makeInstance({ rows: 8, columns: 8 });
  // Announced as deflated, but the dataset is not a deflate stream.
  const notDeflated = makeInstance({ rows: 8, columns: 8 });
  const header = part10Header({
    mediaStorageSopClassUid: notDeflated.sopClassUid,
    mediaStorageSopInstanceUid: notDeflated.sopInstanceUid,
    transferSyntaxUid: TransferSyntax.DeflatedExplicitVrLittleEndian,
    implementationClassUid: '1.2.3',
  });
  const r = await stow(tbClerk, '/dicom-web/studies', [
    good.file,
    notDicom,
    unknownClass.file,
    truncated.file.subarray(0, truncated.file.length - 40),
    Buffer.concat([header, randomBytes(500)]),
  ]);
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const reasons = r.body['00081198'].Value.map((v: Record<string, { Value: unknown[] }>) => v['00081197']!.Value[0]);
  assert.deepEqual(reasons, [0xc000, 0x0122, 0xc000, 0xc000]);
  assert.equal(await storedCount(), before + 1, 'only the good one');

  const other = makeInstance({ rows: 8, columns: 8 });
  const wrongStudy = await stow(tbClerk, `/dicom-web/studies/${linked[0]!.studyInstanceUid}`, [other.file]);
  assert.equal(wrongStudy.status, 409, 'an instance of another study than the path names');
  assert.equal(wrongStudy.body['00081198'].Value[0]['00081197'].Value[0], 0xa900);
  assert.equal(await storedCount(), before + 1);
  // Issue 19: storage-db — in files or in the database's rows.
  const onDisk = (await storedObjects(h, 'images')).filter((o) => o.path.endsWith('.dcm')).length;
  assert.equal(onDisk, await storedCount(), 'no file without its index row');
});

test('STOW-RS refuses a stranger department, a missing CSRF token, a wrong media type and a body cut short', async () => {
  const inst = makeInstance({ rows: 8, columns: 8 });
  const before = await storedCount();
  const foreign = await stow(infHead, `/dicom-web/studies?department=${t.departments.TB}`, [inst.file]);
  assert.equal(foreign.status, 403);
  assert.ok((await audit('study.store')).some((e) => e.actor_id === infHead.id && e.outcome === 'denied'));
  const both = await t.user({
    memberships: [
      { departmentId: t.departments.TB!, role: 'clerk' },
      { departmentId: t.departments.INF!, role: 'clerk' },
    ],
  });
  const unnamed = await stow(both, '/dicom-web/studies', [inst.file]);
  assert.equal(unnamed.status, 422);
  assert.equal(unnamed.body.field, 'department');
  const noCsrf = await stow(tbClerk, '/dicom-web/studies', [inst.file], { 'x-csrf-token': 'wrong' });
  assert.equal(noCsrf.status, 403);
  assert.equal(noCsrf.body.code, 'csrf-missing');
  const json = await tbClerk.call('POST', '/dicom-web/studies', { not: 'dicom' });
  assert.equal(json.status, 415);
  const { body, headers } = stowBody([inst.file]);
  const cut = await tbClerk.call('POST', '/dicom-web/studies', body.subarray(0, body.length - 300), headers);
  assert.equal(cut.status, 400);
  assert.equal(await storedCount(), before, 'nothing stored');

  const token = await tbClerk.post('/api/auth/tokens', {
    name: 'uploader',
    scopes: ['dicomweb:store'],
    expiresInDays: 1,
  });
  const bearer = await stow(new Client(h), '/dicom-web/studies', [inst.file], {
    authorization: `Bearer ${token.body.token}`,
  });
  assert.equal(bearer.status, 200, 'a token needs no CSRF header');
  assert.equal(await storedCount(), before + 1);
  // A token for viewing does not store, though its owner may.
  const viewer = await tbClerk.post('/api/auth/tokens', {
    name: 'viewer only',
    scopes: ['dicomweb:read'],
    expiresInDays: 1,
  });
  const refused = await stow(new Client(h), '/dicom-web/studies', [inst.file], {
    authorization: `Bearer ${viewer.body.token}`,
  });
  assert.equal(refused.status, 403, 'a dicomweb:read token does not store');
  assert.equal(refused.body.code, 'token-scope');
  assert.equal(await storedCount(), before + 1);
});

test('WADO-RS of a JPEG instance: frames are the stored JPEG bytes, each frame its own; rendered frames are decoded', async () => {
  const sharp = (await import('sharp')).default;
  const grey = (level: number) =>
    sharp(Buffer.alloc(16 * 16, level), { raw: { width: 16, height: 16, channels: 1 } })
      .jpeg({ quality: 90 })
      .toBuffer();
  const jpegs = [await grey(30), await grey(200)];
  const inst = makeJpegInstance(jpegs, { rows: 16, columns: 16 });
  const stored = await stow(tbClerk, '/dicom-web/studies', [inst.file]);
  assert.equal(stored.status, 200, JSON.stringify(stored.body));

  for (const [i, jpeg] of jpegs.entries()) {
    const r = await tbClerk.call('GET', `${instanceUrl(inst)}/frames/${i + 1}`, undefined, {
      accept: 'multipart/related; type="image/jpeg"',
    });
    assert.equal(r.status, 200, r.raw.toString());
    const [frame] = parts(r);
    assert.equal(frame!.type, 'image/jpeg; transfer-syntax=1.2.840.10008.1.2.4.50');
    assert.ok(frame!.body.subarray(0, jpeg.length).equals(jpeg), `frame ${i + 1} is its own JPEG`);
  }
  assert.equal(
    (
      await tbClerk.call('GET', `${instanceUrl(inst)}/frames/1`, undefined, {
        accept: 'multipart/related; type="application/octet-stream"',
      })
    ).status,
    406,
    'no transcoding',
  );

  // The stored values go through the modality LUT (intercept −1024): 200 → −824, the centre of this window; 30 → −994, below it.
  const render = async (frame: number) => {
    const r = await tbClerk.call('GET', `${instanceUrl(inst)}/frames/${frame}/rendered?window=-824,256`, undefined, {
      accept: 'image/png',
    });
    assert.equal(r.status, 200, r.raw.toString());
    const pixels = await sharp(r.raw).greyscale().raw().toBuffer();
    assert.equal(pixels.length, 16 * 16);
    return pixels[100]!;
  };
  assert.ok(Math.abs((await render(2)) - 128) <= 8, 'frame 2 decoded: mid grey');
  assert.equal(await render(1), 0, 'frame 1 decoded: below the window');
});

// Compressed by DCMTK's own encoders; each instance has an uncompressed twin of the same pixels.
const COMPRESSIONS = [
  { name: 'RLE Lossless', tool: ['dcmcrle'], syntax: TransferSyntax.RleLossless, type: 'image/x-dicom-rle' },
  { name: 'JPEG Lossless SV1', tool: ['dcmcjpeg', '+e1'], syntax: TransferSyntax.JpegLosslessSv1, type: 'image/jpeg' },
  {
    name: 'JPEG Lossless, predictor 7',
    tool: ['dcmcjpeg', '+el', '+sv', '7'],
    syntax: TransferSyntax.JpegLossless,
    type: 'image/jpeg',
  },
];

for (const c of COMPRESSIONS) {
  test(`WADO-RS of a ${c.name} instance (DCMTK ${c.tool[0]}): frames as stored, rendered like its uncompressed twin`, async () => {
    const sharp = (await import('sharp')).default;
    const shape = { rows: 48, columns: 40, pixels: 'gradient' as const };
    const plain = makeInstance(shape);
    const twin = makeInstance(shape);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-codec-'));
    try {
      fs.writeFileSync(path.join(dir, 'plain.dcm'), twin.file);
      await promisify(execFile)(c.tool[0]!, [
        ...c.tool.slice(1),
        path.join(dir, 'plain.dcm'),
        path.join(dir, 'compressed.dcm'),
      ]);
      const compressed = { ...twin, file: fs.readFileSync(path.join(dir, 'compressed.dcm')) };
      for (const i of [plain, compressed])
        assert.equal((await stow(tbClerk, '/dicom-web/studies', [i.file])).status, 200);

      const frames = await tbClerk.call('GET', `${instanceUrl(compressed)}/frames/1`, undefined, {
        accept: `multipart/related; type="${c.type}"`,
      });
      assert.equal(frames.status, 200, frames.raw.toString());
      const [frame] = parts(frames);
      assert.equal(frame!.type, `${c.type}; transfer-syntax=${c.syntax}`);
      assert.ok(compressed.file.includes(frame!.body), 'the frame is the stored fragment');

      const rendered = async (i: TestInstance) => {
        const r = await tbClerk.call('GET', `${instanceUrl(i)}/rendered?window=1000,2000`, undefined, {
          accept: 'image/png',
        });
        assert.equal(r.status, 200, r.raw.toString());
        return sharp(r.raw).greyscale().raw().toBuffer();
      };
      const [fromPlain, fromCompressed] = [await rendered(plain), await rendered(compressed)];
      assert.equal(fromCompressed.length, 48 * 40);
      assert.ok(new Set(fromCompressed).size > 10, 'a gradient, not a flat picture');
      assert.ok(fromCompressed.equals(fromPlain), 'decoded to the same pixels as the uncompressed twin');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('WADO-RS under lying attributes and greedy requests: no crash, bounded work, refusals audited as such', async () => {
  const liar = makeInstance({ rows: 8, columns: 8, claimedFrames: 999_999_999 });
  assert.equal((await stow(tbClerk, '/dicom-web/studies', [liar.file])).status, 200);
  const meta = await tbClerk.get(`${instanceUrl(liar)}/metadata`);
  assert.equal(meta.status, 200, 'metadata of a lying instance is still sent');
  assert.equal(meta.body[0]['7FE00010'].BulkDataURI, instanceUrl(liar), 'too many frames to name: the instance itself');
  assert.equal((await tbClerk.get(`${instanceUrl(liar)}/frames/1`)).status, 406);
  assert.equal((await tbClerk.get(`${instanceUrl(liar)}/rendered`)).status, 406);

  const many = Array.from({ length: 101 }, (_, i) => i + 1).join(',');
  assert.equal((await tbClerk.get(`${instanceUrl(linked[0]!)}/frames/${many}`)).status, 422);
  const repeated = await tbClerk.call(
    'GET',
    `${instanceUrl(linked[0]!)}/frames/${Array(100).fill(1).join(',')}`,
    undefined,
    { accept: 'multipart/related; type="application/octet-stream"' },
  );
  assert.equal(parts(repeated).length, 1, 'a frame asked for twice is sent once');

  assert.equal((await tbClerk.get(`${instanceUrl(linked[0]!)}/frames/2`)).status, 404);
  const last = (await audit('study.read')).filter((e) => e.actor_id === tbClerk.id).at(-1)!;
  assert.equal(last.outcome, 'error', 'a frame the instance does not have is not audited as sent');
});

test('a QIDO-RS search puts into access reports only the files its page shows', async () => {
  const reported = async () =>
    (await audit('study.search')).filter((e) => e.actor_id === tbClerk.id && e.person_id === personId).length;
  const before = await reported();
  assert.equal((await tbClerk.get('/dicom-web/studies?PatientID=PID-2')).body.length, 1);
  assert.equal((await tbClerk.get('/dicom-web/studies?PatientID=PID-1&offset=1')).body.length, 0);
  assert.equal(await reported(), before, 'neither page showed the file');
  assert.equal((await tbClerk.get('/dicom-web/studies?PatientID=PID-1&limit=1')).body.length, 1);
  assert.equal(await reported(), before + 1);
});
