// The principal cache as a data structure: an entry holds only under the version read before its lookup;
// a new version drops every entry; a version that cannot be read keeps nothing; the size is bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PrincipalCache, frozenPrincipal, type CachedPrincipal } from '../../src/identity/principal-cache.ts';

const entry = (version: bigint, userId = 'u'): CachedPrincipal => ({
  version,
  principal: frozenPrincipal({
    userId,
    tenantId: 't',
    tenantRoles: [],
    memberships: [{ departmentId: 'd', role: 'clerk' }],
  }),
  csrfHash: null,
  expiresAt: Date.now() + 60_000,
  touchedAt: Date.now(),
});

test('an entry holds while the version stays; a new version drops every entry', () => {
  let v = 1n;
  const c = new PrincipalCache(() => v);
  c.keep('a', entry(c.version()!));
  c.keep('b', entry(c.version()!));
  assert.equal(c.get('a')?.principal.userId, 'u');
  v = 2n;
  assert.equal(c.get('a'), undefined);
  assert.equal(c.size, 0, 'b went with it');
  v = 1n;
  assert.equal(c.get('b'), undefined, 'an old version coming back brings nothing back');
});

test('an entry looked up under a version older than the latest seen is not kept', () => {
  let v = 1n;
  const c = new PrincipalCache(() => v);
  const read = c.version()!;
  v = 2n;
  c.version();
  c.keep('a', entry(read));
  assert.equal(c.size, 0);
});

test('a version that cannot be read takes nothing from the cache and keeps nothing', () => {
  let broken = false;
  const c = new PrincipalCache(() => {
    if (broken) throw new Error('busy');
    return 1n;
  });
  c.keep('a', entry(c.version()!));
  broken = true;
  assert.equal(c.get('a'), undefined);
  assert.equal(c.version(), undefined);
  c.keep('b', entry(1n));
  assert.equal(c.size, 0);
});

test('at most `max` entries: the oldest goes first', () => {
  const c = new PrincipalCache(() => 7n, 3);
  for (const k of ['a', 'b', 'c', 'd']) c.keep(k, entry(c.version()!, k));
  assert.equal(c.size, 3);
  assert.equal(c.get('a'), undefined);
  assert.equal(c.get('d')?.principal.userId, 'd');
});

test('a kept principal cannot be changed by the request that uses it', () => {
  const p = entry(1n).principal;
  assert.throws(() => (p.memberships as unknown[]).push({ departmentId: 'x', role: 'head' }));
  assert.throws(() => ((p.memberships[0] as { role: string }).role = 'head'));
  assert.throws(() => ((p as { userId: string }).userId = 'x'));
});

test('the callers of one turn share one read of the version, taken after the last of them asked', async () => {
  let v = 1n;
  let reads = 0;
  const c = new PrincipalCache(() => {
    reads++;
    return v;
  });
  const first = c.askedThisTurn();
  // A change between two callers of the same turn: both are judged by the version after it, never before.
  v = 2n;
  const second = c.askedThisTurn();
  assert.equal(reads, 0, 'nothing is read while callers may still ask');
  assert.deepEqual(await Promise.all([first, second]), [2n, 2n]);
  assert.equal(reads, 1);
  // A caller asking after the read was taken waits for a read of its own.
  v = 3n;
  assert.equal(await c.askedThisTurn(), 3n);
  assert.equal(reads, 2);
});

test('a shared read that cannot be taken keeps nothing for any of its callers', async () => {
  let broken = false;
  const c = new PrincipalCache(() => {
    if (broken) throw new Error('busy');
    return 1n;
  });
  c.keep('a', entry(c.version()!));
  broken = true;
  const looked = await Promise.all(
    ['a', 'b'].map((k) => c.lookUp(k, async () => ({ ...entry(1n, k), version: undefined }) as never)),
  );
  assert.deepEqual(
    looked.map((e) => e?.principal.userId),
    ['a', 'b'],
    'looked up anew',
  );
  assert.equal(c.size, 0);
});

test('a lookup is judged by the version read after it asked: a change made meanwhile in the same turn holds', async () => {
  let v = 1n;
  const c = new PrincipalCache(() => v);
  c.keep('a', entry(c.version()!));
  let loads = 0;
  const looked = c.lookUp('a', async () => {
    loads++;
    return null;
  });
  v = 2n;
  assert.equal(await looked, null, 'the kept principal of version 1 is not used');
  assert.equal(loads, 1);
});
