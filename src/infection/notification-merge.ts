// Person merge × inbox (issue 16): notifications linked to a file that a merge absorbs are linked to
// the surviving file instead, in the merge's transaction, and exactly those back on undo. Not an edit
// of the notification (its version stays): it names the same person, in the file that person now has.
import type { MergeParticipant } from '../records/person-merge.ts';

export const notificationsMerge: MergeParticipant = {
  async move(ctx, from, to) {
    const tenantId = ctx.principal.tenantId;
    const rows = await ctx.tx
      .selectFrom('demis_notifications')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('person_id', '=', from)
      .orderBy('id')
      .execute();
    const ids = rows.map((r) => r.id);
    if (ids.length)
      await ctx.tx
        .updateTable('demis_notifications')
        .set({ person_id: to })
        .where('tenant_id', '=', tenantId)
        .where('id', 'in', ids)
        .execute();
    return ids;
  },
  async moveBack(ctx, ids, from, to) {
    if (ids.length === 0) return;
    await ctx.tx
      .updateTable('demis_notifications')
      .set({ person_id: to })
      .where('tenant_id', '=', ctx.principal.tenantId)
      .where('id', 'in', ids)
      .where('person_id', '=', from)
      .execute();
  },
};
