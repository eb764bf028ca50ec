// The image store's recovery at start (src/imaging/store-recovery.ts), in
// process: what it removes (`.tmp-` leftovers, sealed files no index row
// names), what it never touches (indexed instances, files that are not
// instance files), the guard against a database older than its images, and
// how the security report shows it to one office. The crash itself, with a
// real server killed mid-store, is test/cli/store-crash.int.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { recoverStore, readRecoveryReport } from '../../src/imaging/store-recovery.ts';
import { instancePath } from '../../src/imaging/instance-store.ts';
import { configFindings, recoveryFindings } from '../../src/ops/security-findings.ts';
import { TEST_PAUSE_VARIABLE } from '../../src/imaging/instance-writer.ts';
import { startHarness, setUpTenant, type Harness, type Tenant, type Client } from '../helpers/harness.ts';
import { makeInstance } from '../helpers/dicom-files.ts';

let h: Harness;
let t: Tenant;
let clerk: Client;
let departmentId: string;
let key: Buffer;
before(async () => {
  // The files store, whose files this test lays out and looks at (the database's: store-recovery-shared).
  h = await startHarness({ env: { KARTEI_STORAGE: 'files' } });
  t = await setUpTenant(h, ['INF']);
  departmentId = t.departments.INF!;
  clerk = await t.user({ memberships: [{ departmentId, role: 'clerk' }] });
  key = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    h.services.keyring.departmentKey(tx, t.tenantId, departmentId),
  );
});
after(() => h.close());

const images = () => path.join(h.config.dataDir, 'images');
const files = () =>
  (fs.readdirSync(images(), { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((e) => e.isFile())
    .map((e) => path.relative(images(), path.join(e.parentPath, e.name)))
    .sort();
const recover = (maxOrphans?: number) =>
  recoverStore(
    { store: h.services.store, images: h.services.images, audit: h.services.audit, dataDir: h.config.dataDir },
    { maxOrphans },
  );

async function stowOne(): Promise<string> {
  const inst = makeInstance({ rows: 8, columns: 8 });
  const boundary = 'b0undary';
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`),
    inst.file,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const r = await clerk.call('POST', '/dicom-web/studies', body, {
    'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
  });
  assert.equal(r.status, 200);
  return (
    await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
      tx
        .selectFrom('instances')
        .select('file')
        .where('sop_instance_uid', '=', inst.sopInstanceUid)
        .executeTakeFirstOrThrow(),
    )
  ).file;
}

/** A committed sealed instance file that no index row names: what a crash before the index commit leaves. */
async function orphan(): Promise<string> {
  const { file, write } = h.services.instances.create(t.tenantId, departmentId, randomUUID(), key);
  write.stream.write(Buffer.from('DICM'));
  await write.commit();
  return file;
}

function leftover(): string {
  const rel = `${instancePath(t.tenantId, departmentId, randomUUID())}.tmp-0123456789abcdef`;
  fs.mkdirSync(path.dirname(path.join(images(), rel)), { recursive: true });
  fs.writeFileSync(path.join(images(), rel), 'half');
  return rel;
}

async function recoveryEvents() {
  return inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .selectFrom('audit_events')
      .select(['detail', 'actor_id', 'resource_id'])
      .where('action', '=', 'system.store-recovery')
      .orderBy('seq')
      .execute(),
  );
}

test('recovery removes leftovers and orphans, keeps indexed and foreign files, and is on the record of the office', async () => {
  const indexed = await stowOne();
  const orphans = [await orphan(), await orphan()];
  const partial = leftover();
  // Not an instance file Kartei writes: not its to judge.
  const foreign = `${t.tenantId}/README.txt`;
  fs.writeFileSync(path.join(images(), foreign), 'x');
  assert.deepEqual(files(), [indexed, ...orphans, partial, foreign].sort());

  const report = await recover();
  assert.deepEqual(
    { partial: report.partial, orphans: report.orphans, kept: report.kept },
    { partial: 1, orphans: 2, kept: 0 },
  );
  assert.deepEqual(report.offices[t.tenantId], { partial: 1, orphans: 2, kept: 0 });
  assert.deepEqual(files(), [indexed, foreign].sort());
  assert.deepEqual(readRecoveryReport(h.config.dataDir), report);
  const events = await recoveryEvents();
  assert.equal(events.length, 1);
  assert.deepEqual(JSON.parse(events[0]!.detail!), { partial: 1, orphans: 2, kept: 0 });
  assert.equal(events[0]!.actor_id, null);

  // The office's security report shows it; another office's does not.
  const findings = await t.admin.get('/api/security-report');
  assert.equal(findings.status, 200);
  const found = (findings.body as { code: string; params: Record<string, number> }[]).find(
    (f) => f.code === 'store-recovered',
  );
  assert.ok(found, JSON.stringify(findings.body));
  assert.deepEqual({ partial: found.params.partial, orphans: found.params.orphans }, { partial: 1, orphans: 2 });
  assert.deepEqual(recoveryFindings(h.config.dataDir, randomUUID()), []);

  // A start with nothing to do: no event, and the finding is gone.
  const clean = await recover();
  assert.deepEqual(
    { partial: clean.partial, orphans: clean.orphans, kept: clean.kept },
    { partial: 0, orphans: 0, kept: 0 },
  );
  assert.equal((await recoveryEvents()).length, 1);
  assert.deepEqual(recoveryFindings(h.config.dataDir), []);
  fs.rmSync(path.join(images(), foreign));
});

test('more orphans than a crash leaves: none is removed, and the report calls it critical', async () => {
  const indexed = files();
  const orphans = [await orphan(), await orphan(), await orphan()];
  const report = await recover(2);
  assert.deepEqual(
    { partial: report.partial, orphans: report.orphans, kept: report.kept },
    { partial: 0, orphans: 0, kept: 3 },
  );
  assert.deepEqual(files(), [...indexed, ...orphans].sort(), 'all kept');
  const [finding] = recoveryFindings(h.config.dataDir, t.tenantId);
  assert.equal(finding?.code, 'store-orphans-kept');
  assert.equal(finding?.severity, 'critical');
  assert.equal(finding?.params?.n, 3);
  assert.deepEqual(JSON.parse((await recoveryEvents()).at(-1)!.detail!), { partial: 0, orphans: 0, kept: 3 });
});

test('the test-only pause is not honoured outside NODE_ENV=test, and the doctor reports the variable whenever it is set', {
  timeout: 60_000,
}, async () => {
  const saved = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  // Honoured, this would hold the store for a day and the test would time out.
  process.env[TEST_PAUSE_VARIABLE] = String(86_400_000);
  try {
    await stowOne();
    const finding = configFindings(h.config).find((f) => f.code === 'test-hook-set');
    assert.equal(finding?.severity, 'high');
    assert.equal(finding?.params?.variable, TEST_PAUSE_VARIABLE);
  } finally {
    delete process.env[TEST_PAUSE_VARIABLE];
    if (saved === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = saved;
  }
  assert.equal(
    configFindings(h.config).find((f) => f.code === 'test-hook-set'),
    undefined,
  );
});
