// Issue 14: a file's records page (newest first, keyset, no record skipped or
// repeated, even with equal times), carry their title and authors' names — but
// not a restricted record's title for whoever may not read it —, versions say
// who changed which fields, search results page, and the decided reviews stay
// visible as a history to whoever sees the open ones.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { samplePerson, setUpTenant, startHarness, type Client, type Harness, type Tenant } from '../helpers/harness.ts';
import { inTenantTransaction } from '../../src/db/connect.ts';

let h: Harness;
let t: Tenant;
before(async () => {
  h = await startHarness();
  t = await setUpTenant(h, ['INF', 'TB']);
});
after(() => h.close());

const nextOf = (link: string | string[] | number | undefined) => {
  if (typeof link !== 'string') return null;
  const m = /^<([^>]+)>; rel="next"$/.exec(link);
  assert.ok(m, `a Link header: ${link}`);
  return m[1]!;
};

/** Follows `Link: rel="next"` from `url` to the end; every page's items in order. */
async function walk(c: Client, url: string) {
  const pages: any[][] = [];
  let at: string | null = url;
  while (at) {
    const r = await c.get(at);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    pages.push(r.body);
    at = nextOf(r.headers.link);
    assert.ok(pages.length < 100);
  }
  return pages;
}

test('a long file pages newest first: no record skipped or repeated, also with equal times; limits outside 1–200 answer 422 naming the field', async () => {
  const INF = t.departments.INF!;
  const doc = await t.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  const person = (await doc.post('/api/persons', samplePerson(INF, 'Langakte'))).body.id as string;
  const ids: string[] = [];
  for (let i = 0; i < 23; i++) {
    const r = await doc.post(`/api/persons/${person}/records`, {
      type: 'note',
      sensitivity: 'normal',
      content: { text: `Eintrag ${i}\nweiter` },
    });
    assert.equal(r.status, 201);
    ids.push(r.body.id);
  }
  // Ten of them share one instant (a batch import): the cursor must still tell them apart.
  await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .updateTable('records')
      .set({ created_at: '2026-04-12T16:40:00.000Z' })
      .where('id', 'in', ids.slice(5, 15))
      .execute(),
  );
  const all = (await doc.get(`/api/persons/${person}/records?limit=200`)).body as { id: string; createdAt: string }[];
  assert.equal(all.length, 23);
  const sorted = [...all].sort((a, b) =>
    a.createdAt !== b.createdAt ? (a.createdAt < b.createdAt ? 1 : -1) : a.id < b.id ? 1 : -1,
  );
  assert.deepEqual(
    all.map((r) => r.id),
    sorted.map((r) => r.id),
    'newest first, then by id',
  );
  for (const limit of [1, 4, 7, 10]) {
    const pages = await walk(doc, `/api/persons/${person}/records?limit=${limit}`);
    assert.deepEqual(
      pages.flat().map((r) => r.id),
      all.map((r) => r.id),
      `limit ${limit}: every record once, in order`,
    );
    assert.ok(pages.slice(0, -1).every((p) => p.length === limit));
  }
  const first = await doc.get(`/api/persons/${person}/records`);
  assert.equal(first.body.length, 23, 'the default page (50) holds a short file whole');
  assert.equal(first.headers.link, undefined, 'no next page when there is none');
  for (const bad of [
    'limit=0',
    'limit=201',
    'limit=x',
    'before=nonsense',
    `before=${Buffer.from('2026-01-01|x y').toString('base64url')}`,
  ]) {
    const r = await doc.get(`/api/persons/${person}/records?${bad}`);
    assert.equal(r.status, 422, bad);
    assert.equal(r.body.field, `querystring.${bad.split('=')[0]}`, bad);
  }
});

test('a cursor from another file leads to no record of that file', async () => {
  const INF = t.departments.INF!;
  const doc = await t.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  const a = (await doc.post('/api/persons', samplePerson(INF, 'Erstakte'))).body.id as string;
  const b = (await doc.post('/api/persons', samplePerson(INF, 'Zweitakte'))).body.id as string;
  for (let i = 0; i < 3; i++)
    await doc.post(`/api/persons/${a}/records`, { type: 'note', sensitivity: 'normal', content: { text: `A${i}` } });
  const bIds: string[] = [];
  for (let i = 0; i < 3; i++)
    bIds.push(
      (await doc.post(`/api/persons/${b}/records`, { type: 'note', sensitivity: 'normal', content: { text: `B${i}` } }))
        .body.id,
    );
  const link = nextOf((await doc.get(`/api/persons/${a}/records?limit=1`)).headers.link)!;
  const cursor = new URL(link, 'http://x').searchParams.get('before')!;
  const other = await doc.get(`/api/persons/${b}/records?before=${cursor}`);
  assert.equal(other.status, 200);
  assert.ok(
    other.body.every((r: { id: string; personId: string }) => r.personId === b && bIds.includes(r.id)),
    "only b's own records",
  );
  // And another department's member learns nothing by trying the cursor on that file.
  const tb = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'physician' }] });
  assert.equal((await tb.get(`/api/persons/${a}/records?before=${cursor}`)).status, 404);
});

test('the list names title or first line and the authors; a clerk sees a restricted record marked, never its title', async () => {
  const INF = t.departments.INF!;
  const doc = await t.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  const nurse = await t.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  const clerk = await t.user({ memberships: [{ departmentId: INF, role: 'clerk' }] });
  const person = (await doc.post('/api/persons', samplePerson(INF, 'Titelakte'))).body.id as string;
  const note = (
    await doc.post(`/api/persons/${person}/records`, {
      type: 'note',
      sensitivity: 'normal',
      content: { text: '\n  Hausbesuch vereinbart  \nDetails folgen' },
    })
  ).body.id;
  await doc.post(`/api/persons/${person}/records`, {
    type: 'note',
    sensitivity: 'restricted',
    content: { text: 'Suizidgedanken geäußert' },
  });
  await doc.post(`/api/persons/${person}/records`, {
    type: 'notification',
    sensitivity: 'normal',
    content: { disease: 'Tuberkulose', legalBasis: '§6 IfSG', reportedAt: '2026-04-12', labConfirmed: true },
  });
  await doc.post(`/api/persons/${person}/records`, {
    type: 'note',
    sensitivity: 'normal',
    content: { text: 'x'.repeat(300) },
  });
  assert.equal(
    (await nurse.put(`/api/records/${note}`, { content: { text: 'Hausbesuch am Montag' }, version: 1 })).status,
    200,
  );

  const byDoc = (await doc.get(`/api/persons/${person}/records`)).body as any[];
  const titles = byDoc.map((r) => r.title);
  assert.ok(titles.includes('Suizidgedanken geäußert'), 'who may read it sees its title');
  assert.ok(titles.includes('Tuberkulose'));
  assert.ok(
    titles.some((x) => x?.length === 120 && x.endsWith('…')),
    'a long line is cut',
  );
  const edited = byDoc.find((r) => r.id === note);
  assert.equal(edited.title, 'Hausbesuch am Montag');
  assert.equal(edited.createdByName, doc.displayName);
  assert.equal(edited.updatedByName, nurse.displayName);
  assert.equal(edited.version, 2);

  const byClerk = (await clerk.get(`/api/persons/${person}/records`)).body as any[];
  assert.equal(byClerk.length, 4);
  const closed = byClerk.find((r) => r.sensitivity === 'restricted');
  assert.equal(closed.title, null);
  assert.ok(!JSON.stringify(byClerk).includes('Suizid'), "nothing of the restricted content in the clerk's list");
  assert.equal(
    byClerk.find((r) => r.id === note).title,
    'Hausbesuch am Montag',
    'normal records keep their titles for clerks',
  );
});

test('versions name who changed which fields; an earlier version is read like a record, decided at its own sensitivity', async () => {
  const INF = t.departments.INF!;
  const doc = await t.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  const other = await t.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  const clerk = await t.user({ memberships: [{ departmentId: INF, role: 'clerk' }] });
  const person = (await doc.post('/api/persons', samplePerson(INF, 'Versionsakte'))).body.id as string;
  const exam = { date: '2026-04-12', reason: 'Umgebungsuntersuchung', findings: 'unauffällig' };
  const id = (
    await doc.post(`/api/persons/${person}/records`, { type: 'examination', sensitivity: 'restricted', content: exam })
  ).body.id;
  assert.equal(
    (
      await other.put(`/api/records/${id}`, {
        content: { ...exam, findings: 'Rundherd rechts', diagnoses: ['A15.0'] },
        version: 1,
      })
    ).status,
    200,
  );
  assert.equal(
    (
      await doc.put(`/api/records/${id}`, {
        content: { ...exam, findings: 'Rundherd rechts', diagnoses: ['A15.0'] },
        sensitivity: 'normal',
        version: 2,
      })
    ).status,
    200,
  );
  const versions = (await doc.get(`/api/records/${id}/versions`)).body as any[];
  assert.deepEqual(
    versions.map((v) => [v.version, v.createdByName, v.changes]),
    [
      [3, doc.displayName, ['sensitivity']],
      [2, other.displayName, ['findings', 'diagnoses']],
      [1, doc.displayName, []],
    ],
  );
  const v1 = await doc.get(`/api/records/${id}/versions/1`);
  assert.equal(v1.status, 200);
  assert.equal(v1.body.content.findings, 'unauffällig');
  assert.equal(v1.body.createdByName, doc.displayName);
  assert.equal((await doc.get(`/api/records/${id}/versions/9`)).status, 404);

  // The clerk may now read the record (normal) and its versions, but not what it said while restricted.
  const seen = (await clerk.get(`/api/records/${id}/versions`)).body as any[];
  assert.deepEqual(
    seen.map((v) => v.changes),
    [null, null, []],
    'no changes told across versions the clerk may not read',
  );
  assert.equal((await clerk.get(`/api/records/${id}/versions/3`)).status, 200);
  const closed = await clerk.get(`/api/records/${id}/versions/2`);
  assert.equal(closed.status, 403);
  assert.ok(!JSON.stringify(closed.body).includes('Rundherd'));
  // Reading an old version is on the record, with its number.
  const dpo = await t.user({ tenantRoles: ['dpo'] });
  const log = (await dpo.get(`/api/audit?action=record.read&personId=${person}`)).body as any[];
  assert.ok(log.some((e) => e.actorId === doc.id && e.outcome === 'allowed' && e.detail?.version === 1));
  assert.ok(log.some((e) => e.actorId === clerk.id && e.outcome !== 'allowed'));
});

test('search results page by `after`, with a Link to the next page; the audit log links its next page', async () => {
  const TB = t.departments.TB!;
  const clerk = await t.user({ memberships: [{ departmentId: TB, role: 'clerk' }] });
  for (let i = 0; i < 7; i++)
    assert.equal(
      (await clerk.post('/api/persons', { ...samplePerson(TB, 'Seitenweise'), givenName: `Kind${i}` })).status,
      201,
    );
  const pages = await walk(clerk, '/api/persons?q=Seitenweise&limit=3');
  assert.deepEqual(
    pages.map((p) => p.length),
    [3, 3, 1],
  );
  const ids = pages.flat().map((p) => p.id);
  assert.equal(new Set(ids).size, 7);
  assert.equal((await clerk.get('/api/persons?q=Seitenweise&limit=201')).body.field, 'querystring.limit');
  // Given name and birth date match too, as the screen's label says.
  assert.equal((await clerk.get('/api/persons?q=Kind3')).body.length, 1);
  assert.equal((await clerk.get('/api/persons?q=17.04.1961&limit=200')).body.length >= 7, true);

  const dpo = await t.user({ tenantRoles: ['dpo'] });
  const audit = await walk(dpo, '/api/audit?action=person.create&limit=4');
  const seqs = audit.flat().map((e) => e.seq);
  assert.ok(seqs.length >= 7);
  assert.equal(new Set(seqs).size, seqs.length);
  assert.deepEqual(
    seqs,
    [...seqs].sort((a, b) => b - a),
  );
  // One file's access log pages the same way.
  const file = await walk(dpo, `/api/persons/${ids[0]}/access-log?limit=1`);
  const fileSeqs = file.flat().map((e) => e.seq);
  assert.ok(file.length >= 3, 'created, found by several searches');
  assert.equal(new Set(fileSeqs).size, fileSeqs.length);
  assert.ok(file.flat().every((e) => e.personId === ids[0]));
});

test('decided reviews stay visible as a history, paged: the DPO all, a head only its departments', async () => {
  const INF = t.departments.INF!;
  const TB = t.departments.TB!;
  const infHead = await t.user({ memberships: [{ departmentId: INF, role: 'head' }] });
  const tbHead = await t.user({ memberships: [{ departmentId: TB, role: 'head' }] });
  const dpo = await t.user({ tenantRoles: ['dpo'] });
  const infDoc = await t.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  const tbDoc = await t.user({ memberships: [{ departmentId: TB, role: 'physician' }] });
  const infFile = (await infDoc.post('/api/persons', samplePerson(INF, 'Notfallakte'))).body.id as string;
  const reason = 'Bewusstlos eingeliefert, Vorbefunde nötig';
  for (let i = 0; i < 3; i++)
    assert.equal((await tbDoc.post(`/api/persons/${infFile}/break-glass`, { reason })).status, 200);
  const open = (await infHead.get('/api/reviews')).body as any[];
  assert.equal(open.length, 3);
  assert.equal(
    (await infHead.post(`/api/reviews/${open[0].id}`, { decision: 'justified', comment: 'Notaufnahme bestätigt' }))
      .status,
    200,
  );
  assert.equal(
    (await dpo.post(`/api/reviews/${open[1].id}`, { decision: 'unjustified', comment: 'Kein Notfall' })).status,
    200,
  );

  const history = (await infHead.get('/api/reviews?state=decided')).body as any[];
  assert.deepEqual(
    history.map((r) => [r.id, r.decision, r.reviewedByName, r.comment, r.userName]),
    [
      [open[1].id, 'unjustified', dpo.displayName, 'Kein Notfall', tbDoc.displayName],
      [open[0].id, 'justified', infHead.displayName, 'Notaufnahme bestätigt', tbDoc.displayName],
    ],
  );
  assert.deepEqual(
    (await infHead.get('/api/reviews')).body.map((r: { id: string }) => r.id),
    [open[2].id],
    'the open list stays the open ones',
  );
  assert.equal(
    (await tbHead.get('/api/reviews?state=decided')).body.length,
    0,
    "another department's head sees none of it",
  );
  assert.equal((await infDoc.get('/api/reviews?state=decided')).status, 403);
  const pages = await walk(dpo, '/api/reviews?state=decided&limit=1');
  assert.deepEqual(
    pages.flat().map((r) => r.id),
    [open[1].id, open[0].id],
  );
  assert.equal((await dpo.get('/api/reviews?state=closed')).body.field, 'querystring.state');
});
