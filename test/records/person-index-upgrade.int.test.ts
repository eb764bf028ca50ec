// Issue 18: gate3 — the start's one-time person-index upgrade (files indexed before issue 14's
// link entries) through real restarts: a store that still needs it (the upgrade not recorded — as a
// store from before migration 032 is once 032 has made its empty table) gets it at the next start,
// audited, and records it; a store that has it recorded is not read again (the look for such files
// read every file at every start). Deleting 032's migration row no longer makes an older store: the
// migrations after it have run, and the migrator refuses a gap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { startHarness, setUpTenant, samplePerson, type Harness } from '../helpers/harness.ts';

const linkEntries = (h: Harness, tenantId: string, personId: string) =>
  inTenantTransaction(h.services.store, tenantId, (tx) =>
    tx
      .selectFrom('person_index')
      .select('digest')
      .where('person_id', '=', personId)
      .where('kind', '=', 'link')
      .execute(),
  );
const dropLinks = (h: Harness, tenantId: string, personId: string) =>
  inTenantTransaction(h.services.store, tenantId, (tx) =>
    tx.deleteFrom('person_index').where('person_id', '=', personId).where('kind', '=', 'link').execute(),
  );
const upgradeEvents = (h: Harness, tenantId: string) =>
  inTenantTransaction(h.services.store, tenantId, (tx) =>
    tx
      .selectFrom('audit_events')
      .select('detail')
      .where('tenant_id', '=', tenantId)
      .where('action', '=', 'system.person-index')
      .execute(),
  );
const recorded = async (h: Harness) =>
  (await h.services.store.db.selectFrom('store_upgrades').select('name').execute()).map((r) => r.name);

test('a restart upgrades a file indexed without link entries when the upgrade is not recorded, and not when it is', async () => {
  let h = await startHarness();
  try {
    assert.deepEqual(await recorded(h), ['person-index-links'], 'a new store records it at its first start');
    const t = await setUpTenant(h, ['INF']);
    const clerk = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'clerk' }] });
    const { body: p } = await clerk.post('/api/persons', samplePerson(t.departments.INF!, 'Jäger'));
    const links = (await linkEntries(h, t.tenantId, p.id)).length;
    assert.ok(links > 0);

    // As an older version left it: the file without its link entries, the upgrade not recorded.
    await dropLinks(h, t.tenantId, p.id);
    await h.services.store.db.deleteFrom('store_upgrades').execute();
    await h.stop();
    h = await startHarness({ reopen: h.installation });
    assert.equal((await linkEntries(h, t.tenantId, p.id)).length, links, 'indexed again at start');
    assert.deepEqual(
      (await upgradeEvents(h, t.tenantId)).map((e) => JSON.parse(e.detail!)),
      [{ files: 1 }],
    );
    assert.deepEqual(await recorded(h), ['person-index-links']);

    // Recorded: the next start reads no file (one that lost its entries since stays without them).
    await dropLinks(h, t.tenantId, p.id);
    await h.stop();
    h = await startHarness({ reopen: h.installation });
    assert.equal((await linkEntries(h, t.tenantId, p.id)).length, 0, 'not read again');
    assert.equal((await upgradeEvents(h, t.tenantId)).length, 1, 'nothing read, nothing audited');
  } finally {
    await h.close();
  }
});
