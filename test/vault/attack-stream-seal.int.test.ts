// Attacks on the sealer freeing its buffers (issue 18, stream-seal.ts and the
// write side of sealed-files.ts): the caller's input (a socket's bytes) must
// never be freed or kept — only what the cipher made — whatever the piece
// sizes (exactly a chunk, a chunk and one, one byte); a writer aborted between
// sealing and writing must not disturb another writing at once; and every
// stored file, decrypted, must be exactly what was sent.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { bindingBytes } from '../../src/vault/aead.ts';
import { ChunkSealer } from '../../src/vault/stream-seal.ts';
import { readPlainChunks } from '../../src/vault/stream-open.ts';
import { SealedFiles } from '../../src/vault/sealed-files.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-attack-seal-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const key = randomBytes(32);
const aadOf = (id: string) => bindingBytes({ tenantId: 't1', table: 'instances', rowId: id, field: 'blob' });

function pattern(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafeSlow(size);
  for (let i = 0; i < size; i++) b[i] = (seed * 53 + i * 3 + (i >> 10)) & 0xff;
  return b;
}

async function open(file: string, aad: Buffer): Promise<Buffer> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const out: Buffer[] = [];
    for await (const c of readPlainChunks(fh, key, aad)) out.push(c);
    return Buffer.concat(out);
  } finally {
    await fh.close();
  }
}

test('attack: a caller reusing one input buffer (as a socket might), pieces of every awkward size: input never freed, file exact', async () => {
  for (const chunkSize of [16, 4096, 65_536, 256 * 1024]) {
    const sizes = [
      1,
      chunkSize,
      chunkSize + 1,
      2 * chunkSize,
      2 * chunkSize + 1,
      chunkSize - 1,
      3,
      5 * chunkSize + 7,
      chunkSize,
    ];
    const input = Buffer.allocUnsafeSlow(Math.max(...sizes));
    const aad = aadOf(`c${chunkSize}`);
    const sealer = new ChunkSealer(key, aad, chunkSize);
    const stored: Buffer[] = [];
    const sent: Buffer[] = [];
    sizes.forEach((size, i) => {
      const view = input.subarray(0, size);
      pattern(size, i).copy(view);
      sent.push(Buffer.from(view));
      const out = sealer.update(view);
      for (const b of out) stored.push(Buffer.from(b)); // "written"
      sealer.written(out);
      assert.equal(input.buffer.byteLength, input.length, `the caller's buffer was freed (chunk ${chunkSize})`);
      input.fill(0xcc); // the caller reuses its buffer at once
    });
    const last = sealer.final();
    for (const b of last) stored.push(Buffer.from(b));
    sealer.written(last);
    assert.throws(() => sealer.final(), /already ended/);
    assert.throws(() => sealer.update(Buffer.from('x')), /already ended/);
    const file = path.join(tmp, `reuse-${chunkSize}`);
    fs.writeFileSync(file, Buffer.concat(stored));
    assert.ok((await open(file, aad)).equals(Buffer.concat(sent)), `chunk size ${chunkSize}`);
  }
});

/** Writes `plain` in pieces through a reused buffer, waiting for each write's callback before reusing it. */
async function writeReusing(stream: NodeJS.WritableStream, plain: Buffer, piece: number) {
  const buf = Buffer.allocUnsafeSlow(piece);
  for (let at = 0; at < plain.length; at += piece) {
    const n = plain.copy(buf, 0, at, Math.min(plain.length, at + piece));
    await new Promise<void>((resolve, reject) =>
      stream.write(buf.subarray(0, n), (e?: Error | null) => (e ? reject(e) : resolve())),
    );
    buf.fill(0xdd);
  }
}

test('attack: two instances sealed at once, a third aborted between sealing and writing: stored bytes are each one’s own', async () => {
  const files = new SealedFiles(tmp);
  const a = pattern(3 * 256 * 1024 + 17, 1);
  const b = pattern(5 * 256 * 1024, 2);
  const c = pattern(4 * 256 * 1024 + 1, 3);
  const wa = files.create('a.sealed', key, aadOf('a'));
  const wb = files.create('b.sealed', key, aadOf('b'));
  const wc = files.create('c.sealed', key, aadOf('c'));
  const aborting = (async () => {
    // Sealed but not yet written when it is aborted: the first write is still in flight.
    wc.stream.write(c.subarray(0, 2 * 256 * 1024 + 5));
    wc.stream.write(c.subarray(2 * 256 * 1024 + 5));
    await wc.abort();
  })();
  await Promise.all([writeReusing(wa.stream, a, 16_378), writeReusing(wb.stream, b, 256 * 1024), aborting]);
  await Promise.all([wa.commit(), wb.commit()]);
  assert.ok((await open(path.join(tmp, 'a.sealed'), aadOf('a'))).equals(a));
  assert.ok((await open(path.join(tmp, 'b.sealed'), aadOf('b'))).equals(b));
  assert.equal(fs.existsSync(path.join(tmp, 'c.sealed')), false);
  assert.deepEqual(
    fs.readdirSync(tmp).filter((f) => f.includes('.tmp-')),
    [],
    'no temporary file left',
  );
  // The same name written again after the abort: whole and exact.
  const again = files.create('c.sealed', key, aadOf('c'));
  again.stream.end(c);
  await once(again.stream, 'finish');
  await again.commit();
  assert.ok((await open(path.join(tmp, 'c.sealed'), aadOf('c'))).equals(c));
});
