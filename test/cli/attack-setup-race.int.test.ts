// The first office's setup link raced across two `kartei serve` processes on one PostgreSQL (issue 19):
// the link one instance printed is sent to both at once, many times, by different would-be first
// administrators. Exactly one request sets the office up; every other is refused (401 or 409), the
// database holds one office and one administrator, and the link is spent on both instances.
// PostgreSQL only (KARTEI_TEST_PG): the two processes share one database.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freshPostgres, PG_ADMIN, strongPassword } from '../helpers/harness.ts';
import { healthy, type Instance, setupLinks, sleep, spawnInstance } from '../helpers/kartei-instances.ts';

const setup = (base: string, token: string, i: number) =>
  fetch(`${base}/api/setup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      token,
      tenant: { name: `Gesundheitsamt Wettlauf ${i}` },
      admin: { username: `leitung${i}`, password: strongPassword(), displayName: `Lena Leitung ${i}` },
    }),
    signal: AbortSignal.timeout(60_000),
  }).then((r) => r.status);

test('one setup link sent to two instances at once, twelve times: one office, one administrator', {
  skip: PG_ADMIN ? false : 'PostgreSQL only (KARTEI_TEST_PG)',
  timeout: 240_000,
}, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-setup-race-'));
  const db = await freshPostgres();
  const set = { ...db, keyDir: path.join(dir, 'keys'), env: { KARTEI_LOG_LEVEL: 'warn' } };
  const running: Instance[] = [];
  try {
    const a = await spawnInstance('a', set, path.join(dir, 'a'));
    running.push(a);
    await healthy(a);
    const b = await spawnInstance('b', set, path.join(dir, 'b'));
    running.push(b);
    await healthy(b);
    for (let i = 0; i < 50 && setupLinks(a).length === 0; i++) await sleep(100);
    const [token] = setupLinks(a);
    assert.ok(token, `instance a printed the link:\n${a.output().slice(-2000)}`);
    assert.deepEqual(setupLinks(b), [], 'b printed none');

    const statuses = await Promise.all(
      Array.from({ length: 12 }, (_, i) => setup(i % 2 === 0 ? a.base : b.base, token, i)),
    );
    assert.equal(statuses.filter((s) => s === 201).length, 1, `one success: ${statuses.join(' ')}`);
    assert.ok(
      statuses.every((s) => s === 201 || s === 401 || s === 409),
      `every other refused as such: ${statuses.join(' ')}`,
    );
    const admin = new pg.Client({ connectionString: db.databaseAdminUrl });
    await admin.connect();
    try {
      const offices = await admin.query('select count(*)::int as n from tenants');
      const admins = await admin.query("select count(*)::int as n from tenant_roles where role = 'admin'");
      assert.deepEqual([offices.rows[0].n, admins.rows[0].n], [1, 1]);
    } finally {
      await admin.end();
    }
    // Spent: neither instance takes it again.
    for (const i of running) assert.ok([401, 409].includes(await setup(i.base, token, 99)));
  } finally {
    for (const i of running) await i.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
