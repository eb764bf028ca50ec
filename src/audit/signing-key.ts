// The Ed25519 key that signs audit checkpoints. It lives in the key directory,
// never in the database, so rewriting the database cannot forge a checkpoint.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import path from 'node:path';
import { readOrCreateSecret } from '../vault/key-file.ts';
import { Witness } from './witness.ts';

export const SIGNING_KEY_FILE = 'audit-signing.key';
export const WITNESS_FILE = 'audit-witness.json';

export class CheckpointSigner {
  readonly keyId: string;
  private readonly publicKey: KeyObject;

  constructor(
    private readonly privateKey: KeyObject,
    /** Heads last signed, outside the database; absent when the key came from elsewhere (tests). */
    readonly witness?: Witness,
  ) {
    this.publicKey = createPublicKey(privateKey);
    const raw = this.publicKey.export({ format: 'der', type: 'spki' });
    this.keyId = createHash('sha256').update(raw).digest('hex').slice(0, 16);
  }

  static fromKeyDir(keyDir: string): CheckpointSigner {
    const der = readOrCreateSecret(path.join(keyDir, SIGNING_KEY_FILE), () =>
      generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }),
    );
    return new CheckpointSigner(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }), new Witness(path.join(keyDir, WITNESS_FILE)));
  }

  sign(c: CheckpointClaim): string {
    return sign(null, claimBytes(c), this.privateKey).toString('base64');
  }

  verify(c: CheckpointClaim, signature: string): boolean {
    return verify(null, claimBytes(c), this.publicKey, Buffer.from(signature, 'base64'));
  }
}

export interface CheckpointClaim {
  tenantId: string;
  seq: number;
  hash: string;
  at: string;
}

const claimBytes = (c: CheckpointClaim) =>
  Buffer.from(`kartei-audit-checkpoint/v1|${c.tenantId}|${c.seq}|${c.hash}|${c.at}`, 'utf8');
