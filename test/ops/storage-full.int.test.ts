// A full disk is a state (issue 19), tried for real: the data directory on a
// small tmpfs (mounted here, as root; skipped with the reason where mounting is
// impossible), filled by a file that grows while records are written and read.
// Every answer is a success or a 503 `storage-full` (never a bare 500), writes
// and reads are both refused that way once nothing fits, readiness fails, the
// log says it once, metrics and `kartei doctor` say it; after the filler is
// removed everything works again, every acknowledged write is there (also after
// a restart) and the audit chain verifies.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  login,
  setUpTenant,
  startHarness,
  samplePerson,
  DIALECT,
  type Harness,
  type Client,
} from '../helpers/harness.ts';
import { verifyAudit } from '../../src/audit/verify.ts';
import { storageFindings } from '../../src/ops/storage-space.ts';

const SIZE_MB = 40;

/** Mounts a tmpfs of `SIZE_MB` at a new directory, or says why it cannot. */
function mountSmall(): { dir: string; unmount: () => void } | string {
  if (process.getuid?.() !== 0) return 'not root: cannot mount a small file system';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${SIZE_MB}m,mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    fs.rmdirSync(dir);
    return `mount -t tmpfs failed (${String((e as { stderr?: Buffer }).stderr ?? e).trim()})`;
  }
  return {
    dir,
    unmount: () => {
      execFileSync('umount', ['-l', dir]);
      fs.rmdirSync(dir);
    },
  };
}

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
});

/** Grows a file until the file system refuses (ENOSPC), in 256 KiB steps, yielding between them. */
async function fillUp(file: string): Promise<void> {
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(256 * 1024, 0x5a);
  try {
    for (;;) {
      fs.writeSync(fd, chunk);
      await sleep(2);
    }
  } catch (e) {
    if ((e as { code?: string }).code !== 'ENOSPC') throw e;
  } finally {
    fs.closeSync(fd);
  }
  // Whatever is left in smaller pieces too.
  const fd2 = fs.openSync(file, 'a');
  try {
    for (;;) fs.writeSync(fd2, Buffer.alloc(4096, 0x5a));
  } catch (e) {
    if ((e as { code?: string }).code !== 'ENOSPC') throw e;
  } finally {
    fs.closeSync(fd2);
  }
}

test('a full data directory answers 503 storage-full for writes and reads, fails readiness, and works again once freed', {
  skip: DIALECT !== 'sqlite' ? 'the data directory holds the database only on SQLite' : false,
}, async (t) => {
  const mounted = mountSmall();
  if (typeof mounted === 'string') {
    t.skip(mounted);
    return;
  }
  cleanups.push(mounted.unmount);
  const logLines: string[] = [];
  const capture = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  const dataDir = path.join(mounted.dir, 'data');
  let h: Harness = await startHarness({
    env: { KARTEI_DATA_DIR: dataDir, KARTEI_STORAGE_LOW_MB: '24', KARTEI_LOG_LEVEL: 'info' },
    logger: true,
    logDestination: capture,
  });
  cleanups.push(() => h.close());
  const office = await setUpTenant(h, ['INF']);
  const physician = await office.user({ memberships: [{ departmentId: office.departments.INF!, role: 'physician' }] });
  const person = (await physician.post('/api/persons', samplePerson(office.departments.INF!))).body.id as string;
  assert.ok(person);

  const acknowledged: string[] = [];
  const answers = { ok: 0, full: 0, other: [] as string[] };
  const judge = (r: { status: number; body: { code?: string } | undefined }, what: string) => {
    if (r.status === 503 && r.body?.code === 'storage-full') answers.full++;
    else if (r.status >= 200 && r.status < 300) answers.ok++;
    else answers.other.push(`${what} ${r.status} ${r.body?.code}`);
  };
  const write = async (c: Client, n: number) => {
    const r = await c.post(`/api/persons/${person}/records`, {
      type: 'note',
      sensitivity: 'normal',
      content: { text: `Verlaufsnotiz ${n}: ${'Hausbesuch, Befund unauffällig. '.repeat(60)}` },
    });
    judge(r, 'write');
    if (r.status === 201) acknowledged.push(r.body.id);
    return r;
  };
  const read = async (c: Client) => {
    const id = acknowledged[Math.floor(Math.random() * acknowledged.length)];
    const r = await c.get(`/api/records/${id}`);
    judge(r, 'read');
    return r;
  };
  for (let n = 0; n < 20; n++) assert.equal((await write(physician, n)).status, 201);
  assert.equal((await new Client0(h).get('/readyz')).status, 200);

  // Writers and readers keep going while a filler takes the rest of the file system.
  let filling = true;
  const filler = path.join(mounted.dir, 'filler');
  const load = (async () => {
    let n = 100;
    while (filling) await Promise.all([write(physician, n++), write(physician, n++), read(physician)]);
  })();
  await fillUp(filler);
  // Until both a write and a read have been refused for want of space (bounded).
  let writeRefused = false;
  let readRefused = false;
  for (let i = 0; i < 400 && !(writeRefused && readRefused); i++) {
    const w = await write(physician, 10_000 + i);
    if (w.status === 503) writeRefused = true;
    const r = await read(physician);
    if (r.status === 503) readRefused = true;
  }
  filling = false;
  await load;
  assert.deepEqual(answers.other, [], 'every answer was a success or 503 storage-full');
  assert.ok(writeRefused, 'a write was refused with storage-full');
  assert.ok(readRefused, 'a read was refused with storage-full (its audit event could not be written)');
  const refusal = await write(physician, 99_999);
  if (refusal.status === 503) {
    assert.equal(refusal.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal(refusal.headers['retry-after'], '60');
    assert.equal(refusal.body.title, 'Storage full; the request was not carried out');
  }

  // Readiness (looked at most once a second), the log (once), metrics and the doctor say it.
  await sleep(1_100);
  const ready = await new Client0(h).get('/readyz');
  assert.equal(ready.status, 503);
  assert.equal(ready.body.status, 'not-ready');
  assert.equal(ready.body.checks.storage, 'full');
  assert.equal((await new Client0(h).get('/healthz')).status, 200, 'alive all the same');
  const fullLines = logLines.filter((l) => l.includes('storage full'));
  assert.equal(fullLines.length, 1, `one log line, not one per request: ${fullLines.length}`);
  const metrics = await h.services.ops!.metrics!.text();
  assert.match(metrics, /^kartei_storage_state 2$/m);
  assert.match(metrics, /^kartei_storage_full_refusals_total [1-9]\d*$/m);
  assert.ok(
    storageFindings(h.config).some((f) => f.code === 'storage-full' && f.severity === 'critical'),
    'kartei doctor: critical storage-full',
  );

  // Space again: ready once the watcher has looked, writes and reads work.
  fs.rmSync(filler);
  let again = 0;
  for (let i = 0; i < 40; i++) {
    again = (await new Client0(h).get('/readyz')).status;
    if (again === 200) break;
    await sleep(500);
  }
  assert.equal(again, 200, 'ready again after space was freed');
  for (let n = 0; n < 5; n++) assert.equal((await write(physician, 20_000 + n)).status, 201);
  assert.ok(logLines.some((l) => l.includes('free space back above')));

  // Nothing acknowledged is lost, now and after a restart, and the chain verifies.
  const check = async (c: Client) => {
    for (const id of acknowledged) assert.equal((await c.get(`/api/records/${id}`)).status, 200, `record ${id}`);
    const v = await verifyAudit(h.services.store, h.services.signer);
    assert.ok(v.ok, `audit chain verifies: ${JSON.stringify(v)}`);
  };
  await check(physician);
  const installation = h.installation;
  const clock = h.clock.now;
  await h.stop();
  h = await startHarness({ reopen: installation, env: { KARTEI_DATA_DIR: dataDir } });
  h.clock.now = clock + 60_000; // past the last TOTP time step used (each login moved the clock)
  const reopened = await login(h, physician.username, physician.password);
  await check(reopened);
  t.diagnostic(
    `acknowledged ${acknowledged.length} writes; ${answers.ok} successes, ${answers.full} storage-full answers`,
  );
});

/** A client without a session, for the probes. */
class Client0 {
  readonly h: Harness;
  constructor(h: Harness) {
    this.h = h;
  }
  async get(url: string) {
    const r = await this.h.app.inject({ method: 'GET', url });
    return { status: r.statusCode, body: r.body ? JSON.parse(r.body) : undefined };
  }
}
