// Issue 19: keys — rotating the master key: the offices' keys are re-wrapped under a new
// master, no data is re-encrypted, and the deployment-wide index key (login names,
// addresses) is kept, sealed under the new master, so every username is still found.
// Each step is durable before the next and either idempotent or recognised when run
// again, so a crash at any point leaves every key openable (src/vault/master-keys.ts
// reads whatever is there) and `rotateMaster` run again completes the rotation:
//   1 prepared   master.next.key written (a rotation run again keeps it)
//   2 indexed    deployment-index.<next id>.key: the index key sealed under the next master
//   3 rewrapped  per office, in one transaction: its key wrapped under the next master
//   4 linked     master.retired.key: a second name for the current master
//   5 switched   master.next.key renamed over master.key
//   6 finished   every office key checked under the new master; the retired master and
//                index files of other masters deleted
// A switched but unfinished rotation is finished before a new one may start.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { inTenantTransaction, type Store } from '../db/connect.ts';
import { bindingBytes, open, seal } from './aead.ts';
import { ensureKeyDir, KeyFileError, readSecretIfPresent, syncDir, writeSecretDurably } from './key-file.ts';
import {
  indexBinding,
  indexKeyFile,
  indexKeyOf,
  keyId,
  MASTER_KEY_FILE,
  NEXT_MASTER_FILE,
  RETIRED_MASTER_FILE,
} from './master-keys.ts';
import { Keyring, wrapBinding } from './keyring.ts';
import { refusal } from '../config/refusal.ts'; // Issue 19: s23-german-cli

export const MASTER_ROTATION_STEPS = ['prepared', 'indexed', 'rewrapped', 'linked', 'switched', 'finished'] as const;
export type MasterRotationStep = (typeof MASTER_ROTATION_STEPS)[number];

/** Called after each durable step; awaited (the CLI audits there, the crash tests stop there). */
type RotationHook = (s: MasterRotationStep, ids: { from: string; to: string }) => void | Promise<void>;

export interface MasterRotation {
  /** The master the offices' keys were wrapped under, and the one they are now. */
  from: string;
  to: string;
  /** Offices whose key this run re-wrapped (an earlier, interrupted run may have done others). */
  rewrapped: number;
  offices: number;
  /** What was found: nothing under way, an interrupted run before its switch, or after it. */
  found: MasterRotationState['state'];
}

export interface MasterRotationState {
  state: 'none' | 'before-switch' | 'after-switch';
  current: string;
  next?: string;
  retired?: string;
  /** Whether the deployment index key is stored (a rotation ran) or still derived from the master. */
  indexStored: boolean;
  /** When master.key was written (its file's modification time). */
  since: Date;
}

const file = (keyDir: string, name: string) => path.join(keyDir, name);

/** What the key directory shows of a master rotation, without changing anything. */
export function masterRotationState(keyDir: string): MasterRotationState {
  const currentFile = file(keyDir, MASTER_KEY_FILE);
  const current = readSecretIfPresent(currentFile);
  if (!current)
    throw new KeyFileError(
      `no master key in ${keyDir}: for a new installation start the server once to create it; if the database holds offices already, put back the key directory that belongs to it (its backup: kartei backup --keys)`,
      refusal('master-key-missing', { keyDir }),
    );
  const currentId = keyId(current);
  const next = readSecretIfPresent(file(keyDir, NEXT_MASTER_FILE), { links: false });
  const retired = readSecretIfPresent(file(keyDir, RETIRED_MASTER_FILE), { links: false });
  const retiredId = retired && keyId(retired) !== currentId ? keyId(retired) : undefined;
  const nextId = next && keyId(next) !== currentId ? keyId(next) : undefined;
  return {
    state: retiredId && !nextId ? 'after-switch' : nextId ? 'before-switch' : 'none',
    current: currentId,
    next: nextId,
    retired: retiredId,
    indexStored: fs.existsSync(file(keyDir, indexKeyFile(currentId))),
    since: fs.statSync(currentFile).mtime,
  };
}

/**
 * Rotates the master key, or completes a rotation a crash interrupted (then it starts no new one).
 * The caller holds the data directory's lock: no server may use the keys meanwhile.
 * `step` is called after each durable step (the crash tests stop the process there).
 */
export async function rotateMaster(
  keyDir: string,
  store: Store,
  step: RotationHook = () => undefined,
): Promise<MasterRotation> {
  ensureKeyDir(keyDir);
  const before = masterRotationState(keyDir);
  if (before.state === 'after-switch' && fs.existsSync(file(keyDir, NEXT_MASTER_FILE)))
    throw new KeyFileError(
      `the key directory ${keyDir} holds both ${NEXT_MASTER_FILE} and ${RETIRED_MASTER_FILE} of another master: restore it from the key backup`,
      refusal('master-rotation-foreign', { keyDir, next: NEXT_MASTER_FILE, retired: RETIRED_MASTER_FILE }),
    );
  const current = readSecretIfPresent(file(keyDir, MASTER_KEY_FILE))!;
  const offices = await officeIds(store);
  if (before.state === 'after-switch') {
    const ids = { from: before.retired!, to: before.current };
    await finish(keyDir, store, offices, current, ids, step);
    return { ...ids, rewrapped: 0, offices: offices.length, found: before.state };
  }
  fs.rmSync(file(keyDir, `${NEXT_MASTER_FILE}.tmp`), { force: true });
  let next = readSecretIfPresent(file(keyDir, NEXT_MASTER_FILE), { links: false });
  if (!next || keyId(next) === before.current) {
    next = randomBytes(32);
    writeSecretDurably(file(keyDir, NEXT_MASTER_FILE), next);
  }
  const ids = { from: before.current, to: keyId(next) };
  await step('prepared', ids);
  writeSecretDurably(
    file(keyDir, indexKeyFile(ids.to)),
    seal(next, indexKeyOf(keyDir, current), bindingBytes(indexBinding(ids.to))),
  );
  await step('indexed', ids);
  const both = new Keyring({ current, others: [next] });
  let rewrapped = 0;
  for (const tenantId of offices) {
    const n = await inTenantTransaction(store, tenantId, async (tx) => {
      const rows = await tx
        .selectFrom('data_keys')
        .select(['id', 'wrapped', 'wrapped_by'])
        .where('tenant_id', '=', tenantId)
        .where('scope', '=', 'tenant')
        .where('owner_id', '=', tenantId)
        .where((w) => w.or([w('wrapped_by', 'is', null), w('wrapped_by', '!=', ids.to)]))
        .execute();
      const binding = bindingBytes(wrapBinding(tenantId, 'tenant', tenantId));
      for (const row of rows) {
        const key = open(both.masterFor(row.wrapped_by), row.wrapped, binding);
        await tx
          .updateTable('data_keys')
          .set({ wrapped: seal(next, key, binding), wrapped_by: ids.to })
          .where('id', '=', row.id)
          .execute();
      }
      return rows.length;
    });
    rewrapped += n;
    if (n > 0) await step('rewrapped', ids);
  }
  // The current master under a second name first, then the next one over master.key: at every
  // moment master.key is one whole master and the other is beside it.
  if (!fs.existsSync(file(keyDir, RETIRED_MASTER_FILE))) {
    fs.linkSync(file(keyDir, MASTER_KEY_FILE), file(keyDir, RETIRED_MASTER_FILE));
    syncDir(keyDir);
  }
  await step('linked', ids);
  fs.renameSync(file(keyDir, NEXT_MASTER_FILE), file(keyDir, MASTER_KEY_FILE));
  syncDir(keyDir);
  await step('switched', ids);
  await finish(keyDir, store, offices, next, ids, step);
  return { ...ids, rewrapped, offices: offices.length, found: before.state };
}

/** Checks every office key opens under the new master, then removes the retired one. */
async function finish(
  keyDir: string,
  store: Store,
  offices: string[],
  master: Buffer,
  ids: { from: string; to: string },
  step: RotationHook,
) {
  // The offices read again, not the list the rotation began with: an office added meanwhile by a
  // process that still held the old master (it checks before, but may commit after the listing) is
  // re-wrapped here, while the retired master is still beside the new one.
  const retired = readSecretIfPresent(file(keyDir, RETIRED_MASTER_FILE), { links: false });
  for (const tenantId of new Set([...offices, ...(await officeIds(store))]))
    await inTenantTransaction(store, tenantId, async (tx) => {
      const rows = await tx
        .selectFrom('data_keys')
        .select(['id', 'wrapped', 'wrapped_by'])
        .where('tenant_id', '=', tenantId)
        .where('scope', '=', 'tenant')
        .where('owner_id', '=', tenantId)
        .execute();
      const binding = bindingBytes(wrapBinding(tenantId, 'tenant', tenantId));
      for (const row of rows) {
        if (row.wrapped_by === ids.to) {
          open(master, row.wrapped, binding);
          continue;
        }
        if (!retired || (row.wrapped_by !== null && row.wrapped_by !== ids.from))
          throw new KeyFileError(
            `the key of office ${tenantId} is not wrapped under the new master ${ids.to}`,
            refusal('master-rotation-office-unwrapped', { office: tenantId, master: ids.to }),
          );
        const key = open(retired, row.wrapped, binding);
        await tx
          .updateTable('data_keys')
          .set({ wrapped: seal(master, key, binding), wrapped_by: ids.to })
          .where('id', '=', row.id)
          .execute();
      }
    });
  fs.rmSync(file(keyDir, RETIRED_MASTER_FILE), { force: true });
  for (const f of fs.readdirSync(keyDir))
    if (/^deployment-index\.[0-9a-f]+\.key$/.test(f) && f !== indexKeyFile(ids.to)) fs.rmSync(file(keyDir, f));
  syncDir(keyDir);
  await step('finished', ids);
}

/** Every office with a key. */
async function officeIds(store: Store): Promise<string[]> {
  const rows = await store.db.selectFrom('tenants').select('id').orderBy('id').execute();
  return rows.map((r) => r.id);
}

/** The number of office keys wrapped under each master id (none: the current one). */
export async function officeKeysByMaster(store: Store): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const tenantId of await officeIds(store)) {
    const rows = await inTenantTransaction(store, tenantId, (tx) =>
      tx
        .selectFrom('data_keys')
        .select(['wrapped_by', sql<number>`count(*)`.as('n')])
        .where('tenant_id', '=', tenantId)
        .where('scope', '=', 'tenant')
        .groupBy('wrapped_by')
        .execute(),
    );
    for (const r of rows) out[r.wrapped_by ?? 'current'] = (out[r.wrapped_by ?? 'current'] ?? 0) + Number(r.n);
  }
  return out;
}
