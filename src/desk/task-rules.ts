// The task rules record types declare (issue 17, `taskRules` in src/records/record-types.ts), applied by a
// follower of every record (src/records/records.ts), in the writing transaction: while a version matches a
// rule, the record's file has one task of that rule, linked to the record, due the declared months after the
// record's date; a later version that no longer matches, or deleting the record, cancels it while it is
// open; matching again reopens it. Idempotent: one task per record and rule (`rule_key`, unique), so the same
// record written again, or twice at once, makes no second task. A record relabelled restricted makes every task
// linked to it restricted, those made by hand too.
import { randomUUID } from 'node:crypto';
import type { GateContext } from '../access/gate.ts';
import type { Sensitivity } from '../access/policy.ts';
import { taskRulesOf, type RecordType, type TaskRule } from '../records/record-types.ts';
import type { RecordIndexer } from '../records/records.ts';
import type { Keyring } from '../vault/keyring.ts';
import { sealTask, taskKey } from './tasks-shared.ts';

/** `date` plus `months` calendar months, on the month's last day where the day does not exist (31.08. + 6 → 28.02.). */
export function addMonths(date: string, months: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const first = new Date(Date.UTC(y, m - 1 + months, 1));
  const last = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0)).getUTCDate();
  first.setUTCDate(Math.min(d, last));
  return first.toISOString().slice(0, 10);
}

const matches = (rule: TaskRule, content: Record<string, unknown>) => content[rule.when.field] === rule.when.equals;
const ruleKey = (recordId: string, rule: TaskRule) => `${recordId}:${rule.id}`;

export class TaskRules implements RecordIndexer {
  private readonly keyring: Keyring;
  constructor(keyring: Keyring) {
    this.keyring = keyring;
  }

  async written(
    ctx: GateContext,
    r: {
      recordId: string;
      personId: string;
      version: number;
      sensitivity: Sensitivity;
      content: unknown;
      type?: RecordType;
    },
  ): Promise<void> {
    // A restricted record's task is restricted (tasks-shared.ts `checkLink`): a record relabelled restricted takes
    // the tasks linked to it along — those made by hand too, whose title and note a clerk would otherwise still read.
    if (r.sensitivity === 'restricted')
      await ctx.tx
        .updateTable('tasks')
        .set((eb) => ({
          sensitivity: 'restricted',
          version: eb('version', '+', 1),
          updated_at: ctx.now,
          updated_by: ctx.principal.userId,
        }))
        .where('tenant_id', '=', ctx.principal.tenantId)
        .where('link_kind', '=', 'record')
        .where('link_id', '=', r.recordId)
        .where('sensitivity', '=', 'normal')
        .execute();
    const type = r.type;
    const rules = type ? taskRulesOf(type) : [];
    if (!type || rules.length === 0) return;
    const content = r.content as Record<string, unknown>;
    for (const rule of rules) {
      const due = typeof content[rule.due.from] === 'string' ? (content[rule.due.from] as string) : null;
      if (matches(rule, content) && due) await this.ensure(ctx, { ...r, type }, rule, addMonths(due, rule.due.months));
      else await this.cancel(ctx, ruleKey(r.recordId, rule));
    }
  }

  async removed(ctx: GateContext, recordId: string): Promise<void> {
    const open = await ctx.tx
      .selectFrom('tasks')
      .select('rule_key')
      .where('tenant_id', '=', ctx.principal.tenantId)
      .where('link_id', '=', recordId)
      .where('rule_key', 'is not', null)
      .where('state', '=', 'open')
      .execute();
    for (const t of open) await this.cancel(ctx, t.rule_key!);
  }

  /** The rule's task of this record, open and due as the version says: made once, reopened or moved. */
  private async ensure(
    ctx: GateContext,
    r: { recordId: string; personId: string; sensitivity: Sensitivity; type: RecordType },
    rule: TaskRule,
    dueDate: string,
  ) {
    const tenantId = ctx.principal.tenantId;
    const key = ruleKey(r.recordId, rule);
    const existing = await ctx.tx
      .selectFrom('tasks')
      .select(['id', 'state', 'due_date', 'sensitivity', 'version', 'rule_due', 'rule_cancelled'])
      .where('tenant_id', '=', tenantId)
      .where('rule_key', '=', key)
      .executeTakeFirst();
    const userId = ctx.principal.userId;
    if (!existing) {
      const person = await ctx.tx
        .selectFrom('persons')
        .select('department_id')
        .where('id', '=', r.personId)
        .where('tenant_id', '=', tenantId)
        .executeTakeFirstOrThrow();
      const id = randomUUID();
      const sealKey = await taskKey(this.keyring, ctx, { department_id: person.department_id, person_id: r.personId });
      // A second writer of the same record and rule at the same moment finds the row there: nothing is added.
      await ctx.tx
        .insertInto('tasks')
        .values({
          id,
          tenant_id: tenantId,
          department_id: person.department_id,
          person_id: r.personId,
          version: 1,
          type: rule.type,
          sensitivity: r.sensitivity,
          ...sealTask(sealKey, tenantId, id, rule.title, null),
          due_date: dueDate,
          assignee_id: null,
          state: 'open',
          link_kind: 'record',
          link_id: r.recordId,
          source: `rule:${r.type}:${rule.id}`,
          rule_key: key,
          rule_due: dueDate,
          rule_cancelled: 0,
          created_at: ctx.now,
          created_by: userId,
          updated_at: ctx.now,
          updated_by: userId,
          closed_at: null,
          closed_by: null,
        })
        .onConflict((oc) => oc.columns(['tenant_id', 'rule_key']).doNothing())
        .execute();
      return;
    }
    // Done is done, and what a person cancelled stays cancelled: only the rule's own cancellation is undone.
    if (existing.state === 'done' || (existing.state === 'cancelled' && existing.rule_cancelled !== 1)) return;
    // A due date a person moved stays where they put it; one the rule set follows the record's date.
    const movedByHand = existing.due_date !== existing.rule_due;
    const due = existing.state === 'open' && movedByHand ? existing.due_date : dueDate;
    if (existing.state === 'open' && existing.due_date === due && existing.sensitivity === r.sensitivity) return;
    await ctx.tx
      .updateTable('tasks')
      .set({
        version: existing.version + 1,
        state: 'open',
        due_date: due,
        rule_due: dueDate,
        rule_cancelled: 0,
        sensitivity: r.sensitivity,
        updated_at: ctx.now,
        updated_by: userId,
        closed_at: null,
        closed_by: null,
      })
      .where('id', '=', existing.id)
      .where('version', '=', existing.version)
      .execute();
  }

  private async cancel(ctx: GateContext, key: string) {
    const tenantId = ctx.principal.tenantId;
    const open = await ctx.tx
      .selectFrom('tasks')
      .select(['id', 'version'])
      .where('tenant_id', '=', tenantId)
      .where('rule_key', '=', key)
      .where('state', '=', 'open')
      .executeTakeFirst();
    if (!open) return;
    await ctx.tx
      .updateTable('tasks')
      .set({
        version: open.version + 1,
        state: 'cancelled',
        rule_cancelled: 1,
        updated_at: ctx.now,
        updated_by: ctx.principal.userId,
        closed_at: ctx.now,
        closed_by: ctx.principal.userId,
      })
      .where('id', '=', open.id)
      .where('version', '=', open.version)
      .execute();
  }
}
