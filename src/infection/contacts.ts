// Contact persons of an IfSG case (issue 16): adding one (an existing file of the case's department,
// or a new person, in one transaction), a case's contacts, and turning a contact into a case of its
// own, once. A contact is a record of type `ifsg-contact` in the contact's file, written through
// Records (versions, sealing, its side table); the gate decided on the index case (create, list) or
// on the contact (convert), and the contact's file is decided here too, in the same transaction.
import type { GateContext } from '../access/gate.ts';
import { decide, type Sensitivity } from '../access/policy.ts';
import { resolve } from '../access/resolve.ts';
import { serialise } from '../db/connect.ts';
import { KarteiError, fieldRefused, fieldsRefused } from '../errors.ts';
import { lockFile, type PersonData, type Persons } from '../records/persons.ts';
import type { Records } from '../records/records.ts';
import type { IfsgCaseContent, IfsgContactContent } from '../records/record-types.ts';
import type { CaseIndex } from './case-index.ts';
import { indexCaseOf, readsRestrictedIn, restrictedHiddenFrom } from './contact-index.ts';
import { addDays, followUpDays, officeDay } from './incubation.ts';

/** What a new contact says; `followUpUntil` defaults to the last exposure plus the disease's longest incubation. */
export interface NewContact {
  /** An existing file of the case's department, or… */
  personId?: string;
  /** …a new person, created in the case's department. */
  person?: PersonData;
  sensitivity?: Sensitivity;
  category: IfsgContactContent['category'];
  setting?: IfsgContactContent['setting'];
  lastExposure: string;
  followUpUntil?: string;
  measure?: IfsgContactContent['measure'];
  notes?: string;
}

export interface ContactItem extends Omit<IfsgContactContent, 'indexCaseId'> {
  recordId: string;
  personId: string;
  familyName: string;
  givenName: string;
  birthDate: string;
  version: number;
  sensitivity: Sensitivity;
  lastFollowUp: string | null;
}

/** The gate's context moved onto another file it has decided on in the same transaction (same audit event). */
const onFile = (ctx: GateContext, target: GateContext['target']): GateContext => ({ ...ctx, target });

export class Contacts {
  private readonly records: Records;
  private readonly persons: Persons;
  private readonly cases: CaseIndex;
  constructor(records: Records, persons: Persons, cases: CaseIndex) {
    this.records = records;
    this.persons = persons;
    this.cases = cases;
  }

  /** The live case the gate decided on (a record of type ifsg-case), else 404. */
  private async decidedCase(ctx: GateContext, caseId: string) {
    const row = await indexCaseOf(ctx, caseId, ctx.target.departmentId!);
    if (!row) throw new KarteiError('not-found');
    return row;
  }

  /** The days of follow-up the case's disease implies. */
  async followUpDaysOf(ctx: GateContext, caseId: string): Promise<number> {
    const row = await this.decidedCase(ctx, caseId);
    return followUpDays((await this.cases.diseaseOf(ctx, row)).code);
  }

  /** Adds a contact to the case the gate decided on (`contact.create` on its record). */
  async create(
    ctx: GateContext,
    caseId: string,
    input: NewContact,
  ): Promise<{ id: string; personId: string; followUpUntil: string }> {
    const index = await this.decidedCase(ctx, caseId);
    const departmentId = index.department_id;
    const { principal } = ctx;
    let personId: string;
    if (input.personId) {
      if (input.personId === index.person_id)
        throw fieldRefused('validation-failed', 'personId', 'contact-is-case', "the case's own person");
      personId = input.personId;
    } else if (input.person) {
      if (decide(principal, 'person.create', { kind: 'department', departmentId }) !== 'allow')
        throw new KarteiError('forbidden');
      // A double click would make the same new person twice: one already a contact of this case is refused.
      await serialise(ctx.tx, `contact-new:${caseId}`);
      const twin = await this.contactNamed(ctx, caseId, departmentId, input.person);
      if (twin)
        throw fieldsRefused(
          'conflict',
          [{ field: 'person', code: 'duplicate', message: 'this person is a contact of this case already' }],
          { personId: twin },
        );
      personId = await this.persons.create(ctx, departmentId, input.person);
    } else {
      throw fieldRefused('validation-failed', 'personId', 'required', 'name a file or a new person');
    }
    // Like its case unless said otherwise (a contact of a restricted case must be restricted, contact-index.ts).
    const sensitivity = input.sensitivity ?? (index.sensitivity as Sensitivity);
    // The contact's file, decided as a record.create there: a file of the case's own department only.
    const file = await resolve(ctx.tx, principal, { kind: 'person', personId, sensitivity }, ctx.now);
    if (!file || file.departmentId !== departmentId)
      throw fieldRefused('validation-failed', 'personId', 'case-unknown', 'no such file in this department');
    const decision = decide(principal, 'record.create', file.resource);
    if (decision !== 'allow') throw new KarteiError(decision === 'hidden' ? 'not-found' : 'forbidden');
    // One contact per person and case: a second (a double click, a colleague) is refused.
    await serialise(ctx.tx, `contact:${caseId}:${personId}`);
    const twice = await ctx.tx
      .selectFrom('ifsg_contacts')
      .select('record_id')
      .where('tenant_id', '=', principal.tenantId)
      .where('case_record_id', '=', caseId)
      .where('person_id', '=', personId)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (twice) throw fieldRefused('conflict', 'personId', 'duplicate', 'already a contact of this case');
    const followUpUntil =
      input.followUpUntil ?? addDays(input.lastExposure, followUpDays((await this.cases.diseaseOf(ctx, index)).code));
    const content: IfsgContactContent = {
      indexCaseId: caseId,
      category: input.category,
      ...(input.setting ? { setting: input.setting } : {}),
      lastExposure: input.lastExposure,
      followUpUntil,
      ...(input.measure ? { measure: input.measure } : {}),
      state: 'active',
      ...(input.notes ? { notes: input.notes } : {}),
    };
    const id = await this.records.create(onFile(ctx, file), personId, { type: 'ifsg-contact', sensitivity, content });
    // The event is the index case's file's (what was decided); the contact's file gets its own below.
    ctx.audit.personId = index.person_id;
    ctx.audit.resourceId = id;
    ctx.audit.detail = { indexCase: caseId, newPerson: !input.personId };
    ctx.audit.hits = [{ personId, departmentId }];
    return { id, personId, followUpUntil };
  }

  /**
   * A live contact of the case whose file has the same name and birth date as `person`, if any. Where the
   * department hides restricted records from the caller, a restricted contact is none to them (hidden = missing):
   * the new person is made as for someone who is no contact (a second file, which a merge joins later, keeping one
   * contact of the case), never answered with the hidden contact's file.
   */
  private async contactNamed(
    ctx: GateContext,
    caseId: string,
    departmentId: string,
    person: PersonData,
  ): Promise<string | undefined> {
    const hidden = await restrictedHiddenFrom(ctx, departmentId);
    const rows = await ctx.tx
      .selectFrom('ifsg_contacts')
      .select('person_id')
      .where('tenant_id', '=', ctx.principal.tenantId)
      .where('case_record_id', '=', caseId)
      .where('deleted_at', 'is', null)
      .$if(hidden, (q) => q.where('sensitivity', '=', 'normal'))
      .limit(500)
      .execute();
    const same = (a: string, b: string) => a.trim().toLocaleLowerCase('de') === b.trim().toLocaleLowerCase('de');
    const files = await this.persons.identify(ctx, [...new Set(rows.map((r) => r.person_id))]);
    return files.find(
      (f) =>
        same(f.familyName, person.familyName) &&
        same(f.givenName, person.givenName) &&
        f.birthDate === person.birthDate,
    )?.id;
  }

  /** The contacts of the case the gate decided on (`contact.list` on its record), names unsealed for them only. */
  async list(ctx: GateContext, caseId: string): Promise<ContactItem[]> {
    const index = await this.decidedCase(ctx, caseId);
    let q = ctx.tx
      .selectFrom('ifsg_contacts')
      .selectAll()
      .select((eb) =>
        eb
          .selectFrom('contact_follow_ups')
          .select((e) => e.fn.max('day').as('d'))
          .whereRef('contact_follow_ups.contact_record_id', '=', 'ifsg_contacts.record_id')
          .as('last_follow_up'),
      )
      .where('tenant_id', '=', ctx.principal.tenantId)
      .where('case_record_id', '=', caseId)
      .where('department_id', '=', index.department_id)
      .where('deleted_at', 'is', null);
    if (!readsRestrictedIn(ctx, index.department_id)) q = q.where('sensitivity', '=', 'normal');
    const rows = await q.orderBy('created_at').orderBy('record_id').limit(500).execute();
    const people = new Map(
      (await this.persons.identify(ctx, [...new Set(rows.map((r) => r.person_id))])).map((p) => [p.id, p]),
    );
    const items: ContactItem[] = [];
    for (const r of rows) {
      const p = people.get(r.person_id)!;
      const rec = await this.records.get(ctx, r.record_id);
      const { indexCaseId: _, ...content } = rec.content as IfsgContactContent;
      items.push({
        recordId: r.record_id,
        personId: r.person_id,
        familyName: p.familyName,
        givenName: p.givenName,
        birthDate: p.birthDate,
        version: rec.version,
        sensitivity: rec.sensitivity,
        ...content,
        lastFollowUp: r.last_follow_up ?? null,
      });
    }
    ctx.audit.detail = { count: items.length };
    ctx.audit.hits = [...people.values()].map((p) => ({ personId: p.id, departmentId: p.departmentId }));
    return items;
  }

  /**
   * Turns the contact the gate decided on (`contact.convert` on its record) into a case in the same
   * file: the index case's disease, status suspected, a note where it came from; the contact is marked
   * converted with the case's id. Once only: a second request (parallel, or a double click) is refused,
   * and a person who already has a case of that disease gets the contact pointed at it instead — decided as a
   * read of that case (a restricted one: physicians and heads), so a clerk learns of no case it may not read.
   */
  async convert(ctx: GateContext, contactId: string): Promise<{ caseRecordId: string; created: boolean }> {
    await serialise(ctx.tx, `contact:${contactId}`);
    const row = await ctx.tx
      .selectFrom('ifsg_contacts')
      .selectAll()
      .where('record_id', '=', contactId)
      .where('tenant_id', '=', ctx.principal.tenantId)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (!row) throw new KarteiError('not-found');
    if (row.state === 'converted')
      throw fieldsRefused(
        'conflict',
        [{ field: 'state', code: 'already-converted', message: 'converted into a case already' }],
        row.converted_case_id ? { caseRecordId: row.converted_case_id } : {},
      );
    const contact = await this.records.get(ctx, contactId);
    const content = contact.content as IfsgContactContent;
    const index = await ctx.tx
      .selectFrom('ifsg_cases')
      .selectAll()
      .where('record_id', '=', row.case_record_id)
      .where('tenant_id', '=', ctx.principal.tenantId)
      .executeTakeFirstOrThrow();
    const disease = await this.cases.diseaseOf(ctx, index);
    // Looked for while holding the file's record writes: two contacts of the person converted at once make one case.
    await lockFile(ctx, row.person_id);
    const existing = await this.cases.findCase(ctx, row.person_id, disease.code);
    // Pointing the contact at a case tells of it: one the caller may not read (restricted) is refused like a read of it.
    if (existing) await ctx.also('record.read', { kind: 'record', recordId: existing });
    const today = officeDay(ctx.now);
    const caseContent: IfsgCaseContent = {
      disease,
      status: 'suspected',
      notifiedOn: today,
      notes: `Aus Kontaktperson ${contactId} (Indexfall ${row.case_record_id}) umgewandelt am ${today}.`,
    };
    const caseRecordId =
      existing ??
      (await this.records.create(ctx, row.person_id, {
        type: 'ifsg-case',
        sensitivity: contact.sensitivity,
        content: caseContent,
      }));
    await this.records.update(ctx, contactId, {
      content: { ...content, state: 'converted', convertedCaseId: caseRecordId },
      version: contact.version,
    });
    ctx.audit.resourceId = contactId;
    ctx.audit.detail = { caseRecordId, created: !existing };
    return { caseRecordId, created: !existing };
  }
}
