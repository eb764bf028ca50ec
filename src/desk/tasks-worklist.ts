// A department's worklist of open tasks (issue 17), decided as `task.worklist` on the department: a member
// sees the tasks assigned to them and to the whole department, its head every task of the department
// (filterable by assignee). Overdue, due today and upcoming by the office's day (Europe/Berlin), by due
// date, paged; filterable by type and section. The persons' names are unsealed for the page's rows only,
// each file shown is on the record; restricted tasks like records (no title, or not listed).
import { decidedDepartment, type GateContext } from '../access/gate.ts';
import { decide } from '../access/policy.ts';
import type { TaskSection, TaskType, Worklist } from '../contract/tasks.ts';
import { KarteiError } from '../errors.ts';
import { restrictedListing } from '../identity/departments.ts';
import { displayNames } from '../identity/users.ts';
import type { Persons } from '../records/persons.ts';
import type { Keyring } from '../vault/keyring.ts';
import { openTask, taskKey, today, viewOf, type TaskRow } from './tasks-shared.ts';

export interface WorklistFilter {
  type?: TaskType;
  /** `me`, `department` (assigned to the whole department), or a member's id (a head's filter). */
  assignee?: string;
  section?: TaskSection;
  limit: number;
  /** The cursor of the page before (`next`). */
  after?: string;
}

const cursorOf = (r: { due_date: string; id: string }) => Buffer.from(`${r.due_date}|${r.id}`).toString('base64url');
function decodeCursor(c: string): { due: string; id: string } {
  const [due, id] = Buffer.from(c, 'base64url').toString('utf8').split('|');
  if (!due || !id || !/^\d{4}-\d{2}-\d{2}$/.test(due)) throw new KarteiError('bad-request', 'after: not a cursor');
  return { due, id };
}

export class TaskWorklist {
  private readonly keyring: Keyring;
  private readonly persons: Persons;
  constructor(keyring: Keyring, persons: Persons) {
    this.keyring = keyring;
    this.persons = persons;
  }

  async page(ctx: GateContext, f: WorklistFilter): Promise<Worklist> {
    const departmentId = decidedDepartment(ctx);
    const { principal } = ctx;
    const tenantId = principal.tenantId;
    const head = principal.memberships.some((m) => m.departmentId === departmentId && m.role === 'head');
    const readsRestricted =
      decide(principal, 'task.list', {
        kind: 'file',
        departmentId,
        sharedWith: [],
        breakGlass: false,
        sensitivity: 'restricted',
      }) === 'allow';
    const hideRestricted = !readsRestricted && (await restrictedListing(ctx, departmentId)) === 'hidden';
    const day = today(ctx);
    const base = () => {
      let q = ctx.tx
        .selectFrom('tasks')
        .where('tenant_id', '=', tenantId)
        .where('department_id', '=', departmentId)
        .where('state', '=', 'open');
      // A member's own and the department's; a head's every task (or the one asked for).
      if (!head) q = q.where((eb) => eb.or([eb('assignee_id', '=', principal.userId), eb('assignee_id', 'is', null)]));
      if (f.assignee === 'me') q = q.where('assignee_id', '=', principal.userId);
      else if (f.assignee === 'department') q = q.where('assignee_id', 'is', null);
      else if (f.assignee) q = q.where('assignee_id', '=', f.assignee);
      if (f.type) q = q.where('type', '=', f.type);
      if (hideRestricted) q = q.where('sensitivity', '=', 'normal');
      return q;
    };
    const count = async (section: TaskSection) => {
      const op = section === 'overdue' ? '<' : section === 'today' ? '=' : '>';
      const r = await base()
        .where('due_date', op, day)
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .executeTakeFirst();
      return Number(r?.n ?? 0);
    };
    const counts = { overdue: await count('overdue'), today: await count('today'), upcoming: await count('upcoming') };
    let q = base().selectAll();
    if (f.section) q = q.where('due_date', f.section === 'overdue' ? '<' : f.section === 'today' ? '=' : '>', day);
    if (f.after) {
      const c = decodeCursor(f.after);
      q = q.where((eb) => eb(eb.refTuple('due_date', 'id'), '>', eb.tuple(c.due, c.id)));
    }
    const rows = (await q
      .orderBy('due_date')
      .orderBy('id')
      .limit(f.limit + 1)
      .execute()) as TaskRow[];
    const shown = rows.slice(0, f.limit);
    const next = rows.length > f.limit ? cursorOf(shown.at(-1)!) : null;
    const personIds = [...new Set(shown.flatMap((r) => (r.person_id ? [r.person_id] : [])))];
    const people = new Map((await this.persons.identify(ctx, personIds)).map((p) => [p.id, p]));
    const names = await displayNames(
      ctx,
      this.keyring,
      shown.flatMap((r) => [r.created_by, r.assignee_id, r.closed_by]),
    );
    let deptKey: Buffer | undefined;
    const items: Worklist['items'] = [];
    for (const r of shown) {
      const readable = r.sensitivity === 'normal' || readsRestricted;
      let key: Buffer | null = null;
      if (readable) {
        if (r.person_id === null) key = deptKey ??= await taskKey(this.keyring, ctx, r);
        else key = await taskKey(this.keyring, ctx, r);
      }
      const person = r.person_id ? people.get(r.person_id) : undefined;
      items.push({
        ...viewOf(r, key ? openTask(key, tenantId, r) : null, names, day),
        person: person
          ? { familyName: person.familyName, givenName: person.givenName, birthDate: person.birthDate }
          : null,
      });
    }
    ctx.audit.hits = personIds.map((personId) => ({ personId, departmentId }));
    ctx.audit.detail = {
      count: items.length,
      ...counts,
      ...(f.type ? { type: f.type } : {}),
      ...(f.section ? { section: f.section } : {}),
      ...(f.after ? { paged: true } : {}),
    };
    return { items, next, counts, today: day, all: head };
  }
}
