// A key given as bytes, as the KeyObject Node's crypto wants for each cipher and HMAC.
// Node 24 (OpenSSL 3.5) turns a Buffer key into a key object on every createHmac,
// createCipheriv and createDecipheriv, which made a small field's decryption and an
// audit link's HMAC 4-5× slower than on Node 20; a KeyObject made once is not.
// Kept per key buffer (keys are never changed in place) for as long as the buffer lives.
import { createSecretKey, type KeyObject } from 'node:crypto';

const objects = new WeakMap<Uint8Array, KeyObject>();

export function keyObject(key: Uint8Array): KeyObject {
  let object = objects.get(key);
  if (!object) {
    object = createSecretKey(key);
    objects.set(key, object);
  }
  return object;
}
