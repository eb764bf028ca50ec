// The audit's secrets from the key directory: the Ed25519 key that signs
// checkpoints, the chain key of the links (`chain-key.ts`) and the witnessed
// heads. None is in the database, so rewriting the database can forge neither
// a checkpoint nor a link.
//
// Issue 19: the signing key can be rotated (`signing-key-rotation.ts`). Each
// checkpoint names the key that signed it (`key_id`, the first 16 hex digits of
// the SHA-256 of its public key); retired keys leave only their public key in
// `audit-signing-retired.json` (in the order they were retired, each naming its
// successor), so every old checkpoint still verifies and nobody holds a retired
// private key. A key's generation is its place in that order (the current key
// last): within one chain, no checkpoint may be signed by an older generation
// than an earlier checkpoint of that chain. The signer re-reads the key
// directory before it signs when the files changed, so a running server (or
// another instance with the same key directory) signs with the new key as soon
// as the rotation has switched it.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { KeyFileError, keyFileJson, readOrCreateSecret } from '../vault/key-file.ts';
import { Witness } from './witness.ts';
import { chainKeyFromKeyDir } from './chain-key.ts';
import type { ChainKeying } from './chain.ts';
import { refusal } from '../config/refusal.ts'; // Issue 19: s23-german-cli

export const SIGNING_KEY_FILE = 'audit-signing.key';
/** A rotation's new key, written before it replaces the current one (`signing-key-rotation.ts`). */
export const NEXT_SIGNING_KEY_FILE = 'audit-signing.next.key';
/** The retired keys' public halves, oldest first. */
export const RETIRED_KEYS_FILE = 'audit-signing-retired.json';
const WITNESS_FILE = 'audit-witness.json';

/** A retired signing key: its public half only. */
export interface RetiredKey {
  keyId: string;
  /** SPKI DER, base64. */
  publicKey: string;
  retiredAt: string;
  /** The key that replaced it. */
  successor: string;
  /** False while its rotation is not finished (the events and the new key's checkpoints are still to come). */
  done: boolean;
}

interface RetiredKeysFile {
  v: 1;
  keys: RetiredKey[];
}

/** A key's id: the first 16 hex digits of the SHA-256 of its public key (SPKI DER). */
export const keyIdOf = (key: KeyObject): string =>
  createHash('sha256')
    .update(createPublicKey(key).export({ format: 'der', type: 'spki' }))
    .digest('hex')
    .slice(0, 16);

export const newSigningKey = (): Buffer =>
  generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' });

export const privateKeyFromDer = (der: Buffer): KeyObject =>
  createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });

/**
 * s24-review: the signing key `file` holds, or a refusal naming the file only (OpenSSL's error, with its
 * stack, said nothing of which file was damaged).
 */
function signingKeyIn(file: string, der: Buffer): KeyObject {
  try {
    return privateKeyFromDer(der);
  } catch {
    throw new KeyFileError(
      `Refusing ${file}: it is not a Kartei audit signing key (damaged?); restore the key directory from its backup`,
      refusal('signing-key-invalid', { file }),
    );
  }
}

/** A file of the key directory that must exist, refused (like the secrets) when others may read or write it. */
export function readKeyDirFile(file: string): Buffer {
  const mode = fs.statSync(file).mode & 0o777;
  if (mode & 0o077)
    throw new KeyFileError(
      `Refusing to use ${file}: it is accessible by others (mode ${mode.toString(8)}); run chmod 600 on it.`,
      refusal('key-file-exposed', { file, mode: mode.toString(8) }),
    );
  return fs.readFileSync(file);
}

/** The retired keys recorded in `keyDir` (none before the first rotation). */
export function readRetiredKeys(keyDir: string): RetiredKey[] {
  const file = path.join(keyDir, RETIRED_KEYS_FILE);
  if (!fs.existsSync(file)) return [];
  const f = keyFileJson<RetiredKeysFile>(readKeyDirFile(file).toString('utf8'));
  if (f?.v !== 1 || !Array.isArray(f.keys))
    throw new KeyFileError(
      `Refusing ${file}: it is not a Kartei key list (damaged?); restore the key directory from its backup`,
      refusal('key-list-invalid', { file }),
    );
  return f.keys;
}

interface Current {
  privateKey: KeyObject;
  publicKey: KeyObject;
  keyId: string;
}

const current = (privateKey: KeyObject): Current => ({
  privateKey,
  publicKey: createPublicKey(privateKey),
  keyId: keyIdOf(privateKey),
});

/** What identifies a file's version without reading it ('-' while it does not exist: no exception built, ~4 µs less per call here). */
const fileStamp = (file: string): string => {
  try {
    const s = fs.statSync(file, { throwIfNoEntry: false });
    return s ? `${s.ino}:${s.mtimeMs}:${s.size}` : '-';
  } catch {
    return '-';
  }
};

export class CheckpointSigner {
  /** The HMAC key of the chain's links and where plain SHA-256 links end. */
  readonly chainKey: ChainKeying;
  /** Heads last signed, outside the database; absent when the key came from elsewhere (tests). */
  readonly witness?: Witness;
  /** Where the keys are re-read from; absent when the key came from elsewhere (tests). */
  readonly keyDir?: string;
  private key: Current;
  private retired: RetiredKey[] = [];
  private readonly retiredPublic = new Map<string, KeyObject>();
  private stamp = '';

  constructor(privateKey: KeyObject, chainKey: ChainKeying, witness?: Witness, keyDir?: string) {
    this.chainKey = chainKey;
    this.witness = witness;
    this.keyDir = keyDir;
    this.key = current(privateKey);
    if (keyDir) {
      this.stamp = this.stampNow();
      this.loadRetired();
    }
  }

  /** `heads`: each chain's head now, recorded as the end of plain SHA-256 links if the chain key is created now. */
  static fromKeyDir(keyDir: string, heads: Record<string, number>): CheckpointSigner {
    const file = path.join(keyDir, SIGNING_KEY_FILE);
    return new CheckpointSigner(
      signingKeyIn(file, readOrCreateSecret(file, newSigningKey)),
      chainKeyFromKeyDir(keyDir, heads),
      new Witness(path.join(keyDir, WITNESS_FILE)),
      keyDir,
    );
  }

  /** The id of the key that signs now. */
  get keyId(): string {
    this.refresh();
    return this.key.keyId;
  }

  /** The retired keys, oldest first. */
  retiredKeys(): readonly RetiredKey[] {
    this.refresh();
    return this.retired;
  }

  /** A key's generation: its place among the retired keys, the current key last; undefined for an unknown key. */
  generation(keyId: string): number | undefined {
    this.refresh();
    if (keyId === this.key.keyId) return this.retired.length;
    const i = this.retired.findIndex((k) => k.keyId === keyId);
    return i < 0 ? undefined : i;
  }

  /** Signs with the current key (re-read first if a rotation switched it); the signature and the key's id. */
  sign(c: CheckpointClaim): { signature: string; keyId: string } {
    this.refresh();
    const { privateKey, keyId } = this.key;
    return { signature: sign(null, claimBytes(c, keyId), privateKey).toString('base64'), keyId };
  }

  /** Whether `signature` over `c` holds under the key named `keyId` (the current key when not named). */
  verify(c: CheckpointClaim, signature: string, keyId?: string): boolean {
    this.refresh();
    const id = keyId ?? this.key.keyId;
    const key = id === this.key.keyId ? this.key.publicKey : this.retiredPublic.get(id);
    if (!key) return false;
    return verify(null, claimBytes(c, id), key, Buffer.from(signature, 'base64'));
  }

  /**
   * The same on libuv's threads, under the keys as read now: `audit verify` checks a chain's checkpoints there while
   * this thread reads. It takes one after reading the checkpoints (so it knows every key that signed them) and looks
   * at the key files once, not twice per checkpoint (600 stat calls on 300,000 events, issue 18).
   */
  asyncVerifier(): (c: CheckpointClaim, signature: string, keyId?: string) => Promise<boolean> {
    this.refresh();
    const current = this.key;
    const retired = new Map(this.retiredPublic);
    return (c, signature, keyId) => {
      const id = keyId ?? current.keyId;
      const key = id === current.keyId ? current.publicKey : retired.get(id);
      if (!key) return Promise.resolve(false);
      return new Promise((resolve, reject) =>
        verify(null, claimBytes(c, id), key, Buffer.from(signature, 'base64'), (e, ok) =>
          e ? reject(e) : resolve(ok),
        ),
      );
    };
  }

  /** Re-reads the signing key and the retired keys if their files changed since they were read. */
  refresh(): void {
    if (!this.keyDir) return;
    const stamp = this.stampNow();
    if (stamp === this.stamp) return;
    // The retired keys first: a switched key's predecessor is listed before the switch (signing-key-rotation.ts).
    this.loadRetired();
    const file = path.join(this.keyDir, SIGNING_KEY_FILE);
    this.key = current(signingKeyIn(file, readKeyDirFile(file)));
    this.stamp = stamp;
  }

  private stampNow(): string {
    return `${fileStamp(path.join(this.keyDir!, SIGNING_KEY_FILE))}|${fileStamp(path.join(this.keyDir!, RETIRED_KEYS_FILE))}`;
  }

  private loadRetired(): void {
    this.retired = readRetiredKeys(this.keyDir!);
    this.retiredPublic.clear();
    for (const k of this.retired)
      this.retiredPublic.set(
        k.keyId,
        createPublicKey({ key: Buffer.from(k.publicKey, 'base64'), format: 'der', type: 'spki' }),
      );
  }
}

export interface CheckpointClaim {
  tenantId: string;
  seq: number;
  hash: string;
  at: string;
  /**
   * Issue 19: what the checkpoint covers (migration 033): the checkpoint it continues from, that one's
   * hash and the digest of the events between (`batch-digest.ts`). Absent in checkpoints signed before.
   */
  stretch?: { from: number; prevHash: string; digest: string };
}

/** The signed bytes: v1 as before; v2 also names the signing key and the stretch, so neither can be swapped. */
const claimBytes = (c: CheckpointClaim, keyId: string) =>
  Buffer.from(
    c.stretch
      ? `kartei-audit-checkpoint/v2|${c.tenantId}|${c.seq}|${c.hash}|${c.at}|${keyId}|${c.stretch.from}|${c.stretch.prevHash}|${c.stretch.digest}`
      : `kartei-audit-checkpoint/v1|${c.tenantId}|${c.seq}|${c.hash}|${c.at}`,
    'utf8',
  );
