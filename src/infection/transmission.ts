// The §11 IfSG transmission of a department: the pseudonymised data of its cases that are new,
// changed or withdrawn since its last transmission, as one JSON file (src/contract/
// infection-transmission.ts, docs/transmission-11.md). "Since the last" is exact by version:
// `transmitted_cases` holds the record version each case was last sent at, the person's file
// version and the person facts sent with it (sex, birth month: a corrected one is sent as a
// change), and whether it went as withdrawn. Building the file, marking its cases and storing it (sealed with the department key,
// with its SHA-256) happen in the gate's one transaction, serialised per department, so two
// creates at once send no case twice and lose none. Only the allowlisted facts leave: no name,
// no address, no birth day, no notifier, no free text.
import { createHash, randomUUID } from 'node:crypto';
import { decidedDepartment, type GateContext } from '../access/gate.ts';
import {
  transmissionPayload,
  type TransmissionListItem,
  type TransmissionPayload,
  type TransmissionPreview,
  type TransmittedCase,
} from '../contract/infection-transmission.ts';
import { serialise } from '../db/connect.ts';
import { fieldRefused, KarteiError } from '../errors.ts';
import { displayNames } from '../identity/users.ts';
import type { Persons } from '../records/persons.ts';
import type { IfsgCaseContent } from '../records/record-types.ts';
import type { Records } from '../records/records.ts';
import { openField, sealField, type Keyring } from '../vault/keyring.ts';
import { reportingWeek } from './reporting-week.ts';
import { currentSettings } from './transmission-settings.ts';

type Change = TransmittedCase['change'];

/** A case the next transmission carries, and as what. */
interface Pending {
  recordId: string;
  personId: string;
  /** The case record's version. */
  version: number;
  /** The person's file version. */
  personVersion: number;
  /** The case's revision in this file: one more than the last sent. */
  revision: number;
  change: Change;
  withdrawal: 'not-a-case' | 'deleted' | null;
}

/** What of the person goes into a file. */
interface PersonFacts {
  sex: 'female' | 'male' | 'diverse' | 'unknown';
  birthMonth: string;
}

/** Sent cases whose person's file changed since, but not in what is sent: nothing to send, only noted. */
interface Unchanged {
  recordId: string;
  personId: string;
  personVersion: number;
}

const ORDER: Record<Change, number> = { new: 0, changed: 1, withdrawn: 2 };

const payloadBinding = (tenantId: string, transmissionId: string) => ({
  tenantId,
  table: 'transmissions',
  rowId: transmissionId,
  field: 'payload',
});

const personBinding = (tenantId: string, recordId: string) => ({
  tenantId,
  table: 'transmitted_cases',
  rowId: recordId,
  field: 'person',
});

const factsOf = (p: { sex?: PersonFacts['sex']; birthDate: string }): PersonFacts => ({
  sex: p.sex ?? 'unknown',
  birthMonth: p.birthDate.slice(0, 7),
});

const nullable = <T>(v: T | undefined): T | null => (v === undefined ? null : v);
const codedOf = (c: { system?: string; code: string; display?: string }) => ({
  system: nullable(c.system),
  code: c.code,
  display: nullable(c.display),
});

export class Transmissions {
  private readonly keyring: Keyring;
  private readonly records: Records;
  private readonly persons: Persons;
  constructor(keyring: Keyring, records: Records, persons: Persons) {
    this.keyring = keyring;
    this.records = records;
    this.persons = persons;
  }

  /** How many cases the next transmission would carry as new, changed and withdrawn. */
  async preview(ctx: GateContext): Promise<TransmissionPreview> {
    const { pending } = await this.pending(ctx);
    const counts = countOf(pending);
    const last = await this.last(ctx);
    const configured = (await currentSettings(ctx, this.keyring)) !== null;
    ctx.audit.detail = { ...counts };
    return {
      counts,
      configured,
      lastTransmission: last ? { id: last.id, sequence: last.sequence, createdAt: last.created_at } : null,
    };
  }

  /**
   * Builds the next transmission, marks its cases as sent at their versions and stores it. Refused
   * (409, nothing written) without settings, or when nothing is new, changed or withdrawn — so a
   * second click, or a second create running at the same time, makes no empty or doubled file.
   */
  async create(ctx: GateContext): Promise<TransmissionListItem> {
    const departmentId = decidedDepartment(ctx);
    const tenantId = ctx.principal.tenantId;
    // One create per department at a time: the second waits, then sees what the first marked as sent.
    await serialise(ctx.tx, `transmission:${tenantId}:${departmentId}`);
    const settings = await currentSettings(ctx, this.keyring);
    if (!settings)
      throw fieldRefused(
        'conflict',
        'districtCode',
        'settings-missing',
        'save the district code and the recipient before the first transmission',
      );
    const { pending, unchanged } = await this.pending(ctx);
    if (pending.length === 0)
      throw fieldRefused('conflict', 'cases', 'nothing-to-transmit', 'no case is new, changed or withdrawn');
    const last = await this.last(ctx);
    const id = randomUUID();
    const sequence = (last?.sequence ?? 0) + 1;
    const counts = countOf(pending);

    const facts = await this.personFacts(
      ctx,
      pending.map((p) => p.personId),
    );
    const cases: TransmittedCase[] = [];
    for (const p of pending) {
      if (p.change === 'withdrawn') {
        cases.push({ change: 'withdrawn', caseId: p.recordId, version: p.revision, withdrawal: p.withdrawal! });
        continue;
      }
      const record = await this.records.get(ctx, p.recordId);
      if (record.version !== p.version) throw new Error('case index and record disagree on the version');
      const c = record.content as IfsgCaseContent;
      const person = facts.get(p.personId)!;
      // Only these facts, named one by one: nothing else of the record or the person can reach the file.
      cases.push({
        change: p.change,
        caseId: p.recordId,
        version: p.revision,
        districtCode: settings.districtCode,
        sex: person.sex,
        birthMonth: person.birthMonth,
        disease: codedOf(c.disease),
        pathogen: c.pathogen ? codedOf(c.pathogen) : null,
        category: nullable(c.category),
        status: c.status as 'suspected' | 'probable' | 'confirmed',
        onset: nullable(c.onset),
        diagnosedOn: nullable(c.diagnosedOn),
        notifiedOn: c.notifiedOn,
        reportingWeek: reportingWeek(c.notifiedOn),
        hospitalised: nullable(c.hospitalised),
        hospitalisedFrom: nullable(c.hospitalisedFrom),
        died: nullable(c.died),
        diedOn: nullable(c.diedOn),
        outbreakId: nullable(c.outbreakId),
      });
    }
    const payload: TransmissionPayload = transmissionPayload.parse({
      format: 'kartei-ifsg-11',
      formatVersion: 1,
      transmissionId: id,
      sequence,
      previousTransmissionId: last?.id ?? null,
      createdAt: ctx.now,
      districtCode: settings.districtCode,
      recipient: settings.recipient,
      counts,
      cases,
    });
    const text = `${JSON.stringify(payload, null, 2)}\n`;
    const sha256 = createHash('sha256').update(text, 'utf8').digest('hex');
    const key = await this.keyring.departmentKey(ctx.tx, tenantId, departmentId);
    await ctx.tx
      .insertInto('transmissions')
      .values({
        id,
        tenant_id: tenantId,
        department_id: departmentId,
        sequence,
        created_at: ctx.now,
        created_by: ctx.principal.userId,
        new_count: counts.new,
        changed_count: counts.changed,
        withdrawn_count: counts.withdrawn,
        payload_enc: sealField(key, payloadBinding(tenantId, id), text),
        payload_sha256: sha256,
      })
      .execute();
    for (const p of pending) {
      const sent = {
        last_version: p.version,
        revision: p.revision,
        person_id: p.personId,
        person_version: p.personVersion,
        person_enc: sealField(key, personBinding(tenantId, p.recordId), facts.get(p.personId)!),
        last_transmission_id: id,
        withdrawn: p.change === 'withdrawn' ? 1 : 0,
      };
      await ctx.tx
        .insertInto('transmitted_cases')
        .values({ record_id: p.recordId, tenant_id: tenantId, department_id: departmentId, ...sent })
        .onConflict((oc) => oc.column('record_id').doUpdateSet(sent))
        .execute();
    }
    // Checked once: a later change of these files' other data (an address) is not looked at again.
    for (const u of unchanged)
      await ctx.tx
        .updateTable('transmitted_cases')
        .set({ person_id: u.personId, person_version: u.personVersion })
        .where('record_id', '=', u.recordId)
        .where('tenant_id', '=', tenantId)
        .execute();
    ctx.audit.resourceId = id;
    ctx.audit.detail = { sequence, ...counts };
    // Each file whose case data left is on its person's access record (Art. 15: to whom it went).
    ctx.audit.hits = [...new Set(pending.map((p) => p.personId))].map((personId) => ({ personId, departmentId }));
    const names = await displayNames(ctx, this.keyring, [ctx.principal.userId]);
    return {
      id,
      sequence,
      createdAt: ctx.now,
      createdBy: ctx.principal.userId,
      createdByName: names.get(ctx.principal.userId) ?? null,
      counts,
      sha256,
    };
  }

  /** The department's transmissions, newest first. */
  async list(ctx: GateContext): Promise<TransmissionListItem[]> {
    const rows = await ctx.tx
      .selectFrom('transmissions')
      .select([
        'id',
        'sequence',
        'created_at',
        'created_by',
        'new_count',
        'changed_count',
        'withdrawn_count',
        'payload_sha256',
      ])
      .where('tenant_id', '=', ctx.principal.tenantId)
      .where('department_id', '=', decidedDepartment(ctx))
      .orderBy('sequence', 'desc')
      .limit(500)
      .execute();
    const names = await displayNames(
      ctx,
      this.keyring,
      rows.map((r) => r.created_by),
    );
    ctx.audit.detail = { count: rows.length };
    return rows.map((r) => ({
      id: r.id,
      sequence: r.sequence,
      createdAt: r.created_at,
      createdBy: r.created_by,
      createdByName: names.get(r.created_by) ?? null,
      counts: { new: r.new_count, changed: r.changed_count, withdrawn: r.withdrawn_count },
      sha256: r.payload_sha256,
    }));
  }

  /** A transmission's file, byte for byte as it was made (its SHA-256 is checked before it is handed out). */
  async download(
    ctx: GateContext,
    transmissionId: string,
  ): Promise<{ bytes: Buffer; sha256: string; sequence: number; districtCode: string }> {
    const tenantId = ctx.principal.tenantId;
    const row = await ctx.tx
      .selectFrom('transmissions')
      .select([
        'department_id',
        'sequence',
        'payload_enc',
        'payload_sha256',
        'new_count',
        'changed_count',
        'withdrawn_count',
      ])
      .where('id', '=', transmissionId)
      .where('tenant_id', '=', tenantId)
      .where('department_id', '=', decidedDepartment(ctx))
      .executeTakeFirst();
    if (!row) throw new KarteiError('not-found');
    const key = await this.keyring.departmentKey(ctx.tx, tenantId, row.department_id);
    const bytes = Buffer.from(
      openField<string>(key, payloadBinding(tenantId, transmissionId), row.payload_enc),
      'utf8',
    );
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== row.payload_sha256) throw new Error('a stored transmission does not match its SHA-256');
    const { districtCode } = JSON.parse(bytes.toString('utf8')) as TransmissionPayload;
    ctx.audit.detail = {
      sequence: row.sequence,
      new: row.new_count,
      changed: row.changed_count,
      withdrawn: row.withdrawn_count,
    };
    return { bytes, sha256, sequence: row.sequence, districtCode };
  }

  /** The department's last transmission, if any. */
  private last(ctx: GateContext) {
    return ctx.tx
      .selectFrom('transmissions')
      .select(['id', 'sequence', 'created_at'])
      .where('tenant_id', '=', ctx.principal.tenantId)
      .where('department_id', '=', decidedDepartment(ctx))
      .orderBy('sequence', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  /** The sex and birth month of these persons, as a file carries them. */
  private async personFacts(ctx: GateContext, personIds: string[]): Promise<Map<string, PersonFacts>> {
    const persons = await this.persons.identify(ctx, [...new Set(personIds)]);
    const out = new Map(persons.map((p) => [p.id, factsOf(p)]));
    for (const id of personIds) if (!out.has(id)) throw new Error('a case without its person');
    return out;
  }

  /**
   * The department's cases the next transmission carries: never sent and a case (new); sent, and
   * at a later version since, or with another sex or birth month in the person's file — a later
   * version of it, or another file after a merge (changed);
   * sent, and now deleted or not a case (withdrawn, once); withdrawn, and a case again at a later
   * version (new again). Also the sent cases whose person's file changed in nothing sent.
   */
  private async pending(ctx: GateContext): Promise<{ pending: Pending[]; unchanged: Unchanged[] }> {
    const tenantId = ctx.principal.tenantId;
    const departmentId = decidedDepartment(ctx);
    const rows = await ctx.tx
      .selectFrom('ifsg_cases as c')
      .innerJoin('persons as p', 'p.id', 'c.person_id')
      .leftJoin('transmitted_cases as t', 't.record_id', 'c.record_id')
      .select([
        'c.record_id',
        'c.person_id',
        'c.status',
        'c.version',
        'c.deleted_at',
        'p.version as person_version',
        't.record_id as sent',
        't.last_version',
        't.revision',
        't.person_version as sent_person_version',
        't.person_enc',
        't.withdrawn',
      ])
      .where('c.tenant_id', '=', tenantId)
      .where('c.department_id', '=', departmentId)
      .where((eb) =>
        eb.or([
          eb('t.record_id', 'is', null),
          eb('c.version', '>', eb.ref('t.last_version')),
          eb.and([eb('c.deleted_at', 'is not', null), eb('t.withdrawn', '=', 0)]),
          eb.and([
            eb('t.withdrawn', '=', 0),
            eb.or([eb('p.version', '>', eb.ref('t.person_version')), eb('c.person_id', '<>', eb.ref('t.person_id'))]),
          ]),
        ]),
      )
      .execute();
    const pending: Pending[] = [];
    /** Sent cases whose only change may be in the person's file: compared below. */
    const personChanged: (typeof rows)[number][] = [];
    for (const r of rows) {
      const live = r.deleted_at === null && r.status !== 'not-a-case';
      let change: Change | null;
      if (r.sent === null) change = live ? 'new' : null;
      else if (Number(r.withdrawn) === 1) change = live && r.version > Number(r.last_version) ? 'new' : null;
      else if (!live) change = 'withdrawn';
      else if (r.version > Number(r.last_version)) change = 'changed';
      else {
        personChanged.push(r);
        change = null;
      }
      if (change !== null) pending.push(pendingOf(r, change));
    }
    const unchanged: Unchanged[] = [];
    if (personChanged.length) {
      const now = await this.personFacts(
        ctx,
        personChanged.map((r) => r.person_id),
      );
      const key = await this.keyring.departmentKey(ctx.tx, tenantId, departmentId);
      for (const r of personChanged) {
        const sent = openField<PersonFacts>(key, personBinding(tenantId, r.record_id), r.person_enc!);
        const current = now.get(r.person_id)!;
        if (sent.sex !== current.sex || sent.birthMonth !== current.birthMonth) pending.push(pendingOf(r, 'changed'));
        else unchanged.push({ recordId: r.record_id, personId: r.person_id, personVersion: r.person_version });
      }
    }
    pending.sort((a, b) => ORDER[a.change] - ORDER[b.change] || (a.recordId < b.recordId ? -1 : 1));
    return { pending, unchanged };
  }
}

function pendingOf(
  r: {
    record_id: string;
    person_id: string;
    version: number;
    person_version: number;
    revision: number | null;
    deleted_at: string | null;
  },
  change: Change,
): Pending {
  return {
    recordId: r.record_id,
    personId: r.person_id,
    version: r.version,
    personVersion: r.person_version,
    revision: Number(r.revision ?? 0) + 1,
    change,
    withdrawal: change === 'withdrawn' ? (r.deleted_at === null ? 'not-a-case' : 'deleted') : null,
  };
}

function countOf(pending: Pending[]) {
  const counts = { new: 0, changed: 0, withdrawn: 0 };
  for (const p of pending) counts[p.change] += 1;
  return counts;
}
