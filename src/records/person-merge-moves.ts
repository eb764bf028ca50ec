// What a person merge (person-merge.ts) does to the rows of two files, inside its gated transaction:
// holding both files' record writes, claiming both files for the merge, moving records (every version
// and a deletion's reason re-sealed from one person key to the other, the case facts with them) and
// studies, and counting what a file holds for the comparison before a merge.
import type { GateContext } from '../access/gate.ts';
import type { Tx } from '../db/connect.ts';
import { KarteiError, fieldRefused } from '../errors.ts';
import { openField, sealField } from '../vault/keyring.ts';
import { lockFile } from './persons.ts';
import { contentBinding, deleteReasonBinding } from './records.ts';

/** A file's own counts, for comparing two files before merging them. */
export interface FileCounts {
  records: number;
  studies: number;
}

/**
 * Moves records from one file to the other: each version's content and a deletion's reason opened
 * with the one person key and sealed with the other, under the same binding (record, version,
 * sensitivity), and the case facts with them. Answers how many versions moved.
 */
export async function moveRecords(
  ctx: GateContext,
  recordIds: string[],
  fromPerson: string,
  toPerson: string,
  from: Buffer,
  to: Buffer,
): Promise<number> {
  const { tx, principal } = ctx;
  const tenantId = principal.tenantId;
  let versions = 0;
  const unreadable = () =>
    fieldRefused(
      'conflict',
      'absorbedId',
      'merge-unreadable',
      'a record of the file does not open; nothing was merged or moved',
    );
  for (const recordId of recordIds) {
    const r = await tx
      .selectFrom('records')
      .select(['id', 'person_id', 'delete_reason_enc'])
      .where('id', '=', recordId)
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    if (!r || r.person_id !== fromPerson) throw unreadable();
    const rows = await tx
      .selectFrom('record_versions')
      .select(['version', 'sensitivity', 'content_enc'])
      .where('record_id', '=', recordId)
      .where('tenant_id', '=', tenantId)
      .execute();
    for (const v of rows) {
      const binding = contentBinding(tenantId, recordId, v.version, v.sensitivity);
      let content: unknown;
      try {
        content = openField(from, binding, v.content_enc);
      } catch {
        throw unreadable();
      }
      await tx
        .updateTable('record_versions')
        .set({ content_enc: sealField(to, binding, content) })
        .where('record_id', '=', recordId)
        .where('version', '=', v.version)
        .where('tenant_id', '=', tenantId)
        .execute();
      versions += 1;
    }
    let reason: Buffer | null = null;
    if (r.delete_reason_enc) {
      const binding = deleteReasonBinding(tenantId, recordId);
      try {
        reason = sealField(to, binding, openField(from, binding, r.delete_reason_enc));
      } catch {
        throw unreadable();
      }
    }
    await tx
      .updateTable('records')
      .set({ person_id: toPerson, ...(reason ? { delete_reason_enc: reason } : {}) })
      .where('id', '=', recordId)
      .where('tenant_id', '=', tenantId)
      .execute();
  }
  if (recordIds.length)
    await tx
      .updateTable('ifsg_cases')
      .set({ person_id: toPerson })
      .where('tenant_id', '=', tenantId)
      .where('record_id', 'in', recordIds)
      .execute();
  return versions;
}

/** Holds both files' record writes until the merge's transaction ends, in id order (no two merges deadlock). */
export async function lockBoth(ctx: GateContext, a: string, b: string) {
  for (const id of [a, b].sort()) await lockFile(ctx, id);
}

/**
 * Claims a file for merge `mergeId`: only at the version the caller compared, only if no other merge
 * holds it. The conditional update is the lock: of two merges of one file, one claims it, the other 409s.
 */
export async function claim(ctx: GateContext, mergeId: string, personId: string, version: number, field: string) {
  const { tx, principal } = ctx;
  const done = await tx
    .updateTable('persons')
    .set({ merge_id: mergeId })
    .where('id', '=', personId)
    .where('tenant_id', '=', principal.tenantId)
    .where('version', '=', version)
    .where('merge_id', 'is', null)
    .where('merged_into', 'is', null)
    .executeTakeFirst();
  if (Number(done.numUpdatedRows) === 1) return;
  const p = await tx
    .selectFrom('persons')
    .select(['version', 'merge_id', 'merged_into'])
    .where('id', '=', personId)
    .where('tenant_id', '=', principal.tenantId)
    .executeTakeFirstOrThrow();
  const which = field === 'survivorVersion' ? 'id' : 'absorbedId';
  if (p.merged_into) throw fieldRefused('conflict', which, 'already-merged', 'the file was merged into another');
  if (p.merge_id)
    throw fieldRefused('conflict', which, 'merge-pending', 'the file is part of a merge waiting for confirmation');
  throw new KarteiError('stale-version', `${field}: the file is at version ${p.version}`, {
    field,
    currentVersion: p.version,
  });
}

/** Moves the studies still linked to one file to the other; answers how many moved. */
export async function moveStudies(ctx: GateContext, studyIds: string[], fromPerson: string, toPerson: string) {
  if (studyIds.length === 0) return 0;
  const done = await ctx.tx
    .updateTable('studies')
    .set({ person_id: toPerson, updated_at: ctx.now })
    .where('tenant_id', '=', ctx.principal.tenantId)
    .where('id', 'in', studyIds)
    .where('person_id', '=', fromPerson)
    .executeTakeFirst();
  return Number(done.numUpdatedRows);
}

/** How many live records (normal ones only, if so asked) and linked studies a file has. */
export async function fileCounts(tx: Tx, tenantId: string, personId: string, normalOnly: boolean): Promise<FileCounts> {
  const [records, studies] = await Promise.all([
    tx
      .selectFrom('records')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('tenant_id', '=', tenantId)
      .where('person_id', '=', personId)
      .where('deleted_at', 'is', null)
      .$if(normalOnly, (q) => q.where('sensitivity', '=', 'normal'))
      .executeTakeFirst(),
    tx
      .selectFrom('studies')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('tenant_id', '=', tenantId)
      .where('person_id', '=', personId)
      .executeTakeFirst(),
  ]);
  return { records: Number(records?.n ?? 0), studies: Number(studies?.n ?? 0) };
}
