// Keys as KeyObjects: made once per key buffer, holding exactly its bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { keyObject } from '../../src/vault/key-object.ts';
import { open, seal } from '../../src/vault/aead.ts';

test('a key buffer becomes one KeyObject with its bytes; another buffer, even with the same bytes, its own', () => {
  const key = randomBytes(32);
  const object = keyObject(key);
  assert.equal(keyObject(key), object);
  assert.deepEqual(object.export(), key);
  const copy = Buffer.from(key);
  assert.notEqual(keyObject(copy), object);
  assert.deepEqual(keyObject(copy).export(), key);
  // Sealed under the buffer, opened under an equal one; refused under another key.
  const blob = seal(key, Buffer.from('Befund'), Buffer.from('aad'));
  assert.equal(open(copy, blob, Buffer.from('aad')).toString(), 'Befund');
  assert.throws(() => open(randomBytes(32), blob, Buffer.from('aad')));
});
