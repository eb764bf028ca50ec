// Keeps `ifsg_cases` in step with the records of type `ifsg-case`, in the writing transaction:
// what a department's case lists, its numbers and the §11 transmission select by. The disease is
// kept as a keyed digest (equal codes, equal digests, nothing readable) and sealed for its label.
import type { GateContext } from '../access/gate.ts';
import type { Sensitivity } from '../access/policy.ts';
import type { RecordIndexer } from '../records/records.ts';
import type { IfsgCaseContent } from '../records/record-types.ts';
import { fieldRefused } from '../errors.ts';
import { digest } from '../vault/blind-index.ts';
import { openField, sealField, type Keyring } from '../vault/keyring.ts';
import { reportingWeek } from './reporting-week.ts';

type Coded = IfsgCaseContent['disease'];

const diseaseBinding = (tenantId: string, recordId: string) => ({
  tenantId,
  table: 'ifsg_cases',
  rowId: recordId,
  field: 'disease',
});

export class CaseIndex implements RecordIndexer {
  private readonly keyring: Keyring;
  constructor(keyring: Keyring) {
    this.keyring = keyring;
  }

  /** The office's digest of a disease code: what cases are found and counted by. */
  async diseaseDigest(ctx: GateContext, code: string): Promise<string> {
    const key = await this.keyring.indexKey(ctx.tx, ctx.principal.tenantId);
    return digest(key, 'disease', code.trim().toLowerCase());
  }

  /** A disease's label as sealed in a case row of the caller's decided department. */
  async diseaseOf(ctx: GateContext, row: { record_id: string; department_id: string; disease_enc: Buffer }) {
    const key = await this.keyring.departmentKey(ctx.tx, ctx.principal.tenantId, row.department_id);
    return openField<Coded>(key, diseaseBinding(ctx.principal.tenantId, row.record_id), row.disease_enc);
  }

  /** The live case of a person for a disease, if there is one (a person has one case per disease). */
  async findCase(ctx: GateContext, personId: string, diseaseCode: string): Promise<string | null> {
    const d = await this.diseaseDigest(ctx, diseaseCode);
    const row = await ctx.tx
      .selectFrom('ifsg_cases')
      .select('record_id')
      .where('tenant_id', '=', ctx.principal.tenantId)
      .where('person_id', '=', personId)
      .where('disease_digest', '=', d)
      .where('deleted_at', 'is', null)
      .orderBy('created_at', 'desc')
      .executeTakeFirst();
    return row?.record_id ?? null;
  }

  async written(
    ctx: GateContext,
    r: { recordId: string; personId: string; version: number; sensitivity: Sensitivity; content: unknown },
  ): Promise<void> {
    const c = r.content as IfsgCaseContent;
    const tenantId = ctx.principal.tenantId;
    const departmentId = ctx.target.departmentId!;
    const key = await this.keyring.departmentKey(ctx.tx, tenantId, departmentId);
    // Issue 16: outbreaks — a case belongs only to an outbreak of its own department.
    if (c.outbreakId) {
      const outbreak = await ctx.tx
        .selectFrom('outbreaks')
        .select('id')
        .where('id', '=', c.outbreakId)
        .where('tenant_id', '=', tenantId)
        .where('department_id', '=', departmentId)
        .executeTakeFirst();
      if (!outbreak)
        throw fieldRefused(
          'validation-failed',
          'content.outbreakId',
          'outbreak-other-department',
          "not an outbreak of the case's department",
        );
    }
    // A restricted case's contacts are restricted (contact-index.ts): a case relabelled restricted while a contact of
    // it is normal would be told of by that contact (in the worklist, the outbreak, the contact's record) to a clerk.
    if (r.sensitivity === 'restricted' && r.version > 1) {
      const open = await ctx.tx
        .selectFrom('ifsg_contacts')
        .select('record_id')
        .where('tenant_id', '=', tenantId)
        .where('case_record_id', '=', r.recordId)
        .where('sensitivity', '=', 'normal')
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      if (open)
        throw fieldRefused(
          'validation-failed',
          'sensitivity',
          'contacts-not-restricted',
          'the case has contacts that are not restricted: relabel them first',
        );
    }
    const facts = {
      disease_digest: await this.diseaseDigest(ctx, c.disease.code),
      disease_enc: sealField(key, diseaseBinding(tenantId, r.recordId), c.disease),
      status: c.status,
      category: c.category ?? null,
      sensitivity: r.sensitivity,
      notified_on: c.notifiedOn,
      reporting_week: reportingWeek(c.notifiedOn),
      outbreak_id: c.outbreakId ?? null,
      version: r.version,
      changed_at: ctx.now,
    };
    if (r.version === 1) {
      await ctx.tx
        .insertInto('ifsg_cases')
        .values({
          record_id: r.recordId,
          tenant_id: tenantId,
          department_id: departmentId,
          person_id: r.personId,
          created_at: ctx.now,
          deleted_at: null,
          ...facts,
        })
        .execute();
    } else {
      await ctx.tx
        .updateTable('ifsg_cases')
        .set(facts)
        .where('record_id', '=', r.recordId)
        .where('tenant_id', '=', tenantId)
        .execute();
    }
  }

  async removed(ctx: GateContext, recordId: string): Promise<void> {
    await ctx.tx
      .updateTable('ifsg_cases')
      .set({ deleted_at: ctx.now, changed_at: ctx.now })
      .where('record_id', '=', recordId)
      .where('tenant_id', '=', ctx.principal.tenantId)
      .execute();
  }
}
