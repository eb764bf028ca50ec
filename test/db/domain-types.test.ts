// The domain's types hold the gate and the transaction in place: `tsc --noEmit`
// (run by `npm test`) checks the `@ts-expect-error` lines below, and fails the
// moment one of them type-checks. A whole database handle is no transaction, and
// a domain function that reaches personal data or images wants the gate's
// context, not a transaction. The calls are never run: the proof is the compiler's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GateContext } from '../../src/access/gate.ts';
import type { Store, Tx } from '../../src/db/connect.ts';
import type { Keyring } from '../../src/vault/keyring.ts';
import { serialise } from '../../src/db/connect.ts';
import { displayNames, listUsers } from '../../src/identity/users.ts';
import { findStudies } from '../../src/imaging/study-query.ts';
import { listDevices } from '../../src/imaging/device-registry.ts';
import { accessCounts } from '../../src/audit/audit-query.ts';
import { unassignedStudies } from '../../src/imaging/study-links.ts';
import { setRestrictedListing } from '../../src/identity/departments.ts';

function misuses(store: Store, tx: Tx, ctx: GateContext, keyring: Keyring) {
  // @ts-expect-error the database handle is not a transaction
  void serialise(store.db, 'key');
  void serialise(tx, 'key');
  void serialise(ctx.tx, 'key');
  // @ts-expect-error a transaction outside the gate reads no accounts
  void listUsers(tx, keyring);
  // @ts-expect-error nor display names
  void displayNames(tx, keyring, []);
  void displayNames(ctx, keyring, []);
  // @ts-expect-error nor studies
  void findStudies(tx, keyring, 'department', {}, 1);
  // @ts-expect-error nor devices
  void listDevices(tx);
  // @ts-expect-error nor the audit log's counts
  void accessCounts(tx, 'all', '', '');
  // @ts-expect-error the department is the one the gate decided on, not one the caller names
  void unassignedStudies(ctx, keyring, 'another-department');
  // @ts-expect-error likewise for a department's settings
  void setRestrictedListing(ctx, 'another-department', 'hidden');
}

test('a database handle is no transaction, a transaction no gate context (checked by tsc)', () => {
  assert.equal(typeof misuses, 'function');
});
