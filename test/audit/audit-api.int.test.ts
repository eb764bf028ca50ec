// Every access is on the record: each step of a file's life (create, search,
// read, edit, records, versions, delete, share, break-glass, denials, logins)
// appends exactly the expected audit events, with actor, outcome and the
// file's personId. The DPO and heads read the log through GET /api/audit and
// a file's access log, filtered and paged, each seeing only what it may. And
// the audit fails closed: when the event cannot be written, nothing is
// written and no data leaves.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import pg from 'pg';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { verifyAudit } from '../../src/audit/verify.ts';
import {
  DIALECT,
  login,
  startHarness,
  setUpTenant,
  samplePerson,
  strongPassword,
  type Client,
  type Harness,
  type Tenant,
} from '../helpers/harness.ts';

let h: Harness;
let t: Tenant;
type User = Client & { id: string };
let clerk: User, phys: User, infHead: User, tbClerk: User, tbHead: User, spdiHead: User, dpo: User;
/** Files: P and P2 belong to INF, PT to TB. */
let P: string, P2: string, PT: string;
/** A record of P2 that stays (the fail-closed test reads it). */
let R2: string;

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h);
  const { INF, TB, SPDI } = t.departments as Record<string, string>;
  clerk = await t.user({ memberships: [{ departmentId: INF!, role: 'clerk' }] });
  phys = await t.user({ memberships: [{ departmentId: INF!, role: 'physician' }] });
  infHead = await t.user({ memberships: [{ departmentId: INF!, role: 'head' }] });
  tbClerk = await t.user({ memberships: [{ departmentId: TB!, role: 'clerk' }] });
  tbHead = await t.user({ memberships: [{ departmentId: TB!, role: 'head' }] });
  spdiHead = await t.user({ memberships: [{ departmentId: SPDI!, role: 'head' }] });
  dpo = await t.user({ tenantRoles: ['dpo'] });
});
after(() => h.close());

interface Ev {
  seq: number;
  at: string;
  action: string;
  outcome: string;
  actorId: string | null;
  personId: string | null;
  departmentId: string | null;
  resourceType: string;
  resourceId: string | null;
}

/** The tenant's events as stored, newest first, read beside the API. */
async function stored(afterSeq = 0): Promise<Ev[]> {
  const rows = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .selectFrom('audit_events')
      .selectAll()
      .where('tenant_id', '=', t.tenantId)
      .where('seq', '>', afterSeq)
      .orderBy('seq', 'desc')
      .execute(),
  );
  return rows.map((r) => ({
    seq: Number(r.seq),
    at: r.at,
    action: r.action,
    outcome: r.outcome,
    actorId: r.actor_id,
    personId: r.person_id,
    departmentId: r.department_id,
    resourceType: r.resource_type,
    resourceId: r.resource_id,
  }));
}

const headSeq = async () => (await stored())[0]?.seq ?? 0;

/** Runs one step and returns what it answered and the events it appended, oldest first. */
async function step<T>(run: () => Promise<T>): Promise<{ value: T; events: Ev[] }> {
  const from = await headSeq();
  const value = await run();
  return { value, events: (await stored(from)).reverse() };
}

const summary = (e: Ev) => ({ action: e.action, outcome: e.outcome, actorId: e.actorId, personId: e.personId });

async function expectEvents<T>(
  run: () => Promise<T>,
  expected: ReturnType<typeof summary>[],
): Promise<{ value: T; events: Ev[] }> {
  const r = await step(run);
  assert.deepEqual(r.events.map(summary), expected);
  return r;
}

const ok = (status: number) => (r: { status: number; body: any }) => {
  assert.equal(r.status, status, JSON.stringify(r.body));
  return r.body;
};

test('every access to a file is on the record, with action, outcome, actor and personId', async () => {
  const { INF, TB } = t.departments as Record<string, string>;
  const allowed = (action: string, actor: User, personId: string | null) => ({
    action,
    outcome: 'allowed',
    actorId: actor.id,
    personId,
  });

  // Create: the event names the new file.
  let r = await step(() => clerk.post('/api/persons', samplePerson(INF!, 'Quastenberg')));
  P = ok(201)(r.value).id;
  assert.deepEqual(r.events.map(summary), [allowed('person.create', clerk, P)]);
  assert.equal(r.events[0]!.departmentId, INF);
  P2 = ok(201)(await clerk.post('/api/persons', samplePerson(INF!, 'Lindqvist'))).id;
  PT = ok(201)(await tbClerk.post('/api/persons', samplePerson(TB!, 'Obermaier'))).id;

  // Search: one event for the search, one per file it showed.
  r = await expectEvents(
    () => clerk.get('/api/persons?q=Quastenberg'),
    [allowed('person.search', clerk, null), allowed('person.search', clerk, P)],
  );
  assert.deepEqual(
    ok(200)(r.value).map((p: any) => p.id),
    [P],
  );
  await expectEvents(() => clerk.get('/api/persons?q=Nirgendwer'), [allowed('person.search', clerk, null)]);

  await expectEvents(async () => ok(200)(await clerk.get(`/api/persons/${P}`)), [allowed('person.read', clerk, P)]);
  await expectEvents(
    async () => ok(200)(await clerk.patch(`/api/persons/${P}`, { givenName: 'Hanne', version: 1 })),
    [allowed('person.update', clerk, P)],
  );
  await expectEvents(
    async () => ok(200)(await clerk.get(`/api/persons/${P}/records`)),
    [allowed('record.list', clerk, P)],
  );

  r = await expectEvents(
    () =>
      clerk.post(`/api/persons/${P}/records`, {
        type: 'note',
        sensitivity: 'normal',
        content: { text: 'Erstkontakt' },
      }),
    [allowed('record.create', clerk, P)],
  );
  const R = ok(201)(r.value).id;
  assert.equal(r.events[0]!.resourceId, R);

  r = await expectEvents(async () => ok(200)(await clerk.get(`/api/records/${R}`)), [allowed('record.read', clerk, P)]);
  assert.deepEqual([r.events[0]!.resourceType, r.events[0]!.resourceId], ['record', R]);
  await expectEvents(
    async () => ok(200)(await clerk.put(`/api/records/${R}`, { content: { text: 'Zweitkontakt' }, version: 1 })),
    [allowed('record.update', clerk, P)],
  );
  await expectEvents(
    async () => ok(200)(await clerk.get(`/api/records/${R}/versions`)),
    [allowed('record.versions', clerk, P)],
  );
  await expectEvents(
    async () => ok(204)(await phys.del(`/api/records/${R}`, { reason: 'Doppelt erfasst' })),
    [allowed('record.delete', phys, P)],
  );

  // A refused edit is on the record too: the clerk may not delete.
  R2 = ok(201)(
    await clerk.post(`/api/persons/${P2}/records`, {
      type: 'note',
      sensitivity: 'normal',
      content: { text: 'Befund: Zeckenbiss am Knoechel' },
    }),
  ).id;
  await expectEvents(
    async () => ok(403)(await clerk.del(`/api/records/${R2}`, { reason: 'Versehen' })),
    [{ action: 'record.delete', outcome: 'denied', actorId: clerk.id, personId: P2 }],
  );

  const purpose = 'Umgebungsuntersuchung nach Kontakt';
  const until = new Date(Date.now() + 7 * 86_400_000).toISOString();
  await expectEvents(
    async () => ok(201)(await infHead.post(`/api/persons/${P}/shares`, { departmentId: TB, purpose, until })),
    [allowed('file.share', infHead, P)],
  );

  // Another department's clerk: the file and its record are hidden, and the denials name the file.
  await expectEvents(
    async () => ok(404)(await tbClerk.get(`/api/persons/${P2}`)),
    [{ action: 'person.read', outcome: 'denied', actorId: tbClerk.id, personId: P2 }],
  );
  await expectEvents(
    async () => ok(404)(await tbClerk.get(`/api/records/${R2}`)),
    [{ action: 'record.read', outcome: 'denied', actorId: tbClerk.id, personId: P2 }],
  );

  const reason = 'Notfall: Patient bewusstlos in der Beratungsstelle aufgefunden';
  await expectEvents(
    async () => ok(200)(await tbClerk.post(`/api/persons/${P2}/break-glass`, { reason })),
    [allowed('person.break-glass', tbClerk, P2)],
  );
  await expectEvents(
    async () => ok(200)(await tbClerk.get(`/api/persons/${P2}`)),
    [allowed('person.read', tbClerk, P2)],
  );

  // The free-text reasons are in the log (encrypted at rest, shown to the DPO).
  const bg = ok(200)(await dpo.get('/api/audit?action=person.break-glass'));
  assert.deepEqual(
    bg.map((e: any) => [e.personId, e.reason]),
    [[P2, reason]],
  );
  // Who did it, by name: the DPO reads the log without an administrator's user list.
  const tbClerkName = (await tbClerk.get('/api/me')).body.displayName;
  assert.deepEqual(
    bg.map((e: any) => [e.actorId, e.actorName]),
    [[tbClerk.id, tbClerkName]],
  );
  const review = (await dpo.get('/api/reviews')).body.find((r: any) => r.personId === P2);
  assert.deepEqual([review.userId, review.userName, review.reason], [tbClerk.id, tbClerkName, reason]);
  const share = ok(200)(await dpo.get('/api/audit?action=file.share'));
  assert.deepEqual(
    share.map((e: any) => [e.personId, e.reason]),
    [[P, purpose]],
  );
  const del = ok(200)(await dpo.get(`/api/audit?action=record.delete&outcome=allowed`));
  assert.deepEqual(
    del.map((e: any) => [e.resourceId, e.reason]),
    [[R, 'Doppelt erfasst']],
  );
});

test('a login and a failed login are on the record', async () => {
  const password = strongPassword();
  const { value: created } = await expectEvents(
    () =>
      t.admin.post('/api/admin/users', {
        username: 'auditlogin',
        displayName: 'Lotte Login',
        tenantRoles: [],
        memberships: [],
      }),
    [{ action: 'admin.user.create', outcome: 'allowed', actorId: t.adminId, personId: null }],
  );
  const uid = ok(201)(created).id;
  await expectEvents(
    async () =>
      ok(204)(
        await h.app
          .inject({
            method: 'POST',
            url: '/api/auth/enrol',
            payload: { token: created.body.enrolment.token, password },
          })
          .then((x) => ({ status: x.statusCode, body: undefined })),
      ),
    [{ action: 'auth.enrol', outcome: 'allowed', actorId: uid, personId: null }],
  );
  await expectEvents(
    () => login(h, 'auditlogin', password),
    [{ action: 'auth.login', outcome: 'allowed', actorId: uid, personId: null }],
  );
  await expectEvents(
    async () =>
      ok(401)(
        await h.app
          .inject({
            method: 'POST',
            url: '/api/auth/login',
            payload: { username: 'auditlogin', password: 'falsch-falsch-falsch' },
          })
          .then((x) => ({ status: x.statusCode, body: x.json() })),
      ),
    [{ action: 'auth.login-failed', outcome: 'denied', actorId: uid, personId: null }],
  );
});

/** Calls GET /api/audit (or a file's log) as `who`; it must answer exactly `select` of the events stored just before the call. */
async function assertLog(who: Client, url: string, select: (all: Ev[]) => Ev[]) {
  const expected = select(await stored());
  const rows = ok(200)(await who.get(url));
  assert.deepEqual(
    rows.map((e: any) => e.seq),
    expected.map((e) => e.seq),
    url,
  );
  for (let i = 1; i < rows.length; i++) assert.ok(rows[i - 1].seq > rows[i].seq, 'newest first');
  for (const [i, e] of expected.entries()) {
    const { seq, at, action, outcome, actorId, personId, resourceType, resourceId } = e;
    assert.deepEqual(
      {
        seq: rows[i].seq,
        at: rows[i].at,
        action: rows[i].action,
        outcome: rows[i].outcome,
        actorId: rows[i].actorId,
        personId: rows[i].personId,
        resourceType: rows[i].resourceType,
        resourceId: rows[i].resourceId,
      },
      { seq, at, action, outcome, actorId, personId, resourceType, resourceId },
    );
  }
  return rows;
}

/** An instant written with a +02:00 offset and no milliseconds, rounded down (from) or up (to) to the second. */
function withOffset(iso: string, round: 'down' | 'up'): string {
  let ms = Date.parse(iso);
  ms = round === 'down' ? Math.floor(ms / 1000) * 1000 : Math.ceil(ms / 1000) * 1000;
  return new Date(ms + 2 * 3_600_000).toISOString().replace(/\.\d{3}Z$/, '+02:00');
}

test('the DPO filters the log by person, actor, action, outcome and time, newest first, paged', async () => {
  const all = await stored();
  assert.ok(all.length > 40 && all.length < 100, `fixture size ${all.length}`);
  const q = (s: string) => `/api/audit?${s}`;

  const byPerson = await assertLog(dpo, q(`personId=${P}`), (all) => all.filter((e) => e.personId === P));
  assert.ok(byPerson.length >= 10);
  assert.ok(new Set(byPerson.map((e: any) => e.action)).size >= 9, 'every kind of access to the file is there');
  await assertLog(dpo, q(`actorId=${tbClerk.id}`), (all) => all.filter((e) => e.actorId === tbClerk.id));
  await assertLog(dpo, q('action=record.read'), (all) => all.filter((e) => e.action === 'record.read'));
  const denied = await assertLog(dpo, q('outcome=denied'), (all) => all.filter((e) => e.outcome === 'denied'));
  assert.ok(denied.length >= 3);
  await assertLog(dpo, q(`action=person.read&outcome=denied&personId=${P2}`), (all) =>
    all.filter((e) => e.action === 'person.read' && e.outcome === 'denied' && e.personId === P2),
  );
  assert.deepEqual(ok(200)(await dpo.get(q(`personId=${P}&actorId=${tbClerk.id}`))), []);
  ok(422)(await dpo.get(q('outcome=maybe')));

  // Time window: from and to are inclusive instants, whatever offset and precision they are written in.
  const chrono = [...all].reverse();
  const lo = chrono[Math.floor(chrono.length / 4)]!.at;
  const hi = chrono[Math.floor((3 * chrono.length) / 4)]!.at;
  const inWindow = (a: string, b: string) => (now: Ev[]) =>
    now.filter((e) => Date.parse(e.at) >= Date.parse(a) && Date.parse(e.at) <= Date.parse(b));
  const window = await assertLog(dpo, q(`from=${lo}&to=${hi}`), inWindow(lo, hi));
  assert.ok(
    window.length >= chrono.length / 2 - 1 && window.length < chrono.length,
    `${window.length} of ${chrono.length}`,
  );
  const [loOff, hiOff] = [withOffset(lo, 'down'), withOffset(hi, 'up')];
  await assertLog(dpo, q(`from=${encodeURIComponent(loOff)}&to=${encodeURIComponent(hiOff)}`), inWindow(loOff, hiOff));
  assert.deepEqual(ok(200)(await dpo.get(q(`to=${encodeURIComponent('2000-01-01T00:00:00Z')}`))), []);

  // Paging: limit and before walk the whole log without gaps or overlaps.
  const pages: number[] = [];
  let before = '';
  for (;;) {
    const page = ok(200)(await dpo.get(q(`limit=7${before}`)));
    if (page.length === 0) break;
    assert.ok(page.length <= 7);
    pages.push(...page.map((e: any) => e.seq));
    before = `&before=${page.at(-1).seq}`;
  }
  // The log grows by one audit.read per page request; those newer events lie above the first page.
  const snapshot = all.map((e) => e.seq);
  assert.deepEqual(
    pages.filter((s) => s <= snapshot[0]!),
    snapshot,
  );
  assert.deepEqual(ok(200)(await dpo.get(q('limit=3'))).map((e: any) => e.seq).length, 3);
});

test("a file's access log goes to its head and the DPO, not to another department's head", async () => {
  const log = await assertLog(infHead, `/api/persons/${P}/access-log`, (all) => all.filter((e) => e.personId === P));
  // The head's read is now on the log too, and the DPO sees it.
  const now = (await stored()).filter((e) => e.personId === P);
  assert.equal(now.length, log.length + 1);
  assert.deepEqual(summary(now[0]!), {
    action: 'person.access-log',
    outcome: 'allowed',
    actorId: infHead.id,
    personId: P,
  });
  await assertLog(dpo, `/api/persons/${P}/access-log`, () => now);
  await assertLog(dpo, `/api/persons/${P}/access-log?limit=2`, (all) =>
    all.filter((e) => e.personId === P).slice(0, 2),
  );

  await expectEvents(
    async () => ok(404)(await spdiHead.get(`/api/persons/${P}/access-log`)),
    [{ action: 'person.access-log', outcome: 'denied', actorId: spdiHead.id, personId: P }],
  );
  ok(404)(await clerk.get(`/api/persons/${PT}/access-log`));
});

test("a head's audit view holds only its own departments' files; a clerk has none", async () => {
  const { INF, TB } = t.departments as Record<string, string>;
  const inf = await assertLog(infHead, '/api/audit', (all) =>
    all.filter((e) => e.departmentId === INF && e.personId !== null),
  );
  assert.ok(inf.some((e: any) => e.personId === P) && inf.some((e: any) => e.personId === P2));
  assert.ok(
    inf.every((e: any) => e.personId === P || e.personId === P2),
    'nothing about TB files, logins or administration',
  );
  assert.deepEqual(ok(200)(await infHead.get(`/api/audit?personId=${PT}`)), []);
  assert.deepEqual(ok(200)(await infHead.get(`/api/audit?actorId=${t.adminId}`)), []);

  const tb = await assertLog(tbHead, '/api/audit', (all) =>
    all.filter((e) => e.departmentId === TB && e.personId !== null),
  );
  assert.ok(
    tb.length > 0 && tb.every((e: any) => e.personId === PT),
    'the share of P with TB does not open P’s log to TB',
  );
  assert.deepEqual(ok(200)(await spdiHead.get('/api/audit')), []);

  ok(403)(await clerk.get('/api/audit'));
  ok(403)(await t.admin.get('/api/audit'));
});

/** A raw connection that makes every audit append fail, and can undo it. */
async function breakAudit(): Promise<() => Promise<void>> {
  if (DIALECT === 'sqlite') {
    const db = new Database(h.services.store.file!);
    db.pragma('busy_timeout = 5000');
    db.exec(
      `CREATE TRIGGER audit_down BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit storage failed'); END`,
    );
    return async () => {
      db.exec('DROP TRIGGER audit_down');
      db.close();
    };
  }
  const c = new pg.Client({ connectionString: h.config.databaseAdminUrl });
  await c.connect();
  await c.query(
    `CREATE FUNCTION audit_down() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit storage failed'; END $$`,
  );
  await c.query('CREATE TRIGGER audit_down BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_down()');
  return async () => {
    await c.query('DROP TRIGGER audit_down ON audit_events');
    await c.query('DROP FUNCTION audit_down()');
    await c.end();
  };
}

const counts = () =>
  inTenantTransaction(h.services.store, t.tenantId, async (tx) => {
    const n = async (table: 'persons' | 'person_versions' | 'person_index' | 'data_keys' | 'audit_events') =>
      Number(
        (
          await tx
            .selectFrom(table)
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    return {
      persons: await n('persons'),
      versions: await n('person_versions'),
      index: await n('person_index'),
      keys: await n('data_keys'),
      events: await n('audit_events'),
    };
  });

test('audit fails closed: when the event cannot be written, nothing is written and no data leaves', async () => {
  const { INF } = t.departments as Record<string, string>;
  const before = await counts();
  const restore = await breakAudit();
  try {
    const attempts = [
      await clerk.post('/api/persons', samplePerson(INF!, 'Unverbucht')),
      await clerk.get(`/api/records/${R2}`),
      await clerk.get(`/api/persons/${P2}`),
      await clerk.get('/api/persons?q=Lindqvist'),
    ];
    for (const r of attempts) {
      assert.equal(r.status, 503, JSON.stringify(r.body));
      assert.match(String(r.headers['content-type']), /^application\/problem\+json/);
      assert.equal(r.body.status, 503);
      const text = JSON.stringify(r.body);
      for (const leak of ['Zeckenbiss', 'Lindqvist', 'Hannelore', 'audit storage failed', 'RAISE', 'at '])
        assert.ok(!text.includes(leak), `${leak} in ${text}`);
    }
    assert.deepEqual(await counts(), before);
  } finally {
    await restore();
  }
  // The same requests work again once the log can be written, and the chain has no gap.
  ok(200)(await clerk.get(`/api/records/${R2}`));
  ok(201)(await clerk.post('/api/persons', samplePerson(INF!, 'Nachgebucht')));
  const after = await counts();
  assert.deepEqual(
    [after.persons, after.versions, after.keys, after.events],
    [before.persons + 1, before.versions + 1, before.keys + 1, before.events + 2],
  );
  assert.ok(after.index > before.index);
  const v = await verifyAudit(h.services.store, h.services.signer);
  assert.ok(v.ok, JSON.stringify(v));
});
