// The daily follow-up of contact persons (issue 16): an entry per contact and day (symptoms asked by
// phone, on which day, by whom), sealed with the contact person's key and never changed afterwards
// (it names that person: after a merge moved the contact, it still opens with the key it was sealed with);
// and the department's worklist of contacts due today and overdue, sorted by urgency, with names
// unsealed for the page only.
import { randomUUID } from 'node:crypto';
import { decidedDepartment, type GateContext } from '../access/gate.ts';
import { serialise } from '../db/connect.ts';
import { KarteiError, fieldRefused } from '../errors.ts';
import { displayNames } from '../identity/users.ts';
import type { Persons } from '../records/persons.ts';
import type { Keyring } from '../vault/keyring.ts';
import { openField, sealField } from '../vault/keyring.ts';
import { readsRestrictedIn } from './contact-index.ts';
import { addDays, daysBetween, officeDay } from './incubation.ts';

export interface FollowUpInput {
  /** The day asked about (ISO date); today (the office's) if not given. */
  day?: string;
  symptoms: boolean;
  /** Which symptoms. */
  which?: string;
  reached: 'phone' | 'in-person' | 'message';
  note?: string;
}

type Entry = Omit<FollowUpInput, 'day'>;

const entryBinding = (tenantId: string, id: string) => ({
  tenantId,
  table: 'contact_follow_ups',
  rowId: id,
  field: 'entry',
});

export interface FollowUpDue {
  contactRecordId: string;
  personId: string;
  familyName: string;
  givenName: string;
  birthDate: string;
  caseRecordId: string;
  lastExposure: string;
  followUpUntil: string;
  lastEntryDay: string | null;
  daysMissed: number;
  dayOfPeriod: number;
  periodDays: number;
}

const isUniqueViolation = (e: unknown) =>
  e instanceof Error && ((e as { code?: string }).code === '23505' || /UNIQUE constraint failed/.test(e.message));

/**
 * What the worklist makes of one active contact on `today`: due today (its period covers today and
 * today has no entry), and how many days of its period up to yesterday went without an entry since
 * the latest one (overdue when more than none).
 */
export function dueState(
  c: { last_exposure: string; follow_up_until: string; last_day: string | null; today_done: boolean },
  today: string,
): { dueToday: boolean; daysMissed: number } {
  const start = addDays(c.last_exposure, 1);
  const dueToday = start <= today && today <= c.follow_up_until && !c.today_done;
  const yesterday = addDays(today, -1);
  const from = c.last_day && c.last_day >= start ? addDays(c.last_day, 1) : start;
  // ISO dates compare as text: the earlier of the period's end and yesterday.
  const to = [c.follow_up_until, yesterday].sort()[0]!;
  return { dueToday, daysMissed: Math.max(0, daysBetween(from, to) + 1) };
}

export class FollowUps {
  private readonly keyring: Keyring;
  private readonly persons: Persons;
  constructor(keyring: Keyring, persons: Persons) {
    this.keyring = keyring;
    this.persons = persons;
  }

  private personKey(ctx: GateContext, personId = ctx.target.personId!) {
    return this.keyring.personKey(ctx.tx, ctx.principal.tenantId, ctx.target.departmentId!, personId);
  }

  /** The live contact the gate decided on (a record of type ifsg-contact), else 404. */
  private async decidedContact(ctx: GateContext, contactId: string) {
    const row = await ctx.tx
      .selectFrom('ifsg_contacts')
      .selectAll()
      .where('record_id', '=', contactId)
      .where('tenant_id', '=', ctx.principal.tenantId)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (!row) throw new KarteiError('not-found');
    return row;
  }

  /** Records a day's follow-up of the contact the gate decided on (`follow-up.record` on its record). */
  async record(ctx: GateContext, contactId: string, input: FollowUpInput): Promise<{ id: string; day: string }> {
    const contact = await this.decidedContact(ctx, contactId);
    const today = officeDay(ctx.now);
    const day = input.day ?? today;
    if (contact.state !== 'active')
      throw fieldRefused('conflict', 'state', 'not-active', 'the follow-up of this contact has ended');
    if (day > today) throw fieldRefused('validation-failed', 'day', 'date-in-future', 'must not lie in the future');
    if (day <= contact.last_exposure)
      throw fieldRefused('validation-failed', 'day', 'date-order', 'must lie after the last exposure');
    await serialise(ctx.tx, `follow-up:${contactId}`);
    const tenantId = ctx.principal.tenantId;
    const taken = await ctx.tx
      .selectFrom('contact_follow_ups')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('contact_record_id', '=', contactId)
      .where('day', '=', day)
      .executeTakeFirst();
    const twice = () => fieldRefused('conflict', 'day', 'already-recorded', 'this day has a follow-up entry already');
    if (taken) throw twice();
    const id = randomUUID();
    const entry: Entry = {
      symptoms: input.symptoms,
      ...(input.which ? { which: input.which } : {}),
      reached: input.reached,
      ...(input.note ? { note: input.note } : {}),
    };
    try {
      await ctx.tx
        .insertInto('contact_follow_ups')
        .values({
          id,
          tenant_id: tenantId,
          contact_record_id: contactId,
          day,
          by_user: ctx.principal.userId,
          created_at: ctx.now,
          entry_enc: sealField(await this.personKey(ctx), entryBinding(tenantId, id), entry),
          person_id: ctx.target.personId!,
        })
        .execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw twice();
      throw e;
    }
    ctx.audit.detail = { day, followUp: id };
    return { id, day };
  }

  /** The entries of the contact the gate decided on (a record read), newest day first. */
  async entries(ctx: GateContext, contactId: string) {
    const contact = await this.decidedContact(ctx, contactId);
    const tenantId = ctx.principal.tenantId;
    const rows = await ctx.tx
      .selectFrom('contact_follow_ups')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('contact_record_id', '=', contactId)
      .orderBy('day', 'desc')
      .limit(400)
      .execute();
    // Each entry opens with the key of the file it was written in (a merge may have moved the contact since).
    const keys = new Map<string, Buffer>();
    for (const personId of new Set(rows.map((r) => r.person_id ?? contact.person_id)))
      keys.set(personId, await this.personKey(ctx, personId));
    const names = await displayNames(
      ctx,
      this.keyring,
      rows.map((r) => r.by_user),
    );
    ctx.audit.detail = { followUps: rows.length };
    return rows.map((r) => ({
      id: r.id,
      day: r.day,
      byUser: r.by_user,
      byName: names.get(r.by_user) ?? null,
      createdAt: r.created_at,
      ...openField<Entry>(keys.get(r.person_id ?? contact.person_id)!, entryBinding(tenantId, r.id), r.entry_enc),
    }));
  }

  /**
   * The department's worklist (`follow-up.list` on the department): active contacts due on `on`
   * (default today), or overdue (days of their period up to yesterday without an entry), the most
   * urgent first; at most `limit`, and only their names unsealed.
   */
  async worklist(
    ctx: GateContext,
    when: 'today' | 'overdue',
    opts: { on?: string; limit: number },
  ): Promise<FollowUpDue[]> {
    const departmentId = decidedDepartment(ctx);
    const tenantId = ctx.principal.tenantId;
    const today = opts.on ?? officeDay(ctx.now);
    let q = ctx.tx
      .selectFrom('ifsg_contacts')
      .select([
        'ifsg_contacts.record_id',
        'ifsg_contacts.person_id',
        'ifsg_contacts.case_record_id',
        'ifsg_contacts.last_exposure',
        'ifsg_contacts.follow_up_until',
      ])
      .select((eb) => [
        eb
          .selectFrom('contact_follow_ups')
          .select((e) => e.fn.max('day').as('d'))
          .whereRef('contact_follow_ups.contact_record_id', '=', 'ifsg_contacts.record_id')
          .where('contact_follow_ups.day', '<=', today)
          .as('last_day'),
      ])
      .where('ifsg_contacts.tenant_id', '=', tenantId)
      .where('ifsg_contacts.department_id', '=', departmentId)
      .where('ifsg_contacts.state', '=', 'active')
      .where('ifsg_contacts.deleted_at', 'is', null)
      .where('ifsg_contacts.last_exposure', '<', today);
    if (!readsRestrictedIn(ctx, departmentId)) q = q.where('ifsg_contacts.sensitivity', '=', 'normal');
    if (when === 'today') q = q.where('ifsg_contacts.follow_up_until', '>=', today);
    const rows = await q.limit(10_000).execute();
    const found = rows
      .map((r) => {
        const last = r.last_day ?? null;
        const state = dueState(
          {
            last_exposure: r.last_exposure,
            follow_up_until: r.follow_up_until,
            last_day: last,
            today_done: last === today,
          },
          today,
        );
        return { r, last, ...state };
      })
      .filter((x) => (when === 'today' ? x.dueToday : x.daysMissed > 0))
      // Most urgent first: overdue by days missed, then whose period ends soonest.
      .sort(
        (a, b) =>
          b.daysMissed - a.daysMissed ||
          a.r.follow_up_until.localeCompare(b.r.follow_up_until) ||
          a.r.record_id.localeCompare(b.r.record_id),
      )
      .slice(0, opts.limit);
    const people = new Map(
      (await this.persons.identify(ctx, [...new Set(found.map((x) => x.r.person_id))])).map((p) => [p.id, p]),
    );
    ctx.audit.detail = { when, count: found.length };
    ctx.audit.hits = [...people.values()].map((p) => ({ personId: p.id, departmentId: p.departmentId }));
    return found.map(({ r, last, daysMissed }) => {
      const p = people.get(r.person_id)!;
      return {
        contactRecordId: r.record_id,
        personId: r.person_id,
        familyName: p.familyName,
        givenName: p.givenName,
        birthDate: p.birthDate,
        caseRecordId: r.case_record_id,
        lastExposure: r.last_exposure,
        followUpUntil: r.follow_up_until,
        lastEntryDay: last,
        daysMissed,
        dayOfPeriod: daysBetween(r.last_exposure, today),
        periodDays: daysBetween(r.last_exposure, r.follow_up_until),
      };
    });
  }
}
