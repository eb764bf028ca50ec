// Slow request bodies (slowloris, src/http/slow-bodies.ts): an upload whose body trickles in is cut off and
// leaves no temporary file behind; an ordinary large upload still passes. The window is shortened for the test.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { testPdf } from '../helpers/documents.ts';
import { setUpTenant, startHarness, type Account, type Client, type Harness } from '../helpers/harness.ts';

let h: Harness;
let clerk: Client & Account;
let personId: string;

before(async () => {
  h = await startHarness({
    listen: true,
    // The files store: this test looks for its temporary files (the database store's cut-off writes are
    // test/vault/sealed-store-contract.int.test.ts's).
    env: { KARTEI_ATTACHMENT_MAX_MB: '8', KARTEI_STORAGE: 'files' },
    bodyRate: { windowMs: 500, minBytes: 4096 },
  });
  const t = await setUpTenant(h, ['INF']);
  clerk = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'clerk' }] });
  const r = await clerk.post('/api/persons', {
    departmentId: t.departments.INF!,
    familyName: 'Tröpfel',
    givenName: 'Ida',
    birthDate: '1970-03-04',
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  personId = r.body.id;
});
after(() => h.close());

function storedFiles(): string[] {
  const walk = (dir: string): string[] =>
    fs.existsSync(dir)
      ? fs
          .readdirSync(dir, { withFileTypes: true })
          .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]))
      : [];
  return walk(path.join(h.config.dataDir, 'documents')).sort();
}

test('a trickled upload body is cut off and leaves no temporary file', async () => {
  const before = storedFiles();
  const url = new URL(h.url!);
  let sawTemporary = false;
  const outcome = await new Promise<string>((resolve) => {
    const req = http.request({
      host: url.hostname,
      port: url.port,
      method: 'POST',
      path: `/api/persons/${personId}/documents`,
      headers: {
        cookie: `kartei_session=${clerk.cookie}`,
        'x-csrf-token': clerk.csrf!,
        'content-type': 'application/octet-stream',
        'x-file-name': 'tropfen.pdf',
        'content-length': String(1024 * 1024),
      },
    });
    // Ten bytes every 100 ms after a first chunk: far below 4 KiB per 500 ms.
    req.write(Buffer.concat([testPdf('Tropfen'), Buffer.alloc(64 * 1024)]));
    const drip = setInterval(() => {
      if (storedFiles().some((f) => f.includes('.tmp-'))) sawTemporary = true;
      req.write(Buffer.alloc(10));
    }, 100);
    const giveUp = setTimeout(() => finish('still open'), 15_000);
    const finish = (how: string) => {
      clearInterval(drip);
      clearTimeout(giveUp);
      req.destroy();
      resolve(how);
    };
    req.on('error', () => finish('cut off'));
    req.on('close', () => finish('cut off'));
    req.on('response', (res) => finish(`answered ${res.statusCode}`));
  });
  assert.equal(outcome, 'cut off');
  assert.ok(sawTemporary, 'the body had begun streaming into a temporary file');
  for (let i = 0; i < 50 && storedFiles().length !== before.length; i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(storedFiles(), before, 'the cut-off upload left nothing');
});

test('an ordinary large upload still passes the rule', async () => {
  const bytes = Buffer.concat([testPdf('Gross'), Buffer.alloc(6 * 1024 * 1024)]);
  // Over the socket (not inject), so the rule watches it.
  const r = await fetch(new URL(`/api/persons/${personId}/documents`, h.url), {
    method: 'POST',
    body: bytes,
    headers: {
      cookie: `kartei_session=${clerk.cookie}`,
      'x-csrf-token': clerk.csrf!,
      'content-type': 'application/octet-stream',
      'x-file-name': 'gross.pdf',
    },
  });
  assert.equal(r.status, 201, await r.text());
});
