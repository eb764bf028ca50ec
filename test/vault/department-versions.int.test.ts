// Issue 19: keys-online — a department key rotated while other processes use it: two keyrings on
// one database stand for two instances. A pending version is opened by both before either seals
// under it; after the switch the rotating one seals under the new version at once, the other
// within its refresh time; keys handed out before learn the new version; sealed streams name the
// version in their header (form 2) and a stream sealed before this change (form 1) still opens.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { bindingBytes, DecryptionError, keyVersion, open, seal, sealedVersion } from '../../src/vault/aead.ts';
import { Keyring } from '../../src/vault/keyring.ts';
import { departmentKeyState } from '../../src/vault/department-versions.ts';
import { fileKey, HEADER_LEN, headerKeyVersion, openChunk } from '../../src/vault/stream-format.ts';
import { ChunkSealer } from '../../src/vault/stream-seal.ts';
import { digest } from '../../src/vault/blind-index.ts';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { startHarness, type Harness } from '../helpers/harness.ts';

let h: Harness | undefined;
after(() => h?.close());

const aad = bindingBytes({ tenantId: 't1', table: 'tasks', rowId: 'x', field: 'title' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The whole plaintext of a sealed stream held in memory. */
function openStream(key: Buffer, sealed: Buffer, streamAad: Buffer): Buffer {
  const f = fileKey(key, streamAad, sealed.subarray(0, HEADER_LEN));
  const seg = f.chunkSize + 16;
  const body = sealed.subarray(HEADER_LEN);
  const out: Buffer[] = [];
  const n = Math.max(1, Math.ceil(body.length / seg));
  for (let i = 0; i < n; i++) out.push(openChunk(f, i, i === n - 1, body.subarray(i * seg, (i + 1) * seg)));
  return Buffer.concat(out);
}

function sealStream(key: Buffer, plain: Buffer, streamAad: Buffer): Buffer {
  const s = new ChunkSealer(key, streamAad, 16);
  return Buffer.concat([...s.update(plain), ...s.final()]);
}

test('a department key rotated under two running keyrings: pending first, then the switch, nothing fails', async () => {
  h = await startHarness();
  const store = h.services.store;
  const master = randomBytes(32);
  const T = `tenant-${randomUUID()}`;
  const D = randomUUID();
  const a = new Keyring(master);
  const b = new Keyring(master);
  a.refreshMs = 150;
  b.refreshMs = 150;
  const tx = <R>(fn: Parameters<typeof inTenantTransaction<R>>[2]) => inTenantTransaction(store, T, fn);
  await tx(async (t) => {
    await a.createTenantKey(t, T);
    await a.createDepartmentKey(t, T, D);
  });
  const keyA = () => tx((t) => a.departmentKey(t, T, D));
  const keyB = () => tx((t) => b.departmentKey(t, T, D));
  const heldB = await keyB();
  const old = seal(await keyA(), Buffer.from('vorher'), aad);
  const oldStream = sealStream(heldB, Buffer.from('Bild vorher'), aad);
  assert.equal(sealedVersion(old), 1);
  assert.equal(headerKeyVersion(oldStream), 1);
  const digestBefore = digest(heldB, 'family', 'quastenberg');

  // Step 1: a pending version. Nobody seals under it; after B looks again, B opens it.
  const pending = await tx((t) => a.addPendingDepartmentKey(t, T, D));
  assert.deepEqual(pending, { from: 1, to: 2 });
  assert.deepEqual(await tx((t) => a.addPendingDepartmentKey(t, T, D)), pending, 'run again: the same pending version');
  assert.equal((await tx((t) => departmentKeyState(t, T, D))).pending, 2);
  await sleep(200);
  assert.equal(keyVersion(await keyA()), 1, 'pending: still sealed under version 1');
  assert.equal(keyVersion(await keyB()), 1);

  // Step 2: the switch. A seals under version 2 at once; B's key (even the one it held from the start) opens it.
  assert.deepEqual(await tx((t) => a.switchDepartmentKey(t, T, D)), { from: 1, to: 2 });
  const k2 = await keyA();
  assert.equal(keyVersion(k2), 2);
  const fresh = seal(k2, Buffer.from('nachher'), aad);
  const freshStream = sealStream(k2, Buffer.from('Bild nachher'), aad);
  assert.equal(sealedVersion(fresh), 2);
  assert.equal(headerKeyVersion(freshStream), 2, 'the stream header names the key version');
  assert.equal(open(heldB, fresh, aad).toString(), 'nachher', 'a key B held since before the rotation opens version 2');
  assert.equal(openStream(heldB, freshStream, aad).toString(), 'Bild nachher');
  // B seals under version 1 until its refresh time has passed, then under version 2; both open everywhere.
  const stale = seal(await keyB(), Buffer.from('dazwischen'), aad);
  await sleep(200);
  const kB = await keyB();
  assert.equal(keyVersion(kB), 2, 'B seals under the new version within its refresh time');
  for (const [blob, text] of [
    [old, 'vorher'],
    [fresh, 'nachher'],
    [stale, 'dazwischen'],
  ] as const) {
    assert.equal(open(k2, blob, aad).toString(), text);
    assert.equal(open(kB, blob, aad).toString(), text);
  }
  assert.equal(openStream(kB, oldStream, aad).toString(), 'Bild vorher', 'an image sealed before opens after');
  assert.equal(digest(kB, 'family', 'quastenberg'), digestBefore, 'digests stay with the first version');
  // A fresh keyring (a restarted instance) knows both versions; a bare version-1 key does not open version 2.
  const c = new Keyring(master);
  const kC = await tx((t) => c.departmentKey(t, T, D));
  assert.equal(open(kC, fresh, aad).toString(), 'nachher');
  assert.equal(open(kC, old, aad).toString(), 'vorher');
  assert.throws(() => openStream(randomBytes(32), freshStream, aad), DecryptionError);
  // A header whose key version was changed opens nothing (the header is authenticated).
  const relabelled = Buffer.from(freshStream);
  relabelled.writeUInt16BE(1, 9);
  assert.throws(() => openStream(kC, relabelled, aad), DecryptionError);
  // Switching without a pending version is refused; nothing changes.
  await assert.rejects(
    tx((t) => a.switchDepartmentKey(t, T, D)),
    /no pending key version 3/,
  );
  assert.equal((await tx((t) => departmentKeyState(t, T, D))).version, 2);
});

test('a sealed stream written before key versions existed (form 1) still opens', () => {
  // Sealed by the code before this change (main at 8e06d9a) with key 0x07…07, chunk size 16.
  const sealed = Buffer.from(
    'S1NUUgEAAAAQdpxMGqHWcImhRL4kBZV/OZD39/eef95LIcUCvmhi+OeBsm4N5/Bw0J2YJUuFNCNvu7JyRoFeMGwakgOTcILbhGIHeu7TWisw+OIdm3bBsQ1p3VJCS9fEhE7NzzzN39iDEUGb',
    'base64',
  );
  const key = Buffer.alloc(32, 7);
  const streamAad = bindingBytes({ tenantId: 't1', table: 'instances', rowId: 'i1', field: 'file' });
  assert.equal(headerKeyVersion(sealed), 1);
  assert.equal(openStream(key, sealed, streamAad).toString(), 'Röntgen Thorax, zwei Ebenen');
});
