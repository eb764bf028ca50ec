// Issue 19: keys-online — a department key's versions as every running instance sees them. The
// department's `data_keys` row holds the current version (what new data is sealed under); rows of
// scope `department-version`, owner `<department>:<n>`, hold the others: earlier versions (n below
// the current: what older data is sealed under) and at most one pending version (n above it: known
// to every instance for opening before anyone seals under it). A rotation first adds the pending
// version, waits until every instance has looked again (`DEPARTMENT_KEY_REFRESH_MS`), then makes it
// current in one transaction: whichever instance sealed under it first, all others open it.
// An instance looks again at most every `DEPARTMENT_KEY_REFRESH_MS`, with one indexed query of
// the department's key rows; unchanged, it keeps the keys it unwrapped. A retired version
// (`destroyed_at` set, src/vault/key-retire.ts) opens nothing any more.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Tx } from '../db/connect.ts';
import { bindingBytes, DecryptionError, open, registerKeyVersions, seal } from './aead.ts';

/** How long an instance keeps a department key without looking whether it rotated. */
export const DEPARTMENT_KEY_REFRESH_MS = ((): number => {
  const test = process.env.NODE_ENV === 'test' ? Number(process.env.KARTEI_TEST_KEY_REFRESH_MS) : Number.NaN;
  return Number.isInteger(test) && test > 0 ? test : 5_000;
})();

/** One department's keys as unwrapped in this process: the current one, and every version by number. */
export interface DepartmentKeys {
  current: Buffer;
  version: number;
  /** Shared by every key of the department this process holds, so a key kept by a long task learns later versions. */
  byVersion: Map<number, Buffer>;
  /** What the rows looked like: the same signature later means nothing changed. */
  signature: string;
  checkedAt: number;
}

interface KeyRow {
  scope: string;
  owner_id: string;
  wrapped: Buffer;
  key_version: number | null;
  destroyed_at: string | null;
  wrapped_by: string | null;
}

const versionOwner = (departmentId: string, n: number) => `${departmentId}:${n}`;
const bindingOf = (tenantId: string, scope: string, ownerId: string) =>
  bindingBytes({ tenantId, table: 'data_keys', rowId: `${scope}:${ownerId}`, field: 'wrapped' });

/** The department's row and its version rows, with one query on the (scope, owner_id) index. */
async function keyRows(tx: Tx, tenantId: string, departmentId: string): Promise<KeyRow[]> {
  return tx
    .selectFrom('data_keys')
    .select(['scope', 'owner_id', 'wrapped', 'key_version', 'destroyed_at', 'wrapped_by'])
    .where('tenant_id', '=', tenantId)
    .where((w) =>
      w.or([
        w.and([w('scope', '=', 'department'), w('owner_id', '=', departmentId)]),
        // `<id>:` up to (not including) `<id>;` — the prefix as a range the index serves.
        w.and([
          w('scope', '=', 'department-version'),
          w('owner_id', '>=', `${departmentId}:`),
          w('owner_id', '<', `${departmentId};`),
        ]),
      ]),
    )
    .execute();
}

const signatureOf = (rows: KeyRow[]) =>
  rows
    .map((r) => `${r.scope}/${r.owner_id}/${r.key_version ?? 1}/${r.destroyed_at ? 'x' : ''}/${r.wrapped_by ?? ''}`)
    .sort()
    .join(',');

/**
 * The department's keys: `known` kept as it is if the rows did not change; otherwise unwrapped
 * again, reusing `known`'s shared version map so keys handed out before learn the new versions.
 */
export async function loadDepartmentKeys(
  tx: Tx,
  tenantId: string,
  departmentId: string,
  parent: (wrappedBy: string | null) => Promise<Buffer>,
  known: DepartmentKeys | undefined,
): Promise<DepartmentKeys> {
  const rows = await keyRows(tx, tenantId, departmentId);
  const main = rows.find((r) => r.scope === 'department');
  if (!main || main.destroyed_at) throw new Error(`no department key for ${departmentId}`);
  const signature = signatureOf(rows);
  if (known && known.signature === signature) return { ...known, checkedAt: Date.now() };
  const version = main.key_version ?? 1;
  const parentKey = await parent(main.wrapped_by);
  const opened = open(parentKey, main.wrapped, bindingOf(tenantId, 'department', departmentId));
  // The same bytes as the key handed out before: keep that Buffer (its registration names its version).
  const prior = known?.byVersion.get(version);
  const current = prior?.equals(opened) ? prior : opened;
  const byVersion = known?.byVersion ?? new Map<number, Buffer>();
  const live = new Map<number, Buffer>([[version, current]]);
  let first: Buffer | undefined;
  for (const r of rows) {
    if (r.scope !== 'department-version') continue;
    const n = Number(r.owner_id.slice(departmentId.length + 1));
    // A retired version opens nothing; the first one is kept as the root of the blind-index digests.
    if (r.destroyed_at && n !== 1) continue;
    const had = byVersion.get(n);
    const key = open(
      await parent(r.wrapped_by),
      r.wrapped,
      bindingOf(tenantId, 'department-version', versionOwner(departmentId, n)),
    );
    if (r.destroyed_at) first = key;
    else live.set(n, had?.equals(key) ? had : key);
  }
  for (let n = 1; n < version; n++)
    if (!live.has(n) && !rows.some((r) => r.owner_id === versionOwner(departmentId, n) && r.destroyed_at))
      throw new DecryptionError(`department ${departmentId}: version ${n} of its key is missing`);
  byVersion.clear();
  for (const [n, k] of live) byVersion.set(n, k);
  for (const [n, k] of live) registerKeyVersions(k, { version: n, byVersion, ...(first ? { first } : {}) });
  return { current, version, byVersion, signature, checkedAt: Date.now() };
}

/** Where a department's key rotation stands (`pending`: a version every instance may open, not yet sealed under). */
export async function departmentKeyState(
  tx: Tx,
  tenantId: string,
  departmentId: string,
): Promise<{ version: number; pending: number | undefined; earlier: { version: number; retired: boolean }[] }> {
  const rows = await keyRows(tx, tenantId, departmentId);
  const main = rows.find((r) => r.scope === 'department');
  if (!main) throw new Error(`no department key for ${departmentId}`);
  const version = main.key_version ?? 1;
  const others = rows
    .filter((r) => r.scope === 'department-version')
    .map((r) => ({ version: Number(r.owner_id.slice(departmentId.length + 1)), retired: r.destroyed_at !== null }))
    .sort((a, b) => a.version - b.version);
  return {
    version,
    pending: others.find((o) => o.version > version)?.version,
    earlier: others.filter((o) => o.version < version),
  };
}

/**
 * First step of a rotation: a new version every instance opens from its next look on, not yet
 * sealed under. An existing pending version (a rotation interrupted after this step) is kept.
 */
export async function addPendingVersion(
  tx: Tx,
  tenantId: string,
  departmentId: string,
  tenantKey: Buffer,
): Promise<{ from: number; to: number }> {
  // The department's key row locked first (a write that changes nothing; on PostgreSQL a row lock until
  // commit, SQLite has one writer): a second rotation at once waits, then finds this one's pending version.
  await tx
    .updateTable('data_keys')
    .set((eb) => ({ key_version: eb.ref('key_version') }))
    .where('tenant_id', '=', tenantId)
    .where('scope', '=', 'department')
    .where('owner_id', '=', departmentId)
    .execute();
  const st = await departmentKeyState(tx, tenantId, departmentId);
  if (st.pending !== undefined) return { from: st.version, to: st.pending };
  const to = st.version + 1;
  const owner = versionOwner(departmentId, to);
  await tx
    .insertInto('data_keys')
    .values({
      id: randomUUID(),
      tenant_id: tenantId,
      scope: 'department-version',
      owner_id: owner,
      wrapped: seal(tenantKey, randomBytes(32), bindingOf(tenantId, 'department-version', owner)),
      created_at: new Date().toISOString(),
      destroyed_at: null,
      wrapped_by: null,
      key_version: to,
    })
    .execute();
  return { from: st.version, to };
}

/**
 * Second step: the pending version becomes the current one and the current one an earlier
 * version, in the caller's transaction (both or neither). The department's row is locked first,
 * so two rotations at once wait for each other instead of losing a version.
 */
export async function switchToPending(
  tx: Tx,
  tenantId: string,
  departmentId: string,
  tenantKey: Buffer,
): Promise<{ from: number; to: number }> {
  // Written first (on PostgreSQL a row lock until commit; SQLite has one writer anyway).
  await tx
    .updateTable('data_keys')
    .set({ created_at: new Date().toISOString() })
    .where('tenant_id', '=', tenantId)
    .where('scope', '=', 'department')
    .where('owner_id', '=', departmentId)
    .execute();
  const main = await tx
    .selectFrom('data_keys')
    .select(['id', 'wrapped', 'key_version', 'wrapped_by'])
    .where('tenant_id', '=', tenantId)
    .where('scope', '=', 'department')
    .where('owner_id', '=', departmentId)
    .executeTakeFirstOrThrow();
  const from = main.key_version ?? 1;
  const to = from + 1;
  const pendingOwner = versionOwner(departmentId, to);
  const pending = await tx
    .selectFrom('data_keys')
    .select(['id', 'wrapped'])
    .where('tenant_id', '=', tenantId)
    .where('scope', '=', 'department-version')
    .where('owner_id', '=', pendingOwner)
    .executeTakeFirst();
  if (!pending) throw new Error(`department ${departmentId}: no pending key version ${to} to switch to`);
  if (main.wrapped_by !== null)
    throw new Error(`department ${departmentId}: its key names a wrapping key this rotation does not know`);
  const current = open(tenantKey, main.wrapped, bindingOf(tenantId, 'department', departmentId));
  const next = open(tenantKey, pending.wrapped, bindingOf(tenantId, 'department-version', pendingOwner));
  const retiredOwner = versionOwner(departmentId, from);
  await tx.deleteFrom('data_keys').where('id', '=', pending.id).execute();
  await tx
    .insertInto('data_keys')
    .values({
      id: randomUUID(),
      tenant_id: tenantId,
      scope: 'department-version',
      owner_id: retiredOwner,
      wrapped: seal(tenantKey, current, bindingOf(tenantId, 'department-version', retiredOwner)),
      created_at: new Date().toISOString(),
      destroyed_at: null,
      wrapped_by: null,
      key_version: from,
    })
    .execute();
  await tx
    .updateTable('data_keys')
    .set({
      wrapped: seal(tenantKey, next, bindingOf(tenantId, 'department', departmentId)),
      key_version: to,
      created_at: new Date().toISOString(),
    })
    .where('id', '=', main.id)
    .execute();
  return { from, to };
}
