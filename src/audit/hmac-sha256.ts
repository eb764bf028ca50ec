// HMAC-SHA-256 of a short text as two one-shot SHA-256 digests (RFC 2104:
// H((K ^ opad) || H((K ^ ipad) || m))), bit for bit what createHmac gives. On
// Node 24 (OpenSSL 3.5) createHmac fetches and initialises a MAC context at every
// call, ~1.9 µs of an audit link's ~2.2 µs; `crypto.hash` needs no context object,
// so every link (appended per audited request, recomputed per row by `audit verify`)
// costs ~0.4 µs less. The padded key blocks are kept per key, as the key itself is;
// the scratch buffers are this module's own, written and hashed synchronously, and
// nothing of them is ever handed out (the digest is a new string).
import { hash } from 'node:crypto';

const BLOCK = 64;
/** Messages up to this many UTF-8 bytes; longer ones are left to createHmac (the caller's fallback). */
const MAX_MESSAGE = 16_384;

interface Pads {
  /** K ^ ipad, then room for the message. */
  inner: Buffer;
  /** K ^ opad, then room for the inner digest. */
  outer: Buffer;
}

const padsByKey = new WeakMap<Uint8Array, Pads>();

function padsOf(key: Uint8Array): Pads {
  let pads = padsByKey.get(key);
  if (!pads) {
    // A key longer than a block is hashed first (RFC 2104); chain keys are 32 bytes.
    const k = key.length > BLOCK ? hash('sha256', key, 'buffer') : key;
    pads = { inner: Buffer.alloc(BLOCK + MAX_MESSAGE), outer: Buffer.alloc(BLOCK + 32) };
    for (let i = 0; i < BLOCK; i++) {
      const b = k[i] ?? 0;
      pads.inner[i] = b ^ 0x36;
      pads.outer[i] = b ^ 0x5c;
    }
    padsByKey.set(key, pads);
  }
  return pads;
}

/** HMAC-SHA-256 of `message` (UTF-8) under `key`, in hex; undefined if the message is too long for this way. */
export function hmacSha256Hex(key: Uint8Array, message: string): string | undefined {
  // A UTF-16 unit is at most 3 UTF-8 bytes: within this bound the message always fits whole.
  if (message.length * 3 > MAX_MESSAGE) return undefined;
  const { inner, outer } = padsOf(key);
  const n = inner.write(message, BLOCK, 'utf8');
  const innerDigest = hash('sha256', inner.subarray(0, BLOCK + n), 'buffer');
  outer.set(innerDigest, BLOCK);
  return hash('sha256', outer, 'hex');
}
