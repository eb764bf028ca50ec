// Attacks on WADO-RS freeing decrypted pieces once the response has written
// them (issue 18: multipart.ts with `pending`, plaintext-pieces.ts). The
// estimate "handed on − still in the stream − response.writableLength" must
// never free a piece the socket has yet to send: with slow clients over HTTP
// and HTTPS, with two requests pipelined on one connection (the second's
// response is buffered before it has a socket), with HEAD, and with a client
// that goes away mid-study. Every byte a client receives must be its study's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify from 'fastify';
import { freeWhenSent, multipartRelated, type Part } from '../../src/imaging/dicomweb-codec/multipart.ts';
import { testCertificate } from '../helpers/certificates.ts';

function pattern(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafeSlow(size);
  for (let i = 0; i < size; i++) b[i] = (seed * 29 + i * 11 + (i >> 12)) & 0xff;
  return b;
}

/** A study's parts as the route makes them: decrypted pieces of their own, releasable. */
function study(id: number, instances = 3, pieces = 9) {
  const bodies = Array.from({ length: instances }, (_, i) =>
    Array.from({ length: pieces }, (_, k) => pattern(k === 0 ? 4097 : 262_144 + k, id * 1000 + i * 10 + k)),
  );
  // Copies taken now: the pieces themselves are wiped and freed once sent.
  const copies = bodies.map((b) => b.map((p) => Buffer.from(p)));
  const expected = (boundary: string) =>
    Buffer.concat([
      ...copies.flatMap((b) => [
        Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`),
        ...b,
        Buffer.from('\r\n'),
      ]),
      Buffer.from(`--${boundary}--\r\n`),
    ]);
  /** Every piece the responses were given: each must end up freed (its memory detached). */
  const made: Buffer[] = [];
  // Each response decrypts afresh, as the route does: pieces of its own, never shared between responses.
  const parts = (): Part[] =>
    copies.map((b) => ({
      contentType: 'application/dicom',
      body: (async function* () {
        for (const c of b) {
          const p = Buffer.allocUnsafeSlow(c.length);
          c.copy(p);
          made.push(p);
          yield p;
          await sleep(0);
        }
      })(),
      releasable: true,
    }));
  return { expected, parts, made };
}

type Study = ReturnType<typeof study>;

function handler(studies: Map<string, Study>) {
  return (req: http.IncomingMessage, res: http.ServerResponse) => {
    const s = studies.get(req.url!)!;
    const m = multipartRelated('application/dicom', s.parts(), {
      pending: () => (res.destroyed ? Infinity : res.writableLength),
    });
    res.setHeader('content-type', m.contentType);
    freeWhenSent(res, m);
    m.stream.pipe(res);
  };
}

/** Every piece of the study's responses has been wiped and freed (waits for the responses' 'finish'). */
async function allFreed(s: Study, what: string) {
  for (let i = 0; i < 100 && s.made.some((p) => p.buffer.byteLength > 0); i++) await sleep(10);
  const left = s.made.filter((p) => p.buffer.byteLength > 0).length;
  assert.equal(left, 0, `${what}: ${left} of ${s.made.length} decrypted pieces not freed after the response`);
}

const boundaryOf = (contentType: string) => /boundary=([^;]+)/.exec(contentType)![1]!;

/** GETs slowly (pausing between reads) and returns the content type and body. */
async function slowGet(url: string, secure: boolean): Promise<{ type: string; body: Buffer }> {
  const get = secure ? https.get : http.get;
  const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
    get(url, { rejectUnauthorized: false, agent: false }, resolve).on('error', reject),
  );
  res.pause();
  await sleep(100); // the server's writes back up
  const chunks: Buffer[] = [];
  res.on('data', (d: Buffer) => {
    chunks.push(d);
    res.pause();
    setTimeout(() => res.resume(), 1);
  });
  res.resume();
  await once(res, 'end');
  return { type: res.headers['content-type']!, body: Buffer.concat(chunks) };
}

async function serve(secure: boolean, studies: Map<string, Study>) {
  const c = secure ? testCertificate('attack-multipart') : undefined;
  const server = c
    ? https.createServer({ key: fs.readFileSync(c.keyFile), cert: fs.readFileSync(c.certFile) }, handler(studies))
    : http.createServer(handler(studies));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return { server, base: `${secure ? 'https' : 'http'}://127.0.0.1:${port}`, port };
}

for (const secure of [false, true])
  test(`attack: two studies at once to slow clients, byte for byte (${secure ? 'HTTPS' : 'HTTP'})`, {
    timeout: 120_000,
  }, async () => {
    const studies = new Map([
      ['/a', study(1)],
      ['/b', study(2)],
    ]);
    const { server, base } = await serve(secure, studies);
    try {
      const [a, b] = await Promise.all([slowGet(`${base}/a`, secure), slowGet(`${base}/b`, secure)]);
      assert.ok(a.body.equals(studies.get('/a')!.expected(boundaryOf(a.type))), 'study a');
      assert.ok(b.body.equals(studies.get('/b')!.expected(boundaryOf(b.type))), 'study b');
      await allFreed(studies.get('/a')!, 'study a');
      await allFreed(studies.get('/b')!, 'study b');
    } finally {
      server.close();
    }
  });

test('attack: two requests pipelined on one connection: the second response is buffered before it has the socket', {
  timeout: 120_000,
}, async () => {
  const studies = new Map([
    ['/a', study(3)],
    ['/b', study(4)],
  ]);
  const { server, port } = await serve(false, studies);
  try {
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    socket.pause();
    await sleep(300); // both responses are produced while nothing is read
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.resume();
    await once(socket, 'end');
    const raw = Buffer.concat(chunks);
    // Two chunked responses one after the other: undo the chunking of each.
    const bodies: { type: string; body: Buffer }[] = [];
    let at = 0;
    while (at < raw.length) {
      const headEnd = raw.indexOf('\r\n\r\n', at);
      const head = raw.subarray(at, headEnd).toString('latin1');
      const type = /content-type: ([^\r\n]+)/i.exec(head)![1]!;
      at = headEnd + 4;
      const parts: Buffer[] = [];
      for (;;) {
        const lineEnd = raw.indexOf('\r\n', at);
        const size = Number.parseInt(raw.subarray(at, lineEnd).toString('latin1'), 16);
        at = lineEnd + 2;
        if (size === 0) {
          at += 2;
          break;
        }
        parts.push(raw.subarray(at, at + size));
        at += size + 2;
      }
      bodies.push({ type, body: Buffer.concat(parts) });
    }
    assert.equal(bodies.length, 2);
    assert.ok(bodies[0]!.body.equals(studies.get('/a')!.expected(boundaryOf(bodies[0]!.type))), 'first response');
    assert.ok(bodies[1]!.body.equals(studies.get('/b')!.expected(boundaryOf(bodies[1]!.type))), 'second response');
    await allFreed(studies.get('/a')!, 'first response');
    await allFreed(studies.get('/b')!, 'second response');
  } finally {
    server.close();
  }
});

test('attack: a client gone mid-study has its pieces freed, then the next study is whole; HEAD sends no body and breaks nothing', {
  timeout: 120_000,
}, async () => {
  const studies = new Map([
    ['/a', study(5)],
    ['/b', study(6)],
  ]);
  const { server, base, port } = await serve(true, studies);
  try {
    const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
      https.get(`${base}/a`, { rejectUnauthorized: false, agent: false }, resolve).on('error', reject),
    );
    res.pause();
    await sleep(100);
    res.destroy();
    // Once the server has seen the connection close, no write holds a piece: every one decrypted for
    // the study whose client went away is wiped and freed, not left to the garbage collector.
    await allFreed(studies.get('/a')!, 'study a, whose client went away mid-study');
    assert.ok(studies.get('/a')!.made.length > 1, 'study a was under way when its client went away');
    const head = await new Promise<http.IncomingMessage>((resolve, reject) =>
      https
        .request(`${base}/b`, { method: 'HEAD', rejectUnauthorized: false, agent: false }, resolve)
        .on('error', reject)
        .end(),
    );
    head.resume();
    await once(head, 'end');
    const b = await slowGet(`${base}/b`, true);
    assert.ok(b.body.equals(studies.get('/b')!.expected(boundaryOf(b.type))), 'study b after a client went away');
    await allFreed(studies.get('/b')!, 'study b, its HEAD and its GET');
    void port;
  } finally {
    server.close();
  }
});

test('attack: HEAD through Fastify (which ends the response at once and drains the body unread) reads little and frees all', {
  timeout: 60_000,
}, async () => {
  // As the WADO-RS route wires it: the body told when the response has finished.
  const app = Fastify();
  const s = study(7, 12);
  app.get('/s', async (_req, reply) => {
    const res = reply.raw;
    const m = multipartRelated('application/dicom', s.parts(), {
      pending: () => (res.destroyed ? Infinity : res.writableLength),
    });
    freeWhenSent(res, m);
    return reply.type(m.contentType).send(m.stream);
  });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const head = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http.request(`${base}/s`, { method: 'HEAD', agent: false }, resolve).on('error', reject).end(),
    );
    head.resume();
    await once(head, 'end');
    assert.equal(head.statusCode, 200);
    await sleep(200);
    assert.ok(s.made.length < 12 * 9, `the study is not decrypted for a HEAD (${s.made.length} of ${12 * 9} pieces)`);
    await allFreed(s, 'HEAD');
    const get = await slowGet(`${base}/s`, false);
    assert.ok(get.body.equals(s.expected(boundaryOf(get.type))), 'a GET after it is whole');
    await allFreed(s, 'HEAD and GET');
  } finally {
    await app.close();
  }
});

/** A Fastify app whose GET /:s sends `parts(s)` as the WADO-RS route does (pending bytes, `freeWhenSent`). */
async function serveParts(parts: (which: string) => Part[]) {
  const app = Fastify();
  app.get('/:s', async (req, reply) => {
    const res = reply.raw;
    const m = multipartRelated('application/dicom', parts((req.params as { s: string }).s), {
      pending: () => (res.destroyed ? Infinity : res.writableLength),
    });
    freeWhenSent(res, m);
    return reply.type(m.contentType).send(m.stream);
  });
  return { app, base: await app.listen({ host: '127.0.0.1', port: 0 }) };
}

test('attack: a pipelined response destroyed while it waits for the connection (a part fails): the client gets its first part as it was, and every piece is freed when the connection closes', {
  timeout: 60_000,
}, async () => {
  // Fastify destroys a response whose body fails once its head is out; a pipelined one still waiting
  // for the connection emits 'close' at once, yet Node writes what it buffered when the connection is
  // free. Freed at that 'close', the first part's piece went out wiped (as nothing: detached).
  const made: Buffer[] = [];
  const piece = (size: number, seed: number) => {
    const b = pattern(size, seed);
    made.push(b);
    return b;
  };
  const first = pattern(200_000, 99);
  const parts = (which: string): Part[] =>
    which === 'a'
      ? Array.from({ length: 3 }, (_, i) => ({
          contentType: 'application/dicom',
          body: (async function* () {
            for (let k = 0; k < 8; k++) {
              yield piece(262_144, i * 10 + k);
              await sleep(0);
            }
          })(),
          releasable: true,
        }))
      : [
          {
            contentType: 'application/dicom',
            body: (async function* () {
              const p = piece(200_000, 99);
              yield p;
            })(),
            releasable: true,
          },
          {
            contentType: 'application/dicom',
            body: {
              [Symbol.asyncIterator]: () => ({
                next: async (): Promise<IteratorResult<Buffer>> => {
                  await sleep(5);
                  throw new Error('a stored file that does not authenticate');
                },
              }),
            },
            releasable: true,
          },
        ];
  const { app, base } = await serveParts(parts);
  const client = net.connect(Number(new URL(base).port), '127.0.0.1');
  client.on('error', () => undefined);
  try {
    await once(client, 'connect');
    client.write('GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n');
    client.pause(); // /b waits for the connection while /a is sent; its second part fails meanwhile
    await sleep(500);
    const chunks: Buffer[] = [];
    client.on('data', (d: Buffer) => chunks.push(d));
    client.resume();
    await sleep(1500);
    const raw = Buffer.concat(chunks);
    const second = raw.indexOf('HTTP/1.1 200', 10);
    assert.ok(second > 0, 'the second response began');
    assert.ok(raw.indexOf(first, second) > 0, 'its first part arrived as it was, not wiped');
  } finally {
    client.destroy();
  }
  for (let i = 0; i < 100 && made.some((p) => p.buffer.byteLength > 0); i++) await sleep(10);
  assert.equal(made.filter((p) => p.buffer.byteLength > 0).length, 0, 'every piece freed once the connection closed');
  await app.close();
});

test('attack: a client gone while a pipelined response still waits for the connection: the queued response’s pieces are freed too', {
  timeout: 60_000,
}, async () => {
  // Node destroys a queued response when its connection closes: it emits 'close', but neither 'socket'
  // nor 'finish'; its pieces go with the connection's close.
  const made: Record<string, Buffer[]> = { a: [], b: [] };
  const parts = (which: string): Part[] =>
    Array.from({ length: 3 }, (_, i) => ({
      contentType: 'application/dicom',
      body: (async function* () {
        for (let k = 0; k < 8; k++) {
          const p = pattern(262_144, i * 10 + k);
          made[which]!.push(p);
          yield p;
          await sleep(0);
        }
      })(),
      releasable: true,
    }));
  const { app, base } = await serveParts(parts);
  try {
    const client = net.connect(Number(new URL(base).port), '127.0.0.1');
    client.on('error', () => undefined);
    await once(client, 'connect');
    client.write('GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n');
    client.pause();
    await sleep(500); // /a waits for the paused client; /b buffers in its queued response
    assert.ok(made.b!.length > 0, 'the queued response had decrypted pieces');
    client.destroy();
    for (let i = 0; i < 100 && [...made.a!, ...made.b!].some((p) => p.buffer.byteLength > 0); i++) await sleep(10);
    for (const w of ['a', 'b'] as const) {
      const left = made[w]!.filter((p) => p.buffer.byteLength > 0).length;
      assert.equal(left, 0, `/${w}: ${left} of ${made[w]!.length} pieces not freed after the client went away`);
    }
  } finally {
    await app.close();
  }
});
