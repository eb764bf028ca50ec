// Recovery of a shared store (issue 19: images and documents in PostgreSQL,
// written by several instances): a write another instance has in progress, and
// an object it committed but has not indexed yet, survive a recovery run; what
// a killed instance left long ago is removed; two instances recovering at the
// same moment do not both judge (the advisory lock): each leftover is removed
// once. PostgreSQL only (KARTEI_TEST_PG).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { inTenantTransaction, openStore, type Store } from '../../src/db/connect.ts';
import { recoverStore } from '../../src/imaging/store-recovery.ts';
import { recoverDocuments } from '../../src/desk/documents-recovery.ts';
import { instancePath } from '../../src/imaging/instance-store.ts';
import { SealedRows } from '../../src/vault/sealed-rows.ts';
import { SHARED_STORE_GRACE_MS } from '../../src/vault/sealed-store.ts';
import { PG_ADMIN, setUpTenant, startHarness, type Harness, type Tenant } from '../helpers/harness.ts';

const skip = PG_ADMIN ? undefined : 'needs KARTEI_TEST_PG';
let h: Harness;
let t: Tenant;
let departmentId: string;
/** The second instance's connection to the same database. */
let other: Store;
/** The second instance's stores, closed after. */
const stores: SealedRows[] = [];
before(async () => {
  if (skip) return;
  h = await startHarness();
  t = await setUpTenant(h, ['INF']);
  departmentId = t.departments.INF!;
  other = await openStore({ dataDir: h.config.dataDir, ...h.installation.database });
});
after(async () => {
  for (const s of stores) await s.close();
  await other?.close();
  await h?.close();
});

const key = randomBytes(32);
const aad = Buffer.from('aad');

/** Makes an entry look last touched `ms` ago (as a killed instance leaves it). */
const age = (relPath: string, ms: number) =>
  inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    sql`update sealed_objects set modified_at = now() - make_interval(secs => ${ms / 1000})
      where path = ${relPath.replace(/\.tmp-\d+$/, '')}`.execute(tx),
  );

async function entries(s: SealedRows) {
  const all = [];
  for await (const e of s.walk()) all.push(e);
  return all;
}

const written = (w: { stream: NodeJS.WritableStream }, bytes: Buffer) =>
  new Promise<void>((r) => (w.stream.write(bytes) ? r() : w.stream.once('drain', () => r())));

test('a recovery leaves another instance’s write in progress and its unindexed commit alone, removes what a killed one left long ago, and runs once at a time', {
  skip,
}, async () => {
  assert.equal(h.services.images.kind, 'database', 'PostgreSQL keeps images in the database by default');
  const mine = h.services.images as SealedRows;
  const theirs = new SealedRows(other, 'images');
  stores.push(theirs);
  const path = () => instancePath(t.tenantId, departmentId, randomUUID());

  // Another instance is writing an instance right now: a batch is in, the rest is still coming.
  const live = path();
  const liveWrite = theirs.create(live, key, aad);
  const first = randomBytes(3_000_000);
  await written(liveWrite, first);
  // And has just committed one it is about to index.
  const unindexed = path();
  const justCommitted = theirs.create(unindexed, key, aad);
  justCommitted.stream.end(randomBytes(10_000));
  await justCommitted.commit();
  // A killed instance's write, cut off twenty minutes ago, and its committed, never indexed object.
  const dead = path();
  const deadWrite = theirs.create(dead, key, aad);
  await written(deadWrite, randomBytes(3_000_000));
  const deadOrphan = path();
  const orphanWrite = theirs.create(deadOrphan, key, aad);
  orphanWrite.stream.end(randomBytes(10_000));
  await orphanWrite.commit();
  await new Promise((r) => setTimeout(r, 200)); // the dead write's batch is in
  await age(dead, SHARED_STORE_GRACE_MS + 5 * 60_000);
  await age(deadOrphan, SHARED_STORE_GRACE_MS + 5 * 60_000);
  const before = await entries(mine);
  assert.equal(before.filter((e) => e.temporary).length, 2, 'the control: two writes in progress as far as rows go');

  // Two instances start at the same moment.
  const run = () =>
    recoverStore({ store: h.services.store, images: mine, audit: h.services.audit, dataDir: h.config.dataDir });
  const reports = await Promise.all([run(), run()]);
  assert.deepEqual(
    reports.map((r) => [r.partial, r.orphans]).sort(),
    [
      [0, 0],
      [1, 1],
    ],
    'one of them removed the dead write and the dead orphan, the other found nothing left',
  );

  const after = await entries(mine);
  assert.ok(!after.some((e) => e.relPath.startsWith(dead)), 'the dead write is gone');
  await assert.rejects(mine.plainSize(deadOrphan), { code: 'ENOENT' });
  assert.equal(await mine.plainSize(unindexed), 10_000, 'the unindexed commit of a live instance stays');
  assert.ok(
    after.some((e) => e.temporary && e.relPath.startsWith(live)),
    'the write in progress stays',
  );

  // The live write goes on and commits whole.
  const rest = randomBytes(2_000_000);
  liveWrite.stream.end(rest);
  assert.equal((await liveWrite.commit()).size, first.length + rest.length);
  const back: Buffer[] = [];
  for await (const b of mine.openRead(live, key, aad)) back.push(b);
  assert.deepEqual(Buffer.concat(back), Buffer.concat([first, rest]));
  await deadWrite.abort();
});

test('documents: a recovery leaves another instance’s upload in progress alone and removes an old one', {
  skip,
}, async () => {
  const files = h.services.documents.files;
  assert.equal(files.shared, true);
  const theirs = new SealedRows(other, 'documents');
  stores.push(theirs);
  const live = `${t.tenantId}/${departmentId}/${randomUUID()}-1`;
  const dead = `${t.tenantId}/${departmentId}/${randomUUID()}-1`;
  const liveWrite = theirs.create(live, key, aad);
  const deadWrite = theirs.create(dead, key, aad);
  await written(liveWrite, randomBytes(2_000_000));
  await written(deadWrite, randomBytes(2_000_000));
  await new Promise((r) => setTimeout(r, 200));
  await age(dead, SHARED_STORE_GRACE_MS + 60_000);
  const run = () => recoverDocuments({ store: h.services.store, files, audit: h.services.audit });
  const reports = await Promise.all([run(), run()]);
  assert.deepEqual(reports.map((r) => r.partial).sort(), [0, 1]);
  const left = [];
  for await (const e of files.walk()) left.push(e.relPath);
  assert.ok(left.some((p) => p.startsWith(`${live}.tmp-`)));
  assert.ok(!left.some((p) => p.startsWith(dead)));
  liveWrite.stream.end();
  assert.equal((await liveWrite.commit()).size, 2_000_000);
  await deadWrite.abort();
});
