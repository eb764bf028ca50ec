// AES-256-GCM with associated data. The associated data names the tenant,
// table, row and field a ciphertext belongs to, so a ciphertext copied into
// another row or field fails to decrypt instead of showing the wrong data.
// Issue 19: keys — a key that rotates (a department's) has versions: a key registered with
// `registerKeyVersions` seals in form 2, which names the version (form 1 is version 1), and
// opening any form with any version of that key finds the version the ciphertext names.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { keyObject } from './key-object.ts';

const FORMAT = 1;
const IV_LEN = 12;
const TAG_LEN = 16;
// Issue 19: keys — form 2: [2][key version, 2 bytes][iv][ciphertext][tag].
const FORMAT_VERSIONED = 2;
const VERSION_LEN = 2;

/** Issue 19: keys — one version of a rotating key, and every version of it by number (1 = the first). */
export interface KeyVersions {
  version: number;
  byVersion: ReadonlyMap<number, Buffer>;
  /** Issue 19: keys-online — the first version once retired (in no `byVersion`): digests still derive from it. */
  first?: Buffer;
}
const versions = new WeakMap<Buffer, KeyVersions>();

/** Issue 19: keys — marks `key` as version `v.version` of a rotating key (keys are never changed in place). */
export function registerKeyVersions(key: Buffer, v: KeyVersions): void {
  versions.set(key, v);
}

/** Issue 19: keys — the version of a rotating key a key is (1 for any other key). */
export const keyVersion = (key: Buffer): number => versions.get(key)?.version ?? 1;

/** Issue 19: keys — the version of the key a ciphertext was sealed under. */
export const sealedVersion = (blob: Buffer): number =>
  blob[0] === FORMAT_VERSIONED && blob.length > VERSION_LEN ? blob.readUInt16BE(1) : 1;

/**
 * Issue 19: keys — the first version of a rotating key (or the key itself): what blind-index digests
 * and sealed files' per-file keys keep being derived from, so digests still match and files still open.
 */
export const firstVersion = (key: Buffer): Buffer => {
  const v = versions.get(key);
  return v ? (v.first ?? v.byVersion.get(1) ?? key) : key;
};

/** Issue 19: keys-online — version `version` of a rotating key (version 1 of any other key is itself). */
export function keyForVersion(key: Buffer, version: number): Buffer {
  const known = versions.get(key);
  const k = known ? known.byVersion.get(version) : version === 1 ? key : undefined;
  if (!k) throw new DecryptionError(`sealed under key version ${version}, which this key does not know`);
  return k;
}

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
  // Issue 19: keys — a later version of a rotating key names itself.
  const version = versions.get(key)?.version ?? 1;
  const head = version > 1 ? Buffer.of(FORMAT_VERSIONED, version >> 8, version & 0xff) : Buffer.of(FORMAT);
  return Buffer.concat([head, iv, body, cipher.getAuthTag()]);
}

export class DecryptionError extends Error {}

export function open(key: Buffer, blob: Buffer, aad: Buffer): Buffer {
  // Issue 19: keys — form 1 is the first version of a rotating key; form 2 names its version.
  const form = blob[0];
  const start = form === FORMAT_VERSIONED ? 1 + VERSION_LEN : 1;
  if (blob.length < start + IV_LEN + TAG_LEN || (form !== FORMAT && form !== FORMAT_VERSIONED))
    throw new DecryptionError('unknown ciphertext format');
  const version = form === FORMAT_VERSIONED ? blob.readUInt16BE(1) : 1;
  const k = keyForVersion(key, version);
  const iv = blob.subarray(start, start + IV_LEN);
  const tag = blob.subarray(blob.length - TAG_LEN);
  const decipher = createDecipheriv('aes-256-gcm', keyObject(k), iv);
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(blob.subarray(start + IV_LEN, blob.length - TAG_LEN)), decipher.final()]);
  } catch {
    throw new DecryptionError('ciphertext does not authenticate for this binding');
  }
}
