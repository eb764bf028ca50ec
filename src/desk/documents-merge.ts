// A person merge (src/records/person-merge.ts) takes the absorbed file's documents along, deleted ones
// too, and its undo brings exactly those back: each version's data key re-wrapped from one person key
// to the other; the sealed files stay where they are (same department) and are never re-encrypted.
import type { GateContext } from '../access/gate.ts';
import type { MergeParticipant } from '../records/person-merge.ts';
import type { Documents } from './documents.ts';

export class DocumentsMerge implements MergeParticipant {
  private readonly documents: Documents;
  constructor(documents: Documents) {
    this.documents = documents;
  }

  async move(ctx: GateContext, from: string, to: string): Promise<string[]> {
    const rows = await ctx.tx
      .selectFrom('documents')
      .select('id')
      .where('tenant_id', '=', ctx.principal.tenantId)
      .where('person_id', '=', from)
      .orderBy('id')
      .execute();
    const ids = rows.map((r) => r.id);
    await this.moveEach(ctx, ids, from, to);
    return ids;
  }

  moveBack(ctx: GateContext, ids: string[], from: string, to: string): Promise<void> {
    return this.moveEach(ctx, ids, from, to);
  }

  private async moveEach(ctx: GateContext, ids: string[], from: string, to: string) {
    if (ids.length === 0) return;
    const { tx, principal } = ctx;
    const tenantId = principal.tenantId;
    const departmentId = ctx.target.departmentId!;
    const fromKey = await this.documents.keyring.personKey(tx, tenantId, departmentId, from);
    const toKey = await this.documents.keyring.personKey(tx, tenantId, departmentId, to);
    for (const id of ids) {
      await this.documents.rewrap(ctx, id, fromKey, toKey);
      const moved = await tx
        .updateTable('documents')
        .set({ person_id: to })
        .where('id', '=', id)
        .where('tenant_id', '=', tenantId)
        .where('person_id', '=', from)
        .where('department_id', '=', departmentId)
        .executeTakeFirst();
      if (Number(moved.numUpdatedRows) !== 1) throw new Error(`document ${id} is not in the file it is moved from`);
    }
  }
}
