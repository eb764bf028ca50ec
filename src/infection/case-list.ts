// A department's IfSG cases, a page at a time, filtered by status, disease, reporting week, outbreak
// and the person's name or birth date. Filters go by the plain facts and keyed digests of
// `ifsg_cases` and the persons' blind index; only the page's rows are unsealed (names, disease,
// measures), and a restricted case is left out for whoever may not read restricted records.
import { decidedDepartment, type GateContext } from '../access/gate.ts';
import type { Persons } from '../records/persons.ts';
import type { Records } from '../records/records.ts';
import type { IfsgCaseContent } from '../records/record-types.ts';
import { decodeCursor, pageOf } from '../records/page-cursor.ts';
import { queryDigests } from '../vault/blind-index.ts';
import type { Keyring } from '../vault/keyring.ts';
import type { CaseIndex } from './case-index.ts';
import { readsRestrictedIn } from './contact-index.ts';
import { officeDay } from './incubation.ts';

export interface CaseFilter {
  status?: 'suspected' | 'probable' | 'confirmed' | 'not-a-case';
  /** A notification category code (`msvd`); compared by its keyed digest. */
  disease?: string;
  /** A reporting week, `2026-W49`. */
  week?: string;
  outbreak?: string;
  /** Words of the person's name or a birth date, as the person search takes them. */
  q?: string;
  limit: number;
  before?: string;
}

export interface CaseListItem {
  recordId: string;
  personId: string;
  familyName: string;
  givenName: string;
  birthDate: string;
  disease: IfsgCaseContent['disease'];
  status: IfsgCaseContent['status'];
  category: string | null;
  sensitivity: 'normal' | 'restricted';
  notifiedOn: string;
  reportingWeek: string;
  outbreakId: string | null;
  measuresUntil: string | null;
  openMeasures: number;
}

/** Measures still running on `today`: the number, and the latest end among them (null: none, or none with an end). */
function openMeasures(c: IfsgCaseContent, today: string): { count: number; until: string | null } {
  const open = (c.measures ?? []).filter((m) => m.from <= today && (!m.until || m.until >= today));
  const ends = open.flatMap((m) => (m.until ? [m.until] : []));
  return { count: open.length, until: ends.length ? ends.sort().at(-1)! : null };
}

export class CaseList {
  private readonly keyring: Keyring;
  private readonly cases: CaseIndex;
  private readonly persons: Persons;
  private readonly records: Records;
  constructor(keyring: Keyring, cases: CaseIndex, persons: Persons, records: Records) {
    this.keyring = keyring;
    this.cases = cases;
    this.persons = persons;
    this.records = records;
  }

  async list(ctx: GateContext, f: CaseFilter): Promise<{ items: CaseListItem[]; next: string | null }> {
    const departmentId = decidedDepartment(ctx);
    const tenantId = ctx.principal.tenantId;
    let q = ctx.tx
      .selectFrom('ifsg_cases')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('department_id', '=', departmentId)
      .where('deleted_at', 'is', null);
    if (!readsRestrictedIn(ctx, departmentId)) q = q.where('sensitivity', '=', 'normal');
    if (f.status) q = q.where('status', '=', f.status);
    if (f.week) q = q.where('reporting_week', '=', f.week);
    if (f.outbreak) q = q.where('outbreak_id', '=', f.outbreak);
    if (f.disease) q = q.where('disease_digest', '=', await this.cases.diseaseDigest(ctx, f.disease));
    if (f.q) {
      const key = await this.keyring.indexKey(ctx.tx, tenantId);
      for (const term of f.q.split(/\s+/).filter(Boolean)) {
        const digests = queryDigests(key, term);
        if (digests.length === 0) return { items: [], next: null };
        q = q.where('person_id', 'in', (eb) =>
          eb
            .selectFrom('person_index')
            .select('person_id')
            .where('tenant_id', '=', tenantId)
            .where('digest', 'in', digests),
        );
      }
    }
    const cursor = f.before ? decodeCursor(f.before) : null;
    if (cursor) q = q.where((eb) => eb(eb.refTuple('created_at', 'record_id'), '<', eb.tuple(cursor.at, cursor.id)));
    const rows = await q
      .orderBy('created_at', 'desc')
      .orderBy('record_id', 'desc')
      .limit(f.limit + 1)
      .execute();
    const { rows: shown, next } = pageOf(rows, f.limit, (r) => ({ at: r.created_at, id: r.record_id }));
    const people = new Map(
      (await this.persons.identify(ctx, [...new Set(shown.map((r) => r.person_id))])).map((p) => [p.id, p]),
    );
    const today = officeDay(ctx.now);
    const items: CaseListItem[] = [];
    for (const r of shown) {
      const p = people.get(r.person_id)!;
      const content = (await this.records.get(ctx, r.record_id)).content as IfsgCaseContent;
      const measures = openMeasures(content, today);
      items.push({
        recordId: r.record_id,
        personId: r.person_id,
        familyName: p.familyName,
        givenName: p.givenName,
        birthDate: p.birthDate,
        disease: await this.cases.diseaseOf(ctx, r),
        status: r.status as IfsgCaseContent['status'],
        category: r.category,
        sensitivity: r.sensitivity as 'normal' | 'restricted',
        notifiedOn: r.notified_on,
        reportingWeek: r.reporting_week,
        outbreakId: r.outbreak_id,
        measuresUntil: measures.until,
        openMeasures: measures.count,
      });
    }
    ctx.audit.detail = { count: items.length, ...(f.before ? { paged: true } : {}) };
    ctx.audit.hits = [...people.values()].map((p) => ({ personId: p.id, departmentId: p.departmentId }));
    return { items, next };
  }
}
