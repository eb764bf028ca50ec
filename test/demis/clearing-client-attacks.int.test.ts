// Attacks on the DEMIS client from the network path (a fake server with a certificate of the test CA):
// an answer trickled byte by byte (slowloris) ends at the client's deadline, not never; a token
// endpoint answering a huge token is refused before the token is sent anywhere; a redirect (to
// http or elsewhere) is not followed; a next page on another host is not asked for; a server's
// body (which may echo the secret) never shows in a failure's text.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ClearingClient, DemisFailure, MAX_TOKEN_CHARS } from '../../src/demis/connection/clearing-client.ts';
import { testCa, testCertificate, type TestCert } from '../helpers/certificates.ts';

let server: https.Server;
let base: string;
let office: TestCert;
let handler: (req: IncomingMessage, res: ServerResponse) => void = (_q, res) => res.end();
const seen: string[] = [];
const SECRET = 'geheimes-client-secret-1234567890';

before(async () => {
  const own = testCertificate('fake-demis');
  office = testCertificate('office-attack');
  server = https.createServer({ cert: own.cert, key: own.key, ca: testCa().cert, requestCert: true }, (req, res) => {
    seen.push(req.url ?? '');
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const client = (timeoutMs = 600) =>
  new ClearingClient(
    {
      tokenUrl: `${base}/token`,
      clearingUrl: `${base}/fhir`,
      clientId: 'kartei',
      clientSecret: SECRET,
      username: '1.01.0.53.',
      password: null,
      certificate: office.cert,
      privateKey: office.key,
    },
    { ca: [testCa().cert], timeoutMs },
  );

async function failure(p: Promise<unknown>): Promise<DemisFailure> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof DemisFailure, String(e));
    return e;
  }
  assert.fail('expected a DemisFailure');
}

test('an answer trickled one byte at a time ends at the deadline as a timeout', { timeout: 30_000 }, async () => {
  const timers: NodeJS.Timeout[] = [];
  handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{');
    // Each byte well inside the idle timeout: only an overall deadline ends this.
    const tick = setInterval(() => res.write(' '), 100);
    timers.push(tick);
    res.on('close', () => clearInterval(tick));
  };
  const c = client(600);
  try {
    const f = await failure(c.token());
    assert.equal(f.kind, 'timeout', f.message);
  } finally {
    c.close();
    for (const t of timers) clearInterval(t);
  }
});

test('a huge access token is refused, and is never sent on', async () => {
  const huge = 'x'.repeat(MAX_TOKEN_CHARS + 1);
  handler = (req, res) => {
    if (req.url === '/token') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: huge }));
    } else res.end('{}');
  };
  const c = client();
  try {
    const f = await failure(c.token());
    assert.equal(f.kind, 'protocol');
    assert.ok(f.message.length < 200);
  } finally {
    c.close();
  }
});

test('a redirect (to http) is not followed; a next page on another host is not asked for', async () => {
  seen.length = 0;
  handler = (_req, res) => {
    res.writeHead(302, { location: 'http://127.0.0.1:1/steal' });
    res.end();
  };
  const c = client();
  try {
    const f = await failure(c.page(`${base}/fhir/Binary`, 'tok'));
    assert.equal(f.kind, 'protocol');
    assert.deepEqual(seen, ['/fhir/Binary']);
    const other = await failure(c.page('https://localhost:9/fhir/Binary?_offset=2', 'tok'));
    assert.equal(other.kind, 'protocol');
    const http = await failure(c.page(`${base.replace('https', 'http')}/fhir/Binary`, 'tok'));
    assert.equal(http.kind, 'protocol');
    assert.deepEqual(seen, ['/fhir/Binary'], 'nothing asked of another origin');
  } finally {
    c.close();
  }
});

test("a server's body (echoing the secret) never shows in a failure's text", async () => {
  for (const status of [400, 401, 500]) {
    handler = (_req, res) => {
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(`you sent client_secret=${SECRET}`);
    };
    const c = client();
    try {
      const f = await failure(c.token());
      assert.ok(!f.message.includes(SECRET), f.message);
      assert.ok(!f.message.includes('client_secret'), f.message);
    } finally {
      c.close();
    }
  }
  handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(`{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Binary","id":"${SECRET}!"}}]}`);
  };
  const c = client();
  try {
    const f = await failure(c.page(`${base}/fhir/Binary`, 'tok'));
    assert.ok(!f.message.includes(SECRET), f.message);
  } finally {
    c.close();
  }
});
