// Passwords as stored and as chosen: only argon2id hashes reach the database,
// and the strength check refuses what an attacker would try first (German and
// English favourites, the user's own name or the office's name with digits)
// while accepting long passphrases of unrelated words.
import { execFileSync } from 'node:child_process';
import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { KarteiError } from '../../src/errors.ts';
import { assertStrongPassword, hashPassword, verifyPassword, MIN_LENGTH } from '../../src/identity/passwords.ts';
import { ESTIMATOR_IDLE_MS, estimatorLoaded, passwordStrength } from '../../src/identity/password-estimator.ts';

const USER = 'hannelore.krzyzanowski';
const DISPLAY = 'Hannelore Krzyzanowski';
const OFFICE = 'Gesundheitsamt Quastenbergheim';
const CONTEXT = [USER, DISPLAY, OFFICE];

/** The refusal, or undefined when the password is accepted. */
function refusal(password: string, context: string[] = CONTEXT, field?: string): KarteiError | undefined {
  try {
    assertStrongPassword(password, context, field);
    return undefined;
  } catch (e) {
    assert.ok(e instanceof KarteiError, `unexpected error ${String(e)}`);
    return e;
  }
}

test('hashes are argon2id PHC strings, salted, and verify only the right password', async () => {
  const password = 'Trommel-Wiesel-Kompass-Laterne';
  const a = await hashPassword(password);
  const b = await hashPassword(password);
  assert.match(a, /^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
  assert.ok(!a.includes(password), 'the hash does not contain the password');
  // A fresh salt per hash: equal passwords do not give equal hashes.
  assert.notEqual(a, b);
  assert.equal(await verifyPassword(a, password), true);
  assert.equal(await verifyPassword(b, password), true);
  assert.equal(await verifyPassword(a, 'Trommel-Wiesel-Kompass-Laternf'), false);
  assert.equal(await verifyPassword(a, ''), false);
});

test('the hash parameters meet the OWASP minimum for argon2id (19 MiB, 2 passes)', async () => {
  const m = /m=(\d+),t=(\d+),p=(\d+)/.exec(await hashPassword('Trommel-Wiesel-Kompass-Laterne'))!;
  assert.ok(Number(m[1]) >= 19_456, `memory ${m[1]} KiB`);
  assert.ok(Number(m[2]) >= 2, `time cost ${m[2]}`);
});

test('passwords shorter than 12 characters are refused, naming the field', () => {
  assert.equal(MIN_LENGTH, 12);
  // Random-looking but short: refused for length alone.
  const e = refusal('Kx9#vR2!pQ_', CONTEXT, 'admin.password');
  assert.ok(e);
  assert.equal(e.status, 422);
  assert.equal(e.code, 'weak-password');
  assert.equal(e.extra?.field, 'admin.password');
  assert.match(e.detail!, /^admin\.password: /);
  // One character more and the same kind of random string passes: the boundary is 12.
  assert.equal(refusal('Kx9#vR2!pQ_4'), undefined);
});

test('common German and English passwords are refused', () => {
  for (const p of [
    'Passwort123!',
    'Sommer2024!!',
    'Fussball2023!',
    'Hallo1234567',
    'qwertzuiop123',
    'Password123!',
    'Summer2024!!',
    'iloveyou1234',
    'Welcome2024!',
    '123456789012',
  ]) {
    const e = refusal(p);
    assert.ok(e, `${p} must be refused`);
    assert.equal(e.status, 422, p);
    assert.equal(e.extra?.field, 'password', p);
  }
});

test("the user's and the office's own words with digits are refused, though they would pass without that context", () => {
  const guessable = [
    'hannelore.krzyzanowski2024', // the username with digits
    'Hannelore.Krzyzanowski1',
    'hannelore_krzyzanowski1', // the username with another separator
    'HanneloreKrzyzanowski1', // the display name run together
    'Hannelore Krzyzanowski 1975',
    'Hannelore-Krzyzanowski-1',
    'Krzyzanowski.Hannelore1', // first and last name swapped
    'Quastenbergheim2024!', // the office's place name with digits
    'Gesundheitsamt Quastenbergheim 2024',
    'GesundheitsamtQuastenbergheim1',
    'Gesundheitsamt-Quastenbergheim-2024',
    'Gesundheitsamt.Quastenbergheim1',
  ];
  for (const p of guessable) {
    assert.ok(refusal(p), `${p} must be refused when the user and office are known`);
  }
  // The context is what refuses them: these names are in no dictionary.
  for (const p of ['Quastenbergheim2024!', 'GesundheitsamtQuastenbergheim1', 'Hannelore.Krzyzanowski1']) {
    assert.equal(refusal(p, []), undefined, `${p} without context`);
  }
});

test('long passphrases of unrelated words are accepted, in German and English', () => {
  for (const p of [
    'Trommel-Wiesel-Kompass-Laterne',
    'Tapete Schwalbe Nudelholz Regen',
    'correct horse battery staple',
    'Kastanie Fahrrad Quittung Mond',
    // Containing an office word is fine when the rest is strong.
    'Quastenbergheim Schwalbe Nudelholz Regen',
  ]) {
    assert.equal(refusal(p), undefined, `${p} must be accepted`);
  }
});

test('starting the server does not load the estimator: only setting a password does', () => {
  // A process of its own: this file's tests load the estimator themselves.
  const probe = `
    import { registerHooks } from 'node:module';
    const resolved = [];
    registerHooks({ resolve: (specifier, context, next) => { const r = next(specifier, context); resolved.push(r.url); return r; } });
    await import('./src/services.ts');
    await import('./src/http/app.ts');
    await import('./src/cli/main.ts');
    const loaded = () => resolved.some((url) => url.includes('/@zxcvbn-ts/'));
    const before = loaded();
    (await import('./src/identity/passwords.ts')).assertStrongPassword('Trommel-Wiesel-Kompass-Laterne', []);
    process.stdout.write(JSON.stringify({ before, after: loaded() }));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), { before: false, after: true });
});

test("the estimator's dictionaries are let go after a while unused, and the verdict stays the same", () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const before = passwordStrength('Hannelore1234!', CONTEXT);
    assert.equal(estimatorLoaded(), true);
    mock.timers.tick(ESTIMATOR_IDLE_MS - 1_000);
    passwordStrength('Trommel-Wiesel-Kompass-Laterne', CONTEXT);
    mock.timers.tick(ESTIMATOR_IDLE_MS - 1_000);
    assert.equal(estimatorLoaded(), true, 'each use keeps it another while');
    mock.timers.tick(1_000);
    assert.equal(estimatorLoaded(), false, 'released when unused for the whole while');
    assert.deepEqual(passwordStrength('Hannelore1234!', CONTEXT), before, 'built again, the same verdict');
    assert.equal(estimatorLoaded(), true);
  } finally {
    mock.timers.reset();
  }
});

test('once let go, the dictionaries are garbage: nothing the load put into require’s cache is left to hold them', () => {
  // A process of its own, with the garbage collector at hand; this file's tests load the estimator themselves.
  const probe = `
    import { createRequire } from 'node:module';
    const { passwordStrength, releaseEstimator, estimatorLoaded } = await import('./src/identity/password-estimator.ts');
    const cache = createRequire(import.meta.url).cache;
    const before = new Set(Object.keys(cache));
    passwordStrength('Trommel-Wiesel-Kompass-Laterne', []);
    const added = Object.keys(cache).filter((id) => !before.has(id));
    const de = added.find((id) => id.includes('/@zxcvbn-ts/language-de/'));
    const dictionary = new WeakRef(cache[de].exports.dictionary);
    releaseEstimator();
    const left = added.filter((id) => id in cache);
    await new Promise((r) => setTimeout(r, 10));
    globalThis.gc();
    await new Promise((r) => setTimeout(r, 10));
    globalThis.gc();
    process.stdout.write(JSON.stringify({
      added: added.some((id) => id.includes('fastest-levenshtein')),
      left,
      loaded: estimatorLoaded(),
      collected: dictionary.deref() === undefined,
    }));`;
  const out = execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', probe], { encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), { added: true, left: [], loaded: false, collected: true });
});
