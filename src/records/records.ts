// Records in a person's file. Every version is its own immutable, encrypted
// row; an edit must name the version it builds on, so nobody silently
// overwrites a colleague. A delete hides the record with a reason and keeps it
// until its retention period ends.
import { randomUUID } from 'node:crypto';
import type { GateContext } from '../access/gate.ts';
import type { Sensitivity } from '../access/policy.ts';
import { KarteiError } from '../errors.ts';
import { fromZodError } from '../field-issues.ts';
import type { Keyring } from '../vault/keyring.ts';
import { openField, sealField } from '../vault/keyring.ts';
import { normaliseIcd10, RECORD_TYPES, retainUntil, type RecordType } from './record-types.ts';
import { lockFile, refuseMerged, stale } from './persons.ts';
import { prepared } from '../db/prepared.ts';
import type { Tx } from '../db/connect.ts';
import type { RecordsTable } from '../db/schema.ts';
import { displayNames } from '../identity/users.ts';
import { restrictedListing } from '../identity/departments.ts';
import { decodeCursor, pageOf } from './page-cursor.ts';
import { recordTitle } from './record-title.ts';

interface RecordSummary {
  id: string;
  personId: string;
  type: string;
  sensitivity: Sensitivity;
  version: number;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
}

/** A record as a file lists it: who wrote it, who changed it last, and its title if the caller may read it. */
export interface RecordListItem extends RecordSummary {
  createdByName: string | null;
  updatedBy: string;
  updatedByName: string | null;
  /** The title or first line; null where the caller may not read the record (restricted) or it has none. */
  title: string | null;
}

/** One version in a record's history: who made it and which fields it changed against the one before. */
export interface RecordVersionItem {
  version: number;
  sensitivity: Sensitivity;
  createdAt: string;
  createdBy: string;
  createdByName: string | null;
  /** Changed fields (content field names, `sensitivity`) against the version before; [] for the first; null where either is not the caller's to read. */
  changes: string[] | null;
}

export interface RecordView extends RecordSummary {
  content: Record<string, unknown>;
}

/**
 * The sensitivity label is part of the binding: relabelling a restricted record
 * as normal in the database makes its content undecryptable instead of readable.
 */
export const contentBinding = (tenantId: string, recordId: string, version: number, sensitivity: string) => ({
  tenantId,
  table: 'record_versions',
  rowId: `${recordId}:${version}`,
  field: `content:${sensitivity}`,
});

/** Why a record was deleted, sealed with the person key on the record's row. */
export const deleteReasonBinding = (tenantId: string, recordId: string) => ({
  tenantId,
  table: 'records',
  rowId: recordId,
  field: 'delete_reason',
});

/** A version's content, unsealed. */
const openVersion = (
  key: Buffer,
  tenantId: string,
  recordId: string,
  v: { version: number; sensitivity: string; content_enc: Buffer },
) =>
  openField<Record<string, unknown>>(key, contentBinding(tenantId, recordId, v.version, v.sensitivity), v.content_enc);

/** A record's versions, each with who made it and its sealed content. */
const versionsOf = (tx: Tx, tenantId: string, recordId: string) =>
  tx
    .selectFrom('record_versions')
    .select(['version', 'sensitivity', 'created_at', 'created_by', 'content_enc'])
    .where('record_id', '=', recordId)
    .where('tenant_id', '=', tenantId);

/** What a version answers besides its content or changes. */
const versionHead = (
  v: { version: number; sensitivity: string; created_at: string; created_by: string },
  names: Map<string, string>,
) => ({
  version: v.version,
  sensitivity: v.sensitivity as Sensitivity,
  createdAt: v.created_at,
  createdBy: v.created_by,
  createdByName: names.get(v.created_by) ?? null,
});

/** Validates content against its type's schema; the error names the field under `content`. */
function parseContent(type: RecordType, content: unknown): unknown {
  const r = RECORD_TYPES[type].content.safeParse(content);
  if (r.success) return normaliseCodes(r.data as Record<string, unknown>);
  throw fromZodError(r.error, ['content']);
}

/** ICD-10 codes written one way, however they were typed (`a15.0g` → `A15.0 G`). */
function normaliseCodes(content: Record<string, unknown>): Record<string, unknown> {
  const out = { ...content };
  if (typeof out.icd10 === 'string') out.icd10 = normaliseIcd10(out.icd10);
  if (Array.isArray(out.diagnoses))
    out.diagnoses = out.diagnoses.map((d) => (typeof d === 'string' ? normaliseIcd10(d) : d));
  return out;
}

const currentRecord = prepared((db, recordId: string, tenantId: string) =>
  db
    .selectFrom('records')
    .innerJoin('record_versions', (j) =>
      j.onRef('record_versions.record_id', '=', 'records.id').onRef('record_versions.version', '=', 'records.version'),
    )
    .selectAll('records')
    .select('record_versions.content_enc')
    .where('records.id', '=', recordId)
    .where('records.tenant_id', '=', tenantId),
);

/**
 * What keeps another table in step with the records of one type, in the same transaction: called
 * after each version is written (create, update) and after a delete. Registered by the composition
 * root (`src/services.ts`), so this module needs to know no domain built on records.
 */
export interface RecordIndexer {
  written(
    ctx: GateContext,
    r: {
      recordId: string;
      personId: string;
      version: number;
      sensitivity: Sensitivity;
      content: unknown;
      /** Set for a follower of every type (issue 17); an indexer of one type knows its type. */
      type?: RecordType;
    },
  ): Promise<void>;
  removed(ctx: GateContext, recordId: string): Promise<void>;
}

export class Records {
  private readonly keyring: Keyring;
  private readonly indexers: Partial<Record<RecordType, RecordIndexer>>;
  /** Issue 17: what follows every record of every type (a record type's task rules, src/desk). */
  private readonly followers: readonly RecordIndexer[];
  constructor(
    keyring: Keyring,
    indexers: Partial<Record<RecordType, RecordIndexer>> = {},
    followers: readonly RecordIndexer[] = [],
  ) {
    this.keyring = keyring;
    this.indexers = indexers;
    this.followers = followers;
  }

  async create(
    ctx: GateContext,
    personId: string,
    input: { type: RecordType; sensitivity: Sensitivity; content: unknown },
  ): Promise<string> {
    const { tx, principal } = ctx;
    // A file merged into another takes nothing new: its records live in the other file now.
    await lockFile(ctx, personId);
    await refuseMerged(ctx, personId);
    const id = randomUUID();
    await tx
      .insertInto('records')
      .values({
        id,
        tenant_id: principal.tenantId,
        person_id: personId,
        type: input.type,
        sensitivity: input.sensitivity,
        version: 1,
        created_at: ctx.now,
        created_by: principal.userId,
        updated_at: ctx.now,
        deleted_at: null,
        deleted_by: null,
        delete_reason_enc: null,
        retain_until: null,
      })
      .execute();
    await this.writeVersion(ctx, id, input.type, 1, input.sensitivity, parseContent(input.type, input.content));
    ctx.audit.resourceId = id;
    return id;
  }

  /**
   * One page of a file's records, newest first (by creation, then id). Only the page's rows are
   * read and only their current versions unsealed, and only those the caller may read: a
   * restricted record stays without its title for whoever may not open it.
   */
  async list(
    ctx: GateContext,
    personId: string,
    page: { limit: number; before?: string },
  ): Promise<{ items: RecordListItem[]; next: string | null }> {
    const { tx, principal } = ctx;
    let q = tx
      .selectFrom('records')
      .innerJoin('record_versions', (j) =>
        j
          .onRef('record_versions.record_id', '=', 'records.id')
          .onRef('record_versions.version', '=', 'records.version'),
      )
      .selectAll('records')
      .select(['record_versions.content_enc', 'record_versions.created_by as version_by'])
      .where('records.person_id', '=', personId)
      .where('records.tenant_id', '=', principal.tenantId)
      .where('records.deleted_at', 'is', null);
    const readsRestricted = ctx.may('record.read', 'restricted');
    // Where the owning department says so, who may not read restricted records does not see them listed at all.
    if (!readsRestricted && (await restrictedListing(ctx, ctx.target.departmentId!)) === 'hidden') {
      q = q.where('records.sensitivity', '=', 'normal');
    }
    const cursor = page.before ? decodeCursor(page.before) : null;
    if (cursor)
      q = q.where((eb) => eb(eb.refTuple('records.created_at', 'records.id'), '<', eb.tuple(cursor.at, cursor.id)));
    const rows = await q
      .orderBy('records.created_at', 'desc')
      .orderBy('records.id', 'desc')
      .limit(page.limit + 1)
      .execute();
    const { rows: shown, next } = pageOf(rows, page.limit, (r) => ({ at: r.created_at, id: r.id }));
    const names = await displayNames(
      ctx,
      this.keyring,
      shown.flatMap((r) => [r.created_by, r.version_by]),
    );
    const key = shown.length ? await this.personKey(ctx, personId) : null;
    const readsNormal = ctx.may('record.read');
    let unreadable = 0;
    const items = shown.map((r): RecordListItem => {
      const readable = r.sensitivity === 'normal' ? readsNormal : readsRestricted;
      let content: Record<string, unknown> | null = null;
      // A row that does not open (tampered with, or moved here from another file) stays listed without
      // a title and is counted in the audit event; reading it answers the opaque error as before.
      if (readable) {
        try {
          content = openVersion(key!, principal.tenantId, r.id, r);
        } catch {
          unreadable += 1;
        }
      }
      return {
        ...summary(r),
        createdByName: names.get(r.created_by) ?? null,
        updatedBy: r.version_by,
        updatedByName: names.get(r.version_by) ?? null,
        title: content ? recordTitle(r.type, content) : null,
      };
    });
    ctx.audit.detail = {
      count: items.length,
      ...(page.before ? { paged: true } : {}),
      ...(unreadable ? { unreadable } : {}),
    };
    return { items, next };
  }

  async get(ctx: GateContext, recordId: string): Promise<RecordView> {
    const { tx, principal } = ctx;
    const [r] = await currentRecord(tx, recordId, principal.tenantId);
    if (!r) throw new KarteiError('not-found');
    const key = await this.personKey(ctx, r.person_id);
    return {
      ...summary(r),
      content: openVersion(key, principal.tenantId, recordId, r),
    };
  }

  async update(
    ctx: GateContext,
    recordId: string,
    input: { content: unknown; sensitivity?: Sensitivity; version: number },
  ) {
    await lockFile(ctx, ctx.target.personId!);
    const r = await ctx.tx.selectFrom('records').selectAll().where('id', '=', recordId).executeTakeFirstOrThrow();
    // Moved to another file by a merge since the gate decided: written now, it would be sealed for the wrong file.
    if (r.version !== input.version || r.person_id !== ctx.target.personId) throw stale(r.version);
    const content = parseContent(r.type as RecordType, input.content);
    const sensitivity = input.sensitivity ?? (r.sensitivity as Sensitivity);
    const next = input.version + 1;
    const moved = await ctx.tx
      .updateTable('records')
      .set({ version: next, sensitivity, updated_at: ctx.now })
      .where('id', '=', recordId)
      .where('version', '=', input.version)
      .executeTakeFirst();
    if (Number(moved.numUpdatedRows) !== 1) throw stale(next);
    await this.writeVersion(ctx, recordId, r.type as RecordType, next, sensitivity, content);
    return { id: recordId, version: next };
  }

  /**
   * A record's versions, newest first, each with who made it and which fields it changed. The
   * changes are found by unsealing each version, and only between versions the caller may read.
   */
  async versions(ctx: GateContext, recordId: string): Promise<RecordVersionItem[]> {
    const { tx, principal } = ctx;
    const rows = await versionsOf(tx, principal.tenantId, recordId).orderBy('version', 'asc').execute();
    const key = rows.length ? await this.personKey(ctx, ctx.target.personId!) : null;
    const names = await displayNames(
      ctx,
      this.keyring,
      rows.map((r) => r.created_by),
    );
    const contents = rows.map((v) =>
      ctx.may('record.read', v.sensitivity as Sensitivity) ? openVersion(key!, principal.tenantId, recordId, v) : null,
    );
    const items = rows.map((v, i): RecordVersionItem => {
      const before = i > 0 ? contents[i - 1] : undefined;
      const now = contents[i];
      const changes =
        i === 0 ? [] : before && now ? changedFields(before, now, rows[i - 1]!.sensitivity !== v.sensitivity) : null;
      return { ...versionHead(v, names), changes };
    });
    return items.reverse();
  }

  /** One earlier (or the current) version's content: a record read, decided for that version's sensitivity. */
  async version(ctx: GateContext, recordId: string, version: number) {
    const { tx, principal } = ctx;
    const v = await versionsOf(tx, principal.tenantId, recordId).where('version', '=', version).executeTakeFirst();
    if (!v) throw new KarteiError('not-found');
    // A version once restricted stays closed to whoever may not read restricted records.
    if (!ctx.may('record.read', v.sensitivity as Sensitivity)) throw new KarteiError('forbidden');
    const key = await this.personKey(ctx, ctx.target.personId!);
    const names = await displayNames(ctx, this.keyring, [v.created_by]);
    ctx.audit.detail = { version };
    return { ...versionHead(v, names), content: openVersion(key, principal.tenantId, recordId, v) };
  }

  async remove(ctx: GateContext, recordId: string, reason: string): Promise<void> {
    const { tx, principal } = ctx;
    await lockFile(ctx, ctx.target.personId!);
    const r = await tx
      .selectFrom('records')
      .select(['type', 'person_id', 'version'])
      .where('id', '=', recordId)
      .executeTakeFirstOrThrow();
    if (r.person_id !== ctx.target.personId) throw stale(r.version);
    const key = await this.personKey(ctx, r.person_id);
    await tx
      .updateTable('records')
      .set({
        deleted_at: ctx.now,
        deleted_by: principal.userId,
        delete_reason_enc: sealField(key, deleteReasonBinding(principal.tenantId, recordId), reason),
        retain_until: retainUntil(r.type as RecordType, new Date(ctx.now)),
      })
      .where('id', '=', recordId)
      .where('deleted_at', 'is', null)
      .execute();
    await this.indexers[r.type as RecordType]?.removed(ctx, recordId);
    for (const f of this.followers) await f.removed(ctx, recordId);
    ctx.audit.reason = reason;
  }

  private personKey(ctx: GateContext, personId: string) {
    return this.keyring.personKey(ctx.tx, ctx.principal.tenantId, ctx.target.departmentId!, personId);
  }

  private async writeVersion(
    ctx: GateContext,
    recordId: string,
    type: RecordType,
    version: number,
    sensitivity: Sensitivity,
    content: unknown,
  ) {
    const { tx, principal } = ctx;
    const personId = ctx.target.personId!;
    const key = await this.personKey(ctx, personId);
    await tx
      .insertInto('record_versions')
      .values({
        record_id: recordId,
        version,
        tenant_id: principal.tenantId,
        sensitivity,
        content_enc: sealField(key, contentBinding(principal.tenantId, recordId, version, sensitivity), content),
        created_at: ctx.now,
        created_by: principal.userId,
      })
      .execute();
    const written = { recordId, personId, version, sensitivity, content };
    await this.indexers[type]?.written(ctx, written);
    for (const f of this.followers) await f.written(ctx, { ...written, type });
  }
}

function summary(
  r: Pick<
    RecordsTable,
    'id' | 'person_id' | 'type' | 'sensitivity' | 'version' | 'created_at' | 'created_by' | 'updated_at'
  >,
): RecordSummary {
  return {
    id: r.id,
    personId: r.person_id,
    type: r.type,
    sensitivity: r.sensitivity as Sensitivity,
    version: r.version,
    createdAt: r.created_at,
    createdBy: r.created_by,
    updatedAt: r.updated_at,
  };
}

/** The names of the fields that differ between two contents (and `sensitivity` if it changed). */
function changedFields(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
  sensitivityChanged: boolean,
): string[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  const changed = keys.filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
  return sensitivityChanged ? [...changed, 'sensitivity'] : changed;
}
