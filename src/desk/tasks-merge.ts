// Person merge × tasks (issue 17): a file's tasks move with a merge into the surviving file, and exactly
// those back with its undo, in the merge's transaction. Their titles and notes stay sealed with the key of
// the file they are in (its person key), so they are re-sealed from one person key to the other under the
// same binding (the task, not the file): destroying a person's key then still erases everything of theirs,
// tasks included, as with their records (src/records/person-merge-moves.ts does the same for those).
import type { GateContext } from '../access/gate.ts';
import { fieldRefused } from '../errors.ts';
import type { MergeParticipant } from '../records/person-merge.ts';
import type { Keyring } from '../vault/keyring.ts';
import { openTask, sealTask } from './tasks-shared.ts';

async function moveTasks(keyring: Keyring, ctx: GateContext, ids: string[] | null, from: string, to: string) {
  const { tx } = ctx;
  const tenantId = ctx.principal.tenantId;
  let q = tx
    .selectFrom('tasks')
    .select(['id', 'department_id', 'title_enc', 'note_enc'])
    .where('tenant_id', '=', tenantId)
    .where('person_id', '=', from);
  if (ids) q = q.where('id', 'in', ids.length ? ids : ['']);
  const rows = await q.orderBy('id').execute();
  if (rows.length === 0) return [];
  const departmentId = rows[0]!.department_id;
  const fromKey = await keyring.personKey(tx, tenantId, departmentId, from);
  const toKey = await keyring.personKey(tx, tenantId, departmentId, to);
  for (const t of rows) {
    let opened: { title: string; note: string | null };
    try {
      opened = openTask(fromKey, tenantId, t);
    } catch {
      throw fieldRefused(
        'conflict',
        'absorbedId',
        'merge-unreadable',
        'a task of the file does not open; nothing was merged or moved',
      );
    }
    await tx
      .updateTable('tasks')
      .set({ person_id: to, ...sealTask(toKey, tenantId, t.id, opened.title, opened.note) })
      .where('id', '=', t.id)
      .where('tenant_id', '=', tenantId)
      .execute();
  }
  return rows.map((r) => r.id);
}

export const tasksMerge = (keyring: Keyring): MergeParticipant => ({
  move: (ctx, from, to) => moveTasks(keyring, ctx, null, from, to),
  async moveBack(ctx, ids, from, to) {
    if (ids.length) await moveTasks(keyring, ctx, ids, from, to);
  },
});
