// A sealed file's key is HKDF-SHA-256 of the caller's key (stream-format.ts): derived through a
// KeyObject kept per key buffer (key-object.ts) it is still exactly what hkdfSync gives for the key's
// bytes, with files of several keys derived in turn, so files sealed before open as they did;
// and a file opened between files of another key comes out byte for byte its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hkdfSync, randomBytes } from 'node:crypto';
import { DEFAULT_CHUNK_SIZE, fileKey, HEADER_LEN, newHeader } from '../../src/vault/stream-format.ts';
import { ChunkSealer } from '../../src/vault/stream-seal.ts';
import { readPlainChunks } from '../../src/vault/stream-open.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

test('fileKey derives what hkdfSync derives from the key’s bytes, keys interleaved', () => {
  const keys = Array.from({ length: 4 }, () => randomBytes(32));
  for (let i = 0; i < 400; i++) {
    const key = keys[i % keys.length]!;
    const header = newHeader(DEFAULT_CHUNK_SIZE);
    const salt = header.subarray(9, 41); // after the magic, version and chunk size
    const expected = Buffer.from(hkdfSync('sha256', Buffer.from(key), salt, 'kartei/stream-aead/v1', 32));
    assert.deepEqual(fileKey(key, Buffer.alloc(0), header).key, expected);
  }
  assert.equal(HEADER_LEN, 48);
});

test('files of different keys read in turn each open to their own bytes', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-filekey-'));
  try {
    const files = Array.from({ length: 6 }, (_, i) => {
      const key = randomBytes(32);
      const aad = Buffer.from(`file ${i}`);
      const plain = randomBytes(300_000 + i * 1_000);
      const sealer = new ChunkSealer(key, aad, 64 * 1024);
      const sealed = Buffer.concat([...sealer.update(plain), ...sealer.final()]);
      const file = path.join(dir, `f${i}`);
      fs.writeFileSync(file, sealed);
      return { key, aad, plain, file };
    });
    const opened = files.map((f) => ({ f, fd: fs.openSync(f.file, 'r'), got: [] as Buffer[] }));
    const readers = opened.map((o) => readPlainChunks(o.fd, o.f.key, o.f.aad));
    for (let active = readers.length; active > 0; ) {
      active = 0;
      for (const [i, r] of readers.entries()) {
        const next = await r.next();
        if (!next.done) {
          opened[i]!.got.push(Buffer.from(next.value));
          active++;
        }
      }
    }
    for (const o of opened) {
      fs.closeSync(o.fd);
      assert.deepEqual(Buffer.concat(o.got), o.f.plain);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
