// Issue 19: keys-online — `kartei keys rotate-department` while a server runs and writes go on:
// the command is another process with its own services on the same database (as a second instance
// would be). No write fails, writes after the rotation (and the server's refresh time) are sealed
// under the new key version, earlier ones still open, and the rotation is audited once.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { sealedVersion } from '../../src/vault/aead.ts';
import { openField } from '../../src/vault/keyring.ts';
import { departmentKeyState } from '../../src/vault/department-versions.ts';
import { lockBackup } from '../../src/ops/backup-lock.ts';
import { DEPLOYMENT_CHAIN } from '../../src/db/schema.ts';
import { setUpTenant, startHarness, type Harness } from '../helpers/harness.ts';
import { kartei } from '../helpers/kartei-cli.ts';

const REFRESH_MS = 300; // what `kartei` (test/helpers/kartei-cli.ts) gives the command

let h: Harness | undefined;
after(() => h?.close());

test('rotate-department while the server writes: nothing fails, new writes under the new version, old ones open', async () => {
  h = await startHarness();
  h.services.keyring.refreshMs = REFRESH_MS;
  const t = await setUpTenant(h, ['INF']);
  const INF = t.departments.INF!;
  const clerk = await t.user({ memberships: [{ departmentId: INF, role: 'clerk' }] });

  const written: { id: string; title: string; at: number }[] = [];
  const failures: string[] = [];
  let stop = false;
  let n = 0;
  const writer = async () => {
    while (!stop) {
      const title = `Aufgabe ${n++}`;
      const r = await clerk.post(`/api/departments/${INF}/tasks`, { title, dueDate: '2026-12-10', type: 'other' });
      if (r.status === 201) written.push({ id: r.body.id, title, at: Date.now() });
      else failures.push(`${r.status} ${JSON.stringify(r.body)}`);
    }
  };
  const writers = [writer(), writer()];
  await new Promise((r) => setTimeout(r, 300));
  const rotated = await kartei(h.installation, ['keys', 'rotate-department', 'INF']);
  const rotatedAt = Date.now();
  assert.equal(rotated.code, 0, rotated.out);
  assert.match(rotated.out, /key version 1 → 2/);
  // The server looks again within its refresh time; writes go on past it.
  await new Promise((r) => setTimeout(r, REFRESH_MS * 3));
  stop = true;
  await Promise.all(writers);
  assert.deepEqual(failures, [], 'no write failed during the rotation');

  const rows = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx.selectFrom('tasks').select(['id', 'title_enc']).where('department_id', '=', INF).execute(),
  );
  const version = new Map(rows.map((r) => [r.id, sealedVersion(r.title_enc)]));
  const before = written.filter((w) => w.at < rotatedAt - 3 * REFRESH_MS);
  const after_ = written.filter((w) => w.at > rotatedAt + REFRESH_MS + 50);
  assert.ok(before.length > 0 && after_.length > 0, `${before.length} before, ${after_.length} after`);
  for (const w of before) assert.equal(version.get(w.id), 1, 'written before the rotation: version 1');
  for (const w of after_) assert.equal(version.get(w.id), 2, 'written after the refresh time: version 2');

  // Every task opens, whichever version sealed it: through the gate (a page of them) and all by the server's keyring.
  const listed = await clerk.get(`/api/departments/${INF}/tasks?limit=200`);
  assert.equal(listed.status, 200, JSON.stringify(listed.body));
  const titles = new Set(written.map((w) => w.title));
  assert.ok(listed.body.items.length > 0);
  for (const i of listed.body.items as { title: string }[]) assert.ok(titles.has(i.title), i.title);
  const opened = await inTenantTransaction(h.services.store, t.tenantId, async (tx) => {
    const key = await h!.services.keyring.departmentKey(tx, t.tenantId, INF);
    return rows.map((r) =>
      openField<string>(key, { tenantId: t.tenantId, table: 'tasks', rowId: r.id, field: 'title' }, r.title_enc),
    );
  });
  assert.deepEqual(new Set(opened), titles);

  const events = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .selectFrom('audit_events')
      .select('detail')
      .where('tenant_id', '=', t.tenantId)
      .where('action', '=', 'keys.department.rotate')
      .execute(),
  );
  assert.deepEqual(
    events.map((e) => {
      const d = JSON.parse(String(e.detail));
      return [d.from, d.to];
    }),
    [[1, 2]],
  );
});

test('rotate-department and reencrypt-department wait for no backup: refused while one runs, nothing changed', async () => {
  const hh = h!;
  const t = await inTenantTransaction(hh.services.store, DEPLOYMENT_CHAIN, (tx) =>
    tx.selectFrom('tenants').select('id').executeTakeFirstOrThrow(),
  );
  const state = () =>
    inTenantTransaction(hh.services.store, t.id, async (tx) => {
      const d = await tx.selectFrom('departments').select('id').where('code', '=', 'INF').executeTakeFirstOrThrow();
      return departmentKeyState(tx, t.id, d.id);
    });
  const before = await state();
  // A backup of this data directory in progress (its lock names this live process).
  const unlock = lockBackup(hh.config.dataDir, 'backup');
  try {
    for (const args of [
      ['keys', 'rotate-department', 'INF'],
      ['keys', 'reencrypt-department', 'INF'],
      ['keys', 'rewrap-department', 'INF'],
    ]) {
      const r = await kartei(hh.installation, args);
      assert.notEqual(r.code, 0, r.out);
      assert.match(r.out, /during a backup: another backup \(process \d+/, args.join(' '));
    }
  } finally {
    unlock();
  }
  assert.deepEqual(await state(), before);
});
