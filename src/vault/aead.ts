// AES-256-GCM with associated data. The associated data names the tenant,
// table, row and field a ciphertext belongs to, so a ciphertext copied into
// another row or field fails to decrypt instead of showing the wrong data.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { keyObject } from './key-object.ts';

const FORMAT = 1;
const IV_LEN = 12;
const TAG_LEN = 16;

export interface Binding {
  tenantId: string;
  table: string;
  rowId: string;
  field: string;
}

/** Each part is length-prefixed, so no value can shift a boundary between parts. */
export const bindingBytes = (b: Binding) =>
  Buffer.from(
    `kartei/v${FORMAT}${[b.tenantId, b.table, b.rowId, b.field].map((p) => `|${p.length}:${p}`).join('')}`,
    'utf8',
  );

export function seal(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(IV_LEN);
  const cipher = createCipheriv('aes-256-gcm', keyObject(key), iv);
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.of(FORMAT), iv, body, cipher.getAuthTag()]);
}

export class DecryptionError extends Error {}

export function open(key: Buffer, blob: Buffer, aad: Buffer): Buffer {
  if (blob.length < 1 + IV_LEN + TAG_LEN || blob[0] !== FORMAT) throw new DecryptionError('unknown ciphertext format');
  const iv = blob.subarray(1, 1 + IV_LEN);
  const tag = blob.subarray(blob.length - TAG_LEN);
  const decipher = createDecipheriv('aes-256-gcm', keyObject(key), iv);
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(blob.subarray(1 + IV_LEN, blob.length - TAG_LEN)), decipher.final()]);
  } catch {
    throw new DecryptionError('ciphertext does not authenticate for this binding');
  }
}
