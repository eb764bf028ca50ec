// s25: an office's key that the key directory cannot open — its row gone from the database, or
// wrapped under a master the key directory does not hold (master.key replaced or lost, a retired
// master removed before a rotation finished) — was Node's stack at the start ("no tenant key for …"
// from the person index's upgrade, or later) and an uncatalogued internal-error in a request. The
// start now refuses naming the key directory's master key file, before anything listens; a request
// that meets it (the database changed under a running server) answers office-key-unavailable.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { KeyFileError } from '../../src/vault/key-file.ts';
import { Keyring, OfficeKeyUnavailableError } from '../../src/vault/keyring.ts';
import { toKarteiError } from '../../src/http/problem.ts';
import { refusalText } from '../../src/cli/refusals.ts';
import { setCliLang } from '../../src/cli/messages.ts';
import { samplePerson, setUpTenant, startHarness, type Harness } from '../helpers/harness.ts';
import { installationEnv, karteiRun } from '../helpers/kartei-cli.ts';

const open: Harness[] = [];
after(async () => {
  for (const h of open) await h.close();
});

async function installation() {
  const h = await startHarness();
  open.push(h);
  const t = await setUpTenant(h, ['INF']);
  const clerk = await t.user({ memberships: [{ departmentId: t.departments.INF!, role: 'clerk' }] });
  const person = await clerk.post('/api/persons', samplePerson(t.departments.INF!));
  assert.equal(person.status, 201);
  return { h, t, clerk, personId: person.body.id as string };
}

const officeKey = (h: Harness, tenantId: string, change: 'remove' | 'other-master') =>
  inTenantTransaction(h.services.store, tenantId, (tx) =>
    change === 'remove'
      ? sql`delete from data_keys where scope = 'tenant' and owner_id = ${tenantId}`.execute(tx)
      : sql`update data_keys set wrapped_by = 'feedfacefeedface' where scope = 'tenant' and owner_id = ${tenantId}`.execute(
          tx,
        ),
  );

async function refusedStart(h: Harness): Promise<KeyFileError> {
  try {
    open.push(await startHarness({ reopen: h.installation }));
  } catch (e) {
    if (e instanceof KeyFileError) return e;
    throw e;
  }
  assert.fail('started with an office key it cannot open');
}

for (const change of ['remove', 'other-master', 'master.key lost'] as const) {
  test(`the start refuses an office key it cannot open (${change}), naming the master key file`, async () => {
    const { h, t } = await installation();
    if (change === 'master.key lost') {
      await h.stop();
      fs.rmSync(path.join(h.config.keyDir, 'master.key'));
    } else {
      await officeKey(h, t.tenantId, change);
      await h.stop();
    }
    const e = await refusedStart(h);
    const file = path.join(h.config.keyDir, 'master.key');
    const lost = change === 'master.key lost';
    // A lost master key is refused before a new one is made (s25): the key directory stays as it was.
    assert.equal(e.refusal?.code, lost ? 'master-key-lost' : 'office-key-unopenable');
    assert.equal(e.refusal?.params?.file, file);
    assert.ok(e.message.includes(file), e.message);
    if (lost) assert.equal(fs.existsSync(file), false, 'the start made a new master key');
    try {
      setCliLang('de');
      const named = file.replace(/[.]/g, '\\.');
      assert.match(refusalText(e), new RegExp(lost ? `Kein Hauptschlüssel ${named}` : `Start abgelehnt: .*${named}`));
    } finally {
      setCliLang('de');
    }
  });
}

test('a request that meets an office key it cannot open answers office-key-unavailable, not internal-error', async () => {
  // A running server keeps the office keys it opened; one that meets the key later (another process
  // changed the database, the cache let the key go) is a keyring that did not open it yet.
  for (const change of ['remove', 'other-master'] as const) {
    const { h, t } = await installation();
    await officeKey(h, t.tenantId, change);
    const later = Keyring.fromKeyDir(h.config.keyDir);
    const thrown = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
      later.tenantKey(tx, t.tenantId),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(thrown instanceof OfficeKeyUnavailableError, `${change}: ${String(thrown)}`);
    const answered = toKarteiError(thrown);
    assert.equal(answered.code, 'office-key-unavailable', change);
    assert.equal(answered.status, 500);
    // Nothing of the key directory or the office in the answer.
    assert.doesNotMatch(answered.detail ?? answered.title, /feedface|keys|tenant|[0-9a-f]{8}-/, change);
  }
});

test('kartei serve and audit verify refuse a lost master key in German without making a new one, the doctor calls it critical; no stack', async () => {
  const { h } = await installation();
  await h.stop();
  fs.rmSync(path.join(h.config.keyDir, 'master.key'));
  const env = {
    ...(h.config.databaseUrl ? { KARTEI_DATABASE_URL: h.config.databaseUrl } : {}),
    ...(h.config.databaseAdminUrl ? { KARTEI_DATABASE_ADMIN_URL: h.config.databaseAdminUrl } : {}),
    KARTEI_LISTEN: '127.0.0.1:59193',
    KARTEI_METRICS_LISTEN: 'off',
  };
  // The doctor first, alone: it creates no key, and a database without its master key is no new installation.
  const dbFile = path.join(h.config.dataDir, 'kartei.sqlite');
  if (!h.config.databaseUrl) {
    const doctor = await karteiRun(['doctor'], installationEnv(h.dir, env), { ms: 60_000 });
    const out = doctor.stdout + doctor.stderr;
    assert.equal(doctor.status, 1, out);
    assert.match(out, /Kein Hauptschlüssel .*master\.key, aber die Datenbank .*kartei\.sqlite ist da/, out);
    assert.doesNotMatch(out, /Noch nicht eingerichtet/, out);
    assert.equal(fs.existsSync(path.join(h.config.keyDir, 'master.key')), false, 'the doctor made a master key');
    assert.ok(fs.existsSync(dbFile));
  }
  const runs = [];
  for (const args of [['serve'], ['audit', 'verify'], ['doctor']]) {
    const r = await karteiRun(args, installationEnv(h.dir, env), { ms: 60_000 });
    runs.push({ args, ...r, out: r.stdout + r.stderr });
  }
  for (const { args, status, out } of runs) {
    const what = `kartei ${args.join(' ')}: ${out}`;
    assert.notEqual(status, 0, what);
    assert.match(out, /Kein Hauptschlüssel .*master\.key, aber die Datenbank .* ist da/, what);
    assert.doesNotMatch(out, /^\s+at |node:internal|no tenant key/m, what);
  }
  // s25: none of them made a new master key for this database.
  assert.equal(fs.existsSync(path.join(h.config.keyDir, 'master.key')), false, 'a start made a new master key');
});
