// Opening sealed files reads into pooled buffers: a buffer is reused only
// after everything read into it has been decrypted into buffers of its own,
// so plaintext handed out is never overwritten by a later read — whether the
// reads of several files interleave, a reader holds its chunks unconsumed
// while others read on, or a read fails half way.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { bindingBytes, DecryptionError } from '../../src/vault/aead.ts';
import { DEFAULT_CHUNK_SIZE, HEADER_LEN } from '../../src/vault/stream-format.ts';
import { ChunkSealer } from '../../src/vault/stream-seal.ts';
import { pooledReadBuffers, readPlainChunks, readPlainRange } from '../../src/vault/stream-open.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-stream-open-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const key = randomBytes(32);
const aad = bindingBytes({ tenantId: 't1', table: 'instances', rowId: 'i1', field: 'blob' });

let n = 0;
/** A sealed file of `plain` at the default chunk size, as the archive stores instances. */
function sealedFile(plain: Buffer, chunkSize = DEFAULT_CHUNK_SIZE): string {
  const sealer = new ChunkSealer(key, aad, chunkSize);
  const file = path.join(tmp, `f-${n++}`);
  fs.writeFileSync(file, Buffer.concat([...sealer.update(plain), ...sealer.final()]));
  return file;
}

/** Sizes that cross the first read (header and four chunks) and later ones, and end mid-chunk. */
const SIZES = [
  0,
  1,
  DEFAULT_CHUNK_SIZE,
  4 * DEFAULT_CHUNK_SIZE,
  4 * DEFAULT_CHUNK_SIZE + 1,
  11 * DEFAULT_CHUNK_SIZE + 977,
];

test('interleaved reads of different files: every chunk handed out stays its file’s, byte for byte, to the end', async () => {
  const plains = SIZES.map((size) => randomBytes(size));
  const files = plains.map((p) => sealedFile(p));
  const handles = await Promise.all(files.map((f) => fs.promises.open(f, 'r')));
  try {
    const readers = handles.map((fh) => readPlainChunks(fh, key, aad)[Symbol.asyncIterator]());
    // Every chunk is kept, unconsumed, while the other files are read on: a slow reader.
    const kept: Buffer[][] = plains.map(() => []);
    const done = plains.map(() => false);
    while (done.includes(false)) {
      // One step of each reader in turn, and then some at once, so reads overlap in flight.
      await Promise.all(
        readers.map(async (r, i) => {
          if (done[i]) return;
          const next = await r.next();
          if (next.done) done[i] = true;
          else kept[i]!.push(next.value);
        }),
      );
    }
    for (let i = 0; i < plains.length; i++)
      assert.ok(Buffer.concat(kept[i]!).equals(plains[i]!), `file of ${SIZES[i]} bytes`);
    // The pool was used (else this test proves nothing), and stays bounded.
    assert.ok(pooledReadBuffers() > 0 && pooledReadBuffers() <= 8, `pooled: ${pooledReadBuffers()}`);
    // Reading the same files again, many times, does not touch what the first readers kept.
    for (let round = 0; round < 3; round++)
      for (const fh of handles) for await (const chunk of readPlainChunks(fh, key, aad)) chunk.fill(0xee);
    for (let i = 0; i < plains.length; i++) assert.ok(Buffer.concat(kept[i]!).equals(plains[i]!), `kept ${SIZES[i]}`);
  } finally {
    await Promise.all(handles.map((fh) => fh.close()));
  }
});

test('ranges read while whole files are read come out right, and a read that fails leaves the pool usable', async () => {
  const a = randomBytes(9 * DEFAULT_CHUNK_SIZE + 5);
  const b = randomBytes(6 * DEFAULT_CHUNK_SIZE + 3);
  const fa = sealedFile(a);
  const fb = sealedFile(b);
  // A copy of b with a bit flipped in its seventh chunk: the second read fails there.
  const bad = path.join(tmp, 'bad');
  const sealed = fs.readFileSync(fb);
  sealed[HEADER_LEN + 6 * (DEFAULT_CHUNK_SIZE + 16) + 1]! ^= 1;
  fs.writeFileSync(bad, sealed);
  const [ha, hb, hbad] = await Promise.all([fa, fb, bad].map((f) => fs.promises.open(f, 'r')));
  try {
    const whole: Buffer[] = [];
    const reading = (async () => {
      for await (const chunk of readPlainChunks(ha!, key, aad)) whole.push(chunk);
    })();
    const failing = (async () => {
      for await (const chunk of readPlainChunks(hbad!, key, aad)) chunk.fill(0);
    })();
    failing.catch(() => undefined); // awaited below, after the ranges
    const ranges = await Promise.all(
      [
        [0, 10],
        [DEFAULT_CHUNK_SIZE - 3, 7],
        [3 * DEFAULT_CHUNK_SIZE + 100, 2 * DEFAULT_CHUNK_SIZE],
        [0, b.length],
      ].map(
        async ([start, length]) => [start!, length!, await readPlainRange(hb!, key, aad, start!, length!)] as const,
      ),
    );
    await reading;
    await assert.rejects(failing, DecryptionError);
    assert.ok(Buffer.concat(whole).equals(a));
    for (const [start, length, got] of ranges)
      assert.ok(got.equals(b.subarray(start, start + length)), `range ${start}+${length}`);
    // After the failure the pool serves further reads correctly.
    const again: Buffer[] = [];
    for await (const chunk of readPlainChunks(hb!, key, aad)) again.push(chunk);
    assert.ok(Buffer.concat(again).equals(b));
  } finally {
    await Promise.all([ha, hb, hbad].map((fh) => fh!.close()));
  }
});

test('chunks larger than a pooled buffer, and small ones, are read right too', async () => {
  for (const chunkSize of [3 * 1024 * 1024, 64, 100_000]) {
    const plain = randomBytes(2 * 1024 * 1024 + 333);
    const fh = await fs.promises.open(sealedFile(plain, chunkSize), 'r');
    try {
      const got: Buffer[] = [];
      for await (const chunk of readPlainChunks(fh, key, aad)) got.push(chunk);
      assert.ok(Buffer.concat(got).equals(plain), `chunk size ${chunkSize}`);
    } finally {
      await fh.close();
    }
  }
});

test('a first read that stops short of the file’s end is not taken for its end: the file’s size decides, and it opens whole', async () => {
  for (const size of [3 * DEFAULT_CHUNK_SIZE + 5, 6 * DEFAULT_CHUNK_SIZE]) {
    const plain = randomBytes(size);
    const fh = await fs.promises.open(sealedFile(plain), 'r');
    try {
      // A descriptor whose reads stop short of what is there (as a read may on some file systems).
      const short = {
        stat: () => fh.stat(),
        read: (buf: Buffer, offset: number, length: number, position: number) =>
          fh.read(buf, offset, Math.min(length, HEADER_LEN + DEFAULT_CHUNK_SIZE + 100), position),
      } as unknown as fs.promises.FileHandle;
      const got: Buffer[] = [];
      for await (const chunk of readPlainChunks(short, key, aad)) got.push(Buffer.from(chunk));
      assert.deepEqual(Buffer.concat(got), plain);
    } finally {
      await fh.close();
    }
  }
});
