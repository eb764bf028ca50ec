// Issue 19: keys — a rotating key's versions in the AEAD format: a later version seals in form 2,
// naming its version; any version of the key opens what any version sealed (form 1 is version 1);
// a version the key does not know, or a changed version byte, opens nothing; digests and sealed
// files' per-file keys stay with the first version.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { bindingBytes, DecryptionError, firstVersion, open, registerKeyVersions, seal } from '../../src/vault/aead.ts';
import { digest } from '../../src/vault/blind-index.ts';
import { fileKey, newHeader } from '../../src/vault/stream-format.ts';

const aad = bindingBytes({ tenantId: 't', table: 'outbreaks', rowId: 'o1', field: 'name' });
const plain = Buffer.from('Kita Pusteblume');

test('versions of a rotating key: each seals under itself, each opens every earlier seal', () => {
  const v1 = randomBytes(32);
  const old = seal(v1, plain, aad);
  assert.equal(old[0], 1, 'an unrotated key seals in form 1');
  const v2 = randomBytes(32);
  const byVersion = new Map([
    [1, v1],
    [2, v2],
  ]);
  registerKeyVersions(v2, { version: 2, byVersion });
  const fresh = seal(v2, plain, aad);
  assert.equal(fresh[0], 2);
  assert.equal(fresh.readUInt16BE(1), 2);
  assert.deepEqual(open(v2, old, aad), plain, 'version 2 opens what version 1 sealed');
  assert.deepEqual(open(v2, fresh, aad), plain);
  // Sealed under version 2 means under v2's bytes: v1 alone (unregistered) does not open it.
  assert.throws(() => open(v1, fresh, aad), DecryptionError);
  // A changed version byte picks another key (or none) and fails to authenticate.
  const relabelled = Buffer.from(fresh);
  relabelled.writeUInt16BE(1, 1);
  assert.throws(() => open(v2, relabelled, aad), DecryptionError);
  const unknown = Buffer.from(fresh);
  unknown.writeUInt16BE(7, 1);
  assert.throws(() => open(v2, unknown, aad), /key version 7/);
  // Truncated form-2 blobs are refused, not read out of bounds.
  assert.throws(() => open(v2, fresh.subarray(0, 20), aad), DecryptionError);
  // The first version is what digests and per-file stream keys come from.
  assert.equal(firstVersion(v2), v1);
  assert.equal(firstVersion(v1), v1);
  assert.equal(digest(v2, 'family', 'müller'), digest(v1, 'family', 'müller'));
  const header = newHeader(65_536);
  assert.deepEqual(fileKey(v2, aad, header).key, fileKey(v1, aad, header).key);
});
