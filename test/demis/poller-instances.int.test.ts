// Issue 19: two instances on one database poll DEMIS for the same office: an office due now is polled
// by one of them (one token, each notification handed to the import once), an admin's "poll now" on
// the other instance is refused with 409 while it runs, and a poll held by an instance that died is
// taken over once its heartbeat is stale. On PostgreSQL (KARTEI_TEST_PG) the second poller has its own
// Store, as a second process would.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { inTenantTransaction, openStore, type Store } from '../../src/db/connect.ts';
import { InstanceRegistry, LIVE_WITHIN_MS } from '../../src/db/instances.ts';
import { DemisPoller } from '../../src/demis/connection/poller.ts';
import { PG_ADMIN, startHarness, setUpTenant, type Harness, type Tenant } from '../helpers/harness.ts';
import { testCertificate, type TestCert } from '../helpers/certificates.ts';
import { startDemisStandIn, type DemisStandIn } from '../helpers/demis-stand-in.ts';

const clientSecret = `sekret-${randomBytes(12).toString('hex')}`;
const password = `kennwort-${randomBytes(12).toString('hex')}`;
const USERNAME = '1.01.0.53.';

let h: Harness;
let t: Tenant;
let demis: DemisStandIn;
let office: TestCert;
let second: Store;
let other: InstanceRegistry;
const calls: string[] = [];

async function importBundle(raw: Uint8Array) {
  const id = /<identifier>[\s\S]*?<value value="([^"]+)"/.exec(new TextDecoder().decode(raw))?.[1];
  calls.push(id ?? '?');
}
const bundle = (id: string) =>
  `<Bundle xmlns="http://hl7.org/fhir"><identifier><system value="https://demis.rki.de/fhir/NamingSystem/NotificationBundleId"/><value value="${id}"/></identifier><type value="document"/></Bundle>`;
const quiet = { info() {}, warn() {}, error() {} };

before(async () => {
  office = testCertificate('gesundheitsamt-zwei', { key: 'rsa:2048' });
  demis = await startDemisStandIn(
    { clientId: 'kartei-test', clientSecret, username: USERNAME, password, certificate: office.cert },
    { pageSize: 2 },
  );
  h = await startHarness({
    env: { KARTEI_DEMIS_CA_FILE: demis.caFile },
    demis: { importBundle, tickMs: 3_600_000, timeoutMs: 5_000 },
  });
  t = await setUpTenant(h, ['INF']);
  const r = await t.admin.put('/api/admin/demis', {
    tokenUrl: demis.tokenUrl,
    clearingUrl: demis.clearingUrl,
    clientId: 'kartei-test',
    clientSecret,
    username: USERNAME,
    password,
    certificate: office.cert,
    privateKey: office.key,
    departmentId: t.departments.INF,
    pollIntervalMinutes: 5,
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  second = PG_ADMIN
    ? await openStore({
        dataDir: h.config.dataDir,
        databaseUrl: h.config.databaseUrl,
        databaseAdminUrl: h.config.databaseAdminUrl,
      })
    : h.services.store;
  other = new InstanceRegistry(second, {
    id: randomUUID(),
    dataDirId: 'second-data-dir',
    host: 'kartei-b.example',
    pid: 4711,
    version: '0.1.0',
    schemaLevel: '039-instances',
    keyFingerprint: '0000000000000000',
    storage: 'database',
    listen: [],
  });
  await other.register();
});
after(async () => {
  await other?.stop().catch(() => undefined);
  if (second && second !== h.services.store) await second.close();
  await demis?.close();
  await h?.close();
});

const secondPoller = () =>
  new DemisPoller({
    store: second,
    keyring: h.services.keyring,
    audit: h.services.audit,
    importBundle,
    log: quiet,
    caFile: demis.caFile,
    timeoutMs: 5_000,
    instanceId: other.id,
  });
const due = () =>
  inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx.updateTable('demis_connections').set({ next_poll_at: null }).where('tenant_id', '=', t.tenantId).execute(),
  );
const tokens = () => demis.requests.filter((r) => r.path.includes('openid-connect/token')).length;
const polledBy = async () =>
  (
    await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
      tx
        .selectFrom('demis_connections')
        .select('polled_by')
        .where('tenant_id', '=', t.tenantId)
        .executeTakeFirstOrThrow(),
    )
  ).polled_by;

test('an office due now is polled by one of two instances ticking together: one token, each notification once', async () => {
  const ids = Array.from({ length: 5 }, () => `b-${randomUUID()}`);
  for (const id of ids) await demis.add(bundle(id));
  await due();
  const before = tokens();
  calls.length = 0;
  await Promise.all([h.services.demisPoller!.tick(), secondPoller().tick()]);
  assert.equal(tokens() - before, 1, 'one poll, not two');
  assert.deepEqual([...calls].sort(), [...ids].sort());
  assert.equal(await polledBy(), null, 'released after the poll');
  // Neither polls again: the office is not due until its interval has passed.
  await Promise.all([h.services.demisPoller!.tick(), secondPoller().tick()]);
  assert.equal(tokens() - before, 1);
});

test("while another live instance polls, an admin's poll here answers 409; once it is gone, this one takes over", async () => {
  await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx.updateTable('demis_connections').set({ polled_by: other.id }).where('tenant_id', '=', t.tenantId).execute(),
  );
  const refused = await t.admin.post('/api/admin/demis/poll');
  assert.equal(refused.status, 409, JSON.stringify(refused.body));
  await due();
  const before = tokens();
  await h.services.demisPoller!.tick();
  assert.equal(tokens(), before, 'the schedule leaves an office another live instance polls');
  // The other instance dies in the middle of its poll: its heartbeat goes stale, nobody stopped it.
  await h.services.store.db
    .updateTable('server_instances')
    .set({ heartbeat_at: new Date(Date.now() - 2 * LIVE_WITHIN_MS).toISOString() })
    .where('id', '=', other.id)
    .execute();
  const id = `b-${randomUUID()}`;
  await demis.add(bundle(id));
  calls.length = 0;
  await h.services.demisPoller!.tick();
  assert.equal(tokens(), before + 1);
  assert.deepEqual(calls, [id]);
  assert.equal(await polledBy(), null);
});
