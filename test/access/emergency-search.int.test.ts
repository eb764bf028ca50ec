// Before breaking the glass: finding a file of another department (issue 13, "the
// emergency search tells nothing to the curious"). Only with a family name AND a full
// birth date and a real reason; answered with opaque handles and no more than tells two
// hits apart; an emergency access of its own (audited, reviewed by the DPO), limited per
// user; and an emergency access can be ended: by an "unjustified" review, or revoked by
// the owning head or the DPO.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, setUpTenant, samplePerson, type Client, type Harness, type Tenant } from '../helpers/harness.ts';
import { EMERGENCY_SEARCHES_PER_HOUR } from '../../src/records/emergency-search.ts';
import { inTenantTransaction } from '../../src/db/connect.ts';

type User = Client & { id: string };
let h: Harness;
let t: Tenant;
let tbClerk: User;
let infHead: User;
let dpo: User;
let infFile: string;
let infTwin: string;
let tbFile: string;
const reason = 'Patient in der Sprechstunde kollabiert, Vorbefunde werden gebraucht';
const BORN = '1961-04-17';

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h);
  const infClerk = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'clerk' }] });
  const spdiClerk = await t.user({ memberships: [{ departmentId: t.departments.SPDI!, role: 'clerk' }] });
  infHead = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'head' }] });
  tbClerk = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'clerk' }] });
  dpo = await t.user({ tenantRoles: ['dpo'] });
  infFile = (await infClerk.post('/api/persons', samplePerson(t.departments.INF!, 'Wisniewski'))).body.id;
  // Same family name and birth date: what the answer must still tell apart.
  infTwin = (
    await infClerk.post('/api/persons', { ...samplePerson(t.departments.INF!, 'Wisniewski'), givenName: 'Kasimir' })
  ).body.id;
  tbFile = (await tbClerk.post('/api/persons', samplePerson(t.departments.TB!, 'Wisniewski'))).body.id;
  // Another birth date: not found.
  await spdiClerk.post('/api/persons', { ...samplePerson(t.departments.SPDI!, 'Wisniewski'), birthDate: '1970-01-01' });
  for (let i = 0; i < 12; i++)
    await spdiClerk.post('/api/persons', {
      ...samplePerson(t.departments.SPDI!, 'Lewandowski'),
      givenName: `Kind${i}`,
    });
});
after(() => h.close());

const member = (code: string, role = 'clerk') =>
  t.user({ memberships: [{ departmentId: t.departments[code]!, role }] });
const soon = new Date(Date.now() + 30 * 86_400_000).toISOString();
const search = (c: Client, body: Record<string, unknown>) => c.post('/api/persons/emergency-search', body);

test('a birth date alone, a name alone, or a given name with the birth date finds nothing: the office is not enumerable', async () => {
  const curious = await member('TB');
  // The old shape (one free word: a birth date) is refused as such.
  for (const q of [BORN, '17.04.1961', 'Wisniewski'])
    assert.equal((await search(curious, { q, reason })).status, 422, q);
  const byDate = await search(curious, { birthDate: BORN, reason });
  assert.equal(byDate.status, 422);
  assert.equal(byDate.body.field, 'familyName');
  const byName = await search(curious, { familyName: 'Wisniewski', reason });
  assert.equal(byName.status, 422);
  assert.equal(byName.body.field, 'birthDate');
  // A birth date is a full one.
  for (const birthDate of ['1961', '1961-04', '17.04.1961', '1961-04-*']) {
    const r = await search(curious, { familyName: 'Wisniewski', birthDate, reason });
    assert.equal(r.status, 422, birthDate);
    assert.equal(r.body.field, 'birthDate');
  }
  // The given name does not stand in for the family name.
  const byGiven = await search(curious, { familyName: 'Hannelore', birthDate: BORN, reason });
  assert.equal(byGiven.status, 200);
  assert.deepEqual(byGiven.body.hits, []);
});

test("family name and birth date find other departments' files (also as the name sounds), never the own; the answer names no department", async () => {
  const r = await search(tbClerk, { familyName: 'Wischnewski', birthDate: BORN, reason });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(Object.keys(r.body).sort(), ['handlesExpireAt', 'hits', 'searchId', 'searchesLeft']);
  assert.equal(r.body.hits.length, 2, 'both INF files, not the TB one (own) nor the SPDI one (other birth date)');
  for (const hit of r.body.hits) assert.deepEqual(Object.keys(hit).sort(), ['givenNameInitial', 'handle', 'match']);
  // The two are told apart by the given name's first letter; the name matched as it sounds, not as typed.
  assert.deepEqual(r.body.hits.map((x: { givenNameInitial: string }) => x.givenNameInitial).sort(), ['H', 'K']);
  assert.ok(r.body.hits.every((x: { match: string }) => x.match === 'phonetic'));
  // Nothing in the answer names the department, the file, or gives back more of the person.
  const text = JSON.stringify(r.body);
  for (const secret of [
    ...Object.values(t.departments),
    infFile,
    infTwin,
    tbFile,
    'Hannelore',
    'Kasimir',
    'Wisniewski',
    BORN,
    'departmentId',
    'Musterstadt',
  ]) {
    assert.ok(!text.includes(secret), `the answer contains ${secret}`);
  }
  const exact = await search(tbClerk, { familyName: 'wiśniewski', birthDate: BORN, reason });
  assert.ok(exact.body.hits.every((x: { match: string }) => x.match === 'exact'));
  // At most five files, whatever matches.
  const many = await member('TB');
  const lots = await search(many, { familyName: 'Lewandowski', birthDate: BORN, reason });
  assert.equal(lots.body.hits.length, 5);
  // Finding is not reading; the ordinary search still shows only the own department's file.
  assert.equal((await tbClerk.get(`/api/persons/${infFile}`)).status, 404);
  assert.deepEqual(
    (await tbClerk.get('/api/persons?q=Wisniewski')).body.map((p: { id: string }) => p.id),
    [tbFile],
  );
});

test('a handle breaks the glass for the one meant, for its finder only', async () => {
  const finder = await member('TB');
  const other = await member('TB');
  const r = await search(finder, { familyName: 'Wisniewski', birthDate: BORN, reason });
  assert.equal(r.status, 200);
  const hit = r.body.hits.find((x: { givenNameInitial: string }) => x.givenNameInitial === 'K');
  // Someone else's handle opens nothing.
  assert.equal((await other.post(`/api/emergency-hits/${hit.handle}/break-glass`, { reason })).status, 404);
  assert.equal((await finder.post(`/api/emergency-hits/no-such-handle/break-glass`, { reason })).status, 404);
  const opened = await finder.post(`/api/emergency-hits/${hit.handle}/break-glass`, { reason });
  assert.equal(opened.status, 200, JSON.stringify(opened.body));
  assert.equal(opened.body.personId, infTwin);
  assert.equal((await finder.get(`/api/persons/${infTwin}`)).status, 200);
  assert.equal((await finder.get(`/api/persons/${infFile}`)).status, 404, 'the other hit stays closed');
  assert.equal((await other.get(`/api/persons/${infTwin}`)).status, 404);
  // The grant waits for review like any other.
  const queue = (await infHead.get('/api/reviews')).body;
  assert.ok(
    queue.some(
      (x: { kind: string; userId: string; personId: string }) =>
        x.kind === 'break-glass' && x.userId === finder.id && x.personId === infTwin,
    ),
  );
});

test('a reason is real text: twenty times the same letter, a repeated pattern or one short word is refused everywhere a reason is asked', async () => {
  const c = await member('TB');
  const head = await member('INF', 'head');
  const own = (await head.post('/api/persons', samplePerson(t.departments.INF!, 'Begruendungsprobe'))).body.id;
  for (const bad of [
    'aaaaaaaaaaaaaaaaaaaa',
    'asdfasdfasdfasdfasdf',
    'ab ab ab ab ab ab ab ab',
    'aaaa bbbb cccc dddd eeee',
    'dringend',
    '   ',
  ]) {
    const s = await search(c, { familyName: 'Wisniewski', birthDate: BORN, reason: bad });
    assert.equal(s.status, 422, `search: ${bad}`);
    assert.equal(s.body.field, 'reason');
    const bg = await c.post(`/api/persons/${infFile}/break-glass`, { reason: bad });
    assert.equal(bg.status, 422, `break-glass: ${bad}`);
    assert.equal(bg.body.field, 'reason');
    const share = await head.post(`/api/persons/${own}/shares`, {
      departmentId: t.departments.TB,
      purpose: bad,
      until: soon,
    });
    assert.equal(share.status, 422, `share: ${bad}`);
    assert.equal(share.body.field, 'purpose');
  }
  assert.equal((await c.get(`/api/persons/${infFile}`)).status, 404, 'no glass was broken');
  // A real reason of one long German word, or of a few words, passes.
  assert.equal(
    (
      await head.post(`/api/persons/${own}/shares`, {
        departmentId: t.departments.TB,
        purpose: 'Umgebungsuntersuchung',
        until: soon,
      })
    ).status,
    201,
  );
  assert.equal(
    (await c.post(`/api/persons/${infFile}/break-glass`, { reason: 'Kollaps am Schalter, Befunde nötig' })).status,
    200,
  );
});

test('without a reason, or as administrator or DPO, or without the CSRF header, nothing is searched', async () => {
  const c = await member('TB');
  assert.equal((await search(c, { familyName: 'Wisniewski', birthDate: BORN })).status, 422);
  assert.equal((await search(t.admin, { familyName: 'Wisniewski', birthDate: BORN, reason })).status, 403);
  assert.equal((await search(dpo, { familyName: 'Wisniewski', birthDate: BORN, reason })).status, 403);
  assert.equal(
    (
      await c.call(
        'POST',
        '/api/persons/emergency-search',
        { familyName: 'Wisniewski', birthDate: BORN, reason },
        { 'x-csrf-token': 'forged' },
      )
    ).status,
    403,
  );
});

test("the search is an emergency access: audited with its reason and each file shown, and waiting in the DPO's review queue", async () => {
  const c = await member('TB');
  const r = await search(c, { familyName: 'Wisniewski', birthDate: BORN, reason });
  assert.equal(r.status, 200);
  const log = (await dpo.get(`/api/audit?action=person.emergency-search&outcome=allowed&actorId=${c.id}`)).body;
  assert.ok(log.some((e: { reason: string }) => e.reason === reason));
  assert.deepEqual(
    log
      .map((e: { personId: string | null }) => e.personId)
      .filter(Boolean)
      .sort(),
    [infFile, infTwin].sort(),
  );
  const queue = (await dpo.get('/api/reviews')).body;
  const item = queue.find((x: { id: string }) => x.id === r.body.searchId);
  assert.ok(item, "the search is in the DPO's review queue");
  assert.equal(item.kind, 'emergency-search');
  assert.equal(item.userId, c.id);
  assert.equal(item.reason, reason);
  assert.equal(item.results, 2);
  assert.deepEqual([...item.shownPersonIds].sort(), [infFile, infTwin].sort());
  // A search is the DPO's to review: no department head sees it, nor decides it.
  assert.ok(!(await infHead.get('/api/reviews')).body.some((x: { id: string }) => x.id === r.body.searchId));
  assert.equal(
    (await infHead.post(`/api/reviews/${r.body.searchId}`, { decision: 'justified', comment: '' })).status,
    404,
  );
  // A search that found nothing is on the record too.
  const none = await search(c, { familyName: 'Niemandsland', birthDate: BORN, reason });
  assert.ok(
    (await dpo.get('/api/reviews')).body.some(
      (x: { id: string; results: number }) => x.id === none.body.searchId && x.results === 0,
    ),
  );
  // Left unreviewed for more than a week, it is in the security report's alert to the DPO, like a grant.
  const alert = (await dpo.get('/api/security-report')).body.find((f: { title: string }) =>
    /unreviewed for more than 7 days/.test(f.title),
  );
  assert.equal(alert, undefined);
  await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .updateTable('emergency_searches')
      .set({ created_at: new Date(Date.now() - 8 * 86_400_000).toISOString() })
      .where('id', '=', none.body.searchId)
      .execute(),
  );
  const late = (await dpo.get('/api/security-report')).body.find((f: { title: string }) =>
    /unreviewed for more than 7 days/.test(f.title),
  );
  assert.match(late?.title ?? '', /^1 emergency access/);
  // Found unjustified, its handles open nothing any more.
  assert.equal(
    (await dpo.post(`/api/reviews/${r.body.searchId}`, { decision: 'unjustified', comment: 'Kein Notfall erkennbar' }))
      .status,
    200,
  );
  assert.equal((await c.post(`/api/emergency-hits/${r.body.hits[0].handle}/break-glass`, { reason })).status, 404);
  assert.ok(!(await dpo.get('/api/reviews')).body.some((x: { id: string }) => x.id === r.body.searchId));
});

test(`searches are limited per user (${EMERGENCY_SEARCHES_PER_HOUR} an hour), also when 30 arrive at once`, async () => {
  const c = await member('TB');
  const replies = await Promise.all(
    Array.from({ length: 30 }, () => search(c, { familyName: 'Wisniewski', birthDate: BORN, reason })),
  );
  const statuses = replies.map((r) => r.status);
  assert.equal(statuses.filter((s) => s === 200).length, EMERGENCY_SEARCHES_PER_HOUR, statuses.join(' '));
  assert.equal(statuses.filter((s) => s === 429).length, 30 - EMERGENCY_SEARCHES_PER_HOUR, statuses.join(' '));
  assert.equal((await search(c, { familyName: 'Wisniewski', birthDate: BORN, reason })).status, 429);
  // Only the answered ones wait for review; the limit is the user's, not the office's.
  const mine = (await dpo.get('/api/reviews')).body.filter((x: { userId: string }) => x.userId === c.id);
  assert.equal(mine.length, EMERGENCY_SEARCHES_PER_HOUR);
  assert.equal((await search(await member('TB'), { familyName: 'Wisniewski', birthDate: BORN, reason })).status, 200);
});

/** A member of TB who broke the glass for INF's file, and that grant's review id. */
async function grantee(): Promise<{ c: User; reviewId: string }> {
  const c = await member('TB');
  assert.equal((await c.post(`/api/persons/${infFile}/break-glass`, { reason })).status, 200);
  assert.equal((await c.get(`/api/persons/${infFile}`)).status, 200);
  const item = (await dpo.get('/api/reviews')).body.find(
    (x: { userId: string; personId: string }) => x.userId === c.id && x.personId === infFile,
  );
  return { c, reviewId: item.id };
}

test('a review deciding "unjustified" ends the running grant at once: the grantee\'s next read is 404', async () => {
  const { c, reviewId } = await grantee();
  const records = await c.get(`/api/persons/${infFile}/records`);
  assert.equal(records.status, 200);
  const decided = await infHead.post(`/api/reviews/${reviewId}`, {
    decision: 'unjustified',
    comment: 'Keine Behandlung durch die TB-Fürsorge',
  });
  assert.equal(decided.status, 200, JSON.stringify(decided.body));
  assert.equal((await c.get(`/api/persons/${infFile}`)).status, 404);
  assert.equal((await c.get(`/api/persons/${infFile}/records`)).status, 404);
  // Twenty reviewers deciding at once: one decision counts, the others are told it was taken.
  const raced = await grantee();
  const decisions = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      (i % 2 ? dpo : infHead).post(`/api/reviews/${raced.reviewId}`, {
        decision: i % 2 ? 'justified' : 'unjustified',
        comment: 'Gleichzeitig geprüft',
      }),
    ),
  );
  assert.equal(decisions.filter((d) => d.status === 200).length, 1, JSON.stringify(decisions.map((d) => d.status)));
  assert.ok(decisions.every((d) => d.status === 200 || d.status === 409));
  // "justified" leaves a grant running.
  const other = await grantee();
  assert.equal(
    (await dpo.post(`/api/reviews/${other.reviewId}`, { decision: 'justified', comment: 'Notfall belegt' })).status,
    200,
  );
  assert.equal((await other.c.get(`/api/persons/${infFile}`)).status, 200);
});

test("the owning department's head and the DPO revoke a running grant; nobody else can; the review stays open", async () => {
  const first = await grantee();
  // Neither the grantee, a clerk of the owning department, nor another department's head may end it (it stays hidden from them).
  const infClerk = await member('INF');
  const tbHead = await member('TB', 'head');
  for (const who of [first.c, infClerk, tbHead, t.admin]) {
    const r = await who.del(`/api/break-glass/${first.reviewId}`);
    assert.ok(r.status === 404 || r.status === 403, `${r.status}`);
  }
  assert.equal((await first.c.get(`/api/persons/${infFile}`)).status, 200, 'still running');
  assert.equal((await infHead.del(`/api/break-glass/${first.reviewId}`)).status, 204);
  assert.equal((await first.c.get(`/api/persons/${infFile}`)).status, 404);
  assert.equal((await infHead.del(`/api/break-glass/${first.reviewId}`)).status, 409, 'ended already');
  const item = (await dpo.get('/api/reviews')).body.find((x: { id: string }) => x.id === first.reviewId);
  assert.ok(item?.revokedAt, 'the ended grant still waits for its review, marked as ended');

  const second = await grantee();
  assert.equal((await dpo.del(`/api/break-glass/${second.reviewId}`)).status, 204);
  assert.equal((await second.c.get(`/api/persons/${infFile}`)).status, 404);
  const log = (await dpo.get(`/api/audit?action=break-glass.revoke&personId=${infFile}`)).body;
  assert.deepEqual(
    log
      .map((e: { actorId: string; outcome: string }) => [e.actorId, e.outcome])
      .filter((x: string[]) => x[1] === 'allowed')
      .sort(),
    [
      [infHead.id, 'allowed'],
      [dpo.id, 'allowed'],
    ].sort(),
  );
});
