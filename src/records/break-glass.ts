// Emergency access ("break the glass"): a department member opens a file it
// cannot otherwise see, with a written reason, for a short time. Every such
// event waits for review by the DPO or the owning department's head.
import { randomUUID } from 'node:crypto';
import type { GateContext } from '../access/gate.ts';
import type { Principal } from '../access/policy.ts';
import type { Tx } from '../db/connect.ts';
import { KarteiError } from '../errors.ts';
import type { Keyring } from '../vault/keyring.ts';
import { openField, sealField } from '../vault/keyring.ts';
import { displayNames } from '../identity/users.ts';
import type { ReviewItem } from '../http/answers.ts';

export const BREAK_GLASS_MINUTES = 60;
export const MIN_REASON = 20;

const reasonBinding = (tenantId: string, id: string) => ({ tenantId, table: 'break_glass', rowId: id, field: 'reason' });
const commentBinding = (tenantId: string, id: string) => ({ tenantId, table: 'break_glass', rowId: id, field: 'comment' });

export class BreakGlass {
  constructor(private readonly keyring: Keyring) {}

  async open(ctx: GateContext, personId: string, reason: string): Promise<{ expiresAt: string }> {
    const { tx, principal } = ctx;
    const tenantId = principal.tenantId;
    const id = randomUUID();
    const expiresAt = new Date(Date.parse(ctx.now) + BREAK_GLASS_MINUTES * 60_000).toISOString();
    const key = await this.keyring.tenantKey(tx, tenantId);
    await tx
      .insertInto('break_glass')
      .values({
        id,
        tenant_id: tenantId,
        person_id: personId,
        department_id: ctx.target.departmentId!,
        user_id: principal.userId,
        reason_enc: sealField(key, reasonBinding(tenantId, id), reason),
        created_at: ctx.now,
        expires_at: expiresAt,
        decision: null,
        comment_enc: null,
        reviewed_by: null,
        reviewed_at: null,
      })
      .execute();
    ctx.audit.reason = reason;
    ctx.audit.detail = { reviewId: id, flagged: true, expiresAt };
    return { expiresAt };
  }

  /** Open events: all for the DPO, the own departments' for a head. */
  async openReviews(tx: Tx, p: Principal): Promise<ReviewItem[]> {
    let q = tx.selectFrom('break_glass').selectAll().where('tenant_id', '=', p.tenantId).where('decision', 'is', null).orderBy('created_at');
    if (!p.tenantRoles.includes('dpo')) {
      const heads = p.memberships.filter((m) => m.role === 'head').map((m) => m.departmentId);
      q = q.where('department_id', 'in', heads.length ? heads : ['']);
    }
    const rows = await q.execute();
    const key = await this.keyring.tenantKey(tx, p.tenantId);
    const names = await displayNames(tx, this.keyring, p.tenantId, rows.map((r) => r.user_id));
    return rows.map((r) => ({
      id: r.id,
      personId: r.person_id,
      departmentId: r.department_id,
      userId: r.user_id,
      userName: names.get(r.user_id) ?? null,
      reason: openField<string>(key, reasonBinding(p.tenantId, r.id), r.reason_enc),
      createdAt: r.created_at,
      expiresAt: r.expires_at,
    }));
  }

  async decide(ctx: GateContext, id: string, decision: 'justified' | 'unjustified', comment: string) {
    const { tx, principal } = ctx;
    const tenantId = principal.tenantId;
    const row = await tx.selectFrom('break_glass').select(['user_id', 'decision']).where('id', '=', id).executeTakeFirstOrThrow();
    if (row.user_id === principal.userId) throw new KarteiError('forbidden', 'Nobody reviews their own emergency access');
    if (row.decision) throw new KarteiError('conflict', 'This event has been reviewed already');
    const key = await this.keyring.tenantKey(tx, tenantId);
    await tx
      .updateTable('break_glass')
      .set({ decision, comment_enc: sealField(key, commentBinding(tenantId, id), comment), reviewed_by: principal.userId, reviewed_at: ctx.now })
      .where('id', '=', id)
      .where('decision', 'is', null)
      .execute();
    ctx.audit.detail = { decision };
    return { id, decision, reviewedAt: ctx.now };
  }
}
