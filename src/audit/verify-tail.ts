// Before a checkpoint is signed, the events it would vouch for are checked:
// every event since the last signed checkpoint (whose own signature must
// hold), in the signing transaction. A checkpoint then only ever signs a
// chain the server has verified; what does not verify stays unsigned.
import type { Tx } from '../db/connect.ts';
import { CHAINED_COLUMNS, GENESIS_HASH, linkMaterial, linkOfMaterial } from './chain.ts';
import type { CheckpointClaim, CheckpointSigner } from './signing-key.ts';

/** `from`: the last signed checkpoint's sequence number (0 if none), `prevHash` its hash: where the verified stretch starts. */
export type TailResult = { ok: true; from: number; prevHash: string } | { ok: false; seq: number; problem: string };

const BATCH = 2_000;

export async function verifyTail(
  tx: Tx,
  signer: CheckpointSigner,
  chainId: string,
  head: { seq: number; hash: string },
  /** The link this process made over exactly `material` at `seq`, if it made one (`links-made.ts`). */
  made?: (seq: number, material: string) => string | undefined,
): Promise<TailResult> {
  const last = await tx
    .selectFrom('audit_checkpoints')
    .select(['seq', 'hash', 'at', 'key_id', 'signature', 'from_seq', 'prev_hash', 'digest'])
    .where('tenant_id', '=', chainId)
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  let expected = 1;
  let prev = GENESIS_HASH;
  if (last) {
    const seq = Number(last.seq);
    // Under the key it names: a retired one after a rotation.
    if (
      !signer.verify(
        { tenantId: chainId, seq, hash: last.hash, at: last.at, stretch: stretchOf(last) },
        last.signature,
        last.key_id,
      )
    ) {
      return { ok: false, seq, problem: 'last checkpoint signature does not verify' };
    }
    expected = seq + 1;
    prev = last.hash;
  }
  const from = expected - 1;
  const prevHash = prev;
  if (head.seq < from) return { ok: false, seq: head.seq + 1, problem: 'chain head behind the last signed checkpoint' };
  for (let lo = expected; lo <= head.seq; lo += BATCH) {
    const rows = await tx
      .selectFrom('audit_events')
      .select([...CHAINED_COLUMNS, 'prev_hash', 'hash'])
      .where('tenant_id', '=', chainId)
      .where('seq', '>=', lo)
      .where('seq', '<=', Math.min(head.seq, lo + BATCH - 1))
      .orderBy('seq')
      .execute();
    for (const row of rows) {
      const seq = Number(row.seq);
      if (seq !== expected) return { ok: false, seq: expected, problem: 'event missing' };
      if (row.prev_hash !== prev) return { ok: false, seq, problem: 'link to previous event broken' };
      // The row as stored now, linked: by this process's own link over the same material, or anew.
      const material = linkMaterial(
        prev,
        CHAINED_COLUMNS.map((c) => row[c]),
      );
      const linked = made?.(seq, material) ?? linkOfMaterial(signer.chainKey, chainId, seq, material);
      if (linked !== row.hash) return { ok: false, seq, problem: 'event altered or made without the chain key' };
      prev = row.hash;
      expected++;
    }
    if (expected <= Math.min(head.seq, lo + BATCH - 1)) return { ok: false, seq: expected, problem: 'event missing' };
  }
  if (prev !== head.hash)
    return { ok: false, seq: Math.max(head.seq, 1), problem: 'chain head disagrees with the last event' };
  return { ok: true, from, prevHash };
}

/** The stretch a checkpoint row signed (issue 19, migration 033); undefined for a checkpoint signed before. */
export function stretchOf(c: {
  from_seq: number | null;
  prev_hash: string | null;
  digest: string | null;
}): CheckpointClaim['stretch'] {
  return c.digest === null || c.from_seq === null || c.prev_hash === null
    ? undefined
    : { from: Number(c.from_seq), prevHash: c.prev_hash, digest: c.digest };
}
