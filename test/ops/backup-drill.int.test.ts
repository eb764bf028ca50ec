// The backup drill (issue 19), with real processes: a `kartei serve` takes writes under load —
// persons over HTTP and images over C-STORE, each acknowledgement noted with its time — while
// `kartei backup` runs beside it; more writes follow; the server stops (signing its last
// checkpoint, so the key directory's witness is ahead of the backup). `kartei restore` brings the
// backup into a new data directory next to the same key directory; then `kartei audit verify`
// passes, `kartei doctor` has nothing critical and names the restore's gap, and a server started
// on it reads every write acknowledged before the backup began — persons and images, byte for
// byte — and none begun after it ended; the restored rows are the manifest's counts. Small on
// purpose (CI); the large sizes are bench/backup.ts's.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import SQLite from 'better-sqlite3';
import { CommandField, Status } from '../../src/imaging/dicom/command.ts';
import { MANIFEST_FILE, type DataManifest } from '../../src/ops/backup-manifest.ts';
import { DIALECT, freePort, samplePerson, setUpTenant, startHarness } from '../helpers/harness.ts';
import { DimseClient } from '../helpers/dimse-client.ts';
import { makeInstance, type TestInstance } from '../helpers/dicom-files.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/kartei.js');
const children = new Set<ChildProcess>();
const dirs: string[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Served {
  child: ChildProcess;
  base: string;
  dicomPort: number;
  exited: Promise<number | null>;
  output: () => string;
}

async function serve(env: Record<string, string>): Promise<Served> {
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
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
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

/** Runs a `kartei` command to its end: exit code and output. */
function kartei(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d) => (out += d));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out })));
}

interface Ack<T> {
  what: T;
  sentAt: number;
  ackAt: number;
}

test('the drill: writes under load, a backup in the middle, more writes, restore, start — everything acknowledged before the backup is there', {
  skip:
    DIALECT === 'postgres'
      ? 'PostgreSQL: the database is the operator’s pg_dump (test/ops/backup-postgres.int.test.ts)'
      : false,
  timeout: 300_000,
}, async (t) => {
  // --- An office with a physician (HTTP) and a registered modality (C-STORE), set up in process.
  const h = await startHarness();
  dirs.push(h.dir);
  const office = await setUpTenant(h, ['INF']);
  const INF = office.departments.INF!;
  const physician = await office.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  const device = await office.admin.post('/api/admin/devices', {
    aeTitle: 'DRILLCT',
    departmentId: INF,
    permissions: ['store'],
    host: '127.0.0.1',
  });
  assert.equal(device.status, 201, JSON.stringify(device.body));
  await h.stop();
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KARTEI_'))) as Record<
    string,
    string
  >;
  const env = {
    ...base,
    KARTEI_LANG: 'en', // the command's English words: this test is about what it does
    KARTEI_DATA_DIR: h.config.dataDir,
    KARTEI_KEY_DIR: h.config.keyDir,
    KARTEI_LOG_LEVEL: 'warn',
  };
  const headers = {
    'content-type': 'application/json',
    cookie: `kartei_session=${physician.cookie}`,
    'x-csrf-token': physician.csrf!,
  };

  // --- The server under load: persons over HTTP on two connections, images over C-STORE.
  const server = await serve(env);
  const persons: Ack<string>[] = [];
  const images: Ack<TestInstance>[] = [];
  let stop = false;
  let seq = 0;
  const httpLoad = async () => {
    while (!stop) {
      const sentAt = Date.now();
      const r = await fetch(`${server.base}/api/persons`, {
        method: 'POST',
        headers,
        body: JSON.stringify(samplePerson(INF, `Drillberg${String.fromCharCode(97 + (seq++ % 26))}`)),
      });
      const text = await r.text();
      assert.equal(r.status, 201, text);
      persons.push({ what: (JSON.parse(text) as { id: string }).id, sentAt, ackAt: Date.now() });
    }
  };
  const dimseLoad = async () => {
    const first = makeInstance({ rows: 16, columns: 16 });
    const assoc = await DimseClient.associate(server.dicomPort, {
      calling: 'DRILLCT',
      called: 'KARTEI',
      contexts: [{ id: 1, abstractSyntax: first.sopClassUid, transferSyntax: first.transferSyntax }],
    });
    let id = 0;
    while (!stop) {
      const inst = images.length === 0 && id === 0 ? first : makeInstance({ rows: 16, columns: 16, pixels: 'random' });
      const sentAt = Date.now();
      assoc.send(
        1,
        {
          commandField: CommandField.CStoreRq,
          hasDataset: true,
          affectedSopClassUid: inst.sopClassUid,
          affectedSopInstanceUid: inst.sopInstanceUid,
          messageId: ++id,
          priority: 0,
        },
        inst.dataset,
      );
      assert.equal((await assoc.next()).command.status, Status.Success);
      images.push({ what: inst, sentAt, ackAt: Date.now() });
    }
    await assoc.release();
  };
  // A failing writer stops the others, and the test, at once.
  const guarded = (f: () => Promise<void>) =>
    f().catch((e) => {
      stop = true;
      throw new Error(`${(e as Error).message}; server: ${server.output()}`);
    });
  const load = Promise.all([guarded(httpLoad), guarded(httpLoad), guarded(dimseLoad)]);
  load.catch(() => undefined);
  const until = async (done: () => boolean) => {
    while (!done()) {
      if (stop) await load;
      await sleep(20);
    }
  };
  await until(() => persons.length >= 20 && images.length >= 8);

  // --- The backup, in the middle of the writes.
  const dest = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-drill-backup-'));
  dirs.push(dest);
  fs.rmdirSync(dest);
  const backupStarted = Date.now();
  const backup = await kartei(['backup', dest], env);
  const backupEnded = Date.now();
  assert.equal(backup.code, 0, backup.out);
  assert.match(backup.out, /backup complete: \d+ file\(s\)/);
  const duringBackup = { persons: persons.length, images: images.length };
  // --- More writes after it.
  await until(() => persons.length >= duringBackup.persons + 15 && images.length >= duringBackup.images + 5);
  stop = true;
  await load;
  server.child.kill('SIGTERM');
  assert.equal(await server.exited, 0, server.output());

  const manifest = JSON.parse(fs.readFileSync(path.join(dest, MANIFEST_FILE), 'utf8')) as DataManifest;
  const before = <T>(a: Ack<T>[]) => a.filter((w) => w.ackAt < backupStarted);
  const afterwards = <T>(a: Ack<T>[]) => a.filter((w) => w.sentAt > backupEnded);
  assert.ok(before(persons).length >= 20 && before(images).length >= 8);
  assert.ok(afterwards(persons).length > 0 && afterwards(images).length > 0);

  // --- Restore into a new data directory, next to the same key directory (its witness is ahead of the backup).
  const restoredDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-drill-restored-'));
  dirs.push(restoredDir);
  const env2 = { ...env, KARTEI_DATA_DIR: path.join(restoredDir, 'data') };
  const check = await kartei(['restore', '--check', dest], env2);
  assert.equal(check.code, 0, check.out);
  const restore = await kartei(['restore', dest], env2);
  assert.equal(restore.code, 0, restore.out);
  assert.match(restore.out, new RegExp(`audit chain ${office.tenantId}: events \\d+–\\d+ .* not in it`));
  const verify = await kartei(['audit', 'verify'], env2);
  assert.equal(verify.code, 0, verify.out);
  assert.match(verify.out, /audit chain OK/);
  assert.match(verify.out, /restored on .* from the backup of .*: .*events \d+–\d+/);
  const doctor = await kartei(['doctor'], env2);
  assert.equal(doctor.code, 0, doctor.out);
  assert.match(doctor.out, /\[LOW\] Restored on .* from the backup of .*: .* events \d+–\d+/);
  assert.doesNotMatch(doctor.out, /CRITICAL/);

  // --- Start on the restored data: everything acknowledged before the backup began reads back.
  const restored = await serve({ ...env2, KARTEI_LOG_LEVEL: 'info' });
  const read = (url: string, accept = 'application/json') =>
    fetch(`${restored.base}${url}`, { headers: { ...headers, accept } });
  for (const p of before(persons)) assert.equal((await read(`/api/persons/${p.what}`)).status, 200, p.what);
  for (const p of afterwards(persons)) assert.equal((await read(`/api/persons/${p.what}`)).status, 404, p.what);
  for (const { what: i } of before(images)) {
    const r = await read(
      `/dicom-web/studies/${i.studyInstanceUid}/series/${i.seriesInstanceUid}/instances/${i.sopInstanceUid}`,
      'multipart/related; type="application/dicom"',
    );
    assert.equal(r.status, 200, i.sopInstanceUid);
    assert.ok(Buffer.from(await r.arrayBuffer()).includes(i.dataset), 'the image reads back byte for byte');
  }
  restored.child.kill('SIGTERM');
  assert.equal(await restored.exited, 0, restored.output());
  assert.match(restored.output(), /image store: nothing to recover/);

  // --- The restored rows are the manifest's counts; the files exactly the manifest's.
  const db = new SQLite(path.join(env2.KARTEI_DATA_DIR, 'kartei.sqlite'), { readonly: true });
  try {
    const n = (table: string) => (db.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n;
    assert.equal(n('persons'), manifest.counts!.persons);
    assert.equal(n('instances'), manifest.counts!.instances);
    assert.ok(manifest.counts!.persons >= before(persons).length && manifest.counts!.persons < persons.length);
    assert.ok(manifest.counts!.instances >= before(images).length && manifest.counts!.instances < images.length);
  } finally {
    db.close();
  }
  t.diagnostic(
    `acknowledged ${persons.length} persons and ${images.length} images; ${before(persons).length}/${before(images).length} before the backup, ` +
      `${manifest.counts!.persons}/${manifest.counts!.instances} in it; backup ${backupEnded - backupStarted} ms`,
  );
});
