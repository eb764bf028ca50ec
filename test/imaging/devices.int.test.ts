// The DICOM device registry: only tenant admins register devices; a device
// proves itself by its pinned certificate or, without one, by its loopback
// host; every refusal names why. Registration, listing and removal are audited.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { identifyDevice, registerDevice, type DeviceInput } from '../../src/imaging/device-registry.ts';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { databaseFindings } from '../../src/ops/security-findings.ts';
import { startHarness, setUpTenant, type Harness, type Tenant } from '../helpers/harness.ts';
import { testCertificate } from '../helpers/certificates.ts';

let h: Harness;
let t: Tenant;
const certA = testCertificate('MODALITY-A');
const certB = testCertificate('MODALITY-B');
const certC = testCertificate('MODALITY-C');

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h, ['TB', 'INF']);
});
after(() => h.close());

/** Another office's administrator registers a device, through the gate as the route does. */
const registerIn = (tenantId: string, input: DeviceInput) =>
  h.services.gate.run(
    { userId: 'x', tenantId, tenantRoles: ['admin'], memberships: [] },
    'admin.device.create',
    { kind: 'tenant' },
    (ctx) => registerDevice(ctx, input),
  );

const device = (over: Record<string, unknown> = {}) => ({
  aeTitle: 'CT_TB_1',
  departmentId: t.departments.TB,
  permissions: ['store'],
  ...over,
});

test('an admin registers, lists and removes devices; each step is audited', async () => {
  const created = await t.admin.post(
    '/api/admin/devices',
    device({ aeTitle: 'XR_TB_1', certificate: certA.cert, permissions: ['store', 'find'] }),
  );
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const local = await t.admin.post(
    '/api/admin/devices',
    device({ aeTitle: 'WS_LOCAL', host: '127.0.0.1', permissions: ['find', 'retrieve'] }),
  );
  assert.equal(local.status, 201);

  const list = await t.admin.get('/api/admin/devices');
  assert.equal(list.status, 200);
  const xr = list.body.find((d: { aeTitle: string }) => d.aeTitle === 'XR_TB_1');
  assert.deepEqual(xr.permissions, ['find', 'store']);
  assert.equal(xr.certificate.fingerprint256, certA.fingerprint256);
  assert.match(xr.certificate.subject, /MODALITY-A/);
  assert.equal(list.body.find((d: { aeTitle: string }) => d.aeTitle === 'WS_LOCAL').host, '127.0.0.1');

  assert.equal((await t.admin.del(`/api/admin/devices/${local.body.id}`)).status, 204);
  assert.equal((await t.admin.del(`/api/admin/devices/${local.body.id}`)).status, 404, 'already gone');
  const names = (await t.admin.get('/api/admin/devices')).body.map((d: { aeTitle: string }) => d.aeTitle);
  assert.deepEqual(names, ['XR_TB_1']);

  const dpo = await t.user({ tenantRoles: ['dpo'] });
  const audit = (await dpo.get('/api/audit?action=admin.device.create')).body;
  assert.ok(
    audit.some(
      (e: { resourceId: string; outcome: string }) => e.resourceId === created.body.id && e.outcome === 'allowed',
    ),
  );
  const removed = (await dpo.get('/api/audit?action=admin.device.remove')).body;
  assert.deepEqual(removed.map((e: { outcome: string }) => e.outcome).sort(), ['allowed', 'denied']);
});

test('only admins administer devices: department heads and the DPO are refused', async () => {
  const head = await t.user({ memberships: [{ departmentId: t.departments.TB!, role: 'head' }] });
  const dpo = await t.user({ tenantRoles: ['dpo'] });
  for (const c of [head, dpo]) {
    assert.equal((await c.post('/api/admin/devices', device({ aeTitle: 'SNEAKY', host: '127.0.0.1' }))).status, 403);
    assert.equal((await c.get('/api/admin/devices')).status, 403);
  }
  const list = (await t.admin.get('/api/admin/devices')).body.map((d: { aeTitle: string }) => d.aeTitle);
  assert.ok(!list.includes('SNEAKY'));
});

test('bad registrations are refused naming the field, and nothing is written', async () => {
  const before = (await t.admin.get('/api/admin/devices')).body.length;
  const cases: [Record<string, unknown>, number, string][] = [
    [device({ certificate: 'not a certificate' }), 422, 'certificate'],
    [device({ host: '10.1.2.3' }), 422, 'host'],
    [device({}), 422, 'certificate'],
    [device({ host: 'not-an-ip' }), 422, 'host'],
    [device({ aeTitle: 'BACK\\SLASH', host: '127.0.0.1' }), 422, 'aeTitle'],
    [device({ aeTitle: 'SEVENTEEN_CHARS_X', host: '127.0.0.1' }), 422, 'aeTitle'],
    [device({ permissions: ['delete'], host: '127.0.0.1' }), 422, 'permissions.0'],
    [device({ permissions: [], host: '127.0.0.1' }), 422, 'permissions'],
    [device({ departmentId: 'no-such-department', host: '127.0.0.1' }), 422, 'departmentId'],
    [device({ host: '127.0.0.1', port: 70000 }), 422, 'port'],
    [device({ host: '127.0.0.1', extra: 1 }), 422, 'extra'],
    [device({ aeTitle: 'XR_TB_1', host: '127.0.0.1' }), 409, 'aeTitle'],
  ];
  for (const [body, status, field] of cases) {
    const r = await t.admin.post('/api/admin/devices', body);
    assert.equal(r.status, status, `${JSON.stringify(body)} → ${JSON.stringify(r.body)}`);
    assert.equal(r.body.field, field, JSON.stringify(r.body));
  }
  assert.equal((await t.admin.get('/api/admin/devices')).body.length, before);
});

test('a device proves itself: pinned certificate over TLS, loopback host without one', async () => {
  await t.admin.post('/api/admin/devices', device({ aeTitle: 'LOOPBACK_SCU', host: '127.0.0.1' }));
  const db = h.services.store.db;
  const ok = await identifyDevice(db, {
    callingAeTitle: 'XR_TB_1',
    remoteAddress: '10.0.0.5',
    certificateFingerprint: certA.fingerprint256,
  });
  assert.ok(ok.ok);
  assert.equal(ok.principal.device?.departmentId, t.departments.TB);
  assert.deepEqual(ok.principal.memberships, []);
  assert.deepEqual(ok.principal.tenantRoles, []);

  const why = async (c: Parameters<typeof identifyDevice>[1]) => {
    const r = await identifyDevice(db, c);
    return r.ok ? 'ok' : r.why;
  };
  assert.equal(
    await why({ callingAeTitle: 'XR_TB_1', remoteAddress: '127.0.0.1' }),
    'certificate-required',
    'a certificate device over a plain connection',
  );
  assert.equal(
    await why({ callingAeTitle: 'XR_TB_1', remoteAddress: '127.0.0.1', certificateFingerprint: certB.fingerprint256 }),
    'wrong-certificate',
  );
  assert.equal(await why({ callingAeTitle: 'NOBODY', remoteAddress: '127.0.0.1' }), 'unknown-ae');
  assert.equal(
    await why({ callingAeTitle: 'xr_tb_1', remoteAddress: '127.0.0.1', certificateFingerprint: certA.fingerprint256 }),
    'unknown-ae',
    'AE titles are case-sensitive',
  );
  assert.equal(await why({ callingAeTitle: 'LOOPBACK_SCU', remoteAddress: '127.0.0.1' }), 'ok');
  assert.equal(await why({ callingAeTitle: 'LOOPBACK_SCU', remoteAddress: '::ffff:127.0.0.1' }), 'ok');
  assert.equal(await why({ callingAeTitle: 'LOOPBACK_SCU', remoteAddress: '127.0.0.2' }), 'wrong-host');
  assert.equal(
    await why({
      callingAeTitle: 'LOOPBACK_SCU',
      remoteAddress: '127.0.0.1',
      certificateFingerprint: certA.fingerprint256,
    }),
    'wrong-certificate',
  );
});

test('devices and departments of another tenant in the same deployment are out of reach', async () => {
  const now = new Date().toISOString();
  const [tenantB, deptB, deviceB] = ['tenant-b', 'dept-b', 'device-b'];
  await inTenantTransaction(h.services.store, tenantB, async (tx) => {
    await tx.insertInto('tenants').values({ id: tenantB, name: 'Nachbaramt', created_at: now }).execute();
    await tx
      .insertInto('departments')
      .values({ id: deptB, tenant_id: tenantB, code: 'TB', name: 'TB B', created_at: now })
      .execute();
    await tx
      .insertInto('devices')
      .values({
        id: deviceB,
        tenant_id: tenantB,
        department_id: deptB,
        ae_title: 'THEIRS',
        permissions: 'store',
        cert_fingerprint: null,
        cert_subject: null,
        cert_expires_at: null,
        host: '127.0.0.1',
        port: null,
        created_at: now,
        created_by: 'x',
      })
      .execute();
  });
  assert.ok(!(await t.admin.get('/api/admin/devices')).body.some((d: { aeTitle: string }) => d.aeTitle === 'THEIRS'));
  const gone = await t.admin.del(`/api/admin/devices/${deviceB}`);
  const missing = await t.admin.del('/api/admin/devices/00000000-0000-0000-0000-000000000000');
  assert.equal(gone.status, 404);
  assert.equal(gone.body.detail, missing.body.detail);
  const intoTheirs = await t.admin.post(
    '/api/admin/devices',
    device({ aeTitle: 'INTO_B', host: '127.0.0.1', departmentId: deptB }),
  );
  assert.equal(intoTheirs.status, 422);
  assert.equal(intoTheirs.body.field, 'departmentId');
  const still = await inTenantTransaction(h.services.store, tenantB, (tx) =>
    tx.selectFrom('devices').select('id').where('id', '=', deviceB).executeTakeFirst(),
  );
  assert.ok(still, "the other tenant's device is untouched");
});

test('the doctor names devices trusted by host only and certificates about to lapse', async () => {
  const titles = (await databaseFindings(h.services)).map((f) => `${f.severity}: ${f.title}`);
  assert.ok(
    titles.some((x) => /^low: .*loopback host only: .*LOOPBACK_SCU/.test(x)),
    titles.join('\n'),
  );
  assert.ok(
    titles.some((x) => x === 'medium: The certificate of DICOM device XR_TB_1 expires within 30 days'),
    titles.join('\n'),
  );
  await h.services.store.db
    .updateTable('devices')
    .set({ cert_expires_at: new Date(Date.now() - 1000).toISOString() })
    .where('ae_title', '=', 'XR_TB_1')
    .execute();
  const after = (await databaseFindings(h.services)).map((f) => `${f.severity}: ${f.title}`);
  assert.ok(after.includes('high: The certificate of DICOM device XR_TB_1 has expired'), after.join('\n'));
});

test("the web application's security report names this office's devices only; the doctor names all", async () => {
  assert.ok(
    (await databaseFindings(h.services)).some((f) => f.title.includes('THEIRS')),
    'kartei doctor covers the installation',
  );
  const report = await t.admin.get('/api/security-report');
  assert.equal(report.status, 200);
  const titles = report.body.map((f: { title: string }) => f.title);
  assert.ok(
    titles.some((x: string) => x.includes('LOOPBACK_SCU')),
    titles.join('\n'),
  );
  assert.ok(
    !titles.some((x: string) => x.includes('THEIRS')),
    "another office's device stays out of this office's report",
  );
});

test('an AE title another office uses is no conflict and does not show: AE titles are unique per office, a device is identified by AE title with its proof', async () => {
  // Another office in the same deployment, with devices registered through the registry itself.
  const now = new Date().toISOString();
  const [tenantC, deptC] = ['tenant-c', 'dept-c'];
  await inTenantTransaction(h.services.store, tenantC, async (tx) => {
    await tx.insertInto('tenants').values({ id: tenantC, name: 'Drittamt', created_at: now }).execute();
    await tx
      .insertInto('departments')
      .values({ id: deptC, tenant_id: tenantC, code: 'TB', name: 'TB C', created_at: now })
      .execute();
    await h.services.audit.startChain(tx, tenantC);
  });
  const theirs = {
    cert: await registerIn(tenantC, {
      aeTitle: 'CT_SHARED',
      departmentId: deptC,
      permissions: ['store'],
      certificate: certB.cert,
    }),
    loop: await registerIn(tenantC, {
      aeTitle: 'LOOP_SHARED',
      departmentId: deptC,
      permissions: ['store'],
      host: '127.0.0.1',
    }),
  };
  // The same AE title with this office's own certificate, or its own loopback host: registered.
  const mine = await t.admin.post('/api/admin/devices', device({ aeTitle: 'CT_SHARED', certificate: certA.cert }));
  assert.equal(mine.status, 201, JSON.stringify(mine.body));
  assert.equal(
    (await t.admin.post('/api/admin/devices', device({ aeTitle: 'LOOP_SHARED', host: '127.0.0.2' }))).status,
    201,
  );

  // Each caller reaches its own office's device.
  const a = await identifyDevice(h.services.store.db, {
    callingAeTitle: 'CT_SHARED',
    remoteAddress: '10.0.0.5',
    certificateFingerprint: certA.fingerprint256,
  });
  const c = await identifyDevice(h.services.store.db, {
    callingAeTitle: 'CT_SHARED',
    remoteAddress: '10.0.0.6',
    certificateFingerprint: certB.fingerprint256,
  });
  assert.ok(a.ok && a.tenantId === t.tenantId && a.device.id === mine.body.id);
  assert.ok(c.ok && c.tenantId === tenantC && c.device.id === theirs.cert);
  const l = await identifyDevice(h.services.store.db, { callingAeTitle: 'LOOP_SHARED', remoteAddress: '127.0.0.1' });
  assert.ok(l.ok && l.device.id === theirs.loop);
  // A stranger's certificate with a shared AE title: refused, audited on the deployment's chain, not on either office's.
  const stranger = await identifyDevice(h.services.store.db, {
    callingAeTitle: 'CT_SHARED',
    remoteAddress: '10.0.0.7',
    certificateFingerprint: certC.fingerprint256,
  });
  assert.ok(!stranger.ok && stranger.why === 'wrong-certificate' && stranger.tenantId === null);

  // Every collision answers alike: the AE title taken in this office, or the AE title with a
  // certificate (or loopback host) registered anywhere. Nothing tells the two apart.
  const ownTaken = await t.admin.post('/api/admin/devices', device({ aeTitle: 'CT_SHARED', certificate: certC.cert }));
  const theirIdentity = await t.admin.post(
    '/api/admin/devices',
    device({ aeTitle: 'CT_SHARED', certificate: certB.cert }),
  );
  const theirLoopback = await t.admin.post('/api/admin/devices', device({ aeTitle: 'LOOP_SHARED', host: '127.0.0.1' }));
  for (const r of [ownTaken, theirIdentity, theirLoopback]) assert.equal(r.status, 409, JSON.stringify(r.body));
  assert.deepEqual(theirIdentity.body, ownTaken.body);
  assert.deepEqual(theirLoopback.body, ownTaken.body);
  assert.ok(
    !(await t.admin.get('/api/admin/devices')).body.some(
      (d: { id: string }) => d.id === theirs.cert || d.id === theirs.loop,
    ),
  );
});
