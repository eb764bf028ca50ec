// The sealed stream format and its chunk primitives (sealing: stream-seal.ts;
// opening from a file: stream-open.ts).
// Streaming AES-256-GCM for blobs too large to hold in memory (DICOM instances),
// in the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár; as in Tink's
// AesGcmHkdfStreaming). The plaintext is cut into fixed-size chunks, each sealed
// on its own, so a reader can stop early or decrypt only the chunks it needs.
// The IV of every chunk names its position and whether it is the last one, so
// reordered, repeated, dropped, truncated or appended chunks fail to open. A
// random salt per file derives a fresh key for it, so IVs never repeat under a
// key however many files share the caller's key.
//
// Layout: header ‖ chunk₀ ‖ … ‖ chunkₙ₋₁ with n ≥ 1, each chunk = ciphertext ‖ tag.
//   header = magic "KSTR" ‖ version 1 ‖ chunk size (u32 BE) ‖ salt (32) ‖ nonce prefix (7)
//         or magic "KSTR" ‖ version 2 ‖ chunk size (u32 BE) ‖ key version (u16 BE) ‖ salt (30) ‖ nonce prefix (7)
//   key    = HKDF-SHA256(caller key, salt, "kartei/stream-aead/v1")
// Issue 19: keys-online — form 2 names the version of a rotating key (a department's) the file is
// sealed under; form 1 is its first version. Both have the same length, so offsets do not change.
//   IV     = nonce prefix ‖ chunk index (u32 BE) ‖ 1 if last chunk else 0
//   AAD    = header ‖ caller's associated data (the header has a fixed length)
// Every chunk but the last holds exactly `chunk size` plaintext bytes; the last
// holds 0 to `chunk size` (an empty plaintext is one empty last chunk).
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { DecryptionError, keyForVersion, keyVersion } from './aead.ts';
import { keyObject } from './key-object.ts';

const MAGIC = Buffer.from('KSTR', 'latin1');
const VERSION = 1;
const VERSION_KEYED = 2; // Issue 19: keys-online
const SALT_LEN = 32;
const PREFIX_LEN = 7;
export const TAG_LEN = 16;
export const HEADER_LEN = MAGIC.length + 1 + 4 + SALT_LEN + PREFIX_LEN;
export const DEFAULT_CHUNK_SIZE = 256 * 1024;
const MIN_CHUNK_SIZE = 16;
/** Bounds what an unauthenticated header can make a reader allocate. */
const MAX_CHUNK_SIZE = 64 * 1024 * 1024;
const MAX_CHUNKS = 2 ** 32;

/** One file's derived key, nonce prefix and per-chunk associated data. */
export interface FileKey {
  key: Buffer;
  prefix: Buffer;
  aad: Buffer;
  chunkSize: number;
}

function checkChunkSize(n: number): void {
  if (!Number.isInteger(n) || n < MIN_CHUNK_SIZE || n > MAX_CHUNK_SIZE) {
    throw new RangeError(`chunk size must be an integer from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE}`);
  }
}

export function checkKey(key: Buffer): void {
  if (key.length !== 32) throw new RangeError('stream key must be 32 bytes');
}

/** Issue 19: keys-online — the version of a rotating key a header names (1: form 1). */
export const headerKeyVersion = (header: Buffer): number =>
  header[MAGIC.length] === VERSION_KEYED ? header.readUInt16BE(MAGIC.length + 5) : 1;

export function fileKey(key: Buffer, aad: Buffer, header: Buffer): FileKey {
  // Issue 19: keys-online — form 2 spends two bytes of the salt on the key version.
  const keyed = header[MAGIC.length] === VERSION_KEYED;
  const salt = header.subarray(MAGIC.length + 5 + (keyed ? 2 : 0), MAGIC.length + 5 + SALT_LEN);
  return {
    // Issue 19: keys — the version of a rotating key the header names; form 1 is its first version.
    // The caller's key as a KeyObject made once (key-object.ts): hkdfSync makes one of a Buffer
    // at every call, ~5 % of a retrieval's CPU where a key is derived per file (issue 18, retrieve3).
    key: Buffer.from(
      hkdfSync('sha256', keyObject(keyForVersion(key, headerKeyVersion(header))), salt, 'kartei/stream-aead/v1', 32),
    ),
    prefix: header.subarray(HEADER_LEN - PREFIX_LEN),
    aad: Buffer.concat([header, aad]),
    chunkSize: header.readUInt32BE(MAGIC.length + 1),
  };
}

/** The chunk size a header declares; refuses unknown formats before anything is derived from it. */
export function parseHeader(header: Buffer): number {
  if (
    header.length < HEADER_LEN ||
    !header.subarray(0, MAGIC.length).equals(MAGIC) ||
    (header[MAGIC.length] !== VERSION && header[MAGIC.length] !== VERSION_KEYED)
  ) {
    throw new DecryptionError('unknown sealed stream format');
  }
  const chunkSize = header.readUInt32BE(MAGIC.length + 1);
  if (chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE)
    throw new DecryptionError('sealed stream declares an invalid chunk size');
  return chunkSize;
}

function chunkIv(f: FileKey, index: number, last: boolean): Buffer {
  if (index >= MAX_CHUNKS) throw new RangeError('sealed stream has too many chunks for its chunk size');
  const iv = Buffer.allocUnsafe(12);
  f.prefix.copy(iv, 0);
  iv.writeUInt32BE(index, PREFIX_LEN);
  iv[11] = last ? 1 : 0;
  return iv;
}

export function sealChunk(f: FileKey, index: number, last: boolean, plain: Buffer, out: Buffer[]): void {
  const cipher = createCipheriv('aes-256-gcm', keyObject(f.key), chunkIv(f, index, last));
  cipher.setAAD(f.aad);
  if (plain.length > 0) out.push(cipher.update(plain));
  cipher.final();
  out.push(cipher.getAuthTag());
}

/** The plaintext of one chunk (ciphertext ‖ tag), returned only once its tag has been checked. */
export function openChunk(f: FileKey, index: number, last: boolean, sealed: Buffer): Buffer {
  if (sealed.length < TAG_LEN) throw new DecryptionError('sealed stream is truncated');
  const body = sealed.length - TAG_LEN;
  const decipher = createDecipheriv('aes-256-gcm', keyObject(f.key), chunkIv(f, index, last));
  decipher.setAAD(f.aad);
  decipher.setAuthTag(sealed.subarray(body));
  try {
    const plain = decipher.update(sealed.subarray(0, body));
    decipher.final();
    return plain;
  } catch {
    throw new DecryptionError(`sealed stream chunk ${index} does not authenticate for this key and binding`);
  }
}

/** Bytes a plaintext of `plainSize` occupies once sealed. */
export function sealedSize(plainSize: number, chunkSize = DEFAULT_CHUNK_SIZE): number {
  return HEADER_LEN + plainSize + TAG_LEN * Math.max(1, Math.ceil(plainSize / chunkSize));
}

/**
 * A fresh header: this format's magic and version, the chunk size, a random salt and nonce prefix;
 * Issue 19: keys-online — for a later version of a rotating key (`keyVersion` above 1), form 2 naming it.
 */
export function newHeader(chunkSize: number, keyVersion = 1): Buffer {
  checkChunkSize(chunkSize);
  if (!Number.isInteger(keyVersion) || keyVersion < 1 || keyVersion > 0xffff) throw new RangeError('bad key version');
  const header = Buffer.alloc(HEADER_LEN);
  MAGIC.copy(header, 0);
  header[MAGIC.length] = keyVersion > 1 ? VERSION_KEYED : VERSION;
  header.writeUInt32BE(chunkSize, MAGIC.length + 1);
  randomBytes(SALT_LEN + PREFIX_LEN).copy(header, MAGIC.length + 5);
  if (keyVersion > 1) header.writeUInt16BE(keyVersion, MAGIC.length + 5);
  return header;
}

/** Issue 19: keys-online — a header for `key`: form 2 naming its version if it is a later version of a rotating key. */
export const headerFor = (key: Buffer, chunkSize: number): Buffer => newHeader(chunkSize, keyVersion(key));
