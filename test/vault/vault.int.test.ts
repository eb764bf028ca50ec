// The vault's building blocks: AES-256-GCM bound to where a ciphertext lives,
// the key hierarchy whose wraps are bound to their owners, Kölner Phonetik and
// the keyed blind index that search runs on, and the owner-only key files.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { bindingBytes, DecryptionError, open, seal, type Binding } from '../../src/vault/aead.ts';
import { Keyring, openField, sealField } from '../../src/vault/keyring.ts';
import { koelnerPhonetik } from '../../src/vault/koelner-phonetik.ts';
import { digest, normaliseName, personDigests, queryDigests } from '../../src/vault/blind-index.ts';
import { ensureKeyDir, KeyFileError, readOrCreateSecret } from '../../src/vault/key-file.ts';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { startHarness, type Harness } from '../helpers/harness.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-vault-'));
let h: Harness | undefined;
after(async () => {
  await h?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const where: Binding = { tenantId: 't1', table: 'person_versions', rowId: 'p1:1', field: 'data' };

test('AES-GCM: a sealed value opens under its key and binding, and never looks the same twice', () => {
  const key = randomBytes(32);
  const plain = Buffer.from('Hannelore Quastenberg, Lindenallee 12', 'utf8');
  const a = seal(key, plain, bindingBytes(where));
  const b = seal(key, plain, bindingBytes(where));
  assert.deepEqual(open(key, a, bindingBytes(where)), plain);
  assert.deepEqual(open(key, b, bindingBytes(where)), plain);
  assert.notDeepEqual(a, b, 'a fresh IV per seal');
  assert.equal(a.includes(plain.subarray(0, 9)), false);
  assert.deepEqual(openField(key, where, sealField(key, where, { n: 1, s: 'ä' })), { n: 1, s: 'ä' });
});

test('AES-GCM: a ciphertext fails to open in another row, field, table or tenant, under another key, or with a flipped byte', () => {
  const key = randomBytes(32);
  const blob = seal(key, Buffer.from('geheim'), bindingBytes(where));
  const elsewhere: Binding[] = [
    { ...where, rowId: 'p2:1' },
    { ...where, rowId: 'p1:2' },
    { ...where, field: 'address' },
    { ...where, table: 'record_versions' },
    { ...where, tenantId: 't2' },
  ];
  for (const b of elsewhere) assert.throws(() => open(key, blob, bindingBytes(b)), DecryptionError, JSON.stringify(b));
  assert.throws(() => open(randomBytes(32), blob, bindingBytes(where)), DecryptionError);
  for (let i = 0; i < blob.length; i++) {
    const bad = Buffer.from(blob);
    bad[i]! ^= 0x01;
    assert.throws(() => open(key, bad, bindingBytes(where)), DecryptionError, `byte ${i}`);
  }
  assert.throws(() => open(key, blob.subarray(0, blob.length - 1), bindingBytes(where)), DecryptionError);
  assert.throws(() => open(key, blob.subarray(0, 20), bindingBytes(where)), DecryptionError);
});

test('keyring: wrapped keys are bound to their owner; a copied or moved wrap does not unwrap', async () => {
  h = await startHarness();
  const store = h.services.store;
  const master = randomBytes(32);
  const T = `tenant-${randomUUID()}`;
  const [D1, D2, P1, P2] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
  const created = new Keyring(master);
  const keys = await inTenantTransaction(store, T, async (tx) => {
    await created.createTenantKey(tx, T);
    await created.createDepartmentKey(tx, T, D1);
    await created.createDepartmentKey(tx, T, D2);
    await created.createPersonKey(tx, T, D1, P1);
    await created.createPersonKey(tx, T, D1, P2);
    return { p1: await created.personKey(tx, T, D1, P1), p2: await created.personKey(tx, T, D1, P2) };
  });
  assert.notDeepEqual(keys.p1, keys.p2);

  // A fresh keyring (nothing cached) with the same master unwraps the same keys from the database.
  await inTenantTransaction(store, T, async (tx) => {
    const k = new Keyring(master);
    assert.deepEqual(await k.personKey(tx, T, D1, P1), keys.p1);
    assert.deepEqual(await k.personKey(tx, T, D1, P2), keys.p2);
    // A person key asked for under the wrong department does not unwrap.
    await assert.rejects(new Keyring(master).personKey(tx, T, D2, P1), DecryptionError);
    // Another master unwraps nothing.
    await assert.rejects(new Keyring(randomBytes(32)).tenantKey(tx, T), DecryptionError);
  });

  // Copy P1's wrapped key into P2's row: P2's key is lost, not replaced by P1's.
  await inTenantTransaction(store, T, async (tx) => {
    const { wrapped } = await tx
      .selectFrom('data_keys')
      .select('wrapped')
      .where('owner_id', '=', P1)
      .executeTakeFirstOrThrow();
    await tx.updateTable('data_keys').set({ wrapped }).where('owner_id', '=', P2).execute();
  });
  await inTenantTransaction(store, T, async (tx) => {
    await assert.rejects(new Keyring(master).personKey(tx, T, D1, P2), DecryptionError);
    assert.deepEqual(await new Keyring(master).personKey(tx, T, D1, P1), keys.p1);
  });

  // Copy the tenant's wrapped key into another tenant's row: it does not unwrap there.
  const U = `tenant-${randomUUID()}`;
  await inTenantTransaction(store, U, (tx) => new Keyring(master).createTenantKey(tx, U));
  const { wrapped: tWrap } = await inTenantTransaction(store, T, (tx) =>
    tx.selectFrom('data_keys').select('wrapped').where('owner_id', '=', T).executeTakeFirstOrThrow(),
  );
  await inTenantTransaction(store, U, (tx) =>
    tx.updateTable('data_keys').set({ wrapped: tWrap }).where('owner_id', '=', U).execute(),
  );
  await inTenantTransaction(store, U, (tx) => assert.rejects(new Keyring(master).tenantKey(tx, U), DecryptionError));
});

test('Kölner Phonetik: known codes and the spellings it must equate', () => {
  assert.equal(koelnerPhonetik('Müller-Lüdenscheidt'), '65752682');
  assert.equal(koelnerPhonetik('Wikipedia'), '3412');
  assert.equal(koelnerPhonetik('Breschnew'), '17863');
  assert.equal(koelnerPhonetik('Müller'), '657');
  assert.equal(koelnerPhonetik('Quasstenberg'), koelnerPhonetik('Quastenberg'));
  assert.equal(koelnerPhonetik('Meier'), koelnerPhonetik('Mayer'));
  assert.equal(koelnerPhonetik('Mayer'), koelnerPhonetik('Maier'));
  assert.equal(koelnerPhonetik('Schmidt'), koelnerPhonetik('Schmitt'));
  assert.equal(koelnerPhonetik('Müller'), koelnerPhonetik('Mueller'));
  assert.equal(koelnerPhonetik('MÜLLER'), koelnerPhonetik('müller'));
  // And it still tells different names apart.
  assert.notEqual(koelnerPhonetik('Schmidt'), koelnerPhonetik('Schneider'));
  assert.notEqual(koelnerPhonetik('Meier'), koelnerPhonetik('Becker'));
  assert.equal(koelnerPhonetik(''), '');
  assert.equal(koelnerPhonetik('123'), '');
});

test('normaliseName: case, accents, ß, hyphens and spacing do not matter; letters do', () => {
  assert.equal(normaliseName('Müller'), 'muller');
  assert.equal(normaliseName('MÜLLER'), normaliseName('Müller'));
  assert.equal(normaliseName('Mu\u0308ller'), normaliseName('M\u00fcller'), 'decomposed and composed ü');
  assert.equal(normaliseName('Straße'), normaliseName('STRASSE'));
  assert.equal(normaliseName('  Becker-Schulz '), 'becker schulz');
  assert.equal(normaliseName('Becker  Schulz'), normaliseName('becker-schulz'));
  assert.equal(normaliseName('Élodie'), 'elodie');
  // Not promised: the ue spelling of ü is a different name to normaliseName (the phonetic index covers it).
  assert.notEqual(normaliseName('Mueller'), normaliseName('Müller'));
  assert.notEqual(normaliseName('Meier'), normaliseName('Mayer'));
});

test('blind index: digests depend on the key and the kind; a query finds the same person in any spelling it promises', () => {
  const k1 = randomBytes(32);
  const k2 = randomBytes(32);
  assert.notEqual(digest(k1, 'family', 'muller'), digest(k2, 'family', 'muller'));
  assert.notEqual(digest(k1, 'family', 'muller'), digest(k1, 'given', 'muller'));
  assert.equal(digest(k1, 'family', 'muller'), digest(k1, 'family', 'muller'));
  assert.match(digest(k1, 'family', 'muller'), /^[0-9a-f]{32}$/);

  const stored = new Set(
    personDigests(k1, { familyName: 'Müller-Lüdenscheidt', givenName: 'Hannelore', birthDate: '1961-04-17' }).map(
      (d) => d.digest,
    ),
  );
  const finds = (term: string, key = k1) => queryDigests(key, term).some((d) => stored.has(d));
  for (const term of [
    'Müller-Lüdenscheidt',
    'MÜLLER-LÜDENSCHEIDT',
    'müller lüdenscheidt',
    'Müller',
    'MULLER',
    'Mueller',
    'Lüdenscheidt',
    'Ludenscheid',
    'hannelore',
    '1961-04-17',
    '17.04.1961',
    '17.4.1961',
  ]) {
    assert.ok(finds(term), term);
  }
  for (const term of ['Schmidt', 'Hannelora Quast', '1961-04-18', '18.04.1961']) assert.equal(finds(term), false, term);
  // Under another tenant's key nothing matches.
  assert.equal(finds('Müller', k2), false);
  // Digests, not names: nothing of the name is in them.
  for (const d of stored) assert.equal(/muller|hannelore|1961/.test(d), false);
});

test('key files: created owner-only, refused when others may read them or their directory', () => {
  const dir = path.join(tmp, 'keys');
  const file = path.join(dir, 'secret.key');
  const make = () => randomBytes(32);
  const first = readOrCreateSecret(file, make);
  assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(readOrCreateSecret(file, make), first, 'read back, never replaced');

  fs.chmodSync(file, 0o644);
  assert.throws(() => readOrCreateSecret(file, make), KeyFileError);
  fs.chmodSync(file, 0o640);
  assert.throws(() => readOrCreateSecret(file, make), KeyFileError);
  fs.chmodSync(file, 0o600);
  assert.deepEqual(readOrCreateSecret(file, make), first);

  const open = path.join(tmp, 'open-dir');
  fs.mkdirSync(open, { mode: 0o755 });
  fs.chmodSync(open, 0o755);
  assert.throws(() => ensureKeyDir(open), KeyFileError);
  assert.throws(() => readOrCreateSecret(path.join(open, 'x.key'), make), KeyFileError);
  assert.equal(fs.existsSync(path.join(open, 'x.key')), false, 'nothing written into an open directory');
  fs.chmodSync(open, 0o700);
  assert.doesNotThrow(() => ensureKeyDir(open));
});
