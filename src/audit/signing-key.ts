// The audit's secrets from the key directory: the Ed25519 key that signs
// checkpoints, the chain key of the links (`chain-key.ts`) and the witnessed
// heads. None is in the database, so rewriting the database can forge neither
// a checkpoint nor a link.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import path from 'node:path';
import { readOrCreateSecret } from '../vault/key-file.ts';
import { Witness } from './witness.ts';
import { chainKeyFromKeyDir } from './chain-key.ts';
import type { ChainKeying } from './chain.ts';

const SIGNING_KEY_FILE = 'audit-signing.key';
const WITNESS_FILE = 'audit-witness.json';

export class CheckpointSigner {
  readonly keyId: string;
  private readonly publicKey: KeyObject;

  private readonly privateKey: KeyObject;
  /** The HMAC key of the chain's links and where plain SHA-256 links end. */
  readonly chainKey: ChainKeying;
  /** Heads last signed, outside the database; absent when the key came from elsewhere (tests). */
  readonly witness?: Witness;
  constructor(privateKey: KeyObject, chainKey: ChainKeying, witness?: Witness) {
    this.privateKey = privateKey;
    this.chainKey = chainKey;
    this.witness = witness;
    this.publicKey = createPublicKey(privateKey);
    const raw = this.publicKey.export({ format: 'der', type: 'spki' });
    this.keyId = createHash('sha256').update(raw).digest('hex').slice(0, 16);
  }

  /** `heads`: each chain's head now, recorded as the end of plain SHA-256 links if the chain key is created now. */
  static fromKeyDir(keyDir: string, heads: Record<string, number>): CheckpointSigner {
    const der = readOrCreateSecret(path.join(keyDir, SIGNING_KEY_FILE), () =>
      generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }),
    );
    return new CheckpointSigner(
      createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }),
      chainKeyFromKeyDir(keyDir, heads),
      new Witness(path.join(keyDir, WITNESS_FILE)),
    );
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
