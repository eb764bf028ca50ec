// A crash in the middle of storing an image leaves nothing behind: a real
// server (`kartei serve`) is SIGKILLed while a C-STORE and a STOW-RS are half
// received (a `.tmp-` file on disk), and again while both have committed their
// file but not yet their index row (held there by the test-only pause). Each
// restart removes what the crash left, says so in its log and in the audit
// trail, and `kartei doctor` reports it; acknowledged images are all kept and
// readable, no file is left that the index does not name, and
// `kartei audit verify` passes. A second server on the same data directory
// is refused while the first runs.
// The second test kills a server at each step of a store in turn (the file
// under its final name before its syncs; synced, before the index; indexed,
// before the answer; answered): after each restart nothing acknowledged is
// lost, no index row lacks its whole file, and no file is left without a row.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { loadConfig } from '../../src/config/config.ts';
import { createServices } from '../../src/services.ts';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { verifyAudit } from '../../src/audit/verify.ts';
import { CommandField, Status } from '../../src/imaging/dicom/command.ts';
import { TEST_PAUSE_VARIABLE } from '../../src/imaging/instance-writer.ts';
import { RECOVERY_FILE } from '../../src/imaging/store-recovery.ts';
import { freePort, setUpTenant, startHarness } from '../helpers/harness.ts';
import { DimseClient } from '../helpers/dimse-client.ts';
import { makeInstance, type TestInstance } from '../helpers/dicom-files.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/kartei.js');

const children = new Set<ChildProcess>();
const dirs: string[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, probe: () => T | undefined | false, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

interface Server {
  child: ChildProcess;
  base: string;
  dicomPort: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
}

async function serve(env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  const dicomPort = await freePort();
  const child = spawn(process.execPath, [BIN, 'serve'], {
    cwd: ROOT,
    env: { ...env, KARTEI_LISTEN: `127.0.0.1:${port}`, KARTEI_DICOM_LISTEN: `127.0.0.1:${dicomPort}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited: ${out}`);
    if (Date.now() > deadline) throw new Error(`server did not come up: ${out}`);
    const ok = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { child, base, dicomPort, exited, output: () => out };
    await sleep(100);
  }
}

/** Every file under the image root, relative to it. */
function imageFiles(root: string): string[] {
  if (!fs.existsSync(root)) return [];
  return (fs.readdirSync(root, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)));
}
const temporary = (root: string) => imageFiles(root).filter((f) => f.includes('.tmp-'));
const sealed = (root: string) => imageFiles(root).filter((f) => f.endsWith('.dcm'));

const BOUNDARY = 'kartei-crash-boundary';
const stowHead = Buffer.from(`--${BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n`);
const stowTail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);

/** A STOW-RS request whose body is written as the caller says; the answer, or the error when the server dies. */
function stowRequest(base: string, token: string) {
  const req = http.request(`${base}/dicom-web/studies`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': `multipart/related; type="application/dicom"; boundary=${BOUNDARY}`,
      accept: 'application/dicom+json',
    },
  });
  const answer = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
  });
  answer.catch(() => undefined);
  return { req, answer };
}

const storeCommand = (inst: TestInstance, messageId: number) => ({
  commandField: CommandField.CStoreRq,
  hasDataset: true,
  affectedSopClassUid: inst.sopClassUid,
  affectedSopInstanceUid: inst.sopInstanceUid,
  messageId,
  priority: 0,
});

const associate = (port: number, inst: TestInstance) =>
  DimseClient.associate(port, {
    calling: 'CRASHCT',
    called: 'KARTEI',
    contexts: [{ id: 1, abstractSyntax: inst.sopClassUid, transferSyntax: inst.transferSyntax }],
  });

/** An office with a clerk's STOW-RS token and a device allowed to store, set up and stopped: servers are spawned on it. */
async function crashOffice() {
  // --- The office, set up in this process and stopped: the servers below open the same installation.
  // The files store, on either database: these crashes are judged by its files (the database store's cut-off
  // writes are test/vault/sealed-store-contract.int.test.ts's).
  const h = await startHarness({ env: { KARTEI_STORAGE: 'files' } });
  dirs.push(h.dir);
  const office = await setUpTenant(h, ['INF']);
  const departmentId = office.departments.INF!;
  const clerk = await office.user({ memberships: [{ departmentId, role: 'clerk' }] });
  const token: string = (
    await clerk.post('/api/auth/tokens', { name: 'Absturztest', scopes: ['dicomweb:store'], expiresInDays: 1 })
  ).body.token;
  assert.ok(token);
  const device = await office.admin.post('/api/admin/devices', {
    aeTitle: 'CRASHCT',
    departmentId,
    permissions: ['store'],
    host: '127.0.0.1',
  });
  assert.equal(device.status, 201, JSON.stringify(device.body));
  await h.stop();

  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KARTEI_'))) as Record<
    string,
    string
  >;
  const { databaseUrl, databaseAdminUrl } = h.installation.database;
  const env: Record<string, string> = {
    ...base,
    NODE_ENV: 'test',
    KARTEI_LANG: 'en', // the command's English words: this test is about what it does
    KARTEI_DATA_DIR: h.config.dataDir,
    KARTEI_KEY_DIR: h.config.keyDir,
    KARTEI_LOG_LEVEL: 'info',
    KARTEI_STORAGE: 'files',
    ...(databaseUrl ? { KARTEI_DATABASE_URL: databaseUrl, KARTEI_DATABASE_ADMIN_URL: databaseAdminUrl! } : {}),
  };
  const images = path.join(h.config.dataDir, 'images');
  return { h, office, departmentId, token, env, images };
}

/** The index holds exactly `expected`, each file it names is there and decrypts to the whole dataset, and no other file is. */
async function indexedAndWhole(
  s: Awaited<ReturnType<typeof createServices>>,
  tenantId: string,
  departmentId: string,
  images: string,
  expected: TestInstance[],
) {
  assert.deepEqual(temporary(images), []);
  const rows = await inTenantTransaction(s.store, tenantId, (tx) =>
    tx.selectFrom('instances').select(['id', 'file', 'sop_instance_uid']).execute(),
  );
  assert.deepEqual(rows.map((r) => r.sop_instance_uid).sort(), expected.map((i) => i.sopInstanceUid).sort());
  assert.deepEqual(
    sealed(images).sort(),
    rows.map((r) => r.file).sort(),
    'no file without its row, no row without its file',
  );
  const key = await inTenantTransaction(s.store, tenantId, (tx) => s.keyring.departmentKey(tx, tenantId, departmentId));
  for (const r of rows) {
    const parts: Buffer[] = [];
    for await (const c of s.instances.open(tenantId, r, key)) parts.push(c);
    const inst = expected.find((i) => i.sopInstanceUid === r.sop_instance_uid)!;
    assert.ok(Buffer.concat(parts).subarray(-inst.dataset.length).equals(inst.dataset), 'the stored dataset is whole');
  }
}

test('a SIGKILL in the middle of a C-STORE or a STOW-RS leaves no orphan file after the restart; the chain verifies', {
  timeout: 240_000,
}, async (t) => {
  const { h, office, departmentId, token, env, images } = await crashOffice();
  // Large enough to arrive in many pieces.
  const big = () => makeInstance({ rows: 512, columns: 512, bitsAllocated: 16, frames: 4, pixels: 'random' });
  const acknowledged: TestInstance[] = [];

  // --- Run 1: two acknowledged stores, then a STOW-RS cut off mid-body.
  const run1 = await serve(env);
  assert.match(run1.output(), /image store: nothing to recover/);
  const stowed = big();
  const whole = stowRequest(run1.base, token);
  whole.req.end(Buffer.concat([stowHead, stowed.file, stowTail]));
  assert.equal(await whole.answer, 200);
  acknowledged.push(stowed);
  const stored = big();
  const dimse = await associate(run1.dicomPort, stored);
  dimse.send(1, storeCommand(stored, 1), stored.dataset);
  assert.equal((await dimse.next()).command.status, Status.Success);
  await dimse.release();
  acknowledged.push(stored);
  assert.equal(sealed(images).length, 2);

  const cut = big();
  const slow = stowRequest(run1.base, token);
  slow.req.write(Buffer.concat([stowHead, cut.file.subarray(0, cut.file.length >> 1)]));
  await waitFor('the STOW-RS write to begin', () => temporary(images).length === 1);
  run1.child.kill('SIGKILL');
  assert.equal((await run1.exited).signal, 'SIGKILL');
  await assert.rejects(slow.answer, 'the cut-off STOW-RS was never answered');
  assert.equal(temporary(images).length, 1, 'the crash left the partial STOW-RS file');

  // --- Run 2: recovers it; then a C-STORE cut off mid-dataset.
  const run2 = await serve(env);
  assert.match(run2.output(), /"partial":1,"orphans":0,"msg":"image store recovered/);
  assert.deepEqual(temporary(images), []);
  const half = big();
  const halfway = await associate(run2.dicomPort, half);
  halfway.sendUnfinished(1, storeCommand(half, 1), half.dataset.subarray(0, half.dataset.length >> 1));
  await waitFor('the C-STORE write to begin', () => temporary(images).length === 1);
  run2.child.kill('SIGKILL');
  assert.equal((await run2.exited).signal, 'SIGKILL');
  assert.equal(temporary(images).length, 1, 'the crash left the partial C-STORE file');

  // --- Run 3: recovers it; then a STOW-RS and a C-STORE are held between their file's commit and their index's, and killed there.
  const run3 = await serve({ ...env, [TEST_PAUSE_VARIABLE]: '120000' });
  assert.match(run3.output(), /"partial":1,"orphans":0,"msg":"image store recovered/);
  assert.match(run3.output(), /test hook active/);
  assert.deepEqual(temporary(images), []);
  const before = new Set(sealed(images));
  const held = big();
  const heldStow = stowRequest(run3.base, token);
  heldStow.req.end(Buffer.concat([stowHead, held.file, stowTail]));
  const heldStore = big();
  const heldDimse = await associate(run3.dicomPort, heldStore);
  heldDimse.send(1, storeCommand(heldStore, 1), heldStore.dataset);
  await waitFor(
    'both files to commit',
    () => sealed(images).filter((f) => !before.has(f)).length === 2 && temporary(images).length === 0,
  );
  run3.child.kill('SIGKILL');
  assert.equal((await run3.exited).signal, 'SIGKILL');
  await assert.rejects(heldStow.answer, 'the held STOW-RS was never answered');
  assert.equal(sealed(images).length, 4, 'two committed files without index rows');

  // --- Run 4: removes the two orphans and keeps the acknowledged images.
  const run4 = await serve(env);
  assert.match(run4.output(), /"partial":0,"orphans":2,"msg":"image store recovered/);
  // One server per data directory: recovery must never race another server's writes.
  const second = spawnSync(process.execPath, [BIN, 'serve'], {
    cwd: ROOT,
    env: {
      ...env,
      KARTEI_LISTEN: `127.0.0.1:${await freePort()}`,
      KARTEI_DICOM_LISTEN: `127.0.0.1:${await freePort()}`,
    },
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(second.status, 1, second.stderr + second.stdout);
  assert.match(second.stderr, /another kartei server \(process \d+\) uses the data directory/);
  // The log names no instance, study or person.
  for (const inst of [cut, half, held, heldStore])
    assert.ok(!run4.output().includes(inst.sopInstanceUid) && !run3.output().includes(inst.sopInstanceUid));
  run4.child.kill('SIGTERM');
  assert.deepEqual(await run4.exited, { code: 0, signal: null }, run4.output());
  assert.ok(!fs.existsSync(path.join(h.config.dataDir, 'serve.lock')), 'a clean stop gives the lock back');

  // --- Nothing left over: every file is an indexed, readable instance; every acknowledged one is there.
  assert.deepEqual(temporary(images), []);
  const s = await createServices(loadConfig(env));
  try {
    await indexedAndWhole(s, office.tenantId, departmentId, images, acknowledged);
    const events = await inTenantTransaction(s.store, office.tenantId, (tx) =>
      tx
        .selectFrom('audit_events')
        .select(['detail', 'actor_id'])
        .where('tenant_id', '=', office.tenantId)
        .where('action', '=', 'system.store-recovery')
        .orderBy('seq')
        .execute(),
    );
    assert.deepEqual(
      events.map((e) => JSON.parse(e.detail!)),
      [
        { partial: 1, orphans: 0, kept: 0 },
        { partial: 1, orphans: 0, kept: 0 },
        { partial: 0, orphans: 2, kept: 0 },
      ],
    );
    const audit = await verifyAudit(s.store, s.signer);
    assert.ok(audit.ok, JSON.stringify(audit));
  } finally {
    await s.close();
  }
  const verify = spawnSync(process.execPath, [BIN, 'audit', 'verify'], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  assert.match(verify.stdout, /audit chain OK/);
  const doctor = spawnSync(process.execPath, [BIN, 'doctor'], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
  assert.match(
    doctor.stdout,
    /\[LOW\] At the start on .*, an interrupted store was cleaned up: 0 unfinished and 2 unindexed image files removed/,
  );
  assert.ok(fs.existsSync(path.join(h.config.dataDir, RECOVERY_FILE)));
  t.diagnostic(`recovered ${2} partial writes and 2 orphans over four starts`);
});

test('a SIGKILL at each step of a store: nothing acknowledged is lost, no row without its file, no file without its row', {
  timeout: 300_000,
}, async (t) => {
  const { office, departmentId, token, env, images } = await crashOffice();
  const small = () => makeInstance({ rows: 256, columns: 256, bitsAllocated: 16, pixels: 'random' });
  /** What the index must hold at the end: every acknowledged store, and those killed after their index commit. */
  const expected: TestInstance[] = [];

  /** One store by STOW-RS and one by C-STORE, both answered. */
  async function storeBoth(server: Server) {
    const stowed = small();
    const stow = stowRequest(server.base, token);
    stow.req.end(Buffer.concat([stowHead, stowed.file, stowTail]));
    assert.equal(await stow.answer, 200);
    const stored = small();
    const dimse = await associate(server.dicomPort, stored);
    dimse.send(1, storeCommand(stored, 1), stored.dataset);
    assert.equal((await dimse.next()).command.status, Status.Success);
    await dimse.release();
    expected.push(stowed, stored);
  }
  const recovered = (orphans: number) =>
    orphans === 0 ? /image store: nothing to recover/ : new RegExp(`"partial":0,"orphans":${orphans},`);
  const killed = async (server: Server) => {
    server.child.kill('SIGKILL');
    assert.equal((await server.exited).signal, 'SIGKILL');
  };

  const steps = [
    { step: 'renamed', kept: false },
    { step: 'committed', kept: false },
    { step: 'indexed', kept: true },
  ] as const;
  let orphansBefore = 0;
  for (const { step, kept } of steps) {
    // A server answers two stores and is killed right after the answers.
    const answered = await serve(env);
    assert.match(answered.output(), recovered(orphansBefore));
    await storeBoth(answered);
    await killed(answered);

    // The next one holds two stores at the step and is killed there.
    const held = await serve({ ...env, [TEST_PAUSE_VARIABLE]: `${step}:120000` });
    const stowed = small();
    const stow = stowRequest(held.base, token);
    stow.req.end(Buffer.concat([stowHead, stowed.file, stowTail]));
    const stored = small();
    const dimse = await associate(held.dicomPort, stored);
    dimse.send(1, storeCommand(stored, 1), stored.dataset);
    const holding = () => held.output().split(`kartei test pause: ${step}`).length - 1;
    await waitFor(`both stores to reach ${step}`, () => holding() === 2);
    await killed(held);
    await assert.rejects(stow.answer, `the STOW-RS held at ${step} was never answered`);
    if (kept) expected.push(stowed, stored);
    orphansBefore = kept ? 0 : 2;
  }
  const last = await serve(env);
  assert.match(last.output(), recovered(orphansBefore));
  last.child.kill('SIGTERM');
  assert.deepEqual(await last.exited, { code: 0, signal: null }, last.output());

  const s = await createServices(loadConfig(env));
  try {
    await indexedAndWhole(s, office.tenantId, departmentId, images, expected);
    const audit = await verifyAudit(s.store, s.signer);
    assert.ok(audit.ok, JSON.stringify(audit));
  } finally {
    await s.close();
  }
  t.diagnostic(`${expected.length} instances kept over ${steps.length * 2 + 1} starts`);
});
