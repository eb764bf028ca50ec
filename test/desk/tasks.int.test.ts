// Tasks and deadlines (issue 17): a file's tasks and a department's, made by hand and by a record type's
// rule (a TB screening with result follow-up → "Röntgenkontrolle" six months later, exactly one, even under
// parallel writes; cancelled when the result changes or the record goes), the worklist of a clerk and of a
// head, another department (404 / 403), restricted tasks, tokens, stale versions, bad input with nothing
// written, a merge moving the tasks and its undo moving them back, and nothing readable at rest.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { addMonths } from '../../src/desk/task-rules.ts';
import { officeDay } from '../../src/infection/incubation.ts';
import {
  Client,
  DIALECT,
  samplePerson,
  setUpTenant,
  startHarness,
  type Harness,
  type Tenant,
} from '../helpers/harness.ts';

let h: Harness;
let t: Tenant;
let INF: string;
let TB: string;
type C = Awaited<ReturnType<Tenant['user']>>;
let clerk: C;
let clerk2: C;
let physician: C;
let head: C;
let stranger: C;
before(async () => {
  h = await startHarness();
  t = await setUpTenant(h);
  INF = t.departments.INF!;
  TB = t.departments.TB!;
  clerk = await t.user({ memberships: [{ departmentId: TB, role: 'clerk' }] });
  clerk2 = await t.user({ memberships: [{ departmentId: TB, role: 'clerk' }] });
  physician = await t.user({ memberships: [{ departmentId: TB, role: 'physician' }] });
  head = await t.user({ memberships: [{ departmentId: TB, role: 'head' }] });
  stranger = await t.user({ memberships: [{ departmentId: INF, role: 'head' }] });
});
after(() => h.close());

let seq = 0;
async function newPerson(by: C = clerk, dept = TB): Promise<string> {
  const p = await by.post(
    '/api/persons',
    samplePerson(dept, `Aufgabenperson${String.fromCharCode(97 + (seq++ % 26))}${seq}`),
  );
  assert.equal(p.status, 201, JSON.stringify(p.body));
  return p.body.id;
}

const screening = (result: string, date = '2026-08-31') => ({ date, method: 'chest-x-ray', result });

async function newScreening(personId: string, result = 'follow-up', date = '2026-08-31', sensitivity = 'normal') {
  const r = await physician.post(`/api/persons/${personId}/records`, {
    type: 'tb-screening',
    sensitivity,
    content: screening(result, date),
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id as string;
}

const tasksOf = async (personId: string, by: C = clerk) => {
  const r = await by.get(`/api/persons/${personId}/tasks`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.items as Record<string, any>[];
};

const rowsOfRecord = (recordId: string) =>
  inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx.selectFrom('tasks').selectAll().where('link_id', '=', recordId).execute(),
  );

test('months are added on the calendar, clamped to the month’s last day', () => {
  assert.equal(addMonths('2026-08-31', 6), '2027-02-28');
  assert.equal(addMonths('2026-03-15', 6), '2026-09-15');
  assert.equal(addMonths('2027-08-31', 6), '2028-02-29');
  assert.equal(addMonths('2026-12-01', 1), '2027-01-01');
});

test('a TB screening with result follow-up makes one task "Röntgenkontrolle" six months later; written again, none more; the result changed cancels it, back reopens it, deleted cancels it', async () => {
  const personId = await newPerson();
  const recordId = await newScreening(personId);
  let items = await tasksOf(personId);
  assert.equal(items.length, 1);
  const task = items[0]!;
  assert.equal(task.title, 'Röntgenkontrolle');
  assert.equal(task.type, 'follow-up-exam');
  assert.equal(task.dueDate, '2027-02-28');
  assert.equal(task.state, 'open');
  assert.equal(task.assigneeId, null);
  assert.deepEqual(task.link, { kind: 'record', id: recordId });
  assert.equal(task.source, 'rule:tb-screening:follow-up-x-ray');

  // The same content again, and a change of the notes only: still one task, untouched.
  let v = 1;
  for (const content of [screening('follow-up'), { ...screening('follow-up'), notes: 'Befund unverändert' }]) {
    const put = await physician.put(`/api/records/${recordId}`, { content, version: v });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    v = put.body.version;
  }
  assert.equal((await rowsOfRecord(recordId)).length, 1);
  assert.equal((await tasksOf(personId))[0]!.version, 1);

  // A new date moves the due date along.
  let put = await physician.put(`/api/records/${recordId}`, {
    content: screening('follow-up', '2026-09-10'),
    version: v,
  });
  v = put.body.version;
  items = await tasksOf(personId);
  assert.equal(items[0]!.dueDate, '2027-03-10');

  put = await physician.put(`/api/records/${recordId}`, { content: screening('negative', '2026-09-10'), version: v });
  v = put.body.version;
  items = await tasksOf(personId);
  assert.equal(items.length, 1);
  assert.equal(items[0]!.state, 'cancelled');
  assert.equal(items[0]!.closedBy, physician.id);

  put = await physician.put(`/api/records/${recordId}`, { content: screening('follow-up', '2026-09-10'), version: v });
  v = put.body.version;
  items = await tasksOf(personId);
  assert.equal(items.length, 1);
  assert.equal(items[0]!.state, 'open');

  const del = await physician.del(`/api/records/${recordId}`, { reason: 'Versehentlich doppelt angelegt' });
  assert.equal(del.status, 204, JSON.stringify(del.body));
  items = await tasksOf(personId);
  assert.equal(items.length, 1);
  assert.equal(items[0]!.state, 'cancelled');
});

test('a task the rule made and a person closed stays closed; a due date moved by hand stays where it was put', async () => {
  const personId = await newPerson();
  const recordId = await newScreening(personId);
  const [task] = await tasksOf(personId);
  const moved = await clerk.patch(`/api/tasks/${task!.id}`, { version: 1, dueDate: '2027-01-15' });
  assert.equal(moved.status, 200, JSON.stringify(moved.body));
  let put = await physician.put(`/api/records/${recordId}`, {
    content: screening('follow-up', '2026-09-01'),
    version: 1,
  });
  assert.equal(put.status, 200);
  assert.equal((await tasksOf(personId))[0]!.dueDate, '2027-01-15');
  const cancelled = await clerk.patch(`/api/tasks/${task!.id}`, { version: 2, state: 'cancelled' });
  assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
  put = await physician.put(`/api/records/${recordId}`, { content: screening('follow-up', '2026-09-02'), version: 2 });
  assert.equal(put.status, 200);
  assert.equal((await tasksOf(personId))[0]!.state, 'cancelled');
});

test('parallel writes of a follow-up screening make exactly one task', async () => {
  const personId = await newPerson();
  const recordId = await newScreening(personId, 'pending');
  assert.equal((await rowsOfRecord(recordId)).length, 0);
  const puts = await Promise.all(
    Array.from({ length: 6 }, () =>
      physician.put(`/api/records/${recordId}`, { content: screening('follow-up'), version: 1 }),
    ),
  );
  assert.equal(puts.filter((p) => p.status === 200).length, 1, JSON.stringify(puts.map((p) => p.status)));
  assert.ok(puts.every((p) => p.status === 200 || p.status === 409));
  // And each of several writers on top of the newest version, one after the other as the file allows.
  const again = await Promise.all(
    Array.from({ length: 4 }, (_, i) =>
      physician.put(`/api/records/${recordId}`, {
        content: { ...screening('follow-up'), notes: `Lauf ${i}` },
        version: 2,
      }),
    ),
  );
  assert.equal(again.filter((p) => p.status === 200).length, 1);
  const rows = await rowsOfRecord(recordId);
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.state, 'open');
});

test('a task by hand: created, listed, assigned, done, reopened, on its version; stale 409; bad input named, nothing written', async () => {
  const personId = await newPerson();
  const recordId = await newScreening(personId, 'negative');
  const made = await clerk.post(`/api/persons/${personId}/tasks`, {
    title: 'Befund beim Hausarzt anfordern',
    note: 'Telefonisch, Praxis Dr. Linde',
    dueDate: '2026-12-10',
    type: 'call',
    assigneeId: clerk2.id,
    link: { kind: 'record', id: recordId },
  });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const id = made.body.id;
  let [task] = (await tasksOf(personId)).filter((x) => x.id === id);
  assert.equal(task!.note, 'Telefonisch, Praxis Dr. Linde');
  assert.equal(task!.assigneeName, clerk2.displayName);
  assert.equal(task!.createdByName, clerk.displayName);

  const done = await clerk2.patch(`/api/tasks/${id}`, { version: 1, state: 'done' });
  assert.equal(done.status, 200, JSON.stringify(done.body));
  assert.equal(done.body.version, 2);
  const twice = await clerk.patch(`/api/tasks/${id}`, { version: 1, state: 'done' });
  assert.equal(twice.status, 409);
  assert.equal(twice.body.currentVersion, 2);
  [task] = (await tasksOf(personId)).filter((x) => x.id === id);
  assert.equal(task!.state, 'done');
  assert.equal(task!.closedBy, clerk2.id);
  const reopened = await clerk.patch(`/api/tasks/${id}`, { version: 2, state: 'open', title: 'Befund anfordern' });
  assert.equal(reopened.status, 200);
  [task] = (await tasksOf(personId)).filter((x) => x.id === id);
  assert.equal(task!.state, 'open');
  assert.equal(task!.closedAt, null);
  assert.equal(task!.title, 'Befund anfordern');
  assert.equal(task!.note, 'Telefonisch, Praxis Dr. Linde');

  const count = async () => (await tasksOf(personId)).length;
  const before = await count();
  const bad = [
    [{ title: 'x'.repeat(201), dueDate: '2026-12-10', type: 'call' }, 'title', 'too-long'],
    [{ title: 'Anruf', dueDate: '2026-02-30', type: 'call' }, 'dueDate', null],
    [{ title: 'Anruf', dueDate: '2026-12-10', type: 'phone' }, 'type', 'not-one-of'],
    [{ title: 'Anruf', dueDate: '2026-12-10', type: 'call', assigneeId: stranger.id }, 'assigneeId', 'not-member'],
    [
      { title: 'Anruf', dueDate: '2026-12-10', type: 'call', link: { kind: 'record', id: crypto.randomUUID() } },
      'link.id',
      'link-unknown',
    ],
    [{ title: '   ', dueDate: '2026-12-10', type: 'call' }, 'title', null],
  ] as const;
  for (const [body, field, code] of bad) {
    const r = await clerk.post(`/api/persons/${personId}/tasks`, body);
    assert.equal(r.status, 422, `${field}: ${JSON.stringify(r.body)}`);
    const issue = r.body.errors.find((e: { field: string }) => e.field === field || e.field === `body.${field}`);
    assert.ok(issue, `${field} named: ${JSON.stringify(r.body.errors)}`);
    if (code) assert.equal(issue.code, code);
  }
  const oversized = await clerk.patch(`/api/tasks/${id}`, { version: 3, title: 'ü'.repeat(201) });
  assert.equal(oversized.status, 422);
  assert.equal(await count(), before);
  [task] = (await tasksOf(personId)).filter((x) => x.id === id);
  assert.equal(task!.version, 3);
});

test('another department: a file’s tasks and a task are not there (404), its worklist and new department tasks forbidden (403)', async () => {
  const personId = await newPerson();
  await newScreening(personId);
  const [task] = await tasksOf(personId);
  assert.equal((await stranger.get(`/api/persons/${personId}/tasks`)).status, 404);
  const made = await stranger.post(`/api/persons/${personId}/tasks`, {
    title: 'Fremd',
    dueDate: '2026-12-10',
    type: 'other',
  });
  assert.equal(made.status, 404);
  assert.equal((await stranger.patch(`/api/tasks/${task!.id}`, { version: 1, state: 'done' })).status, 404);
  assert.equal((await stranger.patch(`/api/tasks/${crypto.randomUUID()}`, { version: 1, state: 'done' })).status, 404);
  assert.equal((await stranger.get(`/api/departments/${TB}/tasks`)).status, 403);
  assert.equal((await stranger.get(`/api/departments/${TB}/task-assignees`)).status, 403);
  const dept = await stranger.post(`/api/departments/${TB}/tasks`, {
    title: 'Fremd',
    dueDate: '2026-12-10',
    type: 'other',
  });
  assert.equal(dept.status, 403);
  // A department's own task of TB, named by its id by INF's head: 404.
  const own = await clerk.post(`/api/departments/${TB}/tasks`, {
    title: 'Teambesprechung vorbereiten',
    dueDate: '2026-12-10',
    type: 'other',
  });
  assert.equal(own.status, 201, JSON.stringify(own.body));
  assert.equal((await stranger.patch(`/api/tasks/${own.body.id}`, { version: 1, state: 'done' })).status, 404);
  assert.equal((await clerk2.patch(`/api/tasks/${own.body.id}`, { version: 1, state: 'done' })).status, 200);
  const restricted = await clerk.patch(`/api/tasks/${own.body.id}`, { version: 2, sensitivity: 'restricted' });
  assert.equal(restricted.status, 422);
  // The admin, who belongs to no department: nothing either.
  assert.equal((await t.admin.get(`/api/persons/${personId}/tasks`)).status, 404);
  assert.equal((await t.admin.get(`/api/departments/${TB}/tasks`)).status, 403);
});

test('restricted tasks like restricted records: a clerk sees none of their title and may not make one; a physician may', async () => {
  const personId = await newPerson();
  const recordId = await newScreening(personId, 'follow-up', '2026-08-31', 'restricted');
  const mine = await tasksOf(personId, physician);
  assert.equal(mine.length, 1);
  assert.equal(mine[0]!.sensitivity, 'restricted');
  assert.equal(mine[0]!.title, 'Röntgenkontrolle');
  const clerks = await tasksOf(personId, clerk);
  assert.equal(clerks.length, 1);
  assert.equal(clerks[0]!.title, null);
  assert.equal((await clerk.patch(`/api/tasks/${mine[0]!.id}`, { version: 1, state: 'done' })).status, 403);
  const byClerk = await clerk.post(`/api/persons/${personId}/tasks`, {
    title: 'Vertraulich',
    dueDate: '2026-12-10',
    type: 'other',
    sensitivity: 'restricted',
  });
  assert.equal(byClerk.status, 403);
  // Linking a restricted record the clerk cannot read: the same answer as for none.
  const link = await clerk.post(`/api/persons/${personId}/tasks`, {
    title: 'Zum Befund',
    dueDate: '2026-12-10',
    type: 'other',
    link: { kind: 'record', id: recordId },
  });
  assert.equal(link.status, 422);
  assert.equal(link.body.errors[0].code, 'link-unknown');
  const byPhysician = await physician.post(`/api/persons/${personId}/tasks`, {
    title: 'Zum Befund',
    dueDate: '2026-12-10',
    type: 'other',
    link: { kind: 'record', id: recordId },
  });
  assert.equal(byPhysician.status, 201);
  const made = (await tasksOf(personId, physician)).find((x) => x.id === byPhysician.body.id);
  assert.equal(made!.sensitivity, 'restricted');
  // Where the department hides restricted entries, the clerk does not see them at all, and one named is 404.
  const hidden = await head.put(`/api/departments/${TB}/settings`, { restrictedListing: 'hidden' });
  assert.equal(hidden.status, 200, JSON.stringify(hidden.body));
  try {
    assert.equal((await tasksOf(personId, clerk)).length, 0);
    assert.equal((await clerk.patch(`/api/tasks/${mine[0]!.id}`, { version: 1, state: 'done' })).status, 404);
  } finally {
    await head.put(`/api/departments/${TB}/settings`, { restrictedListing: 'shown' });
  }
});

test('a task linked to a restricted record stays restricted when a change asks for normal: its title never reaches a clerk', async () => {
  const personId = await newPerson();
  const recordId = await newScreening(personId, 'follow-up', '2026-08-31', 'restricted');
  const byPhysician = await physician.post(`/api/persons/${personId}/tasks`, {
    title: 'Befund HIV-positiv besprechen',
    dueDate: '2026-12-10',
    type: 'other',
    link: { kind: 'record', id: recordId },
  });
  assert.equal(byPhysician.status, 201, JSON.stringify(byPhysician.body));
  const ruleTask = (await tasksOf(personId, physician)).find((x) => x.id !== byPhysician.body.id)!;
  for (const task of [{ id: byPhysician.body.id as string, version: 1 }, ruleTask]) {
    const relabelled = await physician.patch(`/api/tasks/${task.id}`, { version: task.version, sensitivity: 'normal' });
    assert.ok(relabelled.status < 500, JSON.stringify(relabelled.body));
    const seen = (await tasksOf(personId, clerk)).find((x) => x.id === task.id)!;
    assert.equal(seen.sensitivity, 'restricted', 'a task of a restricted record was made normal');
    assert.equal(seen.title, null);
  }
});

test('a record relabelled restricted takes its tasks made by hand with it: their titles no longer reach a clerk', async () => {
  const personId = await newPerson();
  const recordId = await newScreening(personId, 'negative', '2026-08-31', 'normal');
  const task = await clerk.post(`/api/persons/${personId}/tasks`, {
    title: 'Befund mit Hausarzt besprechen',
    dueDate: '2026-12-10',
    type: 'other',
    link: { kind: 'record', id: recordId },
  });
  assert.equal(task.status, 201, JSON.stringify(task.body));
  const relabelled = await physician.put(`/api/records/${recordId}`, {
    content: screening('positive'),
    sensitivity: 'restricted',
    version: 1,
  });
  assert.equal(relabelled.status, 200, JSON.stringify(relabelled.body));
  const seen = (await tasksOf(personId, clerk)).find((x) => x.id === task.body.id)!;
  assert.equal(seen.sensitivity, 'restricted', "the task of a restricted record stayed every clerk's");
  assert.equal(seen.title, null);
  assert.equal(
    (await tasksOf(personId, physician)).find((x) => x.id === task.body.id)!.title,
    'Befund mit Hausarzt besprechen',
  );
});

test('the worklist: a clerk sees their own and the department’s tasks, a head all of them; sections by the office’s day, filters, pages', async () => {
  const personId = await newPerson();
  const day = officeDay(new Date().toISOString());
  const shift = (n: number) => {
    const d = new Date(`${day}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + n);
    return d.toISOString().slice(0, 10);
  };
  const mk = async (title: string, dueDate: string, assigneeId: string | null, type = 'letter') => {
    const r = await clerk.post(`/api/persons/${personId}/tasks`, { title, dueDate, type, assigneeId });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.id as string;
  };
  const overdue = await mk('Brief nachfassen', shift(-3), clerk.id);
  const todays = await mk('Heute anrufen', day, null, 'call');
  const upcoming = await mk('Gutachten schreiben', shift(10), null, 'expert-opinion');
  const others = await mk('Für Kollegin', shift(1), clerk2.id);

  const mine = await clerk.get(`/api/departments/${TB}/tasks?limit=200`);
  assert.equal(mine.status, 200, JSON.stringify(mine.body));
  assert.equal(mine.body.all, false);
  assert.equal(mine.body.today, day);
  const ids = mine.body.items.map((i: { id: string }) => i.id);
  for (const id of [overdue, todays, upcoming]) assert.ok(ids.includes(id));
  assert.ok(!ids.includes(others));
  const row = mine.body.items.find((i: { id: string }) => i.id === overdue);
  assert.equal(row.section, 'overdue');
  assert.equal(row.person.familyName.startsWith('Aufgabenperson'), true);
  assert.equal(mine.body.items.find((i: { id: string }) => i.id === todays).section, 'today');
  assert.equal(mine.body.items.find((i: { id: string }) => i.id === upcoming).section, 'upcoming');
  // By due date.
  const dues = mine.body.items.map((i: { dueDate: string }) => i.dueDate);
  assert.deepEqual(dues, [...dues].sort());

  const all = await head.get(`/api/departments/${TB}/tasks?limit=200`);
  assert.equal(all.body.all, true);
  assert.ok(all.body.items.some((i: { id: string }) => i.id === others));
  const hers = await head.get(`/api/departments/${TB}/tasks?assignee=${clerk2.id}&limit=200`);
  assert.ok(hers.body.items.every((i: { assigneeId: string }) => i.assigneeId === clerk2.id));
  assert.ok(hers.body.items.some((i: { id: string }) => i.id === others));
  const calls = await clerk.get(`/api/departments/${TB}/tasks?type=call&limit=200`);
  assert.ok(calls.body.items.every((i: { type: string }) => i.type === 'call'));
  assert.ok(calls.body.items.some((i: { id: string }) => i.id === todays));
  const today = await clerk.get(`/api/departments/${TB}/tasks?section=today&limit=200`);
  assert.ok(today.body.items.every((i: { dueDate: string }) => i.dueDate === day));
  assert.equal(today.body.counts.today, today.body.items.length);

  // Paged: one at a time gives the same rows in the same order.
  const walked: string[] = [];
  let after: string | null = null;
  do {
    const page: { body: { items: { id: string }[]; next: string | null } } = await clerk.get(
      `/api/departments/${TB}/tasks?limit=1${after ? `&after=${after}` : ''}`,
    );
    walked.push(...page.body.items.map((i) => i.id));
    after = page.body.next;
  } while (after);
  assert.deepEqual(walked, ids);
  assert.equal((await clerk.get(`/api/departments/${TB}/tasks?after=kaputt`)).status, 400);

  // Done or cancelled tasks leave the worklist.
  await clerk.patch(`/api/tasks/${overdue}`, { version: 1, state: 'done' });
  const later = await clerk.get(`/api/departments/${TB}/tasks?limit=200`);
  assert.ok(!later.body.items.some((i: { id: string }) => i.id === overdue));

  // The audit: ids and counts, never the title; each file shown has its own event.
  const events = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .selectFrom('audit_events')
      .select(['action', 'detail', 'person_id'])
      .where('action', '=', 'task.worklist')
      .where('actor_id', '=', clerk.id)
      .execute(),
  );
  assert.ok(events.length > 0);
  for (const e of events) assert.ok(!String(e.detail ?? '').includes('Brief'), String(e.detail));
  assert.ok(events.some((e) => e.person_id === personId));
});

test('department tasks: made for the department, in every member’s worklist, the department’s key', async () => {
  const made = await head.post(`/api/departments/${TB}/tasks`, {
    title: 'Quartalsbericht an die Amtsleitung',
    dueDate: '2026-12-20',
    type: 'letter',
  });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const list = await clerk2.get(`/api/departments/${TB}/tasks?limit=200`);
  const row = list.body.items.find((i: { id: string }) => i.id === made.body.id);
  assert.equal(row.title, 'Quartalsbericht an die Amtsleitung');
  assert.equal(row.personId, null);
  assert.equal(row.person, null);
  const withRecord = await head.post(`/api/departments/${TB}/tasks`, {
    title: 'x',
    dueDate: '2026-12-20',
    type: 'letter',
    link: { kind: 'record', id: crypto.randomUUID() },
  });
  assert.equal(withRecord.status, 422);
  const assignees = await clerk.get(`/api/departments/${TB}/task-assignees`);
  assert.equal(assignees.status, 200);
  const names = assignees.body.items.map((a: { id: string }) => a.id);
  for (const u of [clerk, clerk2, physician, head]) assert.ok(names.includes(u.id));
  assert.ok(!names.includes(stranger.id));
});

test('tokens: records:read lists, records:write writes, neither nothing', async () => {
  const personId = await newPerson();
  const token = async (scopes: string[]) =>
    (await clerk.post('/api/auth/tokens', { name: `t-${scopes.join('-')}`, scopes })).body.token as string;
  const as = (tok: string) => {
    const c = new Client(h);
    return {
      get: (u: string) => c.call('GET', u, undefined, { authorization: `Bearer ${tok}` }),
      post: (u: string, b: unknown) => c.call('POST', u, b, { authorization: `Bearer ${tok}` }),
      patch: (u: string, b: unknown) => c.call('PATCH', u, b, { authorization: `Bearer ${tok}` }),
    };
  };
  const body = { title: 'Per Skript', dueDate: '2026-12-10', type: 'other' };
  const read = as(await token(['records:read']));
  const write = as(await token(['records:write']));
  const neither = as(await token(['dicomweb:read']));
  assert.equal((await read.get(`/api/persons/${personId}/tasks`)).status, 200);
  assert.equal((await read.get(`/api/departments/${TB}/tasks`)).status, 200);
  const refused = await read.post(`/api/persons/${personId}/tasks`, body);
  assert.equal(refused.status, 403);
  assert.equal(refused.body.code, 'token-scope');
  const made = await write.post(`/api/persons/${personId}/tasks`, body);
  assert.equal(made.status, 201, JSON.stringify(made.body));
  assert.equal((await read.patch(`/api/tasks/${made.body.id}`, { version: 1, state: 'done' })).status, 403);
  assert.equal((await write.patch(`/api/tasks/${made.body.id}`, { version: 1, state: 'done' })).status, 200);
  assert.equal((await neither.get(`/api/persons/${personId}/tasks`)).status, 403);
  assert.equal((await neither.get(`/api/departments/${TB}/tasks`)).status, 403);
});

test('a merge moves the absorbed file’s tasks, still readable, and its undo moves exactly them back', async () => {
  const survivor = await newPerson();
  const absorbed = await newPerson();
  await newScreening(absorbed);
  const made = await clerk.post(`/api/persons/${absorbed}/tasks`, {
    title: 'Dolmetscher bestellen',
    note: 'Sprache: Tigrinya',
    dueDate: '2026-12-11',
    type: 'other',
  });
  assert.equal(made.status, 201);
  const merged = await clerk.post(`/api/persons/${survivor}/merge`, {
    absorbedId: absorbed,
    survivorVersion: 1,
    absorbedVersion: 1,
  });
  assert.equal(merged.status, 201, JSON.stringify(merged.body));
  const moved = await tasksOf(survivor);
  assert.deepEqual(moved.map((x) => x.title).sort(), ['Dolmetscher bestellen', 'Röntgenkontrolle']);
  assert.equal(moved.find((x) => x.title === 'Dolmetscher bestellen')!.note, 'Sprache: Tigrinya');
  // A new task in the survivor after the merge stays there on undo.
  const later = await clerk.post(`/api/persons/${survivor}/tasks`, {
    title: 'Neu',
    dueDate: '2026-12-12',
    type: 'call',
  });
  assert.equal(later.status, 201);
  assert.equal(
    (await clerk.post(`/api/persons/${absorbed}/tasks`, { title: 'x', dueDate: '2026-12-12', type: 'call' })).status,
    410,
  );
  const undone = await clerk.post(`/api/person-merges/${merged.body.id}/undo`, { version: merged.body.version });
  assert.equal(undone.status, 200, JSON.stringify(undone.body));
  assert.deepEqual((await tasksOf(absorbed)).map((x) => x.title).sort(), ['Dolmetscher bestellen', 'Röntgenkontrolle']);
  assert.deepEqual(
    (await tasksOf(survivor)).map((x) => x.title),
    ['Neu'],
  );
});

test('at rest: a task’s title and note are nowhere in the database file', async () => {
  const personId = await newPerson();
  const secrets = ['Zwiebelturmgasse Rückruf', 'Notiz Xylophonkonzert'];
  const made = await clerk.post(`/api/persons/${personId}/tasks`, {
    title: secrets[0],
    note: secrets[1],
    dueDate: '2026-12-10',
    type: 'call',
  });
  assert.equal(made.status, 201);
  const dept = await clerk.post(`/api/departments/${TB}/tasks`, {
    title: 'Abteilungsaufgabe Quittenbaum',
    dueDate: '2026-12-10',
    type: 'other',
  });
  assert.equal(dept.status, 201);
  secrets.push('Abteilungsaufgabe Quittenbaum', 'Röntgenkontrolle');
  await newScreening(personId);
  if (DIALECT !== 'sqlite') return;
  await sql`PRAGMA wal_checkpoint(FULL)`.execute(h.services.store.db);
  const files = fs.readdirSync(h.config.dataDir, { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
  assert.ok(files.length > 0);
  for (const f of files) {
    const file = path.join(f.parentPath, f.name);
    const bytes = fs.readFileSync(file);
    for (const s of secrets)
      for (const enc of ['utf8', 'utf16le'] as const)
        assert.ok(!bytes.includes(Buffer.from(s, enc)), `${s} in ${file}`);
    // The control: something stored in clear is found by the same scan.
    if (f.name === 'kartei.sqlite') assert.ok(bytes.includes(Buffer.from('follow-up-exam')));
  }
});
