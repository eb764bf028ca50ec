// Attacks on the pooled read buffers of stream-open.ts (issue 18): a pooled
// buffer must never be visible through a plaintext handed out, never go back
// to the pool twice (two reads in flight into one buffer would corrupt one of
// them, which GCM reports as a failure of a good file), and a range read must
// hand out exactly the bytes asked for, none of another file's.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { bindingBytes, DecryptionError } from '../../src/vault/aead.ts';
import { DEFAULT_CHUNK_SIZE, HEADER_LEN, TAG_LEN } from '../../src/vault/stream-format.ts';
import { ChunkSealer } from '../../src/vault/stream-seal.ts';
import { pooledReadBuffers, readPlainChunks, readPlainRange } from '../../src/vault/stream-open.ts';
import { markReleasable, releasePiece } from '../../src/imaging/plaintext-pieces.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-attack-open-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const key = randomBytes(32);
const aad = bindingBytes({ tenantId: 't1', table: 'instances', rowId: 'i1', field: 'blob' });
const SEG = DEFAULT_CHUNK_SIZE + TAG_LEN;

let n = 0;
function sealedFile(plain: Buffer, chunkSize = DEFAULT_CHUNK_SIZE): string {
  const sealer = new ChunkSealer(key, aad, chunkSize);
  const file = path.join(tmp, `f-${n++}`);
  fs.writeFileSync(file, Buffer.concat([...sealer.update(plain), ...sealer.final()]));
  return file;
}

/** A plaintext whose every byte says which file it belongs to (and where): a foreign byte shows. */
function patterned(size: number, id: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (id * 37 + i * 13 + (i >> 8)) & 0xff;
  return b;
}

async function readAll(file: string): Promise<Buffer[]> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const out: Buffer[] = [];
    for await (const chunk of readPlainChunks(fh, key, aad)) out.push(chunk);
    return out;
  } finally {
    await fh.close();
  }
}

/** No two buffers share memory: overlapping ranges of one ArrayBuffer would mean a view handed out twice. */
function assertDisjoint(buffers: Buffer[]) {
  const byBacking = new Map<ArrayBufferLike, [number, number][]>();
  for (const b of buffers) {
    if (b.length === 0) continue;
    const ranges = byBacking.get(b.buffer) ?? [];
    for (const [s, e] of ranges)
      assert.ok(b.byteOffset >= e || b.byteOffset + b.length <= s, 'two plaintexts share the same memory');
    ranges.push([b.byteOffset, b.byteOffset + b.length]);
    byBacking.set(b.buffer, ranges);
  }
}

test('attack: no plaintext handed out shares memory with another, across concurrent reads of different files', async () => {
  const sizes = [1, 4095, 4096, 4097, DEFAULT_CHUNK_SIZE, 4 * DEFAULT_CHUNK_SIZE + 1, 9 * DEFAULT_CHUNK_SIZE + 7];
  const plains = sizes.map((s, i) => patterned(s, i + 1));
  const files = plains.map((p) => sealedFile(p));
  const results = await Promise.all(files.map(readAll));
  for (let i = 0; i < plains.length; i++) assert.ok(Buffer.concat(results[i]!).equals(plains[i]!), `size ${sizes[i]}`);
  assertDisjoint(results.flat());
  // A plaintext is never a window on a pooled read buffer (those are larger than any chunk).
  for (const chunk of results.flat())
    assert.ok(chunk.buffer.byteLength < HEADER_LEN + 4 * SEG, 'chunk views a read buffer');
});

test('attack: freeing every piece as the senders do (wipe + transfer(0)) leaves the pool and later reads intact', async () => {
  const a = patterned(6 * DEFAULT_CHUNK_SIZE + 11, 7);
  const b = patterned(5 * DEFAULT_CHUNK_SIZE + 3, 8);
  const fa = sealedFile(a);
  const fb = sealedFile(b);
  for (let round = 0; round < 4; round++) {
    const [ca, cb] = await Promise.all([readAll(fa), readAll(fb)]);
    assert.ok(Buffer.concat(ca).equals(a));
    assert.ok(Buffer.concat(cb).equals(b));
    for (const c of [...ca, ...cb]) releasePiece(markReleasable(c));
  }
  assert.ok(pooledReadBuffers() <= 8);
});

test('attack: many reads failing at once (truncated, cut at a chunk, tampered in the first read) never return a buffer twice', async () => {
  const good = Array.from({ length: 10 }, (_, i) => patterned(5 * DEFAULT_CHUNK_SIZE + 100 * i, 20 + i));
  const goodFiles = good.map((p) => sealedFile(p));
  const broken: string[] = [];
  const base = fs.readFileSync(sealedFile(patterned(7 * DEFAULT_CHUNK_SIZE + 5, 99)));
  const variants = [
    base.subarray(0, HEADER_LEN + 2 * SEG + 100), // cut mid-chunk
    base.subarray(0, HEADER_LEN + 4 * SEG), // cut at a chunk boundary, inside the first read
    base.subarray(0, HEADER_LEN + 5 * SEG), // cut at a chunk boundary, after it
    (() => {
      const t = Buffer.from(base);
      t[HEADER_LEN + 10]! ^= 0x40; // first chunk tampered
      return t;
    })(),
    (() => {
      const t = Buffer.from(base);
      t[t.length - 1]! ^= 1; // last tag tampered
      return t;
    })(),
  ];
  for (const v of variants) {
    const f = path.join(tmp, `broken-${broken.length}`);
    fs.writeFileSync(f, v);
    broken.push(f);
  }
  for (let round = 0; round < 3; round++) {
    const failing = broken.flatMap((f) => [readAll(f), readAll(f)]);
    const reading = goodFiles.map(readAll);
    for (const r of await Promise.allSettled(failing)) {
      assert.equal(r.status, 'rejected');
      assert.ok((r as PromiseRejectedResult).reason instanceof DecryptionError);
    }
    // A buffer handed to two reads at once would corrupt one: GCM would refuse a good file.
    const got = await Promise.all(reading);
    for (let i = 0; i < good.length; i++) assert.ok(Buffer.concat(got[i]!).equals(good[i]!), `good file ${i}`);
    assert.ok(pooledReadBuffers() <= 8, `pooled: ${pooledReadBuffers()}`);
  }
});

test('attack: a file cut while it is being read fails, and hands out nothing of another file', async () => {
  const plain = patterned(8 * DEFAULT_CHUNK_SIZE + 9, 3);
  const other = patterned(8 * DEFAULT_CHUNK_SIZE + 9, 4);
  const f = sealedFile(plain);
  const fo = sealedFile(other);
  const fh = await fs.promises.open(f, 'r');
  try {
    const got: Buffer[] = [];
    const otherRead = readAll(fo);
    await assert.rejects(
      (async () => {
        for await (const chunk of readPlainChunks(fh, key, aad)) {
          got.push(chunk);
          if (got.length === 2) fs.truncateSync(f, HEADER_LEN + 5 * SEG + 1);
        }
      })(),
      DecryptionError,
    );
    const all = Buffer.concat(got);
    assert.ok(all.equals(plain.subarray(0, all.length)), 'what was handed out is this file’s prefix');
    assert.ok(Buffer.concat(await otherRead).equals(other));
  } finally {
    await fh.close();
  }
});

test('attack: range reads hand out exactly the bytes asked for, at every chunk boundary, while others read', async () => {
  const chunkSize = 64;
  const plain = patterned(64 * 9 + 5, 5);
  const f = sealedFile(plain, chunkSize);
  const big = sealedFile(patterned(6 * DEFAULT_CHUNK_SIZE, 6));
  const fh = await fs.promises.open(f, 'r');
  try {
    const starts = [0, 1, 63, 64, 65, 127, 128, 64 * 9 - 1, 64 * 9, 64 * 9 + 4];
    const lengths = [0, 1, 2, 63, 64, 65, 129];
    const results: Buffer[] = [];
    const background = readAll(big);
    for (const start of starts)
      for (const length of lengths) {
        if (start + length > plain.length) {
          await assert.rejects(readPlainRange(fh, key, aad, start, length), RangeError);
          continue;
        }
        const got = await readPlainRange(fh, key, aad, start, length);
        assert.equal(got.length, length, `length of ${start}+${length}`);
        assert.ok(got.equals(plain.subarray(start, start + length)), `range ${start}+${length}`);
        results.push(got);
      }
    await background;
    assertDisjoint(results);
  } finally {
    await fh.close();
  }
});
