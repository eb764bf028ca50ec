// The state of an office's audit chain for its DPO and admins (GET /api/audit/status):
// the chain verified now, and its last signed checkpoint. It runs after the gate's
// transaction has committed (the check reads the whole chain and must not run inside
// a request's transaction), so it is made inside the gate from its context, like the
// installation chain's reader; it answers sequence numbers and times, no personal data.
import type { GateContext } from '../access/gate.ts';
import { inTenantTransaction, type Store } from '../db/connect.ts';
import type { CheckpointSigner } from './signing-key.ts';
import { sharedVerify } from './verify-shared.ts';

export function chainStatusReader(decided: GateContext, store: Store, signer: CheckpointSigner) {
  const tenantId = decided.principal.tenantId;
  return async () => {
    const result = await sharedVerify(store, signer, [tenantId]);
    const checkpoint = await inTenantTransaction(store, tenantId, (tx) =>
      tx
        .selectFrom('audit_checkpoints')
        .select(['seq', 'at'])
        .where('tenant_id', '=', tenantId)
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst(),
    );
    return {
      ok: result.ok,
      verifiedUpTo: result.ok ? result.count : result.seq - 1,
      firstBad: result.ok ? null : { seq: result.seq, problem: result.problem },
      lastCheckpoint: checkpoint ? { seq: checkpoint.seq, at: checkpoint.at } : null,
    };
  };
}
