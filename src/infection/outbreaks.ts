// A department's outbreaks (issue 16): a group of cases in a setting (school, nursing home, ward…)
// over a period, with a timeline and counts by status. Name, description and timeline texts are
// sealed with the department key; which cases belong is the case records' own `outbreakId`,
// mirrored in `ifsg_cases.outbreak_id`, so adding a case to an outbreak is an update of its record.
// The view also lists the contact persons of its cases (`ifsg_contacts`), names unsealed for them only.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { decidedDepartment, type GateContext } from '../access/gate.ts';
import { decide } from '../access/policy.ts';
import { serialise } from '../db/connect.ts';
import { fieldRefused, KarteiError } from '../errors.ts';
import { displayNames } from '../identity/users.ts';
import type { Persons } from '../records/persons.ts';
import { stale } from '../records/persons.ts';
import type { IfsgCaseContent } from '../records/record-types.ts';
import type { Records } from '../records/records.ts';
import { openField, sealField, type Keyring } from '../vault/keyring.ts';
import {
  CASE_STATUSES,
  OUTBREAK_SETTINGS,
  OUTBREAK_STATES,
  type OutbreakListItem,
  type OutbreakView,
} from '../contract/infection-outbreaks.ts';
import type { CaseIndex } from './case-index.ts';

/** At most this many cases are listed by name in one outbreak's view; the rest are counted. */
const CASES_LISTED = 500;
/** The same for the contacts of its cases. */
const CONTACTS_LISTED = 500;

const text = (max: number) => z.string().trim().min(1).max(max);
const date = z.iso.date();

const outbreakShape = {
  name: text(200),
  description: z.string().trim().max(5_000).nullable().optional(),
  setting: z.enum(OUTBREAK_SETTINGS),
  periodFrom: date,
  periodUntil: date.nullable().optional(),
  state: z.enum(OUTBREAK_STATES).optional(),
};
const periodInOrder = <T extends { periodFrom: string; periodUntil?: string | null }>(o: T) =>
  !o.periodUntil || o.periodUntil >= o.periodFrom;
const periodOrder = {
  message: 'must not lie before `periodFrom`',
  path: ['periodUntil'],
  params: { code: 'date-order' },
};

/** What a person writes about an outbreak; the period's end must not lie before its start. */
export const outbreakInput = z.strictObject(outbreakShape).refine(periodInOrder, periodOrder);
/** The same, on top of the version it changes. */
export const outbreakUpdate = z
  .strictObject({ ...outbreakShape, version: z.number().int().positive() })
  .refine(periodInOrder, periodOrder);
type OutbreakInput = z.infer<typeof outbreakInput>;

export const timelineInput = z.strictObject({ day: date, text: text(5_000) });

const binding = (tenantId: string, table: string, rowId: string, field: string) => ({
  tenantId,
  table,
  rowId,
  field,
});

type Counts = OutbreakListItem['counts'];
const noCounts = (): Counts => ({ suspected: 0, probable: 0, confirmed: 0, 'not-a-case': 0 });

type OutbreakRow = {
  id: string;
  department_id: string;
  version: number;
  name_enc: Buffer;
  description_enc: Buffer | null;
  setting: string;
  period_from: string;
  period_until: string | null;
  state: string;
  created_at: string;
  created_by: string;
  updated_at: string;
  updated_by: string;
};

export class Outbreaks {
  private readonly keyring: Keyring;
  private readonly persons: Persons;
  private readonly cases: CaseIndex;
  constructor(keyring: Keyring, persons: Persons, cases: CaseIndex) {
    this.keyring = keyring;
    this.persons = persons;
    this.cases = cases;
  }

  /** A new outbreak in the department the gate decided on (`outbreak.create`). */
  async create(ctx: GateContext, input: OutbreakInput): Promise<string> {
    const departmentId = decidedDepartment(ctx);
    const tenantId = ctx.principal.tenantId;
    const id = randomUUID();
    const key = await this.keyring.departmentKey(ctx.tx, tenantId, departmentId);
    await ctx.tx
      .insertInto('outbreaks')
      .values({
        id,
        tenant_id: tenantId,
        department_id: departmentId,
        version: 1,
        ...this.sealed(key, tenantId, id, input),
        setting: input.setting,
        period_from: input.periodFrom,
        period_until: input.periodUntil ?? null,
        state: input.state ?? 'open',
        created_at: ctx.now,
        created_by: ctx.principal.userId,
        updated_at: ctx.now,
        updated_by: ctx.principal.userId,
      })
      .execute();
    ctx.audit.resourceId = id;
    return id;
  }

  /** The department's outbreaks, newest period first, each with its live cases by status. */
  async list(ctx: GateContext): Promise<OutbreakListItem[]> {
    const departmentId = decidedDepartment(ctx);
    const tenantId = ctx.principal.tenantId;
    const rows = await ctx.tx
      .selectFrom('outbreaks')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('department_id', '=', departmentId)
      .orderBy('period_from', 'desc')
      .orderBy('id')
      .execute();
    const counted = await ctx.tx
      .selectFrom('ifsg_cases')
      .select(['outbreak_id', 'status', (eb) => eb.fn.countAll<number | string>().as('n')])
      .where('tenant_id', '=', tenantId)
      .where('department_id', '=', departmentId)
      .where('outbreak_id', 'is not', null)
      .where('deleted_at', 'is', null)
      .groupBy(['outbreak_id', 'status'])
      .execute();
    const counts = new Map<string, Counts>();
    for (const c of counted) {
      const m = counts.get(c.outbreak_id!) ?? noCounts();
      if (c.status in m) m[c.status as keyof Counts] += Number(c.n);
      counts.set(c.outbreak_id!, m);
    }
    const key = rows.length ? await this.keyring.departmentKey(ctx.tx, tenantId, departmentId) : null;
    ctx.audit.detail = { count: rows.length };
    return rows.map((r) => {
      const c = counts.get(r.id) ?? noCounts();
      return { ...this.facts(key!, tenantId, r), counts: c, cases: total(c) };
    });
  }

  /**
   * One outbreak (`outbreak.read` on it): its facts, its timeline, its cases by status, and the
   * cases the caller may read with the person's name (restricted ones left out for whoever may
   * not read restricted records of the department; each file shown is on the record).
   */
  async read(ctx: GateContext, records: Records): Promise<OutbreakView> {
    const row = await this.row(ctx);
    const tenantId = ctx.principal.tenantId;
    const key = await this.keyring.departmentKey(ctx.tx, tenantId, row.department_id);
    const live = ctx.tx
      .selectFrom('ifsg_cases')
      .where('tenant_id', '=', tenantId)
      .where('department_id', '=', row.department_id)
      .where('outbreak_id', '=', row.id)
      .where('deleted_at', 'is', null);
    const byStatus = await live
      .select(['status', (eb) => eb.fn.countAll<number | string>().as('n')])
      .groupBy('status')
      .execute();
    const counts = noCounts();
    for (const s of byStatus) if (s.status in counts) counts[s.status as keyof Counts] += Number(s.n);
    const span = await live
      .select((eb) => [eb.fn.min('notified_on').as('first'), eb.fn.max('notified_on').as('last')])
      .executeTakeFirst();
    const readsRestricted =
      decide(ctx.principal, 'record.read', {
        kind: 'file',
        departmentId: row.department_id,
        sharedWith: [],
        breakGlass: false,
        sensitivity: 'restricted',
      }) === 'allow';
    const caseRows = await live
      .select([
        'record_id',
        'department_id',
        'person_id',
        'status',
        'sensitivity',
        'notified_on',
        'reporting_week',
        'version',
        'disease_digest',
        'disease_enc',
      ])
      .$if(!readsRestricted, (q) => q.where('sensitivity', '=', 'normal'))
      .orderBy('notified_on', 'desc')
      .orderBy('record_id')
      .limit(CASES_LISTED)
      .execute();
    // Issue 16: seams — the contacts of the outbreak's live cases, by state; listed where the caller may read them.
    const contactsOf = ctx.tx
      .selectFrom('ifsg_contacts as k')
      .innerJoin('ifsg_cases as c', 'c.record_id', 'k.case_record_id')
      .where('k.tenant_id', '=', tenantId)
      .where('k.deleted_at', 'is', null)
      .where('c.tenant_id', '=', tenantId)
      .where('c.department_id', '=', row.department_id)
      .where('c.outbreak_id', '=', row.id)
      .where('c.deleted_at', 'is', null);
    const contactCounts = { active: 0, ended: 0, converted: 0 };
    for (const s of await contactsOf
      .select(['k.state', (eb) => eb.fn.countAll<number | string>().as('n')])
      .groupBy('k.state')
      .execute())
      if (s.state in contactCounts) contactCounts[s.state as keyof typeof contactCounts] += Number(s.n);
    const contactRows = await contactsOf
      .select([
        'k.record_id',
        'k.person_id',
        'k.case_record_id',
        'k.state',
        'k.sensitivity',
        'k.last_exposure',
        'k.follow_up_until',
      ])
      .$if(!readsRestricted, (q) => q.where('k.sensitivity', '=', 'normal'))
      .orderBy('k.last_exposure', 'desc')
      .orderBy('k.record_id')
      .limit(CONTACTS_LISTED)
      .execute();
    const people = new Map(
      (
        await this.persons.identify(ctx, [
          ...new Set([...caseRows.map((c) => c.person_id), ...contactRows.map((k) => k.person_id)]),
        ])
      ).map((p) => [p.id, p]),
    );
    const contactList: OutbreakView['contactList'] = contactRows.flatMap((k) => {
      const person = people.get(k.person_id);
      return person
        ? [
            {
              id: k.record_id,
              personId: k.person_id,
              familyName: person.familyName,
              givenName: person.givenName,
              birthDate: person.birthDate,
              caseId: k.case_record_id,
              state: k.state as OutbreakView['contactList'][number]['state'],
              sensitivity: k.sensitivity as 'normal' | 'restricted',
              lastExposure: k.last_exposure,
              followUpUntil: k.follow_up_until,
            },
          ]
        : [];
    });
    const diseases = new Map<string, IfsgCaseContent['disease']>();
    const caseList: OutbreakView['caseList'] = [];
    for (const c of caseRows) {
      const person = people.get(c.person_id);
      if (!person) continue;
      let disease = diseases.get(c.disease_digest);
      if (!disease) {
        disease = await this.cases.diseaseOf(ctx, c);
        diseases.set(c.disease_digest, disease);
      }
      const record = await records.get(ctx, c.record_id);
      caseList.push({
        id: c.record_id,
        personId: c.person_id,
        familyName: person.familyName,
        givenName: person.givenName,
        birthDate: person.birthDate,
        status: c.status as OutbreakView['caseList'][number]['status'],
        sensitivity: c.sensitivity as 'normal' | 'restricted',
        notifiedOn: c.notified_on,
        reportingWeek: c.reporting_week,
        version: c.version,
        onset: (record.content as IfsgCaseContent).onset ?? null,
        disease,
      });
    }
    const onsets = caseList.flatMap((c) => (c.onset ? [c.onset] : [])).sort();
    const events = await ctx.tx
      .selectFrom('outbreak_events')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('outbreak_id', '=', row.id)
      .orderBy('day')
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    const names = await displayNames(ctx, this.keyring, [
      row.created_by,
      row.updated_by,
      ...events.map((e) => e.created_by),
    ]);
    const all = total(counts);
    ctx.audit.hits = [...new Set([...caseList, ...contactList].map((c) => c.personId))].map((personId) => ({
      personId,
      departmentId: row.department_id,
    }));
    ctx.audit.detail = { cases: caseList.length, contacts: contactList.length, timeline: events.length };
    return {
      ...this.facts(key, tenantId, row),
      description: row.description_enc
        ? openField<string>(key, binding(tenantId, 'outbreaks', row.id, 'description'), row.description_enc)
        : null,
      createdBy: row.created_by,
      updatedBy: row.updated_by,
      counts,
      cases: all,
      timeline: events.map((e) => ({
        id: e.id,
        day: e.day,
        text: openField<string>(key, binding(tenantId, 'outbreak_events', e.id, 'text'), e.text_enc),
        createdAt: e.created_at,
        createdBy: e.created_by,
        createdByName: names.get(e.created_by) ?? null,
      })),
      caseList,
      casesNotListed: all - caseList.length,
      notified: { first: (span?.first as string | null) ?? null, last: (span?.last as string | null) ?? null },
      onset: { first: onsets[0] ?? null, last: onsets.at(-1) ?? null },
      contactCounts,
      contactList,
      contactsNotListed: contactCounts.active + contactCounts.ended + contactCounts.converted - contactList.length,
    };
  }

  /** Changes the outbreak on top of `version` (`outbreak.update`); a stale version answers 409 with the current one. */
  async update(ctx: GateContext, version: number, input: OutbreakInput): Promise<{ id: string; version: number }> {
    const row = await this.row(ctx);
    if (row.version !== version) throw stale(row.version);
    const tenantId = ctx.principal.tenantId;
    const key = await this.keyring.departmentKey(ctx.tx, tenantId, row.department_id);
    const moved = await ctx.tx
      .updateTable('outbreaks')
      .set({
        version: version + 1,
        ...this.sealed(key, tenantId, row.id, input),
        setting: input.setting,
        period_from: input.periodFrom,
        period_until: input.periodUntil ?? null,
        state: input.state ?? (row.state as 'open' | 'closed'),
        updated_at: ctx.now,
        updated_by: ctx.principal.userId,
      })
      .where('id', '=', row.id)
      .where('tenant_id', '=', tenantId)
      .where('version', '=', version)
      .executeTakeFirst();
    if (Number(moved.numUpdatedRows) !== 1) throw stale(version + 1);
    ctx.audit.detail = { version: version + 1 };
    return { id: row.id, version: version + 1 };
  }

  /** Appends an entry to the outbreak's timeline (`outbreak.timeline`); entries are never changed. */
  async addEntry(ctx: GateContext, entry: z.infer<typeof timelineInput>): Promise<string> {
    const row = await this.row(ctx);
    const tenantId = ctx.principal.tenantId;
    const key = await this.keyring.departmentKey(ctx.tx, tenantId, row.department_id);
    const id = randomUUID();
    await ctx.tx
      .insertInto('outbreak_events')
      .values({
        id,
        tenant_id: tenantId,
        outbreak_id: row.id,
        day: entry.day,
        text_enc: sealField(key, binding(tenantId, 'outbreak_events', id, 'text'), entry.text),
        created_by: ctx.principal.userId,
        created_at: ctx.now,
      })
      .execute();
    ctx.audit.detail = { entry: id };
    return id;
  }

  /**
   * Puts the case the gate decided on (`record.update` on the case record) into an outbreak of its
   * own department: an update of the case record on top of `caseVersion`, so versions and audit hold.
   * Already in this outbreak: nothing is written (a retry or a second click changes nothing). In
   * another outbreak: refused, it is taken out there first. An outbreak the caller cannot see: 404.
   */
  async addCase(ctx: GateContext, records: Records, outbreakId: string, caseVersion: number) {
    const { caseId, content, version } = await this.caseFor(ctx, records, outbreakId);
    ctx.audit.detail = { outbreakId };
    if (content.outbreakId === outbreakId) return { caseId, caseVersion: version, outbreakId };
    if (content.outbreakId)
      throw fieldRefused(
        'conflict',
        'caseId',
        'case-in-other-outbreak',
        'the case belongs to another outbreak; take it out there first',
      );
    const updated = await records.update(ctx, caseId, {
      content: { ...content, outbreakId },
      version: caseVersion,
    });
    return { caseId, caseVersion: updated.version, outbreakId };
  }

  /** Takes the case the gate decided on out of the outbreak (a record update); not in it: nothing is written. */
  async removeCase(ctx: GateContext, records: Records, outbreakId: string, caseVersion: number | undefined) {
    const { caseId, content, version } = await this.caseFor(ctx, records, outbreakId);
    ctx.audit.detail = { outbreakId, removed: true };
    if (content.outbreakId !== outbreakId)
      return { caseId, caseVersion: version, outbreakId: content.outbreakId ?? null };
    const { outbreakId: _gone, ...rest } = content;
    const updated = await records.update(ctx, caseId, { content: rest, version: caseVersion ?? version });
    return { caseId, caseVersion: updated.version, outbreakId: null };
  }

  /** The decided case record with its content, after checking the outbreak is one of its department's. */
  private async caseFor(ctx: GateContext, records: Records, outbreakId: string) {
    const caseId = ctx.target.resourceId!;
    const tenantId = ctx.principal.tenantId;
    // Two clicks at once: the second waits for the first and then finds the case already in (PostgreSQL; SQLite writes one at a time).
    await serialise(ctx.tx, `ifsg-case:${caseId}`);
    const c = await ctx.tx
      .selectFrom('ifsg_cases')
      .select(['department_id', 'version'])
      .where('record_id', '=', caseId)
      .where('tenant_id', '=', tenantId)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (!c) throw fieldRefused('validation-failed', 'caseId', 'not-a-case-record', 'not an IfSG case');
    const o = await ctx.tx
      .selectFrom('outbreaks')
      .select('department_id')
      .where('id', '=', outbreakId)
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    // An outbreak of a department the caller is not in is not there for them (as `outbreak.read` answers).
    if (!o || !ctx.principal.memberships.some((m) => m.departmentId === o.department_id))
      throw new KarteiError('not-found');
    if (o.department_id !== c.department_id)
      throw fieldRefused(
        'validation-failed',
        'caseId',
        'outbreak-other-department',
        "the outbreak belongs to another department than the case's",
      );
    const record = await records.get(ctx, caseId);
    return { caseId, content: record.content as IfsgCaseContent, version: record.version };
  }

  /** The outbreak the gate decided on. */
  private async row(ctx: GateContext): Promise<OutbreakRow> {
    const row = await ctx.tx
      .selectFrom('outbreaks')
      .selectAll()
      .where('id', '=', ctx.target.resourceId!)
      .where('tenant_id', '=', ctx.principal.tenantId)
      .executeTakeFirst();
    if (!row) throw new KarteiError('not-found');
    return row;
  }

  private sealed(key: Buffer, tenantId: string, id: string, input: OutbreakInput) {
    return {
      name_enc: sealField(key, binding(tenantId, 'outbreaks', id, 'name'), input.name),
      description_enc: input.description
        ? sealField(key, binding(tenantId, 'outbreaks', id, 'description'), input.description)
        : null,
    };
  }

  private facts(key: Buffer, tenantId: string, r: OutbreakRow) {
    return {
      id: r.id,
      departmentId: r.department_id,
      version: r.version,
      name: openField<string>(key, binding(tenantId, 'outbreaks', r.id, 'name'), r.name_enc),
      setting: r.setting as OutbreakListItem['setting'],
      periodFrom: r.period_from,
      periodUntil: r.period_until,
      state: r.state as OutbreakListItem['state'],
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    };
  }
}

/** The names of these outbreaks of a department (for the numbers), opened with the department key. */
export async function outbreakNames(
  ctx: GateContext,
  keyring: Keyring,
  departmentId: string,
  ids: string[],
): Promise<Map<string, string>> {
  const tenantId = ctx.principal.tenantId;
  if (ids.length === 0) return new Map();
  const rows = await ctx.tx
    .selectFrom('outbreaks')
    .select(['id', 'name_enc'])
    .where('tenant_id', '=', tenantId)
    .where('department_id', '=', departmentId)
    .where('id', 'in', ids)
    .execute();
  const key = await keyring.departmentKey(ctx.tx, tenantId, departmentId);
  return new Map(
    rows.map((r) => [r.id, openField<string>(key, binding(tenantId, 'outbreaks', r.id, 'name'), r.name_enc)]),
  );
}

const total = (c: Counts) => CASE_STATUSES.reduce((n, s) => n + c[s], 0);
