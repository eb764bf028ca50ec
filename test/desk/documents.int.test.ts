// Attachments and the mail-room over HTTP (issue 17): uploads of every accepted type, listed, downloaded
// (RFC 6266 name) and previewed (TIFF as PNG; a PDF under its own sandboxing CSP, other pages' CSP
// unchanged); refusals that leave nothing behind — wrong type, a name that does not match, too large
// (announced, not announced, announced falsely, and a flood of them); the policy (another department 404,
// a clerk may not delete, restricted documents, token scopes); the mail-room's assignment (parallel:
// exactly one wins); a person merge moves documents and its undo moves them back; at rest nothing of a
// PDF's text or a file's name is readable in the database or the data directory.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { sql } from 'kysely';
import sharp from 'sharp';
import { inTenantTransaction } from '../../src/db/connect.ts';
import {
  DIALECT,
  setUpTenant,
  startHarness,
  type Account,
  type Client,
  type Harness,
  type Tenant,
} from '../helpers/harness.ts';
import { storedObjects } from '../helpers/stored-objects.ts';
import { testDocx, testImage, testOdt, testPdf } from '../helpers/documents.ts';

type User = Client & Account;
let h: Harness;
let t: Tenant;
let INF: string;
let TB: string;
let clerk: User;
let clerk2: User;
let physician: User;
let head: User;
let tbPhysician: User;
let both: User;
const MB = 1024 * 1024;

before(async () => {
  h = await startHarness({ listen: true, env: { KARTEI_ATTACHMENT_MAX_MB: '1' } });
  t = await setUpTenant(h, ['INF', 'TB']);
  INF = t.departments.INF!;
  TB = t.departments.TB!;
  clerk = await t.user({ memberships: [{ departmentId: INF, role: 'clerk' }] });
  clerk2 = await t.user({ memberships: [{ departmentId: INF, role: 'clerk' }] });
  physician = await t.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
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
async function file(departmentId = INF, by: User = physician): Promise<string> {
  const r = await by.post('/api/persons', {
    departmentId,
    familyName: `Anhangsfeld${String.fromCharCode(97 + (seq++ % 26))}`,
    givenName: 'Hannelore',
    birthDate: '1961-04-17',
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id;
}

const put = (by: Client, url: string, bytes: Buffer, name: string, headers: Record<string, string> = {}) =>
  by.call('POST', url, bytes, {
    'content-type': 'application/octet-stream',
    'x-file-name': encodeURIComponent(name),
    ...headers,
  });
const upload = (by: Client, personId: string, bytes: Buffer, name: string, query = '') =>
  put(by, `/api/persons/${personId}/documents${query}`, bytes, name);

/** Every sealed document file now under the data directory (committed or temporary). */
/** Issue 19: storage-db — the documents' stored objects (files, or rows in PostgreSQL), by path. */
async function storedFiles(): Promise<string[]> {
  return (await storedObjects(h, 'documents')).map((o) => o.path);
}

const documentRows = () =>
  inTenantTransaction(h.services.store, t.tenantId, async (tx) => {
    const d = await tx
      .selectFrom('documents')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirst();
    const v = await tx
      .selectFrom('document_versions')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirst();
    return `${Number(d?.n)}/${Number(v?.n)}`;
  });

/** Runs `refusals` and checks that neither a file nor a row was left behind. */
async function leavesNothing(refusals: () => Promise<void>) {
  const files = await storedFiles();
  const rows = await documentRows();
  await refusals();
  assert.deepEqual(await storedFiles(), files, 'no file left behind');
  assert.equal(await documentRows(), rows, 'no row left behind');
}

test('every accepted type uploads, lists with who added it, downloads byte for byte and under its name', async () => {
  const personId = await file();
  const samples: [string, Buffer, string][] = [
    ['Befund März.pdf', testPdf('Befund'), 'application/pdf'],
    ['Röntgen.png', await testImage('png'), 'image/png'],
    ['Foto.JPG', await testImage('jpeg'), 'image/jpeg'],
    ['Scan.tiff', await testImage('tiff'), 'image/tiff'],
    ['Brief.docx', testDocx(), 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'],
    ['Notiz.odt', testOdt(), 'application/vnd.oasis.opendocument.text'],
  ];
  const ids: string[] = [];
  for (const [name, bytes] of samples) {
    const r = await upload(clerk, personId, bytes, name);
    assert.equal(r.status, 201, `${name}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.version, 1);
    ids.push(r.body.id);
  }
  const list = await clerk.get(`/api/persons/${personId}/documents`);
  assert.equal(list.status, 200);
  assert.equal(list.body.items.length, samples.length);
  assert.equal(list.body.maxBytes, MB);
  assert.deepEqual(list.body.permissions, { add: true, addRestricted: false, delete: false, deleteRestricted: false });
  for (const [i, [name, bytes, mediaType]] of samples.entries()) {
    const item = list.body.items.find((d: { id: string }) => d.id === ids[i]);
    assert.equal(item.fileName, name);
    assert.equal(item.title, name);
    assert.equal(item.mediaType, mediaType);
    assert.equal(item.size, bytes.length);
    assert.equal(item.kind, 'upload');
    assert.equal(item.createdByName, clerk.displayName);
    assert.equal(item.previewable, mediaType.startsWith('image/') || mediaType === 'application/pdf');
    const got = await clerk.get(`/api/documents/${ids[i]}/content`);
    assert.equal(got.status, 200);
    assert.deepEqual(got.raw, bytes);
    assert.equal(got.headers['content-type'], mediaType);
    assert.match(String(got.headers['content-disposition']), /^attachment; filename="[^"]+"; filename\*=UTF-8''/);
  }
  const pdf = await clerk.get(`/api/documents/${ids[0]}/content`);
  assert.equal(
    pdf.headers['content-disposition'],
    `attachment; filename="Befund Marz.pdf"; filename*=UTF-8''Befund%20M%C3%A4rz.pdf`,
  );
});

test('the preview: images as they are, TIFF as PNG, a PDF under its own sandboxing CSP; other pages keep theirs', async () => {
  const personId = await file();
  const pdfId = (await upload(clerk, personId, testPdf('Vorschau'), 'v.pdf')).body.id;
  const pngId = (await upload(clerk, personId, await testImage('png'), 'v.png')).body.id;
  const tiffId = (await upload(clerk, personId, await testImage('tiff', 40), 'v.tif')).body.id;
  const docxId = (await upload(clerk, personId, testDocx(), 'v.docx')).body.id;
  const standard = (await clerk.get(`/api/persons/${personId}/documents`)).headers['content-security-policy'];
  assert.match(String(standard), /frame-ancestors 'none'/);

  const pdf = await clerk.get(`/api/documents/${pdfId}/preview`);
  assert.equal(pdf.status, 200);
  assert.equal(pdf.headers['content-type'], 'application/pdf');
  assert.match(String(pdf.headers['content-disposition']), /^inline; /);
  const csp = String(pdf.headers['content-security-policy']);
  assert.match(csp, /(^|; )sandbox(;|$)/);
  assert.match(csp, /frame-ancestors 'self'/);
  assert.match(csp, /default-src 'none'/);
  assert.equal(pdf.headers['x-frame-options'], 'SAMEORIGIN');

  const png = await clerk.get(`/api/documents/${pngId}/preview`);
  assert.equal(png.headers['content-type'], 'image/png');
  assert.equal(png.headers['content-security-policy'], standard);
  assert.equal(png.headers['x-frame-options'], 'DENY');

  const tiff = await clerk.get(`/api/documents/${tiffId}/preview`);
  assert.equal(tiff.status, 200);
  assert.equal(tiff.headers['content-type'], 'image/png');
  const meta = await sharp(tiff.raw).metadata();
  assert.equal(meta.format, 'png');
  assert.equal(meta.width, 40);

  const docx = await clerk.get(`/api/documents/${docxId}/preview`);
  assert.equal(docx.status, 415);
  // The web application's own pages keep the strict policy.
  const page = await clerk.get('/');
  if (page.status === 200) assert.match(String(page.headers['content-security-policy']), /frame-ancestors 'none'/);
});

test('a type not accepted, a legacy office file and an empty body are refused, leaving nothing behind', async () => {
  const personId = await file();
  await leavesNothing(async () => {
    const text = await upload(clerk, personId, Buffer.from('Nur Text, kein PDF'), 'befund.pdf');
    assert.equal(text.status, 415);
    assert.equal(text.body.code, 'unsupported-media-type');
    assert.deepEqual(text.body.errors, [{ field: 'body', code: 'file-type-refused', params: { detected: 'unknown' } }]);
    const exe = await upload(clerk, personId, Buffer.concat([Buffer.from('MZ'), Buffer.alloc(4096)]), 'tool.exe');
    assert.equal(exe.status, 415);
    const cfb = Buffer.alloc(4096);
    Buffer.from('d0cf11e0a1b11ae1', 'hex').copy(cfb);
    const doc = await upload(clerk, personId, cfb, 'alt.doc');
    assert.equal(doc.status, 415);
    assert.equal(doc.body.errors[0].params.detected, 'cfb');
    const empty = await upload(clerk, personId, Buffer.alloc(0), 'leer.pdf');
    assert.equal(empty.status, 422);
  });
});

test('a name whose extension does not match the content is refused naming both', async () => {
  const personId = await file();
  await leavesNothing(async () => {
    const r = await upload(clerk, personId, await testImage('jpeg'), 'befund.pdf');
    assert.equal(r.status, 422);
    assert.equal(r.body.field, 'fileName');
    assert.deepEqual(r.body.errors, [
      { field: 'fileName', code: 'file-name-mismatch', params: { extension: 'pdf', detected: 'JPEG' } },
    ]);
    assert.doesNotMatch(r.body.detail, /befund/);
    const noName = await put(clerk, `/api/persons/${personId}/documents`, testPdf('x'), '');
    assert.equal(noName.status, 422);
    assert.equal(noName.body.field, 'fileName');
  });
  // A name without an extension gets the content's.
  const plain = await upload(clerk, personId, testPdf('ohne'), 'Befund');
  assert.equal(plain.status, 201);
  const list = await clerk.get(`/api/persons/${personId}/documents`);
  assert.equal(list.body.items.find((d: { id: string }) => d.id === plain.body.id).fileName, 'Befund.pdf');
});

/** A raw HTTP request on the server's socket: headers as given, the body as given (chunked or not). */
function rawRequest(pathname: string, headers: Record<string, string>, body: Buffer, by: Client): Promise<number> {
  const url = new URL(h.url!);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: pathname,
        headers: { cookie: `kartei_session=${by.cookie}`, 'x-csrf-token': by.csrf!, ...headers },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) =>
      e.code === 'ECONNRESET' || e.code === 'EPIPE' ? resolve(413) : reject(e),
    );
    // In pieces, as a browser sends a large file.
    for (let at = 0; at < body.length; at += 64 * 1024) req.write(body.subarray(at, at + 64 * 1024));
    req.end();
  });
}

test('too large: announced, not announced (chunked), announced falsely, and a flood of parallel ones — nothing left behind', async () => {
  const personId = await file();
  const big = Buffer.concat([testPdf('gross'), Buffer.alloc(MB + 10)]);
  await leavesNothing(async () => {
    const announced = await upload(clerk, personId, big, 'gross.pdf');
    assert.equal(announced.status, 413);
    assert.deepEqual(announced.body.errors, [{ field: 'body', code: 'file-too-large', params: { maxMb: 1 } }]);
    // No length given: counted as it streams.
    const chunked = await rawRequest(
      `/api/persons/${personId}/documents`,
      { 'content-type': 'application/octet-stream', 'x-file-name': 'gross.pdf', 'transfer-encoding': 'chunked' },
      big,
      clerk,
    );
    assert.equal(chunked, 413);
    // A length that claims less than is sent: the bytes are counted, not the claim.
    const lying = await clerk.call('POST', `/api/persons/${personId}/documents`, big, {
      'content-type': 'application/octet-stream',
      'x-file-name': 'gross.pdf',
      'content-length': '1000',
    });
    assert.equal(lying.status, 413);
    const flood = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        rawRequest(
          `/api/persons/${personId}/documents`,
          {
            'content-type': 'application/octet-stream',
            'x-file-name': `flut-${i}.pdf`,
            'transfer-encoding': 'chunked',
          },
          big,
          i % 2 ? clerk : clerk2,
        ),
      ),
    );
    assert.deepEqual(flood, Array(12).fill(413));
  });
  // Just under the limit is fine, and so are many small ones at once.
  const fits = await upload(clerk, personId, Buffer.concat([testPdf('passt'), Buffer.alloc(MB - 2000)]), 'passt.pdf');
  assert.equal(fits.status, 201);
  const many = await Promise.all(
    Array.from({ length: 10 }, (_, i) => upload(clerk, personId, testPdf(`${i}`), `${i}.pdf`)),
  );
  assert.deepEqual(
    many.map((r) => r.status),
    Array(10).fill(201),
  );
  assert.equal((await clerk.get(`/api/persons/${personId}/documents`)).body.items.length, 11);
});

test("policy: another department's file and document are 404, a clerk may not delete, restricted is for physicians", async () => {
  const personId = await file();
  const docId = (await upload(clerk, personId, testPdf('Politik'), 'p.pdf')).body.id;
  // Another department: the file and the document are not there, not even for an upload (decided before the body is read).
  assert.equal((await tbPhysician.get(`/api/persons/${personId}/documents`)).status, 404);
  assert.equal((await tbPhysician.get(`/api/documents/${docId}/content`)).status, 404);
  assert.equal((await tbPhysician.get(`/api/documents/${docId}/preview`)).status, 404);
  assert.equal((await tbPhysician.del(`/api/documents/${docId}`, { reason: 'Fremde Akte löschen' })).status, 404);
  await leavesNothing(async () => {
    assert.equal((await upload(tbPhysician, personId, testPdf('fremd'), 'f.pdf')).status, 404);
    assert.equal((await upload(t.admin, personId, testPdf('admin'), 'a.pdf')).status, 404);
  });
  // A clerk adds and reads, but does not delete; a physician deletes with a reason.
  const refused = await clerk.del(`/api/documents/${docId}`, { reason: 'Versehentlich hochgeladen' });
  assert.equal(refused.status, 403);
  assert.equal((await physician.del(`/api/documents/${docId}`, { reason: 'kurz' })).status, 422);
  assert.equal((await physician.del(`/api/documents/${docId}`, { reason: 'Versehentlich hochgeladen' })).status, 204);
  assert.equal((await clerk.get(`/api/documents/${docId}/content`)).status, 404);
  assert.equal((await clerk.get(`/api/persons/${personId}/documents`)).body.items.length, 0);
  const kept = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .selectFrom('documents')
      .select(['deleted_by', 'retain_until', 'delete_reason_enc'])
      .where('id', '=', docId)
      .executeTakeFirstOrThrow(),
  );
  assert.equal(kept.deleted_by, physician.id);
  assert.ok(kept.retain_until! > new Date().toISOString());
  assert.ok(!Buffer.from(kept.delete_reason_enc!).includes(Buffer.from('Versehentlich')));
  // Restricted: a clerk may neither add nor read one; a physician may.
  await leavesNothing(async () => {
    assert.equal((await upload(clerk, personId, testPdf('geheim'), 'g.pdf', '?sensitivity=restricted')).status, 403);
  });
  const restricted = await upload(physician, personId, testPdf('geheim'), 'g.pdf', '?sensitivity=restricted');
  assert.equal(restricted.status, 201);
  assert.equal((await clerk.get(`/api/documents/${restricted.body.id}/content`)).status, 403);
  assert.equal((await physician.get(`/api/documents/${restricted.body.id}/content`)).status, 200);
  const clerkList = await clerk.get(`/api/persons/${personId}/documents`);
  assert.equal(clerkList.body.items[0].title, null);
  assert.equal(clerkList.body.items[0].fileName, null);
  assert.equal((await head.get(`/api/persons/${personId}/documents`)).body.items[0].fileName, 'g.pdf');
});

test('token scopes: records:read lists and downloads, records:write uploads, other scopes are refused', async () => {
  const personId = await file();
  const docId = (await upload(physician, personId, testPdf('Token'), 't.pdf')).body.id;
  const made = async (scopes: string[]) =>
    (await physician.post('/api/auth/tokens', { name: `d-${scopes.join('-')}`, scopes })).body.token as string;
  const read = await made(['records:read']);
  const write = await made(['records:write']);
  const dicom = await made(['dicomweb:read']);
  const as = (token: string) => ({ authorization: `Bearer ${token}`, cookie: '', 'x-csrf-token': '' });
  assert.equal((await physician.call('GET', `/api/persons/${personId}/documents`, undefined, as(read))).status, 200);
  assert.equal((await physician.call('GET', `/api/documents/${docId}/content`, undefined, as(read))).status, 200);
  const noList = await physician.call('GET', `/api/persons/${personId}/documents`, undefined, as(dicom));
  assert.equal(noList.status, 403);
  assert.equal(noList.body.code, 'token-scope');
  await leavesNothing(async () => {
    const noUpload = await put(physician, `/api/persons/${personId}/documents`, testPdf('x'), 'x.pdf', as(read));
    assert.equal(noUpload.status, 403);
    assert.equal(noUpload.body.code, 'token-scope');
  });
  assert.equal(
    (await put(physician, `/api/persons/${personId}/documents`, testPdf('x'), 'x.pdf', as(write))).status,
    201,
  );
});

test('the mail-room: upload, list, preview; assignment decided on the file; parallel assignment — exactly one wins', async () => {
  const scan = (await put(clerk, `/api/departments/${INF}/mailroom`, testPdf('Posteingang'), 'Scan 0815.pdf')).body;
  assert.equal(scan.version, 1);
  const list = await clerk.get(`/api/departments/${INF}/mailroom`);
  assert.equal(list.status, 200);
  const item = list.body.items.find((d: { id: string }) => d.id === scan.id);
  assert.equal(item.fileName, 'Scan 0815.pdf');
  assert.equal(item.personId, null);
  assert.deepEqual(list.body.permissions, { delete: false });
  assert.equal((await clerk.get(`/api/mailroom/${scan.id}/preview`)).status, 200);
  assert.deepEqual((await clerk.get(`/api/mailroom/${scan.id}/content`)).raw, testPdf('Posteingang'));
  // Another department: its list is forbidden, the scan is not there.
  assert.equal((await tbPhysician.get(`/api/departments/${INF}/mailroom`)).status, 403);
  assert.equal((await tbPhysician.get(`/api/mailroom/${scan.id}/content`)).status, 404);
  const a = await file();
  const b = await file();
  const tbFile = await file(TB, tbPhysician);
  assert.equal(
    (await tbPhysician.post(`/api/mailroom/${scan.id}/assign`, { personId: tbFile, version: 1 })).status,
    404,
  );
  // A file of another department, by someone who is a member of both: refused.
  const other = await both.post(`/api/mailroom/${scan.id}/assign`, { personId: tbFile, version: 1 });
  assert.equal(other.status, 422);
  assert.equal(other.body.errors[0].code, 'mailroom-other-department');
  // Two at once, to two files: one wins, the other is told.
  const [x, y] = await Promise.all([
    clerk.post(`/api/mailroom/${scan.id}/assign`, { personId: a, version: 1 }),
    clerk2.post(`/api/mailroom/${scan.id}/assign`, { personId: b, version: 1 }),
  ]);
  const statuses = [x.status, y.status].sort();
  assert.ok(
    JSON.stringify(statuses) === '[200,409]' || JSON.stringify(statuses) === '[200,404]',
    JSON.stringify([x.body, y.body]),
  );
  const winner = x.status === 200 ? a : b;
  const loser = winner === a ? b : a;
  const inWinner = await clerk.get(`/api/persons/${winner}/documents`);
  assert.equal(inWinner.body.items.length, 1);
  assert.equal(inWinner.body.items[0].fileName, 'Scan 0815.pdf');
  assert.deepEqual((await clerk.get(`/api/documents/${scan.id}/content`)).raw, testPdf('Posteingang'));
  assert.equal((await clerk.get(`/api/persons/${loser}/documents`)).body.items.length, 0);
  assert.ok(
    !(await clerk.get(`/api/departments/${INF}/mailroom`)).body.items.some((d: { id: string }) => d.id === scan.id),
  );
  // Assigned, it is no longer a mail-room item.
  const again = await clerk.post(`/api/mailroom/${scan.id}/assign`, { personId: loser, version: 1 });
  assert.equal(again.status, 404);
});

test('the mail-room: deleting a scan is for physicians and heads, with a reason; another department may not upload', async () => {
  const scan = (await put(clerk, `/api/departments/${INF}/mailroom`, await testImage('png'), 'Fax.png')).body;
  assert.equal((await clerk.del(`/api/mailroom/${scan.id}`, { reason: 'Irrläufer an anderes Amt' })).status, 403);
  assert.equal((await physician.del(`/api/mailroom/${scan.id}`, { reason: 'Irrläufer an anderes Amt' })).status, 204);
  assert.equal((await clerk.get(`/api/mailroom/${scan.id}/content`)).status, 404);
  await leavesNothing(async () => {
    assert.equal((await put(tbPhysician, `/api/departments/${INF}/mailroom`, testPdf('x'), 'x.pdf')).status, 403);
    assert.equal((await put(clerk, `/api/departments/${INF}/mailroom`, Buffer.from('kein Scan'), 'x.pdf')).status, 415);
  });
});

test("a person merge moves the absorbed file's documents and its undo moves them back, readable throughout", async () => {
  const survivor = await file();
  const absorbed = await file();
  const bytes = testPdf('Zusammenfuehrung');
  const docId = (await upload(clerk, absorbed, bytes, 'zf.pdf')).body.id;
  const merge = await clerk.post(`/api/persons/${survivor}/merge`, {
    absorbedId: absorbed,
    survivorVersion: 1,
    absorbedVersion: 1,
  });
  assert.equal(merge.status, 201, JSON.stringify(merge.body));
  const inSurvivor = await clerk.get(`/api/persons/${survivor}/documents`);
  assert.deepEqual(
    inSurvivor.body.items.map((d: { id: string; fileName: string }) => [d.id, d.fileName]),
    [[docId, 'zf.pdf']],
  );
  assert.deepEqual((await clerk.get(`/api/documents/${docId}/content`)).raw, bytes);
  const undo = await clerk.post(`/api/person-merges/${merge.body.id}/undo`, { version: merge.body.version });
  assert.equal(undo.status, 200, JSON.stringify(undo.body));
  assert.equal((await clerk.get(`/api/persons/${survivor}/documents`)).body.items.length, 0);
  assert.equal((await clerk.get(`/api/persons/${absorbed}/documents`)).body.items[0].id, docId);
  assert.deepEqual((await clerk.get(`/api/documents/${docId}/content`)).raw, bytes);
});

test('at rest: no PDF text and no file name in the database or under the data directory', async () => {
  const secrets = ['Kavernenbefund Wurzelsepp', 'Wurzelsepp-Lungenbild.pdf', 'Posteingang-Wurzelsepp.pdf'];
  const personId = await file();
  assert.equal((await upload(clerk, personId, testPdf(secrets[0]!), secrets[1]!)).status, 201);
  assert.equal((await put(clerk, `/api/departments/${INF}/mailroom`, testPdf(secrets[0]!), secrets[2]!)).status, 201);
  if (DIALECT === 'sqlite') await sql`PRAGMA wal_checkpoint(FULL)`.execute(h.services.store.db);
  const walk = (dir: string): string[] =>
    fs
      .readdirSync(dir, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
  const files = walk(h.config.dataDir);
  const objects = await storedObjects(h, 'documents');
  assert.ok(objects.length > 0);
  for (const [f, bytes] of [
    ...files.map((f) => [f, fs.readFileSync(f)] as const),
    ...objects.map((o) => [o.path, o.bytes] as const),
  ]) {
    for (const s of secrets)
      for (const enc of ['utf8', 'utf16le'] as const) assert.ok(!bytes.includes(Buffer.from(s, enc)), `${s} in ${f}`);
  }
  // The control: the same scan finds what is stored in clear.
  if (DIALECT === 'sqlite')
    assert.ok(fs.readFileSync(path.join(h.config.dataDir, 'kartei.sqlite')).includes(Buffer.from('application/pdf')));
});
