// Emergency access ("break the glass"): a department member opens a file it
// cannot otherwise see, with a written reason, for a short time. Every such
// event waits for review by the DPO or the owning department's head, and so
// does every emergency search (src/records/emergency-search.ts; the DPO's only).
// A review that finds an access unjustified ends it at once; the owning head and
// the DPO can also end a running one early (revoke). An ended grant stays on
// record: `expires_at` moves to the moment it ended, `revoked_at/by` say why.
import { randomUUID } from 'node:crypto';
import { decidedPerson, type GateContext } from '../access/gate.ts';
import type { Tx } from '../db/connect.ts';
import type { BreakGlassTable } from '../db/schema.ts';
import { KarteiError, fieldRefused } from '../errors.ts';
import type { Binding } from '../vault/aead.ts';
import type { Keyring } from '../vault/keyring.ts';
import { openField, sealField } from '../vault/keyring.ts';
import { displayNames } from '../identity/users.ts';
import type { ReviewItem } from '../contract/records.ts';
import { decodeCursor, pageOf } from './page-cursor.ts';

const BREAK_GLASS_MINUTES = 60;

/** The binding of an emergency access's sealed reason or comment: a grant's (`break_glass`) or a search's. */
const accessTextBinding =
  (table: 'break_glass' | 'emergency_searches', field: 'reason' | 'comment') => (tenantId: string, id: string) => ({
    tenantId,
    table,
    rowId: id,
    field,
  });
const reasonBinding = accessTextBinding('break_glass', 'reason');
const commentBinding = accessTextBinding('break_glass', 'comment');
const searchReasonBinding = accessTextBinding('emergency_searches', 'reason');
const searchCommentBinding = accessTextBinding('emergency_searches', 'comment');

export class BreakGlass {
  private readonly keyring: Keyring;
  constructor(keyring: Keyring) {
    this.keyring = keyring;
  }

  /** `viaSearch`: the emergency search whose hit handle opened it. */
  /**
   * Breaks the glass for the file an emergency search showed the caller, named by the hit's
   * handle (the gate resolved it: the caller's own, unexpired); the grant names that search.
   */
  async openFromHit(ctx: GateContext, hitId: string, reason: string): Promise<{ personId: string; expiresAt: string }> {
    const personId = decidedPerson(ctx);
    const search = await ctx.tx
      .selectFrom('emergency_hits')
      .select('search_id')
      .where('id', '=', hitId)
      .where('tenant_id', '=', ctx.principal.tenantId)
      .where('user_id', '=', ctx.principal.userId)
      .executeTakeFirstOrThrow();
    return { personId, ...(await this.open(ctx, reason, search.search_id)) };
  }

  async open(ctx: GateContext, reason: string, viaSearch?: string): Promise<{ expiresAt: string }> {
    const personId = decidedPerson(ctx);
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
    ctx.audit.detail = { reviewId: id, flagged: true, expiresAt, ...(viaSearch ? { searchId: viaSearch } : {}) };
    return { expiresAt };
  }

  /** Open events: all for the DPO (break-glass grants and emergency searches), the own departments' grants for a head. */
  async openReviews(ctx: GateContext): Promise<ReviewItem[]> {
    const { tx, principal: p } = ctx;
    const dpo = p.tenantRoles.includes('dpo');
    let q = tx
      .selectFrom('break_glass')
      .selectAll()
      .where('tenant_id', '=', p.tenantId)
      .where('decision', 'is', null)
      .orderBy('created_at');
    if (!dpo) {
      const heads = p.memberships.filter((m) => m.role === 'head').map((m) => m.departmentId);
      q = q.where('department_id', 'in', heads.length ? heads : ['']);
    }
    const rows = await q.execute();
    const searches = dpo
      ? await tx
          .selectFrom('emergency_searches')
          .selectAll()
          .where('tenant_id', '=', p.tenantId)
          .where('decision', 'is', null)
          .orderBy('created_at')
          .execute()
      : [];
    const shown = await this.shownBy(
      tx,
      p.tenantId,
      searches.map((x) => x.id),
    );
    const key = await this.keyring.tenantKey(tx, p.tenantId);
    const names = await displayNames(ctx, this.keyring, [
      ...rows.map((r) => r.user_id),
      ...searches.map((r) => r.user_id),
    ]);
    const items: ReviewItem[] = [
      ...rows.map((r) => ({ ...this.grantItem(key, p.tenantId, r), userName: names.get(r.user_id) ?? null })),
      ...searches.map((r) => ({
        ...this.searchItem(key, p.tenantId, r, shown.get(r.id) ?? []),
        userName: names.get(r.user_id) ?? null,
      })),
    ];
    return items.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  }

  /**
   * The decided emergency accesses, most recently decided first, a page at a time: what was
   * decided, by whom, when, with the comment. Visible as the open ones are: all to the DPO
   * (grants and searches), the own departments' grants to a head.
   */
  async decidedReviews(
    ctx: GateContext,
    page: { limit: number; before?: string },
  ): Promise<{ items: ReviewItem[]; next: string | null }> {
    const { tx, principal: p } = ctx;
    const dpo = p.tenantRoles.includes('dpo');
    const cursor = page.before ? decodeCursor(page.before) : null;
    let q = tx
      .selectFrom('break_glass')
      .selectAll()
      .where('tenant_id', '=', p.tenantId)
      .where('decision', 'is not', null);
    if (!dpo) {
      const heads = p.memberships.filter((m) => m.role === 'head').map((m) => m.departmentId);
      q = q.where('department_id', 'in', heads.length ? heads : ['']);
    }
    if (cursor) q = q.where((eb) => eb(eb.refTuple('reviewed_at', 'id'), '<', eb.tuple(cursor.at, cursor.id)));
    const grants = await q
      .orderBy('reviewed_at', 'desc')
      .orderBy('id', 'desc')
      .limit(page.limit + 1)
      .execute();
    let sq = tx
      .selectFrom('emergency_searches')
      .selectAll()
      .where('tenant_id', '=', p.tenantId)
      .where('decision', 'is not', null);
    if (cursor) sq = sq.where((eb) => eb(eb.refTuple('reviewed_at', 'id'), '<', eb.tuple(cursor.at, cursor.id)));
    const searches = dpo
      ? await sq
          .orderBy('reviewed_at', 'desc')
          .orderBy('id', 'desc')
          .limit(page.limit + 1)
          .execute()
      : [];
    const key = await this.keyring.tenantKey(tx, p.tenantId);
    type Row = { item: ReviewItem; at: string; id: string };
    const merged: Row[] = [
      ...grants.map(
        (r): Row => ({
          at: r.reviewed_at!,
          id: r.id,
          item: {
            ...this.grantItem(key, p.tenantId, r),
            decision: r.decision as 'justified' | 'unjustified',
            reviewedBy: r.reviewed_by,
            reviewedAt: r.reviewed_at,
            comment: r.comment_enc ? openField<string>(key, commentBinding(p.tenantId, r.id), r.comment_enc) : null,
          },
        }),
      ),
      ...searches.map(
        (r): Row => ({
          at: r.reviewed_at!,
          id: r.id,
          item: {
            ...this.searchItem(key, p.tenantId, r, []),
            decision: r.decision as 'justified' | 'unjustified',
            reviewedBy: r.reviewed_by,
            reviewedAt: r.reviewed_at,
            comment: r.comment_enc
              ? openField<string>(key, searchCommentBinding(p.tenantId, r.id), r.comment_enc)
              : null,
          },
        }),
      ),
    ].sort((a, b) => (a.at !== b.at ? (a.at < b.at ? 1 : -1) : a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    const { rows, next } = pageOf(merged, page.limit, (r) => ({ at: r.at, id: r.id }));
    const names = await displayNames(
      ctx,
      this.keyring,
      rows.flatMap((r) => [r.item.userId, r.item.reviewedBy ?? null]),
    );
    const shown = await this.shownBy(
      tx,
      p.tenantId,
      rows.filter((r) => r.item.kind === 'emergency-search').map((r) => r.id),
    );
    const items = rows.map(({ item }) => ({
      ...item,
      userName: names.get(item.userId) ?? null,
      reviewedByName: (item.reviewedBy && names.get(item.reviewedBy)) ?? null,
      ...(item.kind === 'emergency-search' ? { shownPersonIds: shown.get(item.id) ?? [] } : {}),
    }));
    return { items, next };
  }

  private grantItem(
    key: Buffer,
    tenantId: string,
    r: Pick<
      BreakGlassTable,
      'id' | 'person_id' | 'department_id' | 'user_id' | 'reason_enc' | 'created_at' | 'expires_at' | 'revoked_at'
    >,
  ): ReviewItem {
    return {
      id: r.id,
      kind: 'break-glass',
      personId: r.person_id,
      departmentId: r.department_id,
      userId: r.user_id,
      userName: null,
      reason: openField<string>(key, reasonBinding(tenantId, r.id), r.reason_enc),
      createdAt: r.created_at,
      expiresAt: r.expires_at,
      revokedAt: r.revoked_at,
    };
  }

  private searchItem(
    key: Buffer,
    tenantId: string,
    r: { id: string; user_id: string; reason_enc: Buffer; created_at: string; expires_at: string; results: number },
    shownPersonIds: string[],
  ): ReviewItem {
    return {
      id: r.id,
      kind: 'emergency-search',
      personId: null,
      departmentId: null,
      userId: r.user_id,
      userName: null,
      reason: openField<string>(key, searchReasonBinding(tenantId, r.id), r.reason_enc),
      createdAt: r.created_at,
      expiresAt: r.expires_at,
      revokedAt: null,
      results: r.results,
      shownPersonIds,
    };
  }

  /** The files each of these emergency searches showed. */
  private async shownBy(tx: Tx, tenantId: string, searchIds: string[]): Promise<Map<string, string[]>> {
    const shown = new Map<string, string[]>();
    if (searchIds.length === 0) return shown;
    const hits = await tx
      .selectFrom('emergency_hits')
      .select(['search_id', 'person_id'])
      .where('tenant_id', '=', tenantId)
      .where('search_id', 'in', searchIds)
      .orderBy('person_id')
      .execute();
    for (const h of hits) shown.set(h.search_id, [...(shown.get(h.search_id) ?? []), h.person_id]);
    return shown;
  }

  /**
   * Decides an emergency access. "unjustified" ends it at once if it still runs: the
   * grant (the grantee's next read is 404), or the search's hit handles.
   */
  async decide(ctx: GateContext, id: string, decision: 'justified' | 'unjustified', comment: string) {
    const { tx, principal } = ctx;
    const tenantId = principal.tenantId;
    const key = await this.keyring.tenantKey(tx, tenantId);
    const grant = await tx
      .selectFrom('break_glass')
      .select(['user_id', 'decision', 'expires_at'])
      .where('id', '=', id)
      .executeTakeFirst();
    const search = grant
      ? undefined
      : await tx
          .selectFrom('emergency_searches')
          .select(['user_id', 'decision', 'expires_at'])
          .where('id', '=', id)
          .executeTakeFirst();
    const row = grant ?? search;
    if (!row) throw new KarteiError('not-found');
    if (row.user_id === principal.userId)
      throw new KarteiError('forbidden', 'Nobody reviews their own emergency access');
    if (row.decision) throw reviewedAlready();
    const ended = decision === 'unjustified' && row.expires_at > ctx.now;
    /** The review's own columns, on a grant's row as on a search's: the comment sealed under the row's binding. */
    const reviewed = (binding: Binding) => ({
      decision,
      comment_enc: sealField(key, binding, comment),
      reviewed_by: principal.userId,
      reviewed_at: ctx.now,
    });
    // Conditional on no decision yet: of two reviewers deciding at once, one wins and the other gets 409.
    let moved: { numUpdatedRows: bigint };
    if (grant) {
      moved = await tx
        .updateTable('break_glass')
        .set({
          ...reviewed(commentBinding(tenantId, id)),
          ...(ended ? { expires_at: ctx.now, revoked_at: ctx.now, revoked_by: principal.userId } : {}),
        })
        .where('id', '=', id)
        .where('decision', 'is', null)
        .executeTakeFirst();
    } else {
      moved = await tx
        .updateTable('emergency_searches')
        .set({
          ...reviewed(searchCommentBinding(tenantId, id)),
          ...(ended ? { expires_at: ctx.now } : {}),
        })
        .where('id', '=', id)
        .where('decision', 'is', null)
        .executeTakeFirst();
    }
    if (Number(moved.numUpdatedRows) !== 1) throw reviewedAlready();
    if (!grant && ended) await endHits(tx, id, ctx.now);
    ctx.audit.detail = {
      decision,
      kind: grant ? 'break-glass' : 'emergency-search',
      ...(ended ? { ended: true } : {}),
    };
    return { id, decision, reviewedAt: ctx.now, ...(ended ? { endedAt: ctx.now } : {}) };
  }

  /**
   * Ends a running emergency access now (the owning head or the DPO; the gate decided):
   * a grant, whose holder's next read of the file is 404, or a search's hit handles.
   * One that has already ended answers 409. The review stays open.
   */
  async revoke(ctx: GateContext, id: string): Promise<void> {
    const { tx, principal } = ctx;
    const grant = await tx.selectFrom('break_glass').select(['expires_at']).where('id', '=', id).executeTakeFirst();
    if (grant) {
      const moved = await tx
        .updateTable('break_glass')
        .set({ expires_at: ctx.now, revoked_at: ctx.now, revoked_by: principal.userId })
        .where('id', '=', id)
        .where('expires_at', '>', ctx.now)
        .executeTakeFirst();
      if (Number(moved.numUpdatedRows) !== 1)
        throw fieldRefused('conflict', 'grant', 'already-ended', 'This emergency access has ended already');
      ctx.audit.detail = { kind: 'break-glass', grantedUntil: grant.expires_at };
      return;
    }
    const moved = await tx
      .updateTable('emergency_searches')
      .set({ expires_at: ctx.now })
      .where('id', '=', id)
      .where('expires_at', '>', ctx.now)
      .executeTakeFirst();
    if (Number(moved.numUpdatedRows) !== 1)
      throw fieldRefused('conflict', 'grant', 'already-ended', 'This emergency access has ended already');
    await endHits(tx, id, ctx.now);
    ctx.audit.detail = { kind: 'emergency-search' };
  }
}

/** A search's handles open nothing from `now` on. */
const endHits = (tx: Tx, searchId: string, now: string) =>
  tx
    .updateTable('emergency_hits')
    .set({ expires_at: now })
    .where('search_id', '=', searchId)
    .where('expires_at', '>', now)
    .execute();

export { searchReasonBinding, reasonBinding as grantReasonBinding };

const reviewedAlready = () =>
  fieldRefused('conflict', 'decision', 'already-decided', 'This event has been reviewed already');
