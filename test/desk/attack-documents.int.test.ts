// Attacks on attachments and the mail-room (issue 17): a file name carrying a right-to-left override (the
// list would show "Befundfdp.png" for a PDF), header injection through the name into Content-Disposition,
// an SVG or HTML page renamed .png, an HTML page that starts like a PDF (served sandboxed, never as HTML),
// a TIFF past the preview's pixel limit, and an upload cut off mid-body (no temporary file stays behind).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import sharp from 'sharp';
import { testPdf } from '../helpers/documents.ts';
import { setUpTenant, startHarness, type Account, type Client, type Harness, type Tenant } from '../helpers/harness.ts';
import { storedObjects } from '../helpers/stored-objects.ts';

type User = Client & Account;
let h: Harness;
let t: Tenant;
let INF: string;
let clerk: User;

before(async () => {
  h = await startHarness({ listen: true, env: { KARTEI_ATTACHMENT_MAX_MB: '2' } });
  t = await setUpTenant(h, ['INF', 'TB']);
  INF = t.departments.INF!;
  clerk = await t.user({ memberships: [{ departmentId: INF, role: 'clerk' }] });
});
after(() => h.close());

async function file(): Promise<string> {
  const r = await clerk.post('/api/persons', {
    departmentId: INF,
    familyName: 'Angriffsfeld',
    givenName: 'Helga',
    birthDate: '1960-01-02',
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id;
}

const upload = (personId: string, bytes: Buffer, name: string) =>
  clerk.call('POST', `/api/persons/${personId}/documents`, bytes, {
    'content-type': 'application/octet-stream',
    'x-file-name': encodeURIComponent(name),
  });

/** Issue 19: storage-db — the documents' stored objects (files, or rows in PostgreSQL), by path. */
async function storedFiles(): Promise<string[]> {
  return (await storedObjects(h, 'documents')).map((o) => o.path);
}

test('a name with a bidirectional override or isolate (spoofing its extension in the list) is refused', async () => {
  const personId = await file();
  for (const name of ['Befund\u202Egnp.pdf', 'Befund\u2067fdp\u2069.pdf', 'Befund\u202Bx.pdf', 'Befund\u200Fx.pdf']) {
    const r = await upload(personId, testPdf('Spoof'), name);
    assert.equal(r.status, 422, `${JSON.stringify(name)}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.field, 'fileName');
  }
  const titled = await clerk.call(
    'POST',
    `/api/persons/${personId}/documents?title=${encodeURIComponent('Befund\u202Egnp.pdf')}`,
    testPdf('Titel'),
    { 'content-type': 'application/octet-stream', 'x-file-name': 'befund.pdf' },
  );
  assert.equal(titled.status, 422, JSON.stringify(titled.body));
  assert.equal(titled.body.field, 'querystring.title');
  // Right-to-left script itself is a name like any other.
  assert.equal((await upload(personId, testPdf('Arabisch'), 'تقرير.pdf')).status, 201);
});

test('a name cannot inject a header or a second filename into Content-Disposition', async () => {
  const personId = await file();
  const refused = await upload(personId, testPdf('Kopf'), 'a.pdf\r\nSet-Cookie: x=1');
  assert.equal(refused.status, 422);
  const r = await upload(personId, testPdf('Kopf'), 'x"; filename="evil.html.pdf');
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const d = await clerk.get(`/api/documents/${r.body.id}/content`);
  const cd = String(d.headers['content-disposition']);
  // Exactly one quoted ASCII fallback (no quote inside it) and one percent-encoded exact name: nothing more.
  assert.match(cd, /^attachment; filename="[^"\\\r\n]*"; filename\*=UTF-8''[A-Za-z0-9%._~!$&+^`|#-]*$/, cd);
  assert.equal(d.headers['x-content-type-options'], 'nosniff');
});

test('an SVG or an HTML page renamed .png is refused; an HTML page starting like a PDF is only ever a sandboxed PDF', async () => {
  const personId = await file();
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
  assert.equal((await upload(personId, svg, 'bild.png')).status, 415);
  assert.equal((await upload(personId, Buffer.from('<html><script>alert(1)</script></html>'), 'x.png')).status, 415);
  const poly = Buffer.concat([
    Buffer.from('%PDF-1.4\n<html><body><script>alert(document.cookie)</script>'),
    testPdf('x'),
  ]);
  const up = await upload(personId, poly, 'poly.pdf');
  assert.equal(up.status, 201, JSON.stringify(up.body));
  for (const how of ['content', 'preview']) {
    const r = await clerk.get(`/api/documents/${up.body.id}/${how}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/pdf');
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    if (how === 'content') assert.match(String(r.headers['content-disposition']), /^attachment; /);
    else assert.match(String(r.headers['content-security-policy']), /(^|; )sandbox(;|$)/);
  }
});

test('a TIFF past the preview’s pixel limit uploads, downloads, and its preview is refused clearly (no 500)', async () => {
  const personId = await file();
  const tiff = await sharp({
    create: { width: 10_100, height: 10_000, channels: 3, background: '#ffffff' },
    limitInputPixels: false,
  })
    .tiff({ compression: 'deflate' })
    .toBuffer();
  const up = await upload(personId, tiff, 'gross.tif');
  assert.equal(up.status, 201, JSON.stringify(up.body));
  const r = await clerk.get(`/api/documents/${up.body.id}/preview`);
  assert.ok(r.status === 415 || r.status === 422, `${r.status} ${JSON.stringify(r.body)}`);
  assert.equal((await clerk.get(`/api/documents/${up.body.id}/content`)).status, 200);
});

test('an upload cut off mid-body leaves no temporary file behind', async () => {
  const personId = await file();
  const before = await storedFiles();
  const url = new URL(h.url!);
  await new Promise<void>((resolve) => {
    const req = http.request({
      host: url.hostname,
      port: url.port,
      method: 'POST',
      path: `/api/persons/${personId}/documents`,
      headers: {
        cookie: `kartei_session=${clerk.cookie}`,
        'x-csrf-token': clerk.csrf!,
        'content-type': 'application/octet-stream',
        'x-file-name': 'abgebrochen.pdf',
        'content-length': String(1024 * 1024),
      },
    });
    req.on('error', () => resolve());
    req.write(Buffer.concat([testPdf('Abbruch'), Buffer.alloc(300 * 1024)]));
    // The body has begun streaming into a sealed temporary file; then the connection goes.
    setTimeout(() => {
      req.destroy();
      resolve();
    }, 300);
  });
  for (let i = 0; i < 50 && (await storedFiles()).length !== before.length; i++)
    await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(await storedFiles(), before, 'the cut-off upload left nothing');
});
