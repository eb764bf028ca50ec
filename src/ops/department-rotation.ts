// Issue 19: keys-online — a department key rotated while servers run, in two committed steps
// (src/vault/department-versions.ts): a pending version every instance opens from its next look
// on; then, once every instance has looked again (twice the refresh time), the switch that makes
// it the version new data is sealed under, with its audit event in the same transaction. Run again
// after a crash between the steps it finds the pending version and completes the rotation.
import os from 'node:os';
import type { AuditLog } from '../audit/audit-log.ts';
import { inTenantTransaction, type Store } from '../db/connect.ts';
import type { Keyring } from '../vault/keyring.ts';

export interface RotationDeps {
  store: Store;
  keyring: Keyring;
  audit: AuditLog;
}

/** How long the rotation waits between its steps: every instance has looked again by then. */
const rotationWait = (keyring: Keyring) => 2 * keyring.refreshMs + 100;

export async function rotateDepartmentOnline(
  s: RotationDeps,
  d: { tenantId: string; id: string },
  opts: {
    /** Said before the wait (the CLI prints it). */
    onPending?: (r: { from: number; to: number; waitMs: number }) => void;
    /** Test hook: called after each step ('pending', 'switched' — the latter inside the switch's transaction). */
    step?: (name: 'pending' | 'switched') => void;
  } = {},
): Promise<{ from: number; to: number }> {
  const pending = await inTenantTransaction(s.store, d.tenantId, (tx) =>
    s.keyring.addPendingDepartmentKey(tx, d.tenantId, d.id),
  );
  opts.step?.('pending');
  const waitMs = rotationWait(s.keyring);
  opts.onPending?.({ ...pending, waitMs });
  await new Promise((r) => setTimeout(r, waitMs));
  return inTenantTransaction(s.store, d.tenantId, async (tx) => {
    const versions = await s.keyring.switchDepartmentKey(tx, d.tenantId, d.id);
    await s.audit.append(tx, {
      tenantId: d.tenantId,
      actorId: null,
      action: 'keys.department.rotate',
      resourceType: 'department',
      resourceId: d.id,
      departmentId: d.id,
      outcome: 'allowed',
      detail: { from: versions.from, to: versions.to, operator: os.userInfo().username },
    });
    opts.step?.('switched');
    return versions;
  });
}
