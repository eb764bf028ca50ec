// Rotating the audit signing key (issue 19, `kartei audit rotate-key`). The steps,
// each durable before the next and each safe to repeat, so a crash anywhere leaves
// an installation that verifies and a second run that finishes the rotation:
//  1. the new key is written beside the current one (`audit-signing.next.key`);
//  2. the current key's public half is added to the retired keys, naming its
//     successor, not yet done;
//  3. the new key replaces the current one (a rename): from here every signer that
//     re-reads the key directory (the running server too) signs with it;
//  4. every chain (the installation's and each office's) gets one event
//     `audit.signing-key.rotate` naming both key ids (never key material), so each
//     office's DPO sees the rotation in its own log;
//  5. a checkpoint round signs every chain with the new key, and the retired
//     entry is marked done.
// A run that finds a next key or an unfinished entry finishes that rotation
// instead of starting another. A lock file keeps a second rotation out meanwhile.
// Tests kill the process after a step through KARTEI_TEST_ROTATION_CRASH (test runs only).
import { createPublicKey } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { inTenantTransaction, type Store } from '../db/connect.ts';
import { chainIds, type AuditLog } from './audit-log.ts';
import {
  NEXT_SIGNING_KEY_FILE,
  RETIRED_KEYS_FILE,
  SIGNING_KEY_FILE,
  keyIdOf,
  newSigningKey,
  privateKeyFromDer,
  readKeyDirFile,
  readRetiredKeys,
  type CheckpointSigner,
  type RetiredKey,
} from './signing-key.ts';
import { refusal, RefusalError } from '../config/refusal.ts'; // Issue 19: s23-german-cli

export const ROTATE_ACTION = 'audit.signing-key.rotate';
const LOCK_FILE = 'audit-signing.rotation.lock';
export const TEST_CRASH_VARIABLE = 'KARTEI_TEST_ROTATION_CRASH';

export type RotationStep = 'next-written' | 'retired' | 'switched' | 'one-chain-audited' | 'audited' | 'signed';

// Issue 19: s23-german-cli — with a refusal code, for `kartei` to say it in German (src/cli/refusals.ts).
export class RotationError extends RefusalError {}

export interface RotationResult {
  retired: string;
  current: string;
  /** True when this run finished a rotation an earlier run had begun. */
  resumed: boolean;
  /** Chains that got their rotation event in this run. */
  audited: number;
}

/** What an unfinished rotation left, for `kartei doctor`; undefined when none is. */
export function unfinishedRotation(keyDir: string): string | undefined {
  if (fs.existsSync(path.join(keyDir, NEXT_SIGNING_KEY_FILE)))
    return 'a new signing key was written but not yet put in place';
  const open = readRetiredKeys(keyDir).find((k) => !k.done);
  return open ? `the rotation from key ${open.keyId} to ${open.successor} is not finished` : undefined;
}

export async function rotateSigningKey(
  store: Store,
  audit: AuditLog,
  signer: CheckpointSigner,
): Promise<RotationResult> {
  const keyDir = signer.keyDir;
  if (!keyDir)
    throw new RotationError('the signing key does not come from a key directory', refusal('audit-key-not-in-key-dir'));
  const unlock = lock(keyDir);
  try {
    return await rotate(store, audit, signer, keyDir);
  } finally {
    unlock();
  }
}

async function rotate(
  store: Store,
  audit: AuditLog,
  signer: CheckpointSigner,
  keyDir: string,
): Promise<RotationResult> {
  const file = (f: string) => path.join(keyDir, f);
  let retired = readRetiredKeys(keyDir);
  const open = retired.find((k) => !k.done);
  const resumed = !!open || fs.existsSync(file(NEXT_SIGNING_KEY_FILE));
  const currentDer = readKeyDirFile(file(SIGNING_KEY_FILE));
  const currentId = keyIdOf(privateKeyFromDer(currentDer));
  let entry: RetiredKey;
  if (open) {
    // Steps 1–3 are done: the open entry's successor must be the key in place.
    if (open.successor !== currentId && !fs.existsSync(file(NEXT_SIGNING_KEY_FILE)))
      throw new RotationError(
        `${RETIRED_KEYS_FILE} names ${open.successor} as the successor of ${open.keyId}, but the signing key is ${currentId}`,
        refusal('audit-key-successor-mismatch', {
          file: RETIRED_KEYS_FILE,
          successor: open.successor,
          keyId: open.keyId,
          current: currentId,
        }),
      );
    entry = open;
  } else {
    // 1. The new key beside the current one (kept if an earlier run wrote it).
    if (!fs.existsSync(file(NEXT_SIGNING_KEY_FILE))) durableWrite(file(NEXT_SIGNING_KEY_FILE), newSigningKey());
    crashPoint('next-written');
    const nextId = keyIdOf(privateKeyFromDer(readKeyDirFile(file(NEXT_SIGNING_KEY_FILE))));
    // 2. The current key's public half among the retired keys, before it is replaced.
    entry = {
      keyId: currentId,
      publicKey: publicKeyBase64(currentDer),
      retiredAt: new Date().toISOString(),
      successor: nextId,
      done: false,
    };
    retired = [...retired.filter((k) => k.keyId !== currentId), entry];
    durableWrite(file(RETIRED_KEYS_FILE), Buffer.from(JSON.stringify({ v: 1, keys: retired }, null, 1)));
    crashPoint('retired');
  }
  // 3. The new key in place.
  if (fs.existsSync(file(NEXT_SIGNING_KEY_FILE))) {
    fs.renameSync(file(NEXT_SIGNING_KEY_FILE), file(SIGNING_KEY_FILE));
    syncDir(keyDir);
  }
  signer.refresh();
  if (signer.keyId !== entry.successor)
    throw new RotationError(
      `the signing key in place is ${signer.keyId}, expected ${entry.successor}`,
      refusal('audit-key-unexpected', { current: signer.keyId, expected: entry.successor }),
    );
  crashPoint('switched');
  // 4. One event per chain that has none for this rotation yet.
  let audited = 0;
  for (const chain of await chainIds(store)) {
    const added = await inTenantTransaction(store, chain, async (tx) => {
      const seen = await tx
        .selectFrom('audit_events')
        .select('seq')
        .where('tenant_id', '=', chain)
        .where('action', '=', ROTATE_ACTION)
        .where('detail', 'like', `%"keyId":"${entry.successor}"%`)
        .executeTakeFirst();
      if (seen) return false;
      await audit.append(tx, {
        tenantId: chain,
        actorId: null,
        action: ROTATE_ACTION,
        resourceType: 'audit-signing-key',
        outcome: 'allowed',
        detail: { retiredKeyId: entry.keyId, keyId: entry.successor },
      });
      return true;
    });
    if (added && ++audited === 1) crashPoint('one-chain-audited');
  }
  crashPoint('audited');
  // 5. Every chain signed by the new key, then the rotation is done.
  await audit.checkpointAll();
  crashPoint('signed');
  const keys = readRetiredKeys(keyDir).map((k) => (k.keyId === entry.keyId ? { ...k, done: true } : k));
  durableWrite(file(RETIRED_KEYS_FILE), Buffer.from(JSON.stringify({ v: 1, keys }, null, 1)));
  signer.refresh();
  return { retired: entry.keyId, current: entry.successor, resumed, audited };
}

const publicKeyBase64 = (privateDer: Buffer): string =>
  createPublicKey(privateKeyFromDer(privateDer)).export({ format: 'der', type: 'spki' }).toString('base64');

/** Written to a temporary file, synced, renamed into place and the directory synced: all or nothing. */
function durableWrite(target: string, data: Buffer): void {
  const tmp = `${target}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, target);
  syncDir(path.dirname(target));
}

function syncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** One rotation at a time: the lock file names the process; one left by a dead process is taken over. */
function lock(keyDir: string): () => void {
  const file = path.join(keyDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx', mode: 0o600 });
      return () => fs.rmSync(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(fs.readFileSync(file, 'utf8'));
      if (alive(pid))
        throw new RotationError(
          `another rotation of the audit signing key is running (process ${pid})`,
          refusal('audit-key-rotation-running', { pid }),
        );
      fs.rmSync(file, { force: true });
    }
  }
  throw new RotationError('could not take the rotation lock', refusal('audit-key-rotation-lock'));
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function crashPoint(step: RotationStep): void {
  if (process.env.NODE_ENV === 'test' && process.env[TEST_CRASH_VARIABLE] === step)
    process.kill(process.pid, 'SIGKILL');
}
