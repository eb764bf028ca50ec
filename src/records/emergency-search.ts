// The emergency search: before breaking the glass, a department member finds the
// file of a person in front of them that another department keeps. It used to take
// any one word (a birth date alone) and answer name, birth date and owning
// department of up to ten files, unthrottled: the office was enumerable, and the
// owning department alone says "is in psychiatric care" (issue 13). Now:
//
// - It asks for what a real emergency has: the family name AND the full birth date
//   (the person or their papers are at hand). The family name matches word by word
//   through the blind index, as typed or as it sounds (Kölner Phonetik); the given
//   name never matches, so a first name and a birth date find nothing.
// - It answers the least that lets the emergency go on. Per hit: an opaque handle
//   (a random id of a row only this caller's requests resolve, for 15 minutes) that
//   breaks the glass for the one meant; the given name's first letter, which tells
//   apart the hits that can share a family name and a birth date (twins, a Meyer and
//   a Maier); and whether the family name matched exactly or only as it sounds. Not
//   the owning department (it alone reveals care by the social-psychiatric service,
//   or a child-welfare concern), not the person's id (stable, linkable, usable later
//   without a new search), not the full given name, not the birth date or the family
//   name back (the caller typed them; a phonetic hit's spelling is learned on opening,
//   which is audited and reviewed). The caller confirms identity in the file itself.
// - The search is an emergency access of its own: audited with its reason and one
//   event per file shown, and waiting in the DPO's review queue (GET /api/reviews)
//   and the security report's count of unreviewed ones. An "unjustified" decision,
//   or a revoke, ends its handles at once.
// - At most EMERGENCY_SEARCHES_PER_HOUR per user in any hour (429 beyond). The check
//   and the row that counts are in one transaction, serialised per user: SQLite runs
//   transactions one at a time; PostgreSQL takes a transaction-scoped advisory lock on
//   the user first (READ COMMITTED: the count after the lock sees every search the
//   lock's earlier holders committed). A refused search changes nothing and is
//   audited as an error.
import { randomUUID } from 'node:crypto';
import type { GateContext } from '../access/gate.ts';
import { serialise } from '../db/connect.ts';
import { KarteiError } from '../errors.ts';
import type { EmergencySearchAnswer } from '../contract/records.ts';
import type { Keyring } from '../vault/keyring.ts';
import { sealField } from '../vault/keyring.ts';
import { normaliseName } from '../vault/blind-index.ts';
import { searchReasonBinding } from './break-glass.ts';
import type { Persons } from './persons.ts';

/** Few files: a family name and a birth date rarely fit more than two. */
const EMERGENCY_LIMIT = 5;
export const EMERGENCY_SEARCHES_PER_HOUR = 5;
const HANDLE_MINUTES = 15;
const HOUR_MS = 60 * 60_000;

export class EmergencySearch {
  private readonly keyring: Keyring;
  private readonly persons: Persons;
  constructor(keyring: Keyring, persons: Persons) {
    this.keyring = keyring;
    this.persons = persons;
  }

  async search(
    ctx: GateContext,
    familyName: string,
    birthDate: string,
    reason: string,
  ): Promise<EmergencySearchAnswer> {
    const { tx, principal } = ctx;
    const tenantId = principal.tenantId;
    const done = await this.claim(ctx);
    const found = await this.persons.findElsewhere(ctx, familyName, birthDate, EMERGENCY_LIMIT);
    const id = randomUUID();
    const handlesExpireAt = new Date(Date.parse(ctx.now) + HANDLE_MINUTES * 60_000).toISOString();
    const key = await this.keyring.tenantKey(tx, tenantId);
    await tx
      .insertInto('emergency_searches')
      .values({
        id,
        tenant_id: tenantId,
        user_id: principal.userId,
        reason_enc: sealField(key, searchReasonBinding(tenantId, id), reason),
        created_at: ctx.now,
        expires_at: handlesExpireAt,
        results: found.length,
        decision: null,
        comment_enc: null,
        reviewed_by: null,
        reviewed_at: null,
      })
      .execute();
    const typed = normaliseName(familyName);
    const hits = found.map((p) => ({
      handle: randomUUID(),
      personId: p.id,
      departmentId: p.departmentId,
      givenNameInitial: [...p.givenName.trim()][0]?.toLocaleUpperCase('de') ?? '',
      match: normaliseName(p.familyName) === typed ? ('exact' as const) : ('phonetic' as const),
    }));
    if (hits.length) {
      await tx
        .insertInto('emergency_hits')
        .values(
          hits.map((h) => ({
            id: h.handle,
            tenant_id: tenantId,
            search_id: id,
            user_id: principal.userId,
            person_id: h.personId,
            department_id: h.departmentId,
            expires_at: handlesExpireAt,
          })),
        )
        .execute();
    }
    ctx.audit.reason = reason;
    ctx.audit.resourceId = id;
    ctx.audit.detail = { reviewId: id, flagged: true, results: hits.length };
    ctx.audit.hits = hits.map((h) => ({ personId: h.personId, departmentId: h.departmentId }));
    return {
      searchId: id,
      hits: hits.map((h) => ({ handle: h.handle, givenNameInitial: h.givenNameInitial, match: h.match })),
      handlesExpireAt,
      searchesLeft: EMERGENCY_SEARCHES_PER_HOUR - done - 1,
    };
  }

  /** The caller's searches in the last hour, under a per-user lock; beyond the limit, 429. */
  private async claim(ctx: GateContext): Promise<number> {
    const { tx, principal } = ctx;
    await serialise(tx, `kartei.emergency-search:${principal.tenantId}:${principal.userId}`);
    const since = new Date(Date.parse(ctx.now) - HOUR_MS).toISOString();
    const row = await tx
      .selectFrom('emergency_searches')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', principal.tenantId)
      .where('user_id', '=', principal.userId)
      .where('created_at', '>', since)
      .executeTakeFirstOrThrow();
    const done = Number(row.n);
    if (done >= EMERGENCY_SEARCHES_PER_HOUR) {
      throw new KarteiError(
        'rate-limited',
        `At most ${EMERGENCY_SEARCHES_PER_HOUR} emergency searches an hour; ask a colleague of the department that keeps the file, or try again later`,
      );
    }
    return done;
  }
}
