// The chain key: the HMAC key of the audit chain's links, in the key directory
// (`audit-chain.key`, 0600), never in the database. The file is written once,
// at the first start that has no chain key, together with each existing
// chain's head at that moment: those events were linked with plain SHA-256
// and still verify as such; every later event of every chain needs the key.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { KeyFileError, keyFileJson, readOrCreateSecret } from '../vault/key-file.ts';
import { refusal } from '../config/refusal.ts';
import type { ChainKeying } from './chain.ts';

export const CHAIN_KEY_FILE = 'audit-chain.key';

interface ChainKeyFile {
  v: 1;
  key: string;
  legacyUntil: Record<string, number>;
}

/** Reads the chain key, creating it (with `heads` as the end of the plain SHA-256 links) when absent. */
export function chainKeyFromKeyDir(keyDir: string, heads: Record<string, number>): ChainKeying {
  const raw = readOrCreateSecret(path.join(keyDir, CHAIN_KEY_FILE), () =>
    Buffer.from(
      JSON.stringify({ v: 1, key: randomBytes(32).toString('base64'), legacyUntil: heads } satisfies ChainKeyFile),
    ),
  );
  return parse(raw, path.join(keyDir, CHAIN_KEY_FILE));
}

/**
 * The file's key, or a refusal naming the file only: JSON.parse's own error quotes the file's first
 * characters, which here are the secret (a damaged or hand-written chain key).
 */
function parse(raw: Buffer, file: string): ChainKeying {
  const f = keyFileJson<ChainKeyFile>(raw.toString('utf8'));
  const key = typeof f?.key === 'string' ? Buffer.from(f.key, 'base64') : Buffer.alloc(0);
  if (f?.v !== 1 || key.length !== 32)
    throw new KeyFileError(
      `Refusing ${file}: it is not a Kartei chain key (damaged?); restore the key directory from its backup`,
      refusal('chain-key-invalid', { file }),
    );
  return { key, legacyUntil: f.legacyUntil ?? {} };
}
