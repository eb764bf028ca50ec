// Issue 19: behind a load balancer without sticky sessions, a login begun on one instance is finished
// on the other: the password step's challenge, the second factor's throttle, the session and its end
// all live in the database, none in one process. PostgreSQL only (KARTEI_TEST_PG): two servers with
// their own data directories, one key directory and one database, as two hosts would run them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, type Server } from '../../src/server.ts';
import {
  Client,
  nextCode,
  PG_ADMIN,
  setUpTenant,
  startHarness,
  type Harness,
  type Tenant,
} from '../helpers/harness.ts';

const skip = PG_ADMIN ? false : 'PostgreSQL only (KARTEI_TEST_PG)';
let h: Harness;
let b: Server;
let t: Tenant;
/** The second instance as the test's clients see it: the same harness, another app. */
let hb: Harness;

before(async () => {
  if (skip) return;
  h = await startHarness();
  const dataDir = path.join(h.dir, 'data-b');
  b = await startServer(
    { ...h.config, dataDir },
    {
      clock: () => h.clock.now,
      app: { logger: false },
      listen: false,
      dimse: false,
      checkpoints: false,
      demis: false,
    },
  );
  hb = { ...h, app: b.app, services: b.services, server: b };
  t = await setUpTenant(h, ['INF']);
});
after(async () => {
  if (skip) return;
  await b?.stop();
  await h?.close();
});

test('a login begun on one instance is finished on the other; the session holds on both and ends on both', {
  skip,
}, async () => {
  const user = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'clerk' }] });
  // Password on instance A …
  const onA = new Client(h);
  const first = await onA.post('/api/auth/login', { username: user.username, password: user.password });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  // … the second factor on instance B.
  const onB = new Client(hb);
  const second = await onB.post('/api/auth/mfa', { challenge: first.body.challenge, code: nextCode(h, user.username) });
  assert.equal(second.status, 200, JSON.stringify(second.body));
  assert.ok(onB.cookie, 'a session');
  // The session works on both instances.
  onA.cookie = onB.cookie;
  onA.csrf = onB.csrf = second.body.csrfToken;
  assert.equal((await onA.get('/api/me')).status, 200);
  assert.equal((await onB.get('/api/me')).status, 200);
  // Logged out on A: gone on B too.
  assert.equal((await onA.post('/api/auth/logout')).status < 300, true);
  assert.equal((await onB.get('/api/me')).status, 401);
  // Both instances are on record, live, with one key fingerprint: the doctor has nothing to say of them.
  const rows = await h.services.store.db
    .selectFrom('server_instances')
    .selectAll()
    .where('stopped_at', 'is', null)
    .execute();
  assert.equal(new Set(rows.map((r) => r.key_fingerprint)).size, 1);
  assert.ok(rows.some((r) => r.id === b.services.instanceId));
  assert.equal(fs.existsSync(path.join(h.dir, 'data-b')), true);
});
