// Issue 19: keys — the master keys the key directory holds, read at start. `master.key` is the
// current master; a rotation (src/vault/master-rotation.ts) leaves `master.next.key` beside it
// until the switch and `master.retired.key` after it until it finishes, so whatever step a crash
// stopped it at, every office key opens. The deployment-wide index key (login names, addresses)
// was derived from the first master; a rotation stores it sealed under the new master in
// `deployment-index.<key id>.key`, so usernames are still found after it. Key ids are one-way.
import { hkdfSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { bindingBytes, open, type Binding } from './aead.ts';
import { KeyFileError, readOrCreateSecret, readSecretIfPresent } from './key-file.ts';
import { refusal } from '../config/refusal.ts'; // s25-review
import { randomBytes } from 'node:crypto';

export const MASTER_KEY_FILE = 'master.key';
/** How many random bytes a master key Kartei makes has (a shorter one is a doctor's critical finding). */
export const MASTER_KEY_BYTES = 32;
export const NEXT_MASTER_FILE = 'master.next.key';
export const RETIRED_MASTER_FILE = 'master.retired.key';
export const indexKeyFile = (masterId: string) => `deployment-index.${masterId}.key`;

/** The masters a key directory holds. */
export interface MasterKeys {
  /** The master in `master.key`: new office keys are wrapped under it. */
  current: Buffer;
  /** Masters a rotation left beside it (the next one before the switch, the retired one after it). */
  others?: Buffer[];
  /** The deployment-wide index key once a rotation has stored it; before: derived from `current`. */
  index?: Buffer;
}

export function derive(key: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), info, 32));
}

/** A key's id: a one-way digest, shown in audit events, rows and the CLI instead of the key. */
export const keyId = (key: Buffer): string => derive(key, 'kartei/key-id').toString('hex').slice(0, 16);

/** The deployment-wide index key as every installation derived it from its first master. */
export const derivedIndexKey = (master: Buffer): Buffer => derive(master, 'kartei/deployment-index');

/** Where the stored index key is bound: its file, named by the master that seals it. */
export const indexBinding = (masterId: string): Binding => ({
  tenantId: 'deployment',
  table: 'key-directory',
  rowId: indexKeyFile(masterId),
  field: 'key',
});

/** The index key the master `current` holds: stored beside it after a rotation, else derived from it. */
export function indexKeyOf(keyDir: string, current: Buffer): Buffer {
  const id = keyId(current);
  const stored = readSecretIfPresent(path.join(keyDir, indexKeyFile(id)), { links: false });
  return stored ? open(current, stored, bindingBytes(indexBinding(id))) : derivedIndexKey(current);
}

/**
 * The current master (created on first use, unless `create` is false: then its absence is refused) and
 * whatever a rotation left beside it.
 */
export function loadMasterKeys(keyDir: string, { create = true }: { create?: boolean } = {}): MasterKeys {
  const masterFile = path.join(keyDir, MASTER_KEY_FILE);
  const current = create
    ? readOrCreateSecret(masterFile, () => randomBytes(MASTER_KEY_BYTES))
    : readSecretIfPresent(masterFile);
  // s25: a key only looked at again (a new office's) is never made anew: one gone since the start is a lost key.
  if (!current)
    throw new KeyFileError(
      `There is no master key ${masterFile} any more: put back the key directory (its backup: kartei backup --keys).`,
      refusal('master-key-gone', { file: masterFile }),
    );
  // s25-review: an empty master.key (truncated, or a `touch`) is no key: every key would derive from nothing.
  if (current.length === 0) {
    const file = path.join(keyDir, MASTER_KEY_FILE);
    throw new KeyFileError(
      `Refusing ${file}: it is empty, and every key of the installation would derive from nothing; put back the key directory's master key (its backup: kartei backup --keys), or for a new installation remove the empty file.`,
      refusal('master-key-empty', { file }),
    );
  }
  const currentId = keyId(current);
  const others = [NEXT_MASTER_FILE, RETIRED_MASTER_FILE]
    .map((f) => readSecretIfPresent(path.join(keyDir, f), { links: false }))
    .filter((k): k is Buffer => !!k && keyId(k) !== currentId);
  const stored = fs.existsSync(path.join(keyDir, indexKeyFile(currentId)));
  return { current, others, index: stored ? indexKeyOf(keyDir, current) : undefined };
}
