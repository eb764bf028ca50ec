// Appends events to a tenant's chain inside the caller's transaction, so an
// event and the access it records commit or fail together. Checkpoints are
// signed every CHECKPOINT_EVERY events and by `checkpointAll` on a timer, each
// only after the events since the last one have verified (`verify-tail.ts`);
// a chain that does not verify is left unsigned and raises the alarm. On
// PostgreSQL one checkpoint round runs at a time across instances (an advisory lock).
import { sql } from 'kysely';
import { prepared } from '../db/prepared.ts';
import { inTenantTransaction, type Store, type Tx } from '../db/connect.ts';
import type { Keyring } from '../vault/keyring.ts';
import { sealField, openField } from '../vault/keyring.ts';
import { CHAINED_COLUMNS, GENESIS_HASH, linkMaterial, linkOfMaterial, type ChainedFields } from './chain.ts';
import { LinksMade } from './links-made.ts';
import type { CheckpointSigner } from './signing-key.ts';
import type { Refusal, WitnessedHead } from './witness.ts';
import { verifyTail } from './verify-tail.ts';
import { stretchDigest } from './batch-digest.ts';
import { auditableId } from './audit-ids.ts';
import { AttemptLog } from './attempts.ts';
import { DEPLOYMENT_CHAIN } from '../db/schema.ts';
import { AppendThread } from './append-thread.ts';
import { FALLBACK_PAGES } from '../db/wal-checkpoint.ts';

export const CHECKPOINT_EVERY = 1000;

type Outcome = 'allowed' | 'denied' | 'error';

export interface AuditEvent {
  tenantId: string;
  actorId: string | null;
  action: string;
  resourceType: string;
  resourceId?: string | null;
  personId?: string | null;
  departmentId?: string | null;
  outcome: Outcome;
  /** Free text (break-glass or share reason): may be personal, so stored encrypted. */
  reason?: string | null;
  /** Non-personal facts, e.g. a result count. */
  detail?: Record<string, string | number | boolean>;
}

const chainHead = prepared((db, tenantId: string) =>
  db.selectFrom('audit_heads').select(['seq', 'hash']).where('tenant_id', '=', tenantId),
);
// Serialises appends to one chain across connections (and app instances) on PostgreSQL.
const headForUpdate = prepared((db, tenantId: string) =>
  db.selectFrom('audit_heads').select(['seq', 'hash']).where('tenant_id', '=', tenantId).forUpdate(),
);
const moveHead = prepared((db, seq: number, hash: string, tenantId: string) =>
  db.updateTable('audit_heads').set({ seq, hash }).where('tenant_id', '=', tenantId),
);
const insertEvent = prepared(
  (
    db,
    tenant_id: string,
    seq: number,
    at: string,
    actor_id: string | null,
    action: string,
    resource_type: string,
    resource_id: string | null,
    person_id: string | null,
    department_id: string | null,
    outcome: string,
    reason_enc: Buffer | null,
    detail: string | null,
    prev_hash: string,
    hash: string,
  ) =>
    db.insertInto('audit_events').values({
      tenant_id,
      seq,
      at,
      actor_id,
      action,
      resource_type,
      resource_id,
      person_id,
      department_id,
      outcome,
      reason_enc,
      detail,
      prev_hash,
      hash,
    }),
);

/** Told when a checkpoint was not signed because the chain did not verify. */
export type CheckpointAlarm = (chainId: string, refusal: Refusal) => void;

/** Until the server wires its logger in: one line on stderr, never silent. */
const stderrAlarm: CheckpointAlarm = (chainId, r) =>
  void process.stderr.write(
    `${JSON.stringify({ level: 'critical', msg: 'audit checkpoint refused: the chain does not verify', chain: chainId, seq: r.seq, problem: r.problem })}\n`,
  );

export class AuditLog {
  /** Where a refused checkpoint is reported (the server sets its logger's fatal level). */
  alarm: CheckpointAlarm = stderrAlarm;
  /** Unauthenticated attempts, aggregated per source and minute (`attempts.ts`). */
  readonly attempts: AttemptLog<AuditEvent>;

  private readonly store: Store;
  private readonly keyring: Keyring;
  private readonly signer: CheckpointSigner;
  /** The links this process made since each chain's last checkpoint: checked, not computed again, when it is signed. */
  readonly linksMade = new LinksMade(4 * CHECKPOINT_EVERY);
  constructor(store: Store, keyring: Keyring, signer: CheckpointSigner) {
    this.store = store;
    this.keyring = keyring;
    this.signer = signer;
    this.attempts = new AttemptLog<AuditEvent>(
      async (e) => void (await inTenantTransaction(store, e.tenantId, (tx) => this.append(tx, e))),
      (address) => keyring.globalIndex('address', address),
    );
  }

  /** Starts a tenant's chain; called once when the tenant is created. */
  async startChain(tx: Tx, tenantId: string): Promise<void> {
    await tx.insertInto('audit_heads').values({ tenant_id: tenantId, seq: 0, hash: GENESIS_HASH }).execute();
  }

  async append(tx: Tx, e: AuditEvent): Promise<number> {
    const [head] = await (this.store.dialect === 'postgres' ? headForUpdate : chainHead)(tx, e.tenantId);
    if (!head) throw new Error(`no audit chain for ${e.tenantId}`);
    const seq = head.seq + 1;
    const fields: ChainedFields = {
      tenant_id: e.tenantId,
      seq,
      at: new Date().toISOString(),
      actor_id: e.actorId,
      action: e.action,
      resource_type: e.resourceType,
      // Ids that came from input and are not ids are kept only as keyed hashes.
      resource_id: auditableId(this.keyring, e.resourceId),
      person_id: auditableId(this.keyring, e.personId),
      department_id: auditableId(this.keyring, e.departmentId),
      outcome: e.outcome,
      reason_enc: e.reason
        ? sealField(await this.keyring.tenantKey(tx, e.tenantId), reasonBinding(e.tenantId, seq), e.reason)
        : null,
      detail: e.detail ? JSON.stringify(e.detail) : null,
    };
    const material = linkMaterial(
      head.hash,
      CHAINED_COLUMNS.map((c) => fields[c]),
    );
    const hash = linkOfMaterial(this.signer.chainKey, e.tenantId, seq, material);
    this.linksMade.made(e.tenantId, seq, material, hash);
    await insertEvent(
      tx,
      fields.tenant_id,
      fields.seq,
      fields.at,
      fields.actor_id,
      fields.action,
      fields.resource_type,
      fields.resource_id,
      fields.person_id,
      fields.department_id,
      fields.outcome,
      fields.reason_enc,
      fields.detail,
      head.hash,
      hash,
    );
    await moveHead(tx, seq, hash, e.tenantId);
    if (seq % CHECKPOINT_EVERY === 0) await this.checkpoint(tx, e.tenantId, { seq, hash });
    return seq;
  }

  /**
   * Appends an audited read's event in a transaction of its own, on SQLite off the event loop
   * (`append-thread.ts`); resolves once it is on disk. An event with a reason (sealed under a binding
   * that names its sequence number), a chain's every-CHECKPOINT_EVERY-th event and every event on
   * PostgreSQL go the usual way (`append` in a transaction).
   */
  async appendAlone(e: AuditEvent): Promise<number> {
    const thread = e.reason ? undefined : this.appendThread();
    if (thread) {
      const seq = await thread.append([
        e.tenantId,
        new Date().toISOString(),
        e.actorId,
        e.action,
        e.resourceType,
        auditableId(this.keyring, e.resourceId),
        auditableId(this.keyring, e.personId),
        auditableId(this.keyring, e.departmentId),
        e.outcome,
        e.detail ? JSON.stringify(e.detail) : null,
      ]);
      if (seq !== null) return seq;
    }
    return inTenantTransaction(this.store, e.tenantId, (tx) => this.append(tx, e));
  }

  private thread: AppendThread | undefined;
  private appendThread(): AppendThread | undefined {
    const { file, writeTurn, walCommitted } = this.store;
    if (!file || !writeTurn || !walCommitted) return undefined;
    this.thread ??= new AppendThread({
      file,
      keying: this.signer.chainKey,
      turn: writeTurn,
      checkpointEvery: CHECKPOINT_EVERY,
      fallbackPages: FALLBACK_PAGES,
      committed: walCommitted,
    });
    return this.thread;
  }

  /** Waits for the events sent off the event loop and ends their thread (before the store closes). */
  async close(): Promise<void> {
    await this.thread?.close();
  }

  async decryptReason(tx: Tx, tenantId: string, seq: number, blob: Buffer | null): Promise<string | null> {
    if (!blob) return null;
    return openField<string>(await this.keyring.tenantKey(tx, tenantId), reasonBinding(tenantId, seq), blob);
  }

  /**
   * Signs the head of every chain that moved since its last checkpoint, then
   * records the signed heads in the witness file outside the database.
   */
  async checkpointAll(): Promise<void> {
    await oneRoundAtATime(this.store, () => this.checkpointRound());
  }

  private async checkpointRound(): Promise<void> {
    const heads: Record<string, WitnessedHead> = {};
    for (const id of await chainIds(this.store)) {
      const head = await inTenantTransaction(this.store, id, async (tx) => {
        // On PostgreSQL the head is locked like an append locks it: an append that signs its 1000th event
        // in its own transaction commits (or not) before this round reads the last checkpoint.
        const [head] = await (this.store.dialect === 'postgres' ? headForUpdate : chainHead)(tx, id);
        if (!head || head.seq === 0) return undefined;
        const last = await tx
          .selectFrom('audit_checkpoints')
          .select(['seq', 'at', 'key_id'])
          .where('tenant_id', '=', id)
          .orderBy('seq', 'desc')
          .limit(1)
          .executeTakeFirst();
        if (last && last.seq >= head.seq) return { ...head, at: last.at, keyId: last.key_id };
        const signed = await this.checkpoint(tx, id, head);
        return signed ? { ...head, ...signed } : undefined;
      });
      if (head) heads[id] = head;
    }
    this.signer.witness?.record(heads);
  }

  /** Signs `head` if the events since the last checkpoint verify; else records the refusal. Returns the signing time and key. */
  private async checkpoint(
    tx: Tx,
    chainId: string,
    head: { seq: number; hash: string },
  ): Promise<{ at: string; keyId: string } | undefined> {
    const checked = await verifyTail(tx, this.signer, chainId, head, (seq, material) =>
      this.linksMade.linkOf(chainId, seq, material),
    );
    if (checked.ok) {
      const signed = await this.writeCheckpoint(tx, chainId, head, checked);
      // Forgotten once signed; were the checkpoint's transaction rolled back, the next one links those events anew.
      this.linksMade.signedUpTo(chainId, head.seq);
      return signed;
    }
    const refusal: Refusal = { seq: checked.seq, problem: checked.problem, at: new Date().toISOString() };
    this.signer.witness?.refuse(chainId, refusal);
    this.alarm(chainId, refusal);
    return undefined;
  }

  private async writeCheckpoint(
    tx: Tx,
    tenantId: string,
    { seq, hash }: { seq: number; hash: string },
    verified: { from: number; prevHash: string },
  ): Promise<{ at: string; keyId: string }> {
    const at = new Date().toISOString();
    // Issue 19: audit — the stretch since the last checkpoint, just verified row by row, signed as one digest.
    const { digest, count } = await stretchDigest(tx, this.store.dialect, tenantId, verified.from, seq);
    if (count !== seq - verified.from) throw new Error(`audit chain ${tenantId} changed while it was signed`);
    const stretch = { from: verified.from, prevHash: verified.prevHash, digest };
    // The key that signs names itself (after a rotation, the new one: the signer re-reads the key directory).
    const { signature, keyId } = this.signer.sign({ tenantId, seq, hash, at, stretch });
    await tx
      .insertInto('audit_checkpoints')
      .values({
        tenant_id: tenantId,
        seq,
        hash,
        at,
        key_id: keyId,
        signature,
        from_seq: stretch.from,
        prev_hash: stretch.prevHash,
        digest,
      })
      .execute();
    return { at, keyId };
  }
}

/** The advisory lock of the checkpoint round on PostgreSQL (issue 19: several instances on one database). */
export const CHECKPOINT_ROUND_LOCK = 'kartei.audit.checkpoint-round';

/**
 * One checkpoint round at a time across processes. On PostgreSQL a session-level advisory lock, held on one
 * connection for the round (the round's own transactions use others) and released when it ends or its
 * connection dies with the process; a second instance's round waits for it, then finds little left to sign.
 * On SQLite every chain's transaction is a write transaction (BEGIN IMMEDIATE), which serialises the same.
 */
async function oneRoundAtATime(store: Store, round: () => Promise<void>): Promise<void> {
  if (store.dialect !== 'postgres') return round();
  await store.db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(hashtextextended(${CHECKPOINT_ROUND_LOCK}, 0))`.execute(conn);
    try {
      await round();
    } finally {
      await sql`select pg_advisory_unlock(hashtextextended(${CHECKPOINT_ROUND_LOCK}, 0))`.execute(conn);
    }
  });
}

/** Every audit chain: the deployment's, then one per tenant. */
export async function chainIds(store: Store): Promise<string[]> {
  const tenants = await store.db.selectFrom('tenants').select('id').orderBy('id').execute();
  return [DEPLOYMENT_CHAIN, ...tenants.map((t) => t.id)];
}

/** Each chain's head sequence number. */
export async function chainHeads(store: Store): Promise<Record<string, number>> {
  const heads: Record<string, number> = {};
  for (const id of await chainIds(store)) {
    const [head] = await inTenantTransaction(store, id, (tx) => chainHead(tx, id));
    heads[id] = Number(head?.seq ?? 0);
  }
  return heads;
}

const reasonBinding = (tenantId: string, seq: number) => ({
  tenantId,
  table: 'audit_events',
  rowId: String(seq),
  field: 'reason',
});
