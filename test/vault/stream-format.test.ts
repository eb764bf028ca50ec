// Streaming AES-GCM: round trips at the chunk boundaries and with writes of any
// size; every kind of tampering (flipped bits, cuts, reordered, repeated or
// appended chunks, another key, binding or file) fails, and reading never
// hands out plaintext of a chunk that did not authenticate; random access reads
// exactly the requested slice and authenticates what it reads.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes, randomInt } from 'node:crypto';
import { bindingBytes, DecryptionError } from '../../src/vault/aead.ts';
import { DEFAULT_CHUNK_SIZE, HEADER_LEN, sealedSize } from '../../src/vault/stream-format.ts';
import { ChunkSealer } from '../../src/vault/stream-seal.ts';
import { readPlainChunks, readPlainRange } from '../../src/vault/stream-open.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-stream-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const key = randomBytes(32);
const aad = bindingBytes({ tenantId: 't1', table: 'instances', rowId: 'i1', field: 'blob' });
const CS = 64;
const SEG = CS + 16;

/** `buf` cut into pieces of random sizes up to `max`. */
function pieces(buf: Buffer, max: number): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < buf.length; ) {
    const n = Math.min(buf.length - off, randomInt(1, max + 1));
    out.push(buf.subarray(off, off + n));
    off += n;
  }
  return out;
}

function seal(plain: Buffer, chunkSize = CS, maxPiece = plain.length || 1, k = key, a = aad): Buffer {
  const sealer = new ChunkSealer(k, a, chunkSize);
  return Buffer.concat([...pieces(plain, maxPiece).flatMap((p) => sealer.update(p)), ...sealer.final()]);
}

let files = 0;
/** Reads `sealed` back from a file the way the archive does; what came out before any error, and the error. */
async function open(sealed: Buffer, k = key, a = aad): Promise<{ out: Buffer; error?: unknown }> {
  const file = path.join(tmp, `open-${files++}`);
  fs.writeFileSync(file, sealed);
  const got: Buffer[] = [];
  const fh = await fs.promises.open(file, 'r');
  try {
    for await (const b of readPlainChunks(fh, k, a)) got.push(Buffer.from(b));
    return { out: Buffer.concat(got) };
  } catch (error) {
    return { out: Buffer.concat(got), error };
  } finally {
    await fh.close();
  }
}

/** Opening fails with a DecryptionError, having emitted at most the first `allowed` bytes of `plain`. */
async function assertRefused(sealed: Buffer, plain: Buffer, allowed: number, what: string, k = key, a = aad) {
  const { out, error } = await open(sealed, k, a);
  assert.ok(error instanceof DecryptionError, `${what}: ${String(error)}`);
  assert.ok(out.length <= allowed, `${what}: emitted ${out.length} bytes, at most ${allowed} authenticated`);
  assert.deepEqual(out, plain.subarray(0, out.length), what);
}

const chunkAt = (sealed: Buffer, i: number) => sealed.subarray(HEADER_LEN + i * SEG, HEADER_LEN + (i + 1) * SEG);

test('round trip at the chunk boundaries, written in one piece and byte by byte', async () => {
  for (const cs of [CS, DEFAULT_CHUNK_SIZE]) {
    for (const n of [0, 1, cs - 1, cs, cs + 1, 2 * cs, 3 * cs + 5]) {
      const plain = randomBytes(n);
      for (const maxPiece of [n || 1, 1]) {
        if (maxPiece === 1 && n > 4 * CS) continue;
        const sealed = seal(plain, cs, maxPiece);
        assert.equal(sealed.length, sealedSize(n, cs), `size of ${n} in chunks of ${cs}`);
        const { out, error } = await open(sealed);
        assert.equal(error, undefined);
        assert.deepEqual(out, plain, `${n} bytes in chunks of ${cs}, written in pieces up to ${maxPiece}`);
      }
    }
  }
  assert.equal(sealedSize(0), HEADER_LEN + 16, 'an empty plaintext is one empty chunk');
});

test('round trip of several MB written in pieces of random size; never the same ciphertext twice; the marker is not visible', async () => {
  const plain = randomBytes(7 * 1024 * 1024 + 333);
  const marker = Buffer.from('Hannelore Quastenberg', 'utf8');
  for (let at = 0; at < plain.length - marker.length; at += 100_003) marker.copy(plain, at);
  const a = seal(plain, DEFAULT_CHUNK_SIZE, 3 * 1024 * 1024);
  const b = seal(plain, DEFAULT_CHUNK_SIZE, 1500);
  assert.equal(a.length, sealedSize(plain.length));
  assert.notDeepEqual(a.subarray(0, 4096), b.subarray(0, 4096), 'a fresh salt and nonce prefix per stream');
  assert.equal(a.includes(Buffer.from('Quastenberg')), false);
  for (const sealed of [a, b]) {
    const { out, error } = await open(sealed);
    assert.equal(error, undefined);
    assert.ok(out.equals(plain));
  }
});

test('every flipped bit fails, and no plaintext of the altered chunk or any later one comes out', async () => {
  const plain = randomBytes(3 * CS + 20);
  const sealed = seal(plain);
  assert.equal(sealed.length, HEADER_LEN + 4 * SEG - (CS - 20));
  for (let i = 0; i < sealed.length; i++) {
    const chunk = i < HEADER_LEN ? 0 : Math.floor((i - HEADER_LEN) / SEG);
    for (let bit = 0; bit < 8; bit++) {
      const bad = Buffer.from(sealed);
      bad[i]! ^= 1 << bit;
      await assertRefused(bad, plain, chunk * CS, `byte ${i} bit ${bit}`);
    }
  }
});

test('a file cut anywhere fails; only chunks that authenticate at their place come out, none taken for the last', async () => {
  for (const n of [0, CS, 3 * CS + 20]) {
    const plain = randomBytes(n);
    const sealed = seal(plain);
    for (let cut = 0; cut < sealed.length; cut++) {
      // The whole chunks before the cut were sealed as not the last: they authenticate as such, and no more.
      const whole = Math.max(0, Math.floor((cut - HEADER_LEN) / SEG));
      await assertRefused(sealed.subarray(0, cut), plain, whole * CS, `${n} bytes cut at ${cut}`);
    }
  }
});

test('reordered, repeated, dropped and appended chunks fail; so do chunks from another file under the same key', async () => {
  const plain = randomBytes(4 * CS);
  const sealed = seal(plain);
  const header = sealed.subarray(0, HEADER_LEN);
  const c = [0, 1, 2, 3].map((i) => chunkAt(sealed, i));
  const [c0, c1, c2, c3] = c as [Buffer, Buffer, Buffer, Buffer];
  const cases: [string, Buffer, number][] = [
    ['swap 0 and 1', Buffer.concat([header, c1, c0, c2, c3]), 0],
    ['swap 2 and 3', Buffer.concat([header, c0, c1, c3, c2]), 2 * CS],
    ['repeat 0', Buffer.concat([header, c0, c0, c1, c2, c3]), CS],
    ['repeat last', Buffer.concat([header, c0, c1, c2, c3, c3]), 3 * CS],
    ['drop 1', Buffer.concat([header, c0, c2, c3]), CS],
    ['drop last', Buffer.concat([header, c0, c1, c2]), 2 * CS],
    ['append one byte', Buffer.concat([sealed, Buffer.of(0)]), 3 * CS],
    ['append a tag length', Buffer.concat([sealed, randomBytes(16)]), 3 * CS],
    ['append a chunk length', Buffer.concat([sealed, randomBytes(SEG)]), 3 * CS],
  ];
  const other = seal(randomBytes(4 * CS));
  cases.push(['chunk 1 from another file', Buffer.concat([header, c0, chunkAt(other, 1), c2, c3]), CS]);
  cases.push(['header of another file', Buffer.concat([other.subarray(0, HEADER_LEN), c0, c1, c2, c3]), 0]);
  for (const [what, bad, allowed] of cases) await assertRefused(bad, plain, allowed, what);
});

test('another key or binding fails before any plaintext, even for an empty plaintext; so does a header naming another chunk size', async () => {
  for (const n of [0, 10, 5 * CS]) {
    const plain = randomBytes(n);
    const sealed = seal(plain);
    await assertRefused(sealed, plain, 0, 'wrong key', randomBytes(32));
    await assertRefused(
      sealed,
      plain,
      0,
      'wrong binding',
      key,
      bindingBytes({ tenantId: 't1', table: 'instances', rowId: 'i2', field: 'blob' }),
    );
    const resized = Buffer.from(sealed);
    resized.writeUInt32BE(CS + 16, 5);
    await assertRefused(resized, plain, 0, 'chunk size rewritten');
  }
  await assertRefused(Buffer.alloc(200), Buffer.alloc(0), 0, 'not a sealed stream');
});

test('bad parameters are refused', async () => {
  assert.throws(() => new ChunkSealer(randomBytes(16), aad), RangeError);
  assert.ok((await open(seal(randomBytes(10)), randomBytes(31))).error instanceof RangeError);
  for (const chunkSize of [0, 15, 1.5, 64 * 1024 * 1024 + 1])
    assert.throws(() => new ChunkSealer(key, aad, chunkSize), RangeError);
});

test('readPlainRange returns exactly the requested slice at and across chunk boundaries, from a number fd or a FileHandle', async () => {
  const plain = randomBytes(5 * CS + 7);
  const file = path.join(tmp, 'range.bin');
  fs.writeFileSync(file, seal(plain));
  const ranges: [number, number][] = [
    [0, 0],
    [0, 1],
    [0, CS - 1],
    [0, CS],
    [0, CS + 1],
    [CS - 1, 1],
    [CS - 1, 2],
    [CS, CS],
    [CS + 1, CS - 2],
    [2 * CS - 3, 2 * CS + 6],
    [5 * CS, 7],
    [5 * CS + 6, 1],
    [plain.length, 0],
    [0, plain.length],
  ];
  for (let i = 0; i < 50; i++) {
    const s = randomInt(0, plain.length + 1);
    ranges.push([s, randomInt(0, plain.length - s + 1)]);
  }
  const fd = fs.openSync(file, 'r');
  const fh = await fs.promises.open(file, 'r');
  try {
    for (const [start, length] of ranges) {
      assert.deepEqual(
        await readPlainRange(fd, key, aad, start, length),
        plain.subarray(start, start + length),
        `fd ${start}+${length}`,
      );
      assert.deepEqual(
        await readPlainRange(fh, key, aad, start, length),
        plain.subarray(start, start + length),
        `handle ${start}+${length}`,
      );
    }
    for (const [start, length] of [
      [-1, 1],
      [0, plain.length + 1],
      [plain.length, 1],
      [1.5, 1],
      [0, -1],
    ] as const) {
      await assert.rejects(readPlainRange(fh, key, aad, start, length), RangeError, `${start}+${length}`);
    }
    await assert.rejects(readPlainRange(fh, key, Buffer.from('elsewhere'), 0, 1), DecryptionError);
    await assert.rejects(readPlainRange(fh, randomBytes(32), aad, CS, 1), DecryptionError);
  } finally {
    fs.closeSync(fd);
    await fh.close();
  }
});

test('readPlainRange authenticates every chunk it reads, and whether it is the last by the size of the file', async () => {
  const plain = randomBytes(4 * CS);
  const sealed = seal(plain);
  const read = async (bytes: Buffer, start: number, length: number) => {
    const file = path.join(tmp, `r-${randomBytes(4).toString('hex')}.bin`);
    fs.writeFileSync(file, bytes);
    const fh = await fs.promises.open(file, 'r');
    try {
      return await readPlainRange(fh, key, aad, start, length);
    } finally {
      await fh.close();
    }
  };
  const flipped = Buffer.from(sealed);
  flipped[HEADER_LEN + 2 * SEG + 3]! ^= 0x80;
  assert.deepEqual(
    await read(flipped, 0, 2 * CS),
    plain.subarray(0, 2 * CS),
    'chunks before the altered one still read',
  );
  await assert.rejects(read(flipped, 2 * CS - 1, 2), DecryptionError);
  await assert.rejects(read(flipped, 2 * CS + 10, 1), DecryptionError);

  const cut = sealed.subarray(0, HEADER_LEN + 3 * SEG);
  await assert.rejects(read(cut, 2 * CS, 1), DecryptionError, 'the chunk that now looks last was not sealed as last');
  await assert.rejects(
    read(sealed.subarray(0, sealed.length - 1), 3 * CS, 1),
    DecryptionError,
    'a cut inside the last chunk',
  );
  const longer = Buffer.concat([sealed, chunkAt(sealed, 3)]);
  await assert.rejects(read(longer, 3 * CS, 1), DecryptionError, 'the real last chunk is no longer at the end');
  await assert.rejects(read(longer, 4 * CS, 1), DecryptionError, 'a repeated chunk at the wrong position');
  const swapped = Buffer.concat([
    sealed.subarray(0, HEADER_LEN),
    chunkAt(sealed, 1),
    chunkAt(sealed, 0),
    chunkAt(sealed, 2),
    chunkAt(sealed, 3),
  ]);
  await assert.rejects(read(swapped, 0, 1), DecryptionError);
  const header = Buffer.from(sealed);
  header[HEADER_LEN - 1]! ^= 1;
  await assert.rejects(read(header, CS, 1), DecryptionError, 'an altered header');
});

test('the sealer frees its buffers only when told, and only its own: sealed chunks handed back by `written`, the held-back chunk at `final`', async () => {
  const chunkSize = 4096;
  const plains = [randomBytes(5 * chunkSize + 100), randomBytes(3 * chunkSize)];
  const sealers = plains.map(() => new ChunkSealer(key, aad, chunkSize));
  const outs: Buffer[][] = [[], []];
  const piecesOf = plains.map((p) => pieces(p, 3000));
  // Two streams interleaved piece by piece, each output kept (copied) before it is handed back and freed.
  for (let i = 0; piecesOf.some((p) => i < p.length); i++)
    for (const s of [0, 1]) {
      const piece = piecesOf[s]![i];
      if (!piece) continue;
      const out = sealers[s]!.update(piece);
      outs[s]!.push(...out.map((b) => Buffer.from(b)));
      sealers[s]!.written(out);
      assert.ok(
        out.every((b) => b.length === 0 || b.length < 100),
        'a sealed chunk handed back is freed (reads as empty); the header is not',
      );
      assert.equal(piece.length > 0 && piece.buffer.byteLength > 0, true, "the caller's input is never freed");
    }
  for (const s of [0, 1]) {
    const last = sealers[s]!.final();
    outs[s]!.push(...last.map((b) => Buffer.from(b)));
    assert.throws(() => sealers[s]!.update(Buffer.from('x')), /already ended/);
    assert.throws(() => sealers[s]!.final(), /already ended/);
    // Not handed back: still readable.
    assert.ok(last.some((b) => b.length > 16));
  }
  for (const s of [0, 1]) assert.deepEqual((await open(Buffer.concat(outs[s]!))).out, plains[s]);
  // Buffers the sealer did not make are left alone by `written`.
  const foreign = Buffer.alloc(chunkSize + 16, 7);
  new ChunkSealer(key, aad, chunkSize).written([foreign]);
  assert.equal(foreign.length, chunkSize + 16);
});
