// Issue 19: keys-online — `kartei keys reencrypt-department`: after a rotation, everything of the
// department still sealed under an earlier key version is sealed again under the current one, in
// batches (each one transaction) while the servers run: persons' keys re-wrapped, every column
// sealed directly with the department key (src/ops/department-sealed-columns.ts), and images,
// each written as a new sealed object under a new name, the index row switched in a transaction,
// the old object removed. A row is only replaced if it still holds what was read (compare and
// set): what a user changed meanwhile is never overwritten with stale content. Interrupted, the
// next run finds what is left (nothing records progress but the data itself); a new object a
// crash left before its switch is written again. When nothing is left under earlier versions they
// are retired (the keyring no longer opens them; the first stays the root of the blind-index
// digests). One audit event per completed run with the counts.
import os from 'node:os';
import { once } from 'node:events';
import { sql } from 'kysely';
import type { AuditLog } from '../audit/audit-log.ts';
import { inTenantTransaction, type Store, type Tx } from '../db/connect.ts';
import { ifFree } from '../db/session-lock.ts';
import { instanceFileBinding, type InstanceStore } from '../imaging/instance-store.ts';
import { bindingBytes, DecryptionError, keyVersion, open, registerKeyVersions, seal } from '../vault/aead.ts';
import { departmentKeyState } from '../vault/department-versions.ts';
import type { Keyring } from '../vault/keyring.ts';
import { DEPARTMENT_SEALED_COLUMNS, type SealedColumn } from './department-sealed-columns.ts';
import { refusal, RefusalError } from '../config/refusal.ts'; // Issue 19: s23-german-cli

export interface ReencryptDeps {
  store: Store;
  keyring: Keyring;
  audit: AuditLog;
  instances: InstanceStore;
}

export type ReencryptPhase = 'person-keys' | 'fields' | 'images';

export interface ReencryptCounts {
  version: number;
  personKeys: number;
  fields: number;
  images: number;
  /** Replaced by a user meanwhile: left as the user wrote it. */
  changed: number;
  /** Under an earlier version but not opening with the department's key: left, and nothing retired. */
  unreadable: number;
  /** Earlier versions retired by this run. */
  retired: number[];
}

// Issue 19: s23-german-cli — with a refusal code, for `kartei` to say it in German (src/cli/refusals.ts).
export class ReencryptError extends RefusalError {}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** How long before the run an image may have begun arriving under a key fetched before the switch. */
const LATE_WRITER_MS = 15 * 60_000;

export async function reencryptDepartment(
  s: ReencryptDeps,
  d: { tenantId: string; id: string },
  opts: {
    batch?: number;
    /** Retire earlier versions once nothing is left under them (default true). */
    retire?: boolean;
    progress?: (phase: ReencryptPhase, done: number, total: number) => void;
    /** Test hook: after each committed batch of a phase (1, 2, …). */
    step?: (phase: ReencryptPhase, batch: number) => void;
  } = {},
): Promise<ReencryptCounts> {
  // One run per department across every instance and process: two would reseal the same image, and
  // one could remove the object the other has just switched the row to.
  const run = await ifFree(s.store, `kartei:reencrypt:${d.tenantId}:${d.id}`, () => reencryptAlone(s, d, opts));
  if (!run.ran)
    throw new ReencryptError(
      "another re-encryption of this department's key is running (on this or another instance): wait for it to end",
      refusal('reencrypt-running'),
    );
  return run.value;
}

async function reencryptAlone(
  s: ReencryptDeps,
  d: { tenantId: string; id: string },
  opts: Parameters<typeof reencryptDepartment>[2] = {},
): Promise<ReencryptCounts> {
  const batch = opts.batch ?? 200;
  const tx = <R>(fn: (t: Tx) => Promise<R>) => inTenantTransaction(s.store, d.tenantId, fn);
  const state = await tx((t) => departmentKeyState(t, d.tenantId, d.id));
  if (state.pending !== undefined)
    throw new ReencryptError(
      `a rotation of this department's key is under way (version ${state.pending} pending): complete it with \`kartei keys rotate-department\` first`,
      refusal('reencrypt-rotation-pending', { pending: state.pending }),
    );
  // Every instance seals under the current version once it has looked again since the switch.
  const switchedAt = await tx((t) =>
    t
      .selectFrom('data_keys')
      .select('created_at')
      .where('tenant_id', '=', d.tenantId)
      .where('scope', '=', 'department')
      .where('owner_id', '=', d.id)
      .executeTakeFirstOrThrow(),
  );
  const settle = Date.parse(switchedAt.created_at) + 2 * s.keyring.refreshMs + 100 - Date.now();
  if (settle > 0) await sleep(settle);

  const counts: ReencryptCounts = {
    version: state.version,
    personKeys: 0,
    fields: 0,
    images: 0,
    changed: 0,
    unreadable: 0,
    retired: [],
  };
  const earlier = state.earlier.filter((e) => !e.retired);
  if (earlier.length > 0) {
    const started = Date.now();
    await personKeys(s, d, batch, counts, opts);
    await fields(s, d, batch, counts, opts);
    await images(s, d, batch, counts, opts);
    // What arrived during the passes from a writer that held the key from before the switch (a long
    // upload) is looked at again: persons' keys and fields by their version; images stored since
    // shortly before the run began.
    await personKeys(s, d, batch, counts, {});
    await images(s, d, batch, counts, {}, new Date(started - LATE_WRITER_MS).toISOString());
  }
  await tx(async (t) => {
    if (counts.unreadable === 0 && opts.retire !== false && earlier.length > 0) {
      // Anything written under an earlier version since the passes (an instance that had not looked again)?
      if ((await leftInFields(t, d, state.version)) === 0)
        counts.retired = await retire(
          t,
          d,
          earlier.map((e) => e.version),
        );
    }
    await s.audit.append(t, {
      tenantId: d.tenantId,
      actorId: null,
      action: 'keys.department.reencrypt',
      resourceType: 'department',
      resourceId: d.id,
      departmentId: d.id,
      outcome: 'allowed',
      detail: {
        version: counts.version,
        personKeys: counts.personKeys,
        fields: counts.fields,
        images: counts.images,
        changed: counts.changed,
        unreadable: counts.unreadable,
        retired: counts.retired.join(',') || 'none',
        operator: os.userInfo().username,
      },
    });
  });
  return counts;
}

type Opts = Parameters<typeof reencryptDepartment>[2] & { batch?: number };

async function personKeys(
  s: ReencryptDeps,
  d: { tenantId: string; id: string },
  batch: number,
  counts: ReencryptCounts,
  opts: Opts,
) {
  for (let round = 1; ; round++) {
    const r = await inTenantTransaction(s.store, d.tenantId, (t) =>
      s.keyring.rewrapPersonKeys(t, d.tenantId, d.id, batch),
    );
    counts.personKeys += r.rewrapped;
    opts.progress?.('person-keys', r.total - r.left, r.total);
    opts.step?.('person-keys', round);
    if (r.left === 0 || r.rewrapped === 0) return;
  }
}

/** The current version's first three bytes of a form-2 ciphertext (src/vault/aead.ts): anything else is older. */
const prefixOf = (version: number) => Buffer.of(2, version >> 8, version & 0xff);

function staleRows(c: SealedColumn, d: { tenantId: string; id: string }, version: number) {
  const col = sql.ref(`${c.table}.${c.column}`);
  const owner = c.via ?? { table: c.table };
  const join = c.via
    ? sql`join ${sql.table(c.via.table)} on ${sql.ref(`${c.via.table}.id`)} = ${sql.ref(`${c.table}.${c.via.on}`)}`
    : sql``;
  const personal = c.personColumn ? sql`and ${sql.ref(`${owner.table}.${c.personColumn}`)} is null` : sql``;
  return sql`from ${sql.table(c.table)} ${join}
    where ${sql.ref(`${c.table}.tenant_id`)} = ${d.tenantId} and ${sql.ref(`${owner.table}.department_id`)} = ${d.id}
    ${personal} and ${col} is not null and substr(${col}, 1, 3) <> ${prefixOf(version)}`;
}

async function leftInFields(t: Tx, d: { tenantId: string; id: string }, version: number): Promise<number> {
  let n = 0;
  for (const c of DEPARTMENT_SEALED_COLUMNS) {
    const r = await sql<{ n: number | string }>`select count(*) as n ${staleRows(c, d, version)}`.execute(t);
    n += Number(r.rows[0]?.n ?? 0);
  }
  return n;
}

async function fields(
  s: ReencryptDeps,
  d: { tenantId: string; id: string },
  batch: number,
  counts: ReencryptCounts,
  opts: Opts,
) {
  const tx = <R>(fn: (t: Tx) => Promise<R>) => inTenantTransaction(s.store, d.tenantId, fn);
  const total = await tx((t) => leftInFields(t, d, counts.version));
  let done = 0;
  let round = 0;
  opts.progress?.('fields', 0, total);
  for (const c of DEPARTMENT_SEALED_COLUMNS) {
    const keys = c.keys.map((k) => sql.ref(`${c.table}.${k}`));
    const col = sql.ref(c.column);
    let last: unknown[] | undefined;
    for (;;) {
      const after = last ? sql`and (${sql.join(keys)}) > (${sql.join(last)})` : sql``;
      const picked = sql.join(c.keys.map((k, i) => sql`${sql.ref(`${c.table}.${k}`)} as ${sql.raw(`k${i}`)}`));
      const n = await tx(async (t) => {
        const key = await s.keyring.departmentKey(t, d.tenantId, d.id);
        if (keyVersion(key) !== counts.version)
          throw new ReencryptError(
            'the department key rotated again meanwhile: run again',
            refusal('reencrypt-rotated-meanwhile'),
          );
        const rows = await sql<
          Record<string, unknown> & { blob: Buffer }
        >`select ${picked}, ${sql.ref(`${c.table}.${c.column}`)} as blob
          ${staleRows(c, d, counts.version)} ${after} order by ${sql.join(keys)} limit ${batch}`.execute(t);
        for (const row of rows.rows) {
          const ids = c.keys.map((_, i) => row[`k${i}`]);
          last = ids;
          const aad = bindingBytes({
            tenantId: d.tenantId,
            table: c.table,
            rowId: ids.map(String).join(':'),
            field: c.field,
          });
          let plain: Buffer;
          try {
            plain = open(key, Buffer.from(row.blob), aad);
          } catch (e) {
            if (!(e instanceof DecryptionError)) throw e;
            counts.unreadable++;
            continue;
          }
          const match = sql.join(
            c.keys.map((k, i) => sql`${sql.ref(k)} = ${ids[i]}`),
            sql` and `,
          );
          const r = await sql`update ${sql.table(c.table)} set ${col} = ${seal(key, plain, aad)}
            where ${match} and ${col} = ${Buffer.from(row.blob)}`.execute(t);
          if (Number(r.numAffectedRows ?? 0) === 1) counts.fields++;
          else counts.changed++;
        }
        return rows.rows.length;
      });
      done += n;
      if (n > 0) {
        opts.progress?.('fields', Math.min(done, total), Math.max(total, done));
        opts.step?.('fields', ++round);
      }
      if (n < batch) break;
    }
  }
}

async function images(
  s: ReencryptDeps,
  d: { tenantId: string; id: string },
  batch: number,
  counts: ReencryptCounts,
  opts: Opts,
  /** Only images stored since (ISO time). */
  since?: string,
) {
  const tx = <R>(fn: (t: Tx) => Promise<R>) => inTenantTransaction(s.store, d.tenantId, fn);
  const total = Number(
    (
      await tx((t) =>
        t
          .selectFrom('instances')
          .select((e) => e.fn.countAll<number>().as('n'))
          .where('tenant_id', '=', d.tenantId)
          .where('department_id', '=', d.id)
          .where('created_at', '>=', since ?? '')
          .executeTakeFirst(),
      )
    )?.n ?? 0,
  );
  let last = '';
  let seen = 0;
  let round = 0;
  opts.progress?.('images', 0, total);
  for (;;) {
    const { key, rows } = await tx(async (t) => ({
      key: await s.keyring.departmentKey(t, d.tenantId, d.id),
      rows: await t
        .selectFrom('instances')
        .select(['id', 'file'])
        .where('tenant_id', '=', d.tenantId)
        .where('department_id', '=', d.id)
        .where('created_at', '>=', since ?? '')
        .where('id', '>', last)
        .orderBy('id')
        .limit(batch)
        .execute(),
    }));
    if (keyVersion(key) !== counts.version)
      throw new ReencryptError(
        'the department key rotated again meanwhile: run again',
        refusal('reencrypt-rotated-meanwhile'),
      );
    // The current version alone: a file under an earlier one does not open with it.
    const only = Buffer.from(key);
    registerKeyVersions(only, { version: counts.version, byVersion: new Map([[counts.version, only]]) });
    for (const ref of rows) {
      last = ref.id;
      const verdict = await sealedUnder(s.instances, d.tenantId, ref, only);
      if (verdict === 'unreadable') counts.unreadable++;
      if (verdict === 'stale') await reseal(s, d, ref, key, counts);
    }
    seen += rows.length;
    if (rows.length > 0) {
      opts.progress?.('images', Math.min(seen, total), Math.max(total, seen));
      opts.step?.('images', ++round);
    }
    if (rows.length < batch) return;
  }
}

async function sealedUnder(
  instances: InstanceStore,
  tenantId: string,
  ref: { id: string; file: string },
  only: Buffer,
): Promise<'current' | 'stale' | 'unreadable' | 'gone'> {
  const it = instances.open(tenantId, ref, only);
  try {
    await it.next();
    return 'current';
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'gone'; // deleted meanwhile
    if (e instanceof DecryptionError && /key version \d+, which this key does not know/.test(e.message)) return 'stale';
    if (e instanceof DecryptionError) return 'unreadable';
    throw e;
  } finally {
    await it.return(undefined);
  }
}

/** The new name of a re-encrypted instance's file: `<id>.k<version>.dcm` beside it. */
const reencryptedPath = (file: string, version: number) => file.replace(/(\.k\d+)?\.dcm$/, `.k${version}.dcm`);

async function reseal(
  s: ReencryptDeps,
  d: { tenantId: string; id: string },
  ref: { id: string; file: string },
  key: Buffer,
  counts: ReencryptCounts,
) {
  const files = s.instances.files;
  const next = reencryptedPath(ref.file, counts.version);
  const aad = bindingBytes(instanceFileBinding(d.tenantId, ref.id));
  // What a run killed before its switch left under the new name is written again — unless a row names
  // it already (never remove an object a row names).
  if (!(await names(s, d.tenantId, ref.id, next)))
    await files.remove(next).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
  else return;
  const w = files.create(next, key, aad);
  try {
    for await (const chunk of s.instances.open(d.tenantId, ref, key))
      if (!w.stream.write(chunk)) await once(w.stream, 'drain');
    await w.commit();
  } catch (e) {
    await w.abort().catch(() => undefined);
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // the instance was deleted meanwhile
    throw e;
  }
  const switched = await inTenantTransaction(s.store, d.tenantId, async (t) => {
    const r = await t
      .updateTable('instances')
      .set({ file: next })
      .where('id', '=', ref.id)
      .where('file', '=', ref.file)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  });
  if (!switched) {
    counts.changed++;
    if (!(await names(s, d.tenantId, ref.id, next))) await files.remove(next).catch(() => undefined);
    return;
  }
  counts.images++;
  // A crash here leaves the old object, which no row names: removed by the store's recovery at the next start.
  await files.remove(ref.file).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
}

/**
 * Marks earlier versions retired: no instance opens them from its next look on. Their wrapped
 * bytes stay (the first version is the root of the blind-index digests; any other is brought back
 * by clearing `destroyed_at` should something sealed under it turn up, e.g. a column this file's
 * list lacks).
 */
async function retire(t: Tx, d: { tenantId: string; id: string }, versions: number[]): Promise<number[]> {
  const at = new Date().toISOString();
  for (const v of versions) {
    await t
      .updateTable('data_keys')
      .set({ destroyed_at: at })
      .where('tenant_id', '=', d.tenantId)
      .where('scope', '=', 'department-version')
      .where('owner_id', '=', `${d.id}:${v}`)
      .execute();
  }
  return versions;
}

/** Whether the instance's row names this object now (then it is never removed). */
async function names(s: ReencryptDeps, tenantId: string, instanceId: string, file: string): Promise<boolean> {
  const row = await inTenantTransaction(s.store, tenantId, (t) =>
    t.selectFrom('instances').select('file').where('id', '=', instanceId).executeTakeFirst(),
  );
  return row?.file === file;
}
