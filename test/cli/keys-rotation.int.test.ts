// Issue 19: keys — `kartei keys rotate-master` re-wraps the offices' keys under a new master
// without re-encrypting data, keeps every username findable (the deployment index key is
// kept, sealed under the new master), is audited without key material, and survives a crash
// at each of its steps: the process is killed there, the server then starts with everything
// readable, and the command run again completes the rotation. It refuses while a server runs.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { DEPLOYMENT_CHAIN } from '../../src/db/schema.ts';
import { verifyAudit } from '../../src/audit/verify.ts';
import { DecryptionError } from '../../src/vault/aead.ts';
import { Keyring } from '../../src/vault/keyring.ts';
import { MASTER_ROTATION_STEPS, masterRotationState } from '../../src/vault/master-rotation.ts';
import { KEYS_CRASH_VARIABLE } from '../../src/cli/key-commands.ts';
import { databaseFindings } from '../../src/ops/security-findings.ts'; // Issue 19: keys-online
import {
  freePort,
  login,
  samplePerson,
  setUpTenant,
  startHarness,
  type Harness,
  type Installation,
} from '../helpers/harness.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/kartei.js');

const dirs = new Set<string>();
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** The login clock carried from one harness to the next, so no TOTP step is used twice. */
let clock = Date.now();
async function open(installation: Installation): Promise<Harness> {
  const h = await startHarness({ reopen: installation });
  h.clock.now = Math.max(h.clock.now, clock);
  return h;
}
async function close(h: Harness) {
  clock = Math.max(clock, h.clock.now) + 60_000;
  await h.stop();
}

interface Installed {
  installation: Installation;
  username: string;
  password: string;
  personId: string;
  tenantId: string;
}

/** An installation with an office, a physician and one person's file, stopped. */
async function install(): Promise<Installed> {
  const h = await startHarness();
  dirs.add(h.dir);
  const t = await setUpTenant(h, ['INF']);
  const doc = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'physician' }] });
  const p = await doc.post('/api/persons', samplePerson(t.departments.INF!));
  assert.equal(p.status, 201, JSON.stringify(p.body));
  await close(h);
  return {
    installation: h.installation,
    username: doc.username,
    password: doc.password,
    personId: p.body.id,
    tenantId: t.tenantId,
  };
}

/** Logs in by username (the deployment index), reads the file and finds it by name (the office's index). */
async function assertReadable(i: Installed) {
  const h = await open(i.installation);
  try {
    const c = await login(h, i.username, i.password);
    const p = await c.get(`/api/persons/${i.personId}`);
    assert.equal(p.status, 200, JSON.stringify(p.body));
    assert.equal(p.body.familyName, 'Quastenberg');
    const found = await c.get('/api/persons?q=Quastenberg');
    assert.deepEqual(
      (found.body as { id: string }[]).map((x) => x.id),
      [i.personId],
    );
  } finally {
    await close(h);
  }
}

function kartei(i: Installation, args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      KARTEI_LANG: 'en', // the command's English words: this test is about what it does
      KARTEI_DATA_DIR: path.join(i.dir, 'data'),
      KARTEI_KEY_DIR: path.join(i.dir, 'keys'),
      KARTEI_LOG_LEVEL: 'silent',
      KARTEI_TEST_KEY_REFRESH_MS: '100', // Issue 19: keys-online — a department rotation waits twice this
      ...(i.database.databaseUrl ? { KARTEI_DATABASE_URL: i.database.databaseUrl } : {}),
      ...(i.database.databaseAdminUrl ? { KARTEI_DATABASE_ADMIN_URL: i.database.databaseAdminUrl } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (out += d));
  return {
    child,
    done: new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal, out })),
    ),
  };
}

const keyDir = (i: Installation) => path.join(i.dir, 'keys');

/** The rotation's audit events on the installation's chain: phases and key ids, and nothing of a key. */
async function rotationEvents(i: Installation) {
  const h = await open(i);
  try {
    const verified = await verifyAudit(h.services.store, h.services.signer);
    assert.equal(verified.ok, true, JSON.stringify(verified));
    const rows = await inTenantTransaction(h.services.store, DEPLOYMENT_CHAIN, (tx) =>
      tx
        .selectFrom('audit_events')
        .select(['detail', 'actor_id'])
        .where('tenant_id', '=', DEPLOYMENT_CHAIN)
        .where('action', '=', 'keys.master.rotate')
        .orderBy('seq')
        .execute(),
    );
    return rows.map((r) => JSON.parse(String(r.detail)) as Record<string, string | number>);
  } finally {
    await close(h);
  }
}

test('rotate-master: office keys re-wrapped under a new master, usernames still found, the old master opens nothing, audited', async () => {
  const i = await install();
  const oldMaster = fs.readFileSync(path.join(keyDir(i.installation), 'master.key'));
  const before = masterRotationState(keyDir(i.installation));
  assert.equal(before.state, 'none');
  assert.equal(before.indexStored, false);

  const r = await kartei(i.installation, ['keys', 'rotate-master']).done;
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /master key rotated: [0-9a-f]{16} → [0-9a-f]{16}; 1 office key\(s\)/);
  const st = masterRotationState(keyDir(i.installation));
  assert.equal(st.state, 'none');
  assert.notEqual(st.current, before.current);
  assert.equal(st.indexStored, true);
  assert.deepEqual(
    fs.readdirSync(keyDir(i.installation)).filter((f) => f.startsWith('master')),
    ['master.key'],
  );
  for (const f of fs.readdirSync(keyDir(i.installation)))
    assert.equal(fs.statSync(path.join(keyDir(i.installation), f)).mode & 0o077, 0, f);
  await assertReadable(i);

  // The old master no longer opens the office's key; the database holds no key in the clear.
  const h = await open(i.installation);
  try {
    await inTenantTransaction(h.services.store, i.tenantId, async (tx) => {
      await assert.rejects(new Keyring(oldMaster).tenantKey(tx, i.tenantId), DecryptionError);
      const row = await tx
        .selectFrom('data_keys')
        .select(['wrapped_by'])
        .where('scope', '=', 'tenant')
        .where('owner_id', '=', i.tenantId)
        .executeTakeFirstOrThrow();
      assert.equal(row.wrapped_by, st.current);
    });
  } finally {
    await close(h);
  }

  // A second rotation works the same way from a stored index key.
  const again = await kartei(i.installation, ['keys', 'rotate-master']).done;
  assert.equal(again.code, 0, again.out);
  await assertReadable(i);

  const events = await rotationEvents(i.installation);
  assert.deepEqual(
    events.map((e) => e.phase),
    ['started', 'completed', 'started', 'completed'],
  );
  assert.equal(events[0]!.from, before.current);
  assert.equal(events[1]!.to, st.current);
  const keyHex = [oldMaster, fs.readFileSync(path.join(keyDir(i.installation), 'master.key'))].map((k) =>
    k.toString('hex'),
  );
  for (const e of events) for (const k of keyHex) assert.equal(JSON.stringify(e).includes(k), false);
  const status = await kartei(i.installation, ['keys', 'status']).done;
  assert.equal(status.code, 0, status.out);
  assert.match(status.out, /office keys wrapped under [0-9a-f]{16}: 1/);
});

// Every step after which the process can die: killed there, the next start reads everything,
// and the command run again completes the rotation.
for (const step of MASTER_ROTATION_STEPS.filter((s) => s !== 'finished')) {
  test(`rotate-master killed after "${step}": the server starts with all readable, the rotation is completed when run again`, async () => {
    const i = await install();
    const crashed = await kartei(i.installation, ['keys', 'rotate-master'], { [KEYS_CRASH_VARIABLE]: step }).done;
    assert.equal(crashed.signal ?? (crashed.code === 137 ? 'SIGKILL' : null), 'SIGKILL', crashed.out);
    const mid = masterRotationState(keyDir(i.installation));
    assert.equal(
      mid.state,
      ['linked', 'prepared', 'indexed', 'rewrapped'].includes(step) ? 'before-switch' : 'after-switch',
    );
    await assertReadable(i);
    const status = await kartei(i.installation, ['keys', 'status']).done;
    assert.equal(status.code, 1, status.out);
    assert.match(status.out, /ROTATION INTERRUPTED/);

    const done = await kartei(i.installation, ['keys', 'rotate-master']).done;
    assert.equal(done.code, 0, done.out);
    assert.match(done.out, /interrupted rotation completed/);
    const st = masterRotationState(keyDir(i.installation));
    assert.equal(st.state, 'none');
    assert.equal(st.current, mid.state === 'before-switch' ? mid.next : mid.current);
    assert.deepEqual(
      fs.readdirSync(keyDir(i.installation)).filter((f) => f.startsWith('master')),
      ['master.key'],
    );
    await assertReadable(i);
    const phases = (await rotationEvents(i.installation)).map((e) => e.phase);
    assert.deepEqual(phases, ['started', 'resumed', 'completed']);
  });
}

test('rotate-master refuses while the server runs, and a second rotation while one runs', async () => {
  const i = await install();
  const port = await freePort();
  const server = kartei(i.installation, ['serve'], { KARTEI_LISTEN: `127.0.0.1:${port}` });
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      assert.ok(Date.now() < deadline, 'server did not come up');
      await new Promise((r) => setTimeout(r, 100));
    }
    const refused = await kartei(i.installation, ['keys', 'rotate-master']).done;
    assert.equal(refused.code, 1, refused.out);
    assert.match(refused.out, /rotated with the server stopped/);
    assert.equal(masterRotationState(keyDir(i.installation)).state, 'none');
  } finally {
    server.child.kill('SIGTERM');
    await server.done;
  }
  // Two at once: whichever holds the lock rotates, one that comes while it does is refused; nothing is left half-done.
  const both = await Promise.all([
    kartei(i.installation, ['keys', 'rotate-master']).done,
    kartei(i.installation, ['keys', 'rotate-master']).done,
  ]);
  assert.ok(
    both.some((r) => r.code === 0),
    both.map((r) => r.out).join(''),
  );
  for (const r of both.filter((x) => x.code !== 0)) {
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /rotated with the server stopped: another kartei server/);
  }
  assert.equal(masterRotationState(keyDir(i.installation)).state, 'none');
  await assertReadable(i);
});

/** A person's wrapped key: the form and key version of its department key's seal (1 for form 1). */
async function personKeyVersion(h: Harness, tenantId: string, personId: string): Promise<number> {
  const row = await inTenantTransaction(h.services.store, tenantId, (tx) =>
    tx
      .selectFrom('data_keys')
      .select('wrapped')
      .where('scope', '=', 'person')
      .where('owner_id', '=', personId)
      .executeTakeFirstOrThrow(),
  );
  return row.wrapped[0] === 2 ? row.wrapped.readUInt16BE(1) : 1;
}

async function departmentRotations(i: Installed) {
  const h = await open(i.installation);
  try {
    const verified = await verifyAudit(h.services.store, h.services.signer);
    assert.equal(verified.ok, true, JSON.stringify(verified));
    const rows = await inTenantTransaction(h.services.store, i.tenantId, (tx) =>
      tx
        .selectFrom('audit_events')
        .select(['detail'])
        .where('tenant_id', '=', i.tenantId)
        .where('action', '=', 'keys.department.rotate')
        .orderBy('seq')
        .execute(),
    );
    return rows.map((r) => JSON.parse(String(r.detail)) as { from: number; to: number });
  } finally {
    await close(h);
  }
}

test('rotate-department: new data under the new key version, earlier data still opens, digests still match, audited', async () => {
  const i = await install();
  // A case before the rotation: its disease sealed with the department key and found by a department-keyed digest.
  const cases: string[] = [];
  const addCase = async (c: Awaited<ReturnType<typeof login>>, personId: string) => {
    const r = await c.post(`/api/persons/${personId}/records`, {
      type: 'ifsg-case',
      sensitivity: 'normal',
      content: {
        disease: { code: 'msvd', display: 'Masernvirus-Erkrankung' },
        status: 'confirmed',
        notifiedOn: '2026-12-04',
      },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    cases.push(r.body.id);
  };
  let INF = '';
  {
    const h = await open(i.installation);
    const c = await login(h, i.username, i.password);
    INF = (await c.get(`/api/persons/${i.personId}`)).body.departmentId;
    await addCase(c, i.personId);
    await close(h);
  }
  const first = await kartei(i.installation, ['keys', 'rotate-department', 'INF']).done;
  assert.equal(first.code, 0, first.out);
  assert.match(first.out, /key version 1 → 2/);
  await assertReadable(i);

  const created: string[] = [];
  const names: Record<number, string> = { 2: 'Neuwalder', 3: 'Birkenfeld' };
  for (const expected of [2, 3]) {
    const h = await open(i.installation);
    try {
      const c = await login(h, i.username, i.password);
      const p = await c.post('/api/persons', samplePerson(INF, names[expected]!));
      assert.equal(p.status, 201, JSON.stringify(p.body));
      created.push(p.body.id);
      assert.equal(await personKeyVersion(h, i.tenantId, p.body.id), expected, 'the new file under the new version');
      assert.equal(await personKeyVersion(h, i.tenantId, i.personId), 1, 'the old file untouched');
      for (const id of [i.personId, ...created]) assert.equal((await c.get(`/api/persons/${id}`)).status, 200);
      const found = await c.get(`/api/persons?q=${names[expected]}`);
      assert.deepEqual(
        (found.body as { id: string }[]).map((x) => x.id),
        [p.body.id],
      );
      // Cases sealed under every version so far are listed by the same disease digest, their disease opened.
      await addCase(c, p.body.id);
      const listed = await c.get(`/api/departments/${INF}/cases?disease=msvd`);
      assert.equal(listed.status, 200, JSON.stringify(listed.body));
      assert.deepEqual(
        (listed.body as { recordId: string }[]).map((x) => x.recordId).sort(),
        [...cases].sort(),
        JSON.stringify(listed.body),
      );
    } finally {
      await close(h);
    }
    if (expected === 2) {
      const second = await kartei(i.installation, ['keys', 'rotate-department', 'INF']).done;
      assert.equal(second.code, 0, second.out);
      assert.match(second.out, /key version 2 → 3/);
    }
  }
  await assertReadable(i);
  assert.deepEqual(
    (await departmentRotations(i)).map((e) => [e.from, e.to]),
    [
      [1, 2],
      [2, 3],
    ],
  );
  const unknown = await kartei(i.installation, ['keys', 'rotate-department', 'NOPE']).done;
  assert.equal(unknown.code, 1, unknown.out);
  assert.match(unknown.out, /no department with code or id "NOPE"/);
});

for (const step of ['department-pending', 'department-sealed', 'department-committed'])
  test(`rotate-department killed at "${step}": one version or the next, all readable, a second run rotates`, async () => {
    const i = await install();
    const crashed = await kartei(i.installation, ['keys', 'rotate-department', 'INF'], { [KEYS_CRASH_VARIABLE]: step })
      .done;
    assert.equal(crashed.signal ?? (crashed.code === 137 ? 'SIGKILL' : null), 'SIGKILL', crashed.out);
    await assertReadable(i);
    const before = (await departmentRotations(i)).map((e) => e.to);
    assert.deepEqual(before, step === 'department-committed' ? [2] : []);
    if (step === 'department-pending') {
      // Issue 19: keys-online — the doctor names the rotation stopped between its steps.
      const h = await open(i.installation);
      try {
        const found = (await databaseFindings(h.services, i.tenantId)).map((f) => [f.code, f.params]);
        assert.deepEqual(
          found.filter(([c]) => String(c).startsWith('department-key-')),
          [['department-key-rotation-pending', { department: 'INF', version: 2 }]],
        );
      } finally {
        await close(h);
      }
    }
    const again = await kartei(i.installation, ['keys', 'rotate-department', 'INF']).done;
    assert.equal(again.code, 0, again.out);
    await assertReadable(i);
    assert.deepEqual(
      (await departmentRotations(i)).map((e) => e.to),
      [...before, before.length + 2],
    );
  });

test("rewrap-department: persons' keys re-wrapped under the new version in batches with progress; killed after a batch, run again it goes on", async () => {
  const i = await install();
  const people = [i.personId];
  {
    const h = await open(i.installation);
    const c = await login(h, i.username, i.password);
    const INF = (await c.get(`/api/persons/${i.personId}`)).body.departmentId;
    for (const name of ['Auerbach', 'Brenninger', 'Czerwinski', 'Dallmayr']) {
      const p = await c.post('/api/persons', samplePerson(INF, name));
      assert.equal(p.status, 201, JSON.stringify(p.body));
      people.push(p.body.id);
    }
    await close(h);
  }
  const rotated = await kartei(i.installation, ['keys', 'rotate-department', 'INF']).done;
  assert.equal(rotated.code, 0, rotated.out);
  const versions = async () => {
    const h = await open(i.installation);
    try {
      const c = await login(h, i.username, i.password);
      for (const id of people) assert.equal((await c.get(`/api/persons/${id}`)).status, 200);
      return await Promise.all(people.map((id) => personKeyVersion(h, i.tenantId, id)));
    } finally {
      await close(h);
    }
  };
  assert.deepEqual((await versions()).sort(), [1, 1, 1, 1, 1]);

  const crashed = await kartei(i.installation, ['keys', 'rewrap-department', 'INF', '--batch', '2'], {
    [KEYS_CRASH_VARIABLE]: 'rewrap-batch:1',
  }).done;
  assert.equal(crashed.signal ?? (crashed.code === 137 ? 'SIGKILL' : null), 'SIGKILL', crashed.out);
  assert.match(crashed.out, /2 of 5 person keys under key version 2/);
  assert.deepEqual((await versions()).sort(), [1, 1, 1, 2, 2]);

  const done = await kartei(i.installation, ['keys', 'rewrap-department', 'INF', '--batch', '2']).done;
  assert.equal(done.code, 0, done.out);
  assert.match(done.out, /4 of 5 person keys/);
  assert.match(done.out, /5 of 5 person keys under key version 2 \(3 re-wrapped now\)/);
  assert.deepEqual(await versions(), [2, 2, 2, 2, 2]);
  await assertReadable(i);

  const h = await open(i.installation);
  try {
    assert.equal((await verifyAudit(h.services.store, h.services.signer)).ok, true);
    const phases = await inTenantTransaction(h.services.store, i.tenantId, (tx) =>
      tx
        .selectFrom('audit_events')
        .select('detail')
        .where('tenant_id', '=', i.tenantId)
        .where('action', '=', 'keys.department.rewrap')
        .orderBy('seq')
        .execute(),
    );
    assert.deepEqual(
      phases.map((p) => (JSON.parse(String(p.detail)) as { phase: string }).phase),
      ['started', 'started', 'completed'],
    );
  } finally {
    await close(h);
  }
});
