// Attacks on the DEMIS poll from the network path: a fake clearing API whose `next` link points back
// at a page already read (or pages on for ever) ends the poll as a protocol failure that is kept
// and backed off, instead of keeping the poll busy until the server stops.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { startHarness, setUpTenant, type Harness, type Tenant } from '../helpers/harness.ts';
import { testCa, testCertificate } from '../helpers/certificates.ts';

let h: Harness;
let t: Tenant;
let server: https.Server;
let base: string;
let pagesAsked = 0;
let endless = false;

before(async () => {
  const own = testCertificate('fake-demis-loop');
  server = https.createServer({ cert: own.cert, key: own.key, ca: testCa().cert, requestCert: true }, (req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url?.startsWith('/token')) return res.end(JSON.stringify({ access_token: 'tok', expires_in: 300 }));
    pagesAsked++;
    // Empty pages whose next link is the same page again, or always one further.
    const next = endless ? `${base}/fhir/Binary?_offset=${pagesAsked}` : `${base}/fhir/Binary?_offset=0`;
    res.end(
      JSON.stringify({ resourceType: 'Bundle', type: 'searchset', entry: [], link: [{ relation: 'next', url: next }] }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  h = await startHarness({
    env: { KARTEI_DEMIS_CA_FILE: testCa().certFile },
    demis: { tickMs: 3_600_000, timeoutMs: 2_000, backoff: { baseMs: 60_000, maxMs: 600_000 }, random: () => 0.5 },
  });
  t = await setUpTenant(h, ['INF']);
  const office = testCertificate('amt-loop', { key: 'rsa:2048' });
  const r = await t.admin.put('/api/admin/demis', {
    tokenUrl: `${base}/token`,
    clearingUrl: `${base}/fhir`,
    clientId: 'kartei-test',
    clientSecret: 'ein-geheimnis-fuer-den-test',
    username: '1.01.0.53.',
    certificate: office.cert,
    privateKey: office.key,
    departmentId: t.departments.INF,
    pollIntervalMinutes: 5,
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
});
after(async () => {
  await h?.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

test('a next link back to a page already read ends the poll as a protocol failure', { timeout: 60_000 }, async () => {
  pagesAsked = 0;
  const r = await t.admin.post('/api/admin/demis/poll');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.ok, false);
  assert.equal(r.body.failure, 'protocol');
  assert.ok(pagesAsked <= 3, `pages asked: ${pagesAsked}`);
});

test('next links that never end stop at the poll’s page limit as a protocol failure', {
  timeout: 300_000,
}, async () => {
  endless = true;
  pagesAsked = 0;
  const r = await t.admin.post('/api/admin/demis/poll');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.ok, false);
  assert.equal(r.body.failure, 'protocol');
  assert.ok(pagesAsked > 3 && pagesAsked <= 2_001, `pages asked: ${pagesAsked} ${JSON.stringify(r.body)}`);
});
