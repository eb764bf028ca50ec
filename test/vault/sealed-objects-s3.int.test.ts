// Sealed objects in an S3-compatible store (a real one: s3rver on loopback):
// what goes in comes out, whole or in ranges fetched by just the chunks they
// need; the bucket's bytes are the files store's format and show no plaintext;
// an object appears only on commit, never after an abort, a failing source or
// a killed process, whose leftovers `walk` finds and `removeLeftover` removes;
// altered objects fail to read; paths that could pass for others are refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { spawn } from 'node:child_process';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { bindingBytes, DecryptionError } from '../../src/vault/aead.ts';
import { HEADER_LEN, sealedSize } from '../../src/vault/stream-format.ts';
import { SealedFiles } from '../../src/vault/sealed-files.ts';
import { PART_SIZE, readS3Credentials, SealedObjectsS3, s3SealedStore } from '../../src/vault/sealed-objects-s3.ts';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.ts';

let server: S3TestServer;
/** Every request the test client sent: method, path and query, Range header. */
const requests: { method: string; path: string; query: Record<string, unknown>; range?: string }[] = [];
let client: S3Client;

before(async () => {
  server = await startS3Server();
  client = new S3Client({
    endpoint: server.config.endpoint,
    region: server.config.region,
    credentials: readS3Credentials(server.config.credentialsFile),
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  client.middlewareStack.add(
    (next) => async (args) => {
      const r = args.request as {
        method: string;
        path: string;
        query: Record<string, unknown>;
        headers: Record<string, string>;
      };
      requests.push({ method: r.method, path: r.path, query: r.query, range: r.headers.range });
      return next(args);
    },
    { step: 'finalizeRequest' },
  );
});
after(async () => {
  client.destroy();
  await server.stop();
});

const key = randomBytes(32);
const aad = bindingBytes({ tenantId: 't1', table: 'instances', rowId: 'i1', field: 'blob' });
/** A store of its own area per test, as images and documents are. */
const storeIn = (area: string) => new SealedObjectsS3(client, server.config.bucket, `office/${area}/`);

function* pieces(buf: Buffer, max: number) {
  for (let off = 0; off < buf.length; ) {
    const n = Math.min(buf.length - off, randomInt(1, max + 1));
    yield buf.subarray(off, off + n);
    off += n;
  }
}

async function readAll(r: AsyncIterable<Buffer>): Promise<Buffer> {
  const got: Buffer[] = [];
  for await (const b of r) got.push(b as Buffer);
  return Buffer.concat(got);
}

async function store(s: SealedObjectsS3, relPath: string, plain: Buffer, chunkSize?: number) {
  const w = s.create(relPath, key, aad, { chunkSize });
  await pipeline(Readable.from(pieces(plain, 500_000)), w.stream);
  return w.commit();
}

async function entries(s: SealedObjectsS3) {
  const all = [];
  for await (const e of s.walk()) all.push(e);
  return all.sort((a, b) => a.relPath.localeCompare(b.relPath));
}

async function objectBytes(objectKey: string): Promise<Buffer> {
  const res = await client.send(new GetObjectCommand({ Bucket: server.config.bucket, Key: objectKey }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

const exists = (objectKey: string) =>
  client.send(new HeadObjectCommand({ Bucket: server.config.bucket, Key: objectKey })).then(
    () => true,
    (e: { name?: string }) => (e.name === 'NotFound' ? false : Promise.reject(e)),
  );

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(p) : [p];
  });
}

test("what is written comes back whole and in ranges, in one put or a multipart upload; the size is the plaintext's", async () => {
  const s = storeIn('round');
  const small = randomBytes(3 * 1024 * 1024 + 17);
  const large = randomBytes(2 * PART_SIZE + 123_457);
  assert.deepEqual(await store(s, 'studies/1.2.840/series-7/small.dcm', small, 4096), { size: small.length });
  assert.deepEqual(await store(s, 'studies/1.2.840/series-7/large.dcm', large), { size: large.length });
  for (const [name, plain, chunk] of [
    ['small.dcm', small, 4096],
    ['large.dcm', large, 262_144],
  ] as const) {
    const relPath = `studies/1.2.840/series-7/${name}`;
    assert.deepEqual(await readAll(s.openRead(relPath, key, aad)), plain, name);
    assert.equal(await s.plainSize(relPath), plain.length);
    for (const [start, length] of [
      [0, 10],
      [chunk - 1, 2],
      [chunk, chunk],
      [plain.length - 1, 1],
      [1_000_000, 300_000],
      [0, 0],
    ] as const) {
      assert.deepEqual(
        await s.readRange(relPath, key, aad, start, length),
        plain.subarray(start, start + length),
        `${name} ${start}+${length}`,
      );
    }
    // The object is exactly what the files store would have written: it opens there too.
    const bytes = await objectBytes(`office/round/${relPath}`);
    assert.equal(bytes.length, sealedSize(plain.length, chunk));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-s3-as-file-'));
    fs.writeFileSync(path.join(dir, 'f'), bytes);
    assert.deepEqual(await readAll(new SealedFiles(dir).openRead('f', key, aad)), plain);
    fs.rmSync(dir, { recursive: true });
  }
  assert.deepEqual(
    (await entries(s)).map((e) => [e.relPath, e.temporary, e.modifiedAt instanceof Date]),
    [
      ['studies/1.2.840/series-7/large.dcm', false, true],
      ['studies/1.2.840/series-7/small.dcm', false, true],
    ],
    'no marker is left',
  );

  const empty = await store(s, 'empty', Buffer.alloc(0));
  assert.equal(empty.size, 0);
  assert.deepEqual(await readAll(s.openRead('empty', key, aad)), Buffer.alloc(0));
  assert.equal(await s.plainSize('empty'), 0);
  await s.remove('empty');
  assert.equal(await exists('office/round/empty'), false);
  await assert.rejects(s.remove('empty'), { code: 'ENOENT' });
  await assert.rejects(s.plainSize('empty'), { code: 'ENOENT' });
  await assert.rejects(s.readRange('empty', key, aad, 0, 1), { code: 'ENOENT' });
  await assert.rejects(readAll(s.openRead('empty', key, aad)), { code: 'ENOENT' });
});

test('a large object goes up part by part while it is written, never held whole', async () => {
  const s = storeIn('parts');
  const plain = randomBytes(4 * PART_SIZE + 1000);
  const w = s.create('big', key, aad);
  requests.length = 0;
  const uploadedParts = () => requests.filter((r) => r.method === 'PUT' && 'partNumber' in r.query).length;
  for (let at = 0, n = 0; at < plain.length; at += 1024 * 1024) {
    if (!w.stream.write(plain.subarray(at, at + 1024 * 1024))) await new Promise((r) => w.stream.once('drain', r));
    n += 1024 * 1024;
    // Each write is taken only once the part before the one filling has gone up: two parts at most are held.
    if (n >= 3 * PART_SIZE)
      assert.ok(uploadedParts() >= Math.floor(n / PART_SIZE) - 2, `${uploadedParts()} parts after ${n} bytes`);
  }
  assert.ok(uploadedParts() >= 2, 'parts went up before the end');
  await w.commit();
  assert.ok(uploadedParts() >= 4, 'parts of PART_SIZE or a little more');
  assert.deepEqual(await readAll(s.openRead('big', key, aad)), plain);
});

test('a 64 MB object is written and read without being held whole in memory', async () => {
  const s = storeIn('memory');
  const total = 64 * 1024 * 1024;
  const piece = randomBytes(64 * 1024);
  // What is alive, after a full collection: garbage not yet collected is not held.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  let peak = 0;
  const base = process.memoryUsage().arrayBuffers;
  const sample = () => {
    gc();
    peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
  };
  async function* source() {
    for (let n = 0; n < total; n += piece.length) {
      if (n % (2 * 1024 * 1024) === 0) sample();
      yield piece;
    }
  }
  const w = s.create('object', key, aad);
  await pipeline(source(), w.stream);
  assert.equal((await w.commit()).size, total);
  assert.ok(peak < 16 * 1024 * 1024, `writing: at most ${(peak / 1048576).toFixed(1)} MB of buffers at once`);
  const hash = createHash('sha256');
  let n = 0;
  for await (const b of s.openRead('object', key, aad)) {
    hash.update(b);
    if (Math.floor((n + b.length) / 2097152) > Math.floor(n / 2097152)) sample();
    n += b.length;
  }
  assert.equal(n, total);
  const want = createHash('sha256');
  for (let m = 0; m < total; m += piece.length) want.update(piece);
  assert.equal(hash.digest('hex'), want.digest('hex'));
  // Node's HTTP client holds up to 8 MB of a response it receives at times (a bare http.get too).
  assert.ok(peak < 24 * 1024 * 1024, `reading: at most ${(peak / 1048576).toFixed(1)} MB of buffers at once`);
});

test('a range is fetched as the header and then just the chunks that cover it', async () => {
  const s = storeIn('ranges');
  const plain = randomBytes(40 * 4096);
  await store(s, 'r', plain, 4096);
  requests.length = 0;
  assert.deepEqual(await s.readRange('r', key, aad, 10 * 4096 + 5, 4096), plain.subarray(10 * 4096 + 5, 11 * 4096 + 5));
  const seg = 4096 + 16;
  assert.deepEqual(
    requests.map((r) => [r.method, r.range]),
    [
      ['GET', `bytes=0-${HEADER_LEN - 1}`],
      ['GET', `bytes=${HEADER_LEN + 10 * seg}-${HEADER_LEN + 12 * seg - 1}`],
    ],
  );
});

test("the bucket shows no plaintext: a name written all through an object is nowhere in the server's files, parts of an upload in flight included", async () => {
  const s = storeIn('scan');
  const marker = 'Patientin Hannelore Quastenberg, geb. 12.03.1961';
  const line = (i: number) => `${i}: ${marker}\n`;
  const plain = Buffer.from(Array.from({ length: 400_000 }, (_, i) => line(i)).join(''), 'utf8');
  assert.ok(
    plain.length > PART_SIZE * 2 && plain.includes('Quastenberg'),
    'the control: a multipart upload holding the marker',
  );
  const needles = ['Quastenberg', 'quastenberg', 'Hannelore', '12.03.1961'].flatMap((n) => [
    Buffer.from(n, 'utf8'),
    Buffer.from(n, 'utf16le'),
  ]);
  const scan = () => {
    const files = filesUnder(server.directory);
    for (const f of files) {
      const bytes = fs.readFileSync(f);
      for (const n of needles) assert.equal(bytes.includes(n), false, `${n.toString()} in ${f}`);
    }
    return files.length;
  };
  const w = s.create('report.txt', key, aad);
  const half = plain.subarray(0, PART_SIZE + 1_000_000);
  if (!w.stream.write(half)) await new Promise((r) => w.stream.once('drain', r));
  // A part is on its way or on the server's disk by now: wait until the upload's marker is there.
  while (!(await entries(s)).some((e) => e.temporary)) await new Promise((r) => setTimeout(r, 20));
  assert.ok(scan() > 0);
  w.stream.end(plain.subarray(half.length));
  await w.commit();
  scan();
  await store(s, 'small.txt', plain.subarray(0, 1_000_000));
  scan();
  assert.deepEqual(await readAll(s.openRead('report.txt', key, aad)), plain);
  // The control: the server keeps what it is given as it is, so plaintext would be found.
  await client.send(
    new PutObjectCommand({ Bucket: server.config.bucket, Key: 'control/plain', Body: plain.subarray(0, 1000) }),
  );
  assert.throws(scan, /Quastenberg/);
  await client.send(new DeleteObjectCommand({ Bucket: server.config.bucket, Key: 'control/plain' }));
  scan();
});

test('an object appears only on commit: abort and a failing source leave nothing, and an overwrite is all or nothing', async () => {
  const s = storeIn('atomic');
  const listed = async () => (await entries(s)).map((e) => e.relPath);

  const aborted = s.create('a/one', key, aad);
  await pipeline(Readable.from(pieces(randomBytes(1_000_000), 100_000)), aborted.stream);
  assert.equal(await exists('office/atomic/a/one'), false, 'nothing under the name before commit');
  await aborted.abort();
  assert.deepEqual(await listed(), []);
  await assert.rejects(aborted.commit(), /aborted/);
  assert.deepEqual(await listed(), []);

  // A large one: the upload and its marker exist before commit, the object does not; abort takes both.
  const big = s.create('a/big', key, aad);
  big.stream.write(randomBytes(PART_SIZE + 500_000));
  while (!(await entries(s)).some((e) => e.temporary)) await new Promise((r) => setTimeout(r, 20));
  assert.equal(await exists('office/atomic/a/big'), false);
  requests.length = 0;
  await big.abort();
  assert.deepEqual(await listed(), []);
  assert.ok(
    requests.some((r) => r.method === 'DELETE' && 'uploadId' in r.query),
    'the upload is aborted (s3rver cannot, and answers 405: its parts stay on its disk, sealed)',
  );

  const untouched = s.create('a/two', key, aad);
  await untouched.abort();
  assert.deepEqual(await listed(), []);

  for (const size of [300_000, PART_SIZE + 300_000]) {
    const failing = s.create('a/three', key, aad);
    async function* broken() {
      yield randomBytes(size);
      await new Promise((r) => setTimeout(r, 100));
      throw new Error('client went away');
    }
    await assert.rejects(pipeline(broken(), failing.stream), /client went away/);
    await assert.rejects(failing.commit());
    assert.deepEqual(await listed(), [], `a failing source of ${size} bytes`);
  }

  const v1 = randomBytes(100_000);
  const v2 = randomBytes(PART_SIZE + 200_000);
  await store(s, 'a/four', v1);
  const replacing = s.create('a/four', key, aad);
  replacing.stream.write(v2);
  assert.deepEqual(await readAll(s.openRead('a/four', key, aad)), v1, 'the old object until commit');
  await replacing.commit();
  assert.deepEqual(await readAll(s.openRead('a/four', key, aad)), v2);
  assert.deepEqual(await listed(), ['a/four']);
  assert.deepEqual(await replacing.commit(), { size: v2.length }, 'commit answers again');
  await replacing.abort();
  assert.deepEqual(await readAll(s.openRead('a/four', key, aad)), v2, 'abort after commit changes nothing');
});

/** Runs a writer in a child process that kills itself (SIGKILL) once `killWhen` holds. */
function crashingWriter(area: string, bytes: number, killWhen: 'written' | 'marker') {
  const module = new URL('../../src/vault/sealed-objects-s3.ts', import.meta.url).href;
  const script = `
    import { s3SealedStore } from ${JSON.stringify(module)};
    const store = s3SealedStore(JSON.parse(process.env.S3), ${JSON.stringify(area)});
    const w = store.create('x/crashed.dcm', Buffer.alloc(32, 7), Buffer.from('aad'));
    w.stream.write(Buffer.alloc(${bytes}, 0x41), async () => {
      if (${JSON.stringify(killWhen)} === 'marker')
        for (;;) {
          for await (const e of store.walk()) if (e.temporary) process.kill(process.pid, 'SIGKILL');
          await new Promise((r) => setTimeout(r, 20));
        }
      process.kill(process.pid, 'SIGKILL');
    });
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, S3: JSON.stringify(server.config) },
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  return new Promise<{ signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('exit', (_code, signal) => resolve({ signal, stderr })),
  );
}

test('a process killed before commit leaves nothing under the name: a small write nothing at all, a large one a marker that walk finds and removeLeftover removes', async () => {
  const small = storeIn('crash-small');
  const killed = await crashingWriter('crash-small', 4 * 1024 * 1024, 'written');
  assert.equal(killed.signal, 'SIGKILL', killed.stderr);
  assert.deepEqual(await entries(small), []);

  const large = storeIn('crash-large');
  const before = Date.now();
  const crashed = await crashingWriter('crash-large', PART_SIZE + 1_000_000, 'marker');
  assert.equal(crashed.signal, 'SIGKILL', crashed.stderr);
  const left = await entries(large);
  assert.equal(left.length, 1, 'the write got as far as its marker');
  assert.match(left[0]!.relPath, /^x\/crashed\.dcm\.tmp-[0-9a-f]+$/);
  assert.equal(left[0]!.temporary, true);
  assert.ok(left[0]!.modifiedAt!.getTime() >= Math.floor(before / 1000) * 1000 - 1000, 'its time, for recovery');
  assert.equal(await exists('office/crash-large/x/crashed.dcm'), false);
  await assert.rejects(large.removeLeftover('x/crashed.dcm'), /not a temporary/);
  requests.length = 0;
  await large.removeLeftover(left[0]!.relPath);
  assert.ok(
    requests.some((r) => r.method === 'DELETE' && 'uploadId' in r.query),
    'the upload it names is aborted',
  );
  assert.deepEqual(await entries(large), []);
  await assert.rejects(large.removeLeftover(left[0]!.relPath), { code: 'ENOENT' });
  await assert.rejects(large.removeLeftover('../x.tmp-00'), /invalid sealed file path/);
});

test("an open upload's marker is put again now and then, so recovery elsewhere sees a live writer; commit and abort stop it", async () => {
  const s = new SealedObjectsS3(client, server.config.bucket, 'office/refresh/', { markerRefreshMs: 400 });
  const marker = async () => (await entries(s)).find((e) => e.temporary);
  for (const end of ['commit', 'abort'] as const) {
    const w = s.create(`slow-${end}`, key, aad);
    w.stream.write(randomBytes(PART_SIZE + 100_000));
    while (!(await marker())) await new Promise((r) => setTimeout(r, 20));
    const first = (await marker())!.modifiedAt!;
    // The store's times have whole seconds.
    await new Promise((r) => setTimeout(r, 2200));
    const later = (await marker())!.modifiedAt!;
    assert.ok(later.getTime() > first.getTime(), `${first.toISOString()} then ${later.toISOString()}`);
    await w[end]();
    await new Promise((r) => setTimeout(r, 900));
    assert.deepEqual(
      (await entries(s)).map((e) => e.relPath),
      ['slow-commit'],
      `no marker after ${end}, nor put again`,
    );
  }
});

test('a stored object that was altered, cut or read with another binding fails to read', async () => {
  const s = storeIn('tamper');
  const plain = randomBytes(1_000_000);
  await store(s, 'f', plain, 65_536);
  const objectKey = 'office/tamper/f';
  const good = await objectBytes(objectKey);
  const put = (body: Buffer) =>
    client.send(new PutObjectCommand({ Bucket: server.config.bucket, Key: objectKey, Body: body }));

  const bad = Buffer.from(good);
  bad[600_000]! ^= 1;
  await put(bad);
  const got: Buffer[] = [];
  await assert.rejects(
    (async () => {
      for await (const b of s.openRead('f', key, aad)) got.push(b as Buffer);
    })(),
    DecryptionError,
  );
  const out = Buffer.concat(got);
  assert.ok(
    out.length < 600_000 && out.length > 0 && out.equals(plain.subarray(0, out.length)),
    'only authenticated chunks before the altered one',
  );
  assert.deepEqual(await s.readRange('f', key, aad, 0, 100), plain.subarray(0, 100));
  await assert.rejects(s.readRange('f', key, aad, 590_000, 100), DecryptionError);

  await put(good.subarray(0, good.length - 70_000));
  await assert.rejects(readAll(s.openRead('f', key, aad)), DecryptionError);
  // (Ranges of an empty object are not asked here: s3rver drops the connection where S3 answers 416.)
  await put(Buffer.alloc(0));
  await assert.rejects(readAll(s.openRead('f', key, aad)), DecryptionError);
  for (const cut of [30, 60]) {
    await put(good.subarray(0, cut));
    await assert.rejects(readAll(s.openRead('f', key, aad)), DecryptionError);
    await assert.rejects(s.plainSize('f'), DecryptionError);
    await assert.rejects(s.readRange('f', key, aad, 0, 1), DecryptionError);
  }

  await put(good);
  await assert.rejects(readAll(s.openRead('f', key, Buffer.from('another binding'))), DecryptionError);
  await assert.rejects(s.readRange('f', key, Buffer.from('another binding'), 0, 1), DecryptionError);
  assert.deepEqual(await readAll(s.openRead('f', key, aad)), plain);
});

test('paths that could leave the area or pass for a temporary object are refused', async () => {
  const s = storeIn('paths');
  const bad = [
    '',
    '/etc/passwd',
    '..',
    '../x',
    'a/../../x',
    'a/..',
    './a',
    'a/./b',
    'a//b',
    'a/',
    'a\\b',
    'a b',
    'ä',
    'a\0b',
    'x.tmp-0011',
    'a/b.tmp-x/c',
  ];
  for (const p of bad) {
    assert.throws(() => s.create(p, key, aad), /invalid sealed file path/, JSON.stringify(p));
    assert.throws(() => s.openRead(p, key, aad), /invalid sealed file path/, JSON.stringify(p));
    await assert.rejects(s.readRange(p, key, aad, 0, 1), /invalid sealed file path/, JSON.stringify(p));
    await assert.rejects(s.plainSize(p), /invalid sealed file path/, JSON.stringify(p));
    await assert.rejects(s.remove(p), /invalid sealed file path/, JSON.stringify(p));
  }
  for (const p of ['a', 'A-Z_0.9', '1.2.840.10008/x.dcm', '...', '.hidden']) await s.create(p, key, aad).abort();
  assert.deepEqual(await entries(s), [], 'nothing was created');
});

test('writes interleaved piece by piece, as from several associations at once, each keep their own bytes', async () => {
  const s = s3SealedStore(server.config, 'interleaved');
  assert.equal(s.shared, true);
  assert.equal(s.kind, 's3');
  const plains = Array.from({ length: 4 }, (_, i) =>
    randomBytes(i < 2 ? 700_000 + i * 100_003 : PART_SIZE + i * 100_003),
  );
  const writes = plains.map((_, i) => s.create(`d/${i}.dcm`, key, aad));
  const piecesOf = plains.map((p) => [...pieces(p, 700_000)]);
  for (let i = 0; piecesOf.some((p) => i < p.length); i++)
    await Promise.all(
      writes.map(async (w, n) => {
        const piece = piecesOf[n]![i];
        if (piece && !w.stream.write(piece)) await new Promise((r) => w.stream.once('drain', r));
      }),
    );
  assert.deepEqual(
    (await Promise.all(writes.map((w) => w.commit()))).map((r) => r.size),
    plains.map((p) => p.length),
  );
  for (const [i, plain] of plains.entries())
    assert.deepEqual(await readAll(s.openRead(`d/${i}.dcm`, key, aad)), plain, `object ${i}`);
  for (const p of piecesOf.flat()) assert.ok(p.length > 0, "the writer's input is never freed");
  assert.deepEqual(
    (await entries(s)).map((e) => e.relPath),
    ['d/0.dcm', 'd/1.dcm', 'd/2.dcm', 'd/3.dcm'],
  );
});

test('reading stopped early or never started: the response is closed, nothing is asked before the first read', async () => {
  const s = storeIn('early');
  await store(s, 'g', randomBytes(3_000_000), 262_144);
  requests.length = 0;
  const never = s.openRead('g', key, aad);
  assert.equal(requests.length, 0);
  void never;
  const early = s.openRead('g', key, aad);
  assert.ok(!(await early.next()).done);
  await early.return(undefined);
  assert.equal(requests.length, 1);
  // The connection is free again: further requests go through.
  assert.equal(await s.plainSize('g'), 3_000_000);
});
