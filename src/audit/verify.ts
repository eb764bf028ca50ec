// Recomputes every tenant's chain and checks every signed checkpoint. Names
// the first sequence number that does not hold: an edited, inserted or
// removed row breaks the hash links; a truncated tail disagrees with the head
// or with a signed checkpoint; a rewritten chain has no valid signatures.
import { inTenant, type Store } from '../db/connect.ts';
import { chainHash, GENESIS_HASH } from './chain.ts';
import { chainIds } from './audit-log.ts';
import type { CheckpointSigner } from './signing-key.ts';

const BATCH = 20_000;

export type VerifyResult =
  | { ok: true; count: number; unsignedTail: number }
  | { ok: false; count: number; tenantId: string; seq: number; problem: string };

export async function verifyAudit(
  store: Store,
  signer: CheckpointSigner,
  progress?: (checked: number, total: number) => void,
): Promise<VerifyResult> {
  const chains = await chainIds(store);
  let count = 0;
  let unsignedTail = 0;
  const total = await countAll(store, chains);
  for (const tenantId of chains) {
    const r = await inTenant(store, tenantId, async (tx) => {
      const head = await tx.selectFrom('audit_heads').select(['seq', 'hash']).where('tenant_id', '=', tenantId).executeTakeFirst();
      const checkpoints = await tx
        .selectFrom('audit_checkpoints')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .orderBy('seq')
        .execute();
      const signed = new Map<number, string>();
      for (const c of checkpoints) {
        if (!signer.verify({ tenantId, seq: c.seq, hash: c.hash, at: c.at }, c.signature)) {
          return fail(tenantId, c.seq, 'checkpoint signature does not verify');
        }
        signed.set(c.seq, c.hash);
      }
      let prev = GENESIS_HASH;
      let expected = 1;
      for (;;) {
        const rows = await tx
          .selectFrom('audit_events')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .where('seq', '>=', expected)
          .orderBy('seq')
          .limit(BATCH)
          .execute();
        for (const row of rows) {
          if (row.seq !== expected) return fail(tenantId, expected, 'event missing');
          if (row.prev_hash !== prev) return fail(tenantId, row.seq, 'link to previous event broken');
          const { prev_hash: _p, hash, ...fields } = row;
          const computed = chainHash(prev, fields);
          if (computed !== hash) return fail(tenantId, row.seq, 'event altered');
          const c = signed.get(row.seq);
          if (c !== undefined && c !== hash) return fail(tenantId, row.seq, 'event differs from signed checkpoint');
          prev = hash;
          expected++;
        }
        count += rows.length;
        progress?.(count, total);
        if (rows.length < BATCH) break;
      }
      const last = expected - 1;
      const lastSigned = checkpoints.at(-1)?.seq ?? 0;
      if (lastSigned > last) return fail(tenantId, last + 1, 'events missing before a signed checkpoint');
      if (!head || head.seq !== last || head.hash !== prev) return fail(tenantId, last + 1, 'chain head disagrees with the events');
      unsignedTail += last - lastSigned;
      return null;
    });
    if (r) return { ...r, count };
  }
  return { ok: true, count, unsignedTail };
}

const fail = (tenantId: string, seq: number, problem: string) => ({ ok: false as const, tenantId, seq, problem });

async function countAll(store: Store, tenantIds: string[]): Promise<number> {
  let n = 0;
  for (const id of tenantIds) {
    n += await inTenant(store, id, async (tx) => {
      const h = await tx.selectFrom('audit_heads').select('seq').where('tenant_id', '=', id).executeTakeFirst();
      return h?.seq ?? 0;
    });
  }
  return n;
}
