// Keeps `ifsg_contacts` in step with the records of type `ifsg-contact`, in the writing transaction:
// what a case's contact list and the department's follow-up worklist select by. A contact names an
// index case of its own department that its writer may read, or it is refused with the field named.
// A person merge moves the rows with the contacts' records (`contactsMerge`); the index case is
// named by its record id, which a merge keeps. Where both files were contacts of one case, the merge
// keeps one of them and removes the other (`contactTwinsMerge`); its undo brings that one back.
import type { GateContext } from '../access/gate.ts';
import { decide, type Sensitivity } from '../access/policy.ts';
import { fieldRefused } from '../errors.ts';
import type { MergeParticipant } from '../records/person-merge.ts';
import { deleteReasonBinding, type RecordIndexer } from '../records/records.ts';
import { retainUntil, type IfsgContactContent } from '../records/record-types.ts';
import { sealField, type Keyring } from '../vault/keyring.ts';
import { restrictedListing } from '../identity/departments.ts';

/** Whether the caller may read restricted records of files owned by `departmentId` (as a member there). */
export function readsRestrictedIn(ctx: GateContext, departmentId: string): boolean {
  return (
    decide(ctx.principal, 'record.read', {
      kind: 'file',
      departmentId,
      sharedWith: [],
      breakGlass: false,
      sensitivity: 'restricted',
    }) === 'allow'
  );
}

/**
 * Whether restricted records of `departmentId`'s files are hidden from the caller: they may not read them and the
 * department does not list them (`restrictedListing` 'hidden'), so such a record answers them 404, like a missing one.
 */
export async function restrictedHiddenFrom(ctx: GateContext, departmentId: string): Promise<boolean> {
  return !readsRestrictedIn(ctx, departmentId) && (await restrictedListing(ctx, departmentId)) === 'hidden';
}

/** The live index case a contact names, if it is a case of `departmentId` the caller may read. */
export async function indexCaseOf(ctx: GateContext, caseRecordId: string, departmentId: string) {
  const row = await ctx.tx
    .selectFrom('ifsg_cases')
    .selectAll()
    .where('record_id', '=', caseRecordId)
    .where('tenant_id', '=', ctx.principal.tenantId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (!row || row.department_id !== departmentId) return null;
  if (row.sensitivity === 'restricted' && !readsRestrictedIn(ctx, departmentId)) return null;
  return row;
}

export class ContactIndex implements RecordIndexer {
  async written(
    ctx: GateContext,
    r: { recordId: string; personId: string; version: number; sensitivity: Sensitivity; content: unknown },
  ): Promise<void> {
    const c = r.content as IfsgContactContent;
    const tenantId = ctx.principal.tenantId;
    const departmentId = ctx.target.departmentId!;
    const index = await indexCaseOf(ctx, c.indexCaseId, departmentId);
    if (!index) throw fieldRefused('validation-failed', 'content.indexCaseId', 'case-unknown', 'no such case here');
    // A merge may have joined a contact and its index case in one file: the contact still ends and changes.
    const earlier =
      r.version === 1
        ? undefined
        : await ctx.tx
            .selectFrom('ifsg_contacts')
            .select('case_record_id')
            .where('record_id', '=', r.recordId)
            .where('tenant_id', '=', tenantId)
            .executeTakeFirst();
    if (index.person_id === r.personId && earlier?.case_record_id !== c.indexCaseId)
      throw fieldRefused('validation-failed', 'content.indexCaseId', 'contact-is-case', "the case's own person");
    // A contact of a restricted case would tell of the case whoever may read only normal records: restricted too.
    if (index.sensitivity === 'restricted' && r.sensitivity !== 'restricted')
      throw fieldRefused('validation-failed', 'sensitivity', 'invalid', 'a contact of a restricted case is restricted');
    const facts = {
      case_record_id: c.indexCaseId,
      last_exposure: c.lastExposure,
      follow_up_until: c.followUpUntil,
      state: c.state,
      sensitivity: r.sensitivity,
      converted_case_id: c.convertedCaseId ?? null,
      version: r.version,
      changed_at: ctx.now,
    };
    if (r.version === 1) {
      await ctx.tx
        .insertInto('ifsg_contacts')
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
        .updateTable('ifsg_contacts')
        .set(facts)
        .where('record_id', '=', r.recordId)
        .where('tenant_id', '=', tenantId)
        .execute();
    }
  }

  async removed(ctx: GateContext, recordId: string): Promise<void> {
    await ctx.tx
      .updateTable('ifsg_contacts')
      .set({ deleted_at: ctx.now, changed_at: ctx.now })
      .where('record_id', '=', recordId)
      .where('tenant_id', '=', ctx.principal.tenantId)
      .execute();
  }
}

/** Person merge × contacts: a file's contact rows follow its records to the surviving file, and back on undo. */
export const contactsMerge: MergeParticipant = {
  async move(ctx, from, to) {
    const tenantId = ctx.principal.tenantId;
    // One file a live contact person of the other's case: merged, the person would be their own contact.
    // Refused (the merge's transaction undoes everything); a person ends or removes that contact first.
    // The merge has moved the absorbed file's cases to `to` already.
    const own = await ctx.tx
      .selectFrom('ifsg_contacts')
      .innerJoin('ifsg_cases', 'ifsg_cases.record_id', 'ifsg_contacts.case_record_id')
      .select('ifsg_contacts.record_id')
      .where('ifsg_contacts.tenant_id', '=', tenantId)
      .where('ifsg_contacts.person_id', 'in', [from, to])
      .where('ifsg_contacts.deleted_at', 'is', null)
      .where('ifsg_contacts.state', '=', 'active')
      .where('ifsg_cases.person_id', '=', to)
      .where('ifsg_cases.deleted_at', 'is', null)
      .executeTakeFirst();
    if (own)
      throw fieldRefused(
        'conflict',
        'absorbedId',
        'contact-is-case',
        "one file is a contact person of the other's case: end or remove that contact first",
      );
    const rows = await ctx.tx
      .selectFrom('ifsg_contacts')
      .select('record_id')
      .where('tenant_id', '=', tenantId)
      .where('person_id', '=', from)
      .orderBy('record_id')
      .execute();
    const ids = rows.map((r) => r.record_id);
    if (ids.length)
      await ctx.tx
        .updateTable('ifsg_contacts')
        .set({ person_id: to })
        .where('tenant_id', '=', tenantId)
        .where('record_id', 'in', ids)
        .execute();
    return ids;
  },
  async moveBack(ctx, ids, from, to) {
    if (ids.length === 0) return;
    await ctx.tx
      .updateTable('ifsg_contacts')
      .set({ person_id: to })
      .where('tenant_id', '=', ctx.principal.tenantId)
      .where('record_id', 'in', ids)
      .where('person_id', '=', from)
      .execute();
  },
};

/** How far a contact got: converted before ended before active. */
const progress: Record<string, number> = { converted: 0, ended: 1, active: 2 };

/**
 * Person merge × one contact per person and case: where both files were live contacts of one case, the
 * merged file keeps one and the other is removed (its record deleted like a removal by hand, with a reason
 * naming the one kept, its versions and follow-up entries kept with it); undo brings it back. Kept is a
 * normal contact over a restricted one (what whoever may not read restricted records saw stays as it was,
 * and nothing restricted becomes visible), then the one further along (converted, ended, active), then the
 * longer follow-up (a follow-up never ends before one of the two said), then the earlier one. Registered
 * after `contacts`, which has moved the absorbed file's contacts to `to` by then.
 */
export const contactTwinsMerge = (keyring: Keyring): MergeParticipant => ({
  audited: 'contactsRemoved',
  async move(ctx, _from, to) {
    const { tx } = ctx;
    const tenantId = ctx.principal.tenantId;
    const rows = await tx
      .selectFrom('ifsg_contacts')
      .select(['record_id', 'case_record_id', 'sensitivity', 'state', 'follow_up_until', 'created_at'])
      .where('tenant_id', '=', tenantId)
      .where('person_id', '=', to)
      .where('deleted_at', 'is', null)
      .orderBy('record_id')
      .execute();
    const byCase = new Map<string, typeof rows>();
    for (const r of rows) byCase.set(r.case_record_id, [...(byCase.get(r.case_record_id) ?? []), r]);
    const removed: string[] = [];
    let key: Buffer | null = null;
    for (const twins of byCase.values()) {
      if (twins.length < 2) continue;
      twins.sort(
        (a, b) =>
          Number(a.sensitivity !== 'normal') - Number(b.sensitivity !== 'normal') ||
          (progress[a.state] ?? 3) - (progress[b.state] ?? 3) ||
          b.follow_up_until.localeCompare(a.follow_up_until) ||
          a.created_at.localeCompare(b.created_at) ||
          a.record_id.localeCompare(b.record_id),
      );
      const kept = twins[0]!.record_id;
      key ??= await keyring.personKey(tx, tenantId, ctx.target.departmentId!, to);
      for (const { record_id: id } of twins.slice(1)) {
        const reason = `Doppelt nach Zusammenführung der Akten: Kontaktperson dieses Falls bleibt ${kept}.`;
        await tx
          .updateTable('records')
          .set({
            deleted_at: ctx.now,
            deleted_by: ctx.principal.userId,
            delete_reason_enc: sealField(key, deleteReasonBinding(tenantId, id), reason),
            retain_until: retainUntil('ifsg-contact', new Date(ctx.now)),
          })
          .where('id', '=', id)
          .where('tenant_id', '=', tenantId)
          .execute();
        await tx
          .updateTable('ifsg_contacts')
          .set({ deleted_at: ctx.now, changed_at: ctx.now })
          .where('record_id', '=', id)
          .where('tenant_id', '=', tenantId)
          .execute();
        removed.push(id);
      }
    }
    return removed;
  },
  async moveBack(ctx, ids) {
    if (ids.length === 0) return;
    const tenantId = ctx.principal.tenantId;
    await ctx.tx
      .updateTable('records')
      .set({ deleted_at: null, deleted_by: null, delete_reason_enc: null, retain_until: null })
      .where('tenant_id', '=', tenantId)
      .where('id', 'in', ids)
      .execute();
    await ctx.tx
      .updateTable('ifsg_contacts')
      .set({ deleted_at: null, changed_at: ctx.now })
      .where('tenant_id', '=', tenantId)
      .where('record_id', 'in', ids)
      .execute();
  },
});
