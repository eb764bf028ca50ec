// s25-review: a lost master key on the paths past `createServices`. `kartei restore --check` and
// `kartei restore` open the backup's office keys with the key directory's master, whose reader makes
// one when there is none: they must refuse a key directory without master.key first (they do:
// key-dir-not-initialised; this test keeps it so). The doctor's look at a PostgreSQL database had no
// time limit: a server that accepts and never answers held it forever, and one it could not ask was
// "holds no offices", which the doctor says as "not initialised yet" (exit 0). An empty master.key
// was taken as the master key: a new installation sealed everything under keys derived from nothing.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { backupData } from '../../src/ops/backup.ts';
import { checkBackup, restoreData } from '../../src/ops/restore.ts';
import { loadConfig } from '../../src/config/config.ts';
import { databaseHoldsOffices } from '../../src/vault/master-key-lost.ts';
import { KeyFileError } from '../../src/vault/key-file.ts';
import { Keyring } from '../../src/vault/keyring.ts';
import { createServices } from '../../src/services.ts';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { refusalText } from '../../src/cli/refusals.ts';
import { setCliLang } from '../../src/cli/messages.ts';
import { DIALECT, samplePerson, setUpTenant, startHarness } from '../helpers/harness.ts';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-master-key-lost-paths-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

test('restore --check and restore with the master key lost: refused, no new master.key', {
  skip: DIALECT === 'postgres',
}, async () => {
  const h = await startHarness();
  try {
    const t = await setUpTenant(h, ['INF']);
    const doc = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'physician' }] });
    assert.equal((await doc.post('/api/persons', samplePerson(t.departments.INF!))).status, 201);
    const dest = path.join(work, 'data-backup');
    await backupData(h.config, dest, { nice: false });
    // A key directory that lost its master.key (the chain key and the rest are there).
    const keys = path.join(work, 'keys');
    fs.cpSync(h.config.keyDir, keys, { recursive: true });
    fs.chmodSync(keys, 0o700);
    fs.rmSync(path.join(keys, 'master.key'));
    const config = loadConfig({
      KARTEI_LANG: 'en',
      KARTEI_DATA_DIR: path.join(work, 'data'),
      KARTEI_KEY_DIR: keys,
      KARTEI_LOG_LEVEL: 'silent',
    });
    for (const run of [() => checkBackup(config, dest), () => restoreData(config, dest)]) {
      await assert.rejects(run(), (e: Error & { refusal?: { code: string; params?: Record<string, unknown> } }) => {
        assert.equal(e.refusal?.code, 'key-dir-not-initialised', e.message);
        assert.equal(e.refusal?.params?.file, 'master.key');
        return true;
      });
      assert.equal(fs.existsSync(path.join(keys, 'master.key')), false, 'a new master.key was made');
    }
    const left = fs.existsSync(config.dataDir) ? fs.readdirSync(config.dataDir) : [];
    assert.deepEqual(left, [], `left in the data directory: ${left.join(', ')}`);
  } finally {
    await h.close();
  }
});

test("the doctor's look at a PostgreSQL that accepts and never answers ends, and is no 'holds none'", async () => {
  const sockets: net.Socket[] = [];
  const silent = net.createServer((s) => sockets.push(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const port = (silent.address() as net.AddressInfo).port;
  try {
    const started = Date.now();
    const url = `postgres://kartei:geheim-pw@127.0.0.1:${port}/kartei`;
    const look = databaseHoldsOffices(path.join(work, 'none.sqlite'), url);
    const timer = new Promise((r) => setTimeout(() => r('hung'), 30_000).unref());
    const outcome = await Promise.race([
      look.then(
        (v) => ({ v }),
        (e: Error) => ({ e }),
      ),
      timer,
    ]);
    assert.notEqual(outcome, 'hung', 'the look did not end within 30 s');
    assert.ok(Date.now() - started < 30_000);
    const { v, e } = outcome as { v?: boolean; e?: Error };
    // Not "holds no offices" (that would be "not initialised yet", exit 0): the look could not be made.
    assert.notEqual(v, false, 'an unanswering database was taken for one without offices');
    assert.ok(e, 'no error');
    assert.doesNotMatch(e.message, /geheim-pw/, e.message);
    // Refused with a catalogued code; the refusal names the database without its password.
    const r = (e as Error & { refusal?: { code: string; params?: Record<string, unknown> } }).refusal;
    assert.ok(r?.code, e.message);
    assert.doesNotMatch(JSON.stringify(r), /geheim-pw/);
  } finally {
    for (const s of sockets) s.destroy();
    silent.close();
  }
});

test('an empty master.key is refused, not taken as a master key (every key would derive from nothing)', async () => {
  const dir = fs.mkdtempSync(path.join(work, 'empty-master-'));
  const keys = path.join(dir, 'keys');
  fs.mkdirSync(keys, { mode: 0o700 });
  fs.writeFileSync(path.join(keys, 'master.key'), '', { mode: 0o600 });
  const config = loadConfig({
    KARTEI_LANG: 'en',
    KARTEI_DATA_DIR: path.join(dir, 'data'),
    KARTEI_KEY_DIR: keys,
    KARTEI_LOG_LEVEL: 'silent',
  });
  const refused = (e: Error & { refusal?: { code: string; params?: Record<string, unknown> } }) => {
    assert.ok(e instanceof KeyFileError, String(e));
    assert.equal(e.refusal?.code, 'master-key-empty', e.message);
    assert.equal(e.refusal?.params?.file, path.join(keys, 'master.key'));
    assert.ok(e.message.includes(path.join(keys, 'master.key')), e.message);
    setCliLang('de');
    assert.match(refusalText(e), /master\.key .*leer/);
    return true;
  };
  assert.throws(() => Keyring.fromKeyDir(keys), refused);
  await assert.rejects(createServices(config), refused);
  assert.equal(fs.statSync(path.join(keys, 'master.key')).size, 0, 'the empty file was filled');
  assert.equal(fs.existsSync(path.join(dir, 'data', 'kartei.sqlite')), false, 'a database was made');
});

test('a master.key that links to nothing (a secrets volume not mounted) is refused naming the link, with or without offices; no key made', async () => {
  const h = await startHarness();
  try {
    await setUpTenant(h, ['INF']);
    await h.stop();
    const master = path.join(h.config.keyDir, 'master.key');
    const target = path.join(work, 'not-mounted', 'master.key');
    const fresh = path.join(work, 'fresh-keys');
    fs.mkdirSync(fresh, { mode: 0o700 });
    fs.rmSync(master);
    for (const link of [master, path.join(fresh, 'master.key')]) fs.symlinkSync(target, link);
    const freshConfig = loadConfig({
      KARTEI_LANG: 'en',
      KARTEI_DATA_DIR: path.join(work, 'fresh-data'),
      KARTEI_KEY_DIR: fresh,
      KARTEI_LOG_LEVEL: 'silent',
    });
    for (const [what, config] of [
      ['with offices', h.config],
      ['new installation', freshConfig],
    ] as const) {
      const link = path.join(config.keyDir, 'master.key');
      await assert.rejects(
        createServices(config),
        (e: Error & { refusal?: { code: string; params?: Record<string, string | number> } }) => {
          assert.equal(e.refusal?.code, 'key-file-dangling-link', `${what}: ${e.message}`);
          assert.deepEqual(e.refusal?.params, { file: link, target });
          setCliLang('de');
          assert.match(refusalText(e), /symbolischer Link auf .*not-mounted.*, das es nicht gibt/);
          return true;
        },
      );
      assert.ok(fs.lstatSync(link).isSymbolicLink(), what);
      assert.equal(fs.existsSync(target), false, `${what}: a key was made where the link points`);
    }
  } finally {
    await h.close();
  }
});

test('a new office while master.key has gone since the start: refused, and no new master key is made', async () => {
  const h = await startHarness();
  try {
    const master = path.join(h.config.keyDir, 'master.key');
    fs.rmSync(master);
    const tenantId = '00000000-0000-4000-8000-0000000000aa';
    const thrown = await inTenantTransaction(h.services.store, tenantId, (tx) =>
      h.services.keyring.createTenantKey(tx, tenantId),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(thrown instanceof KeyFileError, String(thrown));
    assert.equal(thrown.refusal?.code, 'master-key-gone');
    assert.equal(fs.existsSync(master), false, 'a new master key was made');
    setCliLang('de');
    assert.match(refusalText(thrown), /Der Hauptschlüssel .*master\.key ist nicht mehr da/);
  } finally {
    await h.close();
  }
});
