// multipart/related bodies as WADO-RS sends them: every part streamed in order,
// and the next parts read ahead while one is sent (or stalls), a bounded number.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { finished } from 'node:stream/promises';
import { multipartRelated } from '../../src/imaging/dicomweb-codec/multipart.ts';

test('while the first part waits on its file, the next three are read ahead and no more; all arrive in order', async () => {
  const started = new Set<number>();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const body = async function* (i: number) {
    started.add(i);
    if (i === 0) await gate;
    yield Buffer.from(`part ${i}`);
  };
  const m = multipartRelated(
    'application/dicom',
    Array.from({ length: 6 }, (_, i) => ({ contentType: 'application/dicom', body: body(i) })),
  );
  const chunks: Buffer[] = [];
  m.stream.on('data', (c: Buffer) => chunks.push(c));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual([...started].sort(), [0, 1, 2, 3]);
  release();
  await finished(m.stream);
  const text = Buffer.concat(chunks).toString();
  assert.deepEqual(
    [...text.matchAll(/part (\d)/g)].map((x) => Number(x[1])),
    [0, 1, 2, 3, 4, 5],
  );
  assert.equal(text.split('Content-Type: application/dicom').length, 7);
});

test('a part that fails mid-way ends the body with its error after the bytes before it; every part started closes its file', async () => {
  const closed = new Set<number>();
  const body = async function* (i: number) {
    try {
      yield Buffer.from(`part ${i} first`);
      if (i === 1) throw new Error('sealed file altered');
      yield Buffer.from(`part ${i} second`);
      await new Promise((resolve) => setTimeout(resolve, 5));
      yield Buffer.from(`part ${i} third`);
    } finally {
      closed.add(i);
    }
  };
  const m = multipartRelated(
    'application/dicom',
    Array.from({ length: 8 }, (_, i) => ({ contentType: 'application/dicom', body: body(i) })),
  );
  const chunks: Buffer[] = [];
  m.stream.on('data', (c: Buffer) => chunks.push(c));
  await assert.rejects(finished(m.stream), /sealed file altered/);
  const text = Buffer.concat(chunks).toString();
  assert.match(text, /part 0 third\r\n--[^\r]+\r\nContent-Type: application\/dicom\r\n\r\npart 1 first$/);
  assert.doesNotMatch(text, /part 1 second|--\r\n$/, 'nothing after the failure, and no closing boundary');
  // Parts 0 and 1 ran to their end or failure; 2, 3 and 4 were read ahead and are stopped; 5–7 never started.
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual([...closed].sort(), [0, 1, 2, 3, 4]);
});

test('bodies given whole and read piece by piece go out once each, in order, framed; an empty list is only the closing boundary', async () => {
  const read = async function* () {
    yield Buffer.from('b1');
    yield Buffer.from('b2');
  };
  const m = multipartRelated('image/jpeg', [
    { contentType: 'image/jpeg', body: Buffer.from('AAA') },
    { contentType: 'image/jpeg', body: read() },
    { contentType: 'image/jpeg', body: Buffer.from('CCC') },
  ]);
  const boundary = /boundary=(\S+)$/.exec(m.contentType)![1]!;
  const chunks: Buffer[] = [];
  for await (const c of m.stream) chunks.push(c as Buffer);
  const head = `--${boundary}\r\nContent-Type: image/jpeg\r\n\r\n`;
  assert.equal(Buffer.concat(chunks).toString(), `${head}AAA\r\n${head}b1b2\r\n${head}CCC\r\n--${boundary}--\r\n`);
  const none = multipartRelated('image/jpeg', []);
  const empty: Buffer[] = [];
  for await (const c of none.stream) empty.push(c as Buffer);
  assert.equal(Buffer.concat(empty).toString(), `--${/boundary=(\S+)$/.exec(none.contentType)![1]}--\r\n`);
});

test('pieces of releasable parts are wiped and freed once written, as the response goes; other parts are left alone', async () => {
  const made: { piece: Buffer; releasable: boolean }[] = [];
  const body = async function* (releasable: boolean) {
    for (let k = 0; k < 4; k++) {
      // Each piece owns its ArrayBuffer, as a decrypted piece does.
      const piece = Buffer.allocUnsafeSlow(64 * 1024).fill(7);
      made.push({ piece, releasable });
      yield piece;
    }
  };
  const m = multipartRelated(
    'application/dicom',
    [true, false, true, true].map((releasable) => ({
      contentType: 'application/dicom',
      body: body(releasable),
      releasable,
    })),
    // Whatever the consumer below has taken is written.
    { pending: () => 0 },
  );
  let bytes = 0;
  for await (const c of m.stream) bytes += (c as Buffer).length;
  assert.ok(bytes > 16 * 64 * 1024);
  const freed = made.filter((x) => x.piece.buffer.byteLength === 0);
  assert.ok(
    freed.length >= 10,
    `pieces of the three releasable parts are freed as the body goes on (${freed.length} of 12)`,
  );
  assert.ok(
    freed.every((x) => x.releasable),
    'no piece of a part not marked releasable is freed',
  );
});

test('a body stopped mid-way (the client went away) wipes and frees the pieces it read ahead for later parts', async () => {
  const made: Buffer[][] = [];
  const body = async function* (part: number) {
    made[part] = [];
    for (let k = 0; k < 3; k++) {
      const piece = Buffer.allocUnsafeSlow(64 * 1024).fill(9);
      made[part]!.push(piece);
      yield piece;
    }
  };
  const m = multipartRelated(
    'application/dicom',
    Array.from({ length: 6 }, (_, i) => ({ contentType: 'application/dicom', body: body(i), releasable: true })),
    { pending: () => Infinity },
  );
  // The client reads the first part's head and no more; the next three parts are read ahead meanwhile.
  await new Promise((resolve) => m.stream.once('readable', resolve));
  m.stream.read(10);
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.deepEqual(
    made.map((pieces) => pieces.length),
    [3, 3, 3, 3],
    'part 0 and the three after it were read; the rest never started',
  );
  m.stream.destroy();
  await new Promise((resolve) => m.stream.once('close', resolve));
  const kept = made
    .slice(1)
    .flat()
    .filter((p) => p.buffer.byteLength > 0).length;
  assert.equal(kept, 0, `${kept} of 9 pieces read ahead for later parts still hold their plaintext`);
});
