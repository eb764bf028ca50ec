// The desk's routes swept as outsiders (issue 17): for every new route that names a thing of the INF
// department — its file, task, document, mail-room scan, letter run, import job, worklist — a head of
// another department, an administrator without membership, the data protection officer and an anonymous
// caller. Another department's things are 404 like missing ones (never 403); department lists are
// refused; nobody of them gets a 2xx, and nothing of INF's changes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { testPdf } from '../helpers/documents.ts';
import { Client, setUpTenant, startHarness, type Harness, type Tenant } from '../helpers/harness.ts';

let h: Harness;
let t: Tenant;
let INF: string;
let TB: string;
type C = Awaited<ReturnType<Tenant['user']>>;
let head: C;
let tbHead: C;
let dpo: C;
const ids: Record<string, string> = {};

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h);
  INF = t.departments.INF!;
  TB = t.departments.TB!;
  head = await t.user({ memberships: [{ departmentId: INF, role: 'head' }] });
  tbHead = await t.user({ memberships: [{ departmentId: TB, role: 'head' }] });
  dpo = await t.user({ tenantRoles: ['dpo'] });
  const p = await head.post('/api/persons', {
    departmentId: INF,
    familyName: 'Zugriffsprobe',
    givenName: 'Ida',
    birthDate: '1950-05-05',
  });
  assert.equal(p.status, 201, JSON.stringify(p.body));
  ids.person = p.body.id;
  const task = await head.post(`/api/persons/${ids.person}/tasks`, {
    title: 'Rückruf',
    dueDate: '2026-12-24',
    type: 'call',
  });
  assert.equal(task.status, 201, JSON.stringify(task.body));
  ids.task = task.body.id;
  const octet = { 'content-type': 'application/octet-stream', 'x-file-name': 'probe.pdf' };
  const doc = await head.call('POST', `/api/persons/${ids.person}/documents`, testPdf('Probe'), octet);
  assert.equal(doc.status, 201, JSON.stringify(doc.body));
  ids.document = doc.body.id;
  const scan = await head.call('POST', `/api/departments/${INF}/mailroom`, testPdf('Scan'), octet);
  assert.equal(scan.status, 201, JSON.stringify(scan.body));
  ids.scan = scan.body.id;
  await t.admin.post('/api/admin/templates/starters');
  const templates = await head.get(`/api/departments/${INF}/letter-templates`);
  assert.equal(templates.status, 200, JSON.stringify(templates.body));
  ids.template = templates.body.items.find((i: { kind: string }) => i.kind === 'invitation').id;
  const run = await head.post(`/api/departments/${INF}/letter-runs`, {
    templateId: ids.template,
    personIds: [ids.person],
  });
  assert.ok(run.status === 201 || run.status === 202, JSON.stringify(run.body));
  ids.run = run.body.id;
  const job = await head.call(
    'POST',
    `/api/departments/${INF}/imports`,
    Buffer.from('Nachname;Vorname;Geburtsdatum\nImport;Ida;01.01.1950\n'),
    {
      'content-type': 'text/csv',
    },
  );
  assert.equal(job.status, 201, JSON.stringify(job.body));
  ids.job = job.body.id;
});
after(() => h.close());

/** [method, url, body, what it names: a thing of INF (404 expected for outsiders) or INF's department (403)]. */
const routes = (): [string, string, unknown, 'thing' | 'department'][] => [
  ['GET', `/api/persons/${ids.person}/tasks`, undefined, 'thing'],
  ['POST', `/api/persons/${ids.person}/tasks`, { title: 'Fremd', dueDate: '2026-12-24', type: 'call' }, 'thing'],
  ['PATCH', `/api/tasks/${ids.task}`, { version: 1, state: 'done' }, 'thing'],
  ['GET', `/api/departments/${INF}/tasks`, undefined, 'department'],
  ['POST', `/api/departments/${INF}/tasks`, { title: 'Fremd', dueDate: '2026-12-24', type: 'call' }, 'department'],
  ['GET', `/api/departments/${INF}/task-assignees`, undefined, 'department'],
  ['GET', `/api/persons/${ids.person}/documents`, undefined, 'thing'],
  ['GET', `/api/documents/${ids.document}/content`, undefined, 'thing'],
  ['GET', `/api/documents/${ids.document}/preview`, undefined, 'thing'],
  ['DELETE', `/api/documents/${ids.document}`, { reason: 'Fremdlöschung' }, 'thing'],
  ['GET', `/api/departments/${INF}/mailroom`, undefined, 'department'],
  ['GET', `/api/mailroom/${ids.scan}/content`, undefined, 'thing'],
  ['GET', `/api/mailroom/${ids.scan}/preview`, undefined, 'thing'],
  ['POST', `/api/mailroom/${ids.scan}/assign`, { personId: ids.person, version: 1 }, 'thing'],
  ['DELETE', `/api/mailroom/${ids.scan}`, { reason: 'Fremdlöschung' }, 'thing'],
  ['GET', `/api/departments/${INF}/letter-templates`, undefined, 'department'],
  ['POST', `/api/persons/${ids.person}/letters`, { templateId: ids.template, requestKey: randomUUID() }, 'thing'],
  ['GET', `/api/departments/${INF}/letter-runs`, undefined, 'department'],
  ['POST', `/api/departments/${INF}/letter-runs`, { templateId: ids.template, personIds: [ids.person] }, 'department'],
  ['GET', `/api/letter-runs/${ids.run}`, undefined, 'thing'],
  ['GET', `/api/departments/${INF}/imports`, undefined, 'department'],
  ['GET', `/api/imports/${ids.job}`, undefined, 'thing'],
  ['GET', `/api/imports/${ids.job}/rows`, undefined, 'thing'],
  ['GET', `/api/imports/${ids.job}/report`, undefined, 'thing'],
  [
    'POST',
    `/api/imports/${ids.job}/dry-run`,
    { version: 1, mapping: { person: { familyName: 0, givenName: 1, birthDate: 2 } } },
    'thing',
  ],
  ['POST', `/api/imports/${ids.job}/start`, { version: 1 }, 'thing'],
  ['POST', `/api/imports/${ids.job}/discard`, { version: 1 }, 'thing'],
];

test('a head of another department: INF’s things are 404 like missing ones, INF’s lists and work 403', async () => {
  for (const [method, url, body, names] of routes()) {
    const r = await tbHead.call(method, url, body);
    assert.equal(r.status, names === 'thing' ? 404 : 403, `${method} ${url}: ${r.status} ${JSON.stringify(r.body)}`);
  }
});

test('an administrator without membership and the DPO get no 2xx from any desk route', async () => {
  for (const [who, c] of [
    ['admin', t.admin],
    ['dpo', dpo],
  ] as const)
    for (const [method, url, body] of routes()) {
      const r = await c.call(method, url, body);
      assert.ok(r.status === 403 || r.status === 404, `${who} ${method} ${url}: ${r.status} ${JSON.stringify(r.body)}`);
    }
});

test('an anonymous caller is 401 everywhere, and INF’s things are unchanged afterwards', async () => {
  const anon = new Client(h);
  for (const [method, url, body] of routes()) {
    const r = await anon.call(method, url, body);
    assert.equal(r.status, 401, `${method} ${url}: ${r.status}`);
  }
  assert.equal((await head.get(`/api/documents/${ids.document}/content`)).status, 200);
  assert.equal((await head.get(`/api/mailroom/${ids.scan}/content`)).status, 200);
  const tasks = await head.get(`/api/persons/${ids.person}/tasks`);
  assert.equal(tasks.body.items?.[0]?.state ?? tasks.body[0]?.state, 'open', JSON.stringify(tasks.body).slice(0, 300));
  assert.equal((await head.get(`/api/imports/${ids.job}`)).body.state, 'uploaded');
});

test('ids of another department in bodies: a task’s link and assignee, a bulk run’s files, a scan assigned across departments', async () => {
  const tbFile = await tbHead.post('/api/persons', {
    departmentId: TB,
    familyName: 'Nachbarfeld',
    givenName: 'Tom',
    birthDate: '1966-06-06',
  });
  assert.equal(tbFile.status, 201, JSON.stringify(tbFile.body));
  const record = await head.post(`/api/persons/${ids.person}/records`, {
    type: 'note',
    sensitivity: 'normal',
    content: { text: 'Notiz' },
  });
  assert.equal(record.status, 201, JSON.stringify(record.body));
  const task = (extra: Record<string, unknown>) =>
    tbHead.post(`/api/persons/${tbFile.body.id}/tasks`, {
      title: 'Quer',
      dueDate: '2026-12-24',
      type: 'call',
      ...extra,
    });
  const linked = await task({ link: { kind: 'record', id: record.body.id } });
  assert.equal(linked.status, 422, JSON.stringify(linked.body));
  assert.equal(linked.body.errors[0].code, 'link-unknown');
  const assigned = await task({ assigneeId: head.id });
  assert.equal(assigned.status, 422, JSON.stringify(assigned.body));
  assert.equal(assigned.body.errors[0].code, 'not-member');
  const tbTemplates = await tbHead.get(`/api/departments/${TB}/letter-templates`);
  const invitation = tbTemplates.body.items.find((i: { kind: string }) => i.kind === 'invitation').id;
  const run = await tbHead.post(`/api/departments/${TB}/letter-runs`, {
    templateId: invitation,
    personIds: [ids.person],
  });
  assert.equal(run.status, 422, JSON.stringify(run.body));
  assert.equal(run.body.errors[0].code, 'not-in-department');
  // A member of both departments may not move INF's scan into a TB file.
  const both = await t.user({
    memberships: [
      { departmentId: INF, role: 'head' },
      { departmentId: TB, role: 'head' },
    ],
  });
  const across = await both.post(`/api/mailroom/${ids.scan}/assign`, { personId: tbFile.body.id, version: 1 });
  assert.equal(across.status, 422, JSON.stringify(across.body));
  assert.equal(across.body.errors[0].code, 'mailroom-other-department');
  assert.equal(
    (await head.get(`/api/departments/${INF}/mailroom`)).body.items.length,
    1,
    'the scan stays in the mail-room',
  );
});
