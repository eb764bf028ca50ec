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
import { stale } from './persons.ts';
import { prepared } from '../db/prepared.ts';
import type { Tx } from '../db/connect.ts';

export interface RecordSummary {
  id: string;
  personId: string;
  type: string;
  sensitivity: Sensitivity;
  version: number;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
}

export interface RecordView extends RecordSummary {
  content: unknown;
}

/**
 * The sensitivity label is part of the binding: relabelling a restricted record
 * as normal in the database makes its content undecryptable instead of readable.
 */
const contentBinding = (tenantId: string, recordId: string, version: number, sensitivity: string) => ({
  tenantId,
  table: 'record_versions',
  rowId: `${recordId}:${version}`,
  field: `content:${sensitivity}`,
});

/** Validates content against its type's schema; the error names the field under `content`. */
export function parseContent(type: RecordType, content: unknown): unknown {
  const r = RECORD_TYPES[type].content.safeParse(content);
  if (r.success) return normaliseCodes(r.data as Record<string, unknown>);
  throw fromZodError(r.error, ['content']);
}

/** ICD-10 codes written one way, however they were typed (`a15.0g` → `A15.0 G`). */
function normaliseCodes(content: Record<string, unknown>): Record<string, unknown> {
  const out = { ...content };
  if (typeof out.icd10 === 'string') out.icd10 = normaliseIcd10(out.icd10);
  if (Array.isArray(out.diagnoses)) out.diagnoses = out.diagnoses.map((d) => (typeof d === 'string' ? normaliseIcd10(d) : d));
  return out;
}

const currentRecord = prepared((db, recordId: string, tenantId: string) =>
  db
    .selectFrom('records')
    .innerJoin('record_versions', (j) => j.onRef('record_versions.record_id', '=', 'records.id').onRef('record_versions.version', '=', 'records.version'))
    .selectAll('records')
    .select('record_versions.content_enc')
    .where('records.id', '=', recordId)
    .where('records.tenant_id', '=', tenantId),
);

export class Records {
  constructor(private readonly keyring: Keyring) {}

  async create(ctx: GateContext, personId: string, input: { type: RecordType; sensitivity: Sensitivity; content: unknown }): Promise<string> {
    const { tx, principal } = ctx;
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
    await this.writeVersion(ctx, id, 1, input.sensitivity, parseContent(input.type, input.content));
    ctx.audit.resourceId = id;
    return id;
  }

  async list(ctx: GateContext, personId: string): Promise<RecordSummary[]> {
    let q = ctx.tx
      .selectFrom('records')
      .selectAll()
      .where('person_id', '=', personId)
      .where('tenant_id', '=', ctx.principal.tenantId)
      .where('deleted_at', 'is', null);
    // Where the owning department says so, who may not read restricted records does not see them listed at all.
    if (!ctx.may('record.read', 'restricted') && (await restrictedListing(ctx.tx, ctx.target.departmentId!)) === 'hidden') {
      q = q.where('sensitivity', '=', 'normal');
    }
    const rows = await q.orderBy('created_at', 'desc').execute();
    ctx.audit.detail = { count: rows.length };
    return rows.map(summary);
  }

  async get(ctx: GateContext, recordId: string): Promise<RecordView> {
    const { tx, principal } = ctx;
    const [r] = await currentRecord(tx, recordId, principal.tenantId);
    if (!r) throw new KarteiError('not-found');
    const key = await this.personKey(ctx, r.person_id);
    return { ...summary(r), content: openField(key, contentBinding(principal.tenantId, recordId, r.version, r.sensitivity), r.content_enc) };
  }

  async update(ctx: GateContext, recordId: string, input: { content: unknown; sensitivity?: Sensitivity; version: number }) {
    const r = await ctx.tx.selectFrom('records').selectAll().where('id', '=', recordId).executeTakeFirstOrThrow();
    if (r.version !== input.version) throw stale(r.version);
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
    await this.writeVersion(ctx, recordId, next, sensitivity, content);
    return { id: recordId, version: next };
  }

  async versions(ctx: GateContext, recordId: string) {
    const rows = await ctx.tx
      .selectFrom('record_versions')
      .select(['version', 'sensitivity', 'created_at', 'created_by'])
      .where('record_id', '=', recordId)
      .orderBy('version', 'desc')
      .execute();
    return rows.map((v) => ({ version: v.version, sensitivity: v.sensitivity as Sensitivity, createdAt: v.created_at, createdBy: v.created_by }));
  }

  async remove(ctx: GateContext, recordId: string, reason: string): Promise<void> {
    const { tx, principal } = ctx;
    const r = await tx.selectFrom('records').select(['type', 'person_id']).where('id', '=', recordId).executeTakeFirstOrThrow();
    const key = await this.personKey(ctx, r.person_id);
    await tx
      .updateTable('records')
      .set({
        deleted_at: ctx.now,
        deleted_by: principal.userId,
        delete_reason_enc: sealField(key, { tenantId: principal.tenantId, table: 'records', rowId: recordId, field: 'delete_reason' }, reason),
        retain_until: retainUntil(r.type as RecordType, new Date(ctx.now)),
      })
      .where('id', '=', recordId)
      .where('deleted_at', 'is', null)
      .execute();
    ctx.audit.reason = reason;
  }

  private personKey(ctx: GateContext, personId: string) {
    return this.keyring.personKey(ctx.tx, ctx.principal.tenantId, ctx.target.departmentId!, personId);
  }

  private async writeVersion(ctx: GateContext, recordId: string, version: number, sensitivity: Sensitivity, content: unknown) {
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
  }
}

function summary(r: { id: string; person_id: string; type: string; sensitivity: string; version: number; created_at: string; created_by: string; updated_at: string }): RecordSummary {
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

/** A department's setting for listing restricted records to members who may not read them. */
export async function restrictedListing(tx: Tx, departmentId: string): Promise<'shown' | 'hidden'> {
  const row = await tx.selectFrom('departments').select('restricted_listing').where('id', '=', departmentId).executeTakeFirst();
  return row?.restricted_listing === 'hidden' ? 'hidden' : 'shown';
}
