// The numbers an infection-protection team needs (issue 16): cases per disease per reporting week
// (Meldewoche, ISO week), per status and per outbreak, counted straight from `ifsg_cases` with one
// GROUP BY — no file is opened, no key is used but the department's (one disease label per digest,
// the outbreaks' names). Deleted cases are not counted; "not-a-case" is counted apart. Restricted
// cases are counted too: a count names nobody.
import { decidedDepartment, type GateContext } from '../access/gate.ts';
import { CASE_STATUSES, type DepartmentNumbers } from '../contract/infection-outbreaks.ts';
import type { IfsgCaseContent } from '../records/record-types.ts';
import type { Keyring } from '../vault/keyring.ts';
import type { CaseIndex } from './case-index.ts';
import { outbreakNames } from './outbreaks.ts';
import { reportingWeek } from './reporting-week.ts';

/** The longest range the numbers answer, in weeks (two years). */
export const MAX_WEEKS = 104;

const WEEK = /^(\d{4})-W(\d{2})$/;

/** The Monday of an ISO week, or null when there is no such week (`2026-W54`, `2025-W53`). */
export function weekMonday(week: string): Date | null {
  const m = WEEK.exec(week);
  if (!m) return null;
  const year = Number(m[1]);
  const n = Number(m[2]);
  if (n < 1 || n > 53) return null;
  // Week 1 holds 4 January; its Monday, then n−1 weeks on.
  const jan4 = new Date(Date.UTC(year, 0, 4));
  const monday = new Date(jan4.getTime() - ((jan4.getUTCDay() || 7) - 1) * 86_400_000 + (n - 1) * 7 * 86_400_000);
  return reportingWeek(monday.toISOString()) === week ? monday : null;
}

/** Every ISO week from `from` to `to` (both valid, `from` ≤ `to`). */
export function weeksBetween(from: string, to: string): string[] {
  const out: string[] = [];
  const start = weekMonday(from)!;
  const end = weekMonday(to)!;
  for (let t = start.getTime(); t <= end.getTime() && out.length <= MAX_WEEKS; t += 7 * 86_400_000)
    out.push(reportingWeek(new Date(t).toISOString()));
  return out;
}

type Status = (typeof CASE_STATUSES)[number];

/** The department's numbers (`numbers.read` on the department) for the weeks `from`…`to`. */
export async function departmentNumbers(
  ctx: GateContext,
  deps: { cases: CaseIndex; keyring: Keyring },
  from: string,
  to: string,
): Promise<DepartmentNumbers> {
  const departmentId = decidedDepartment(ctx);
  const tenantId = ctx.principal.tenantId;
  const weeks = weeksBetween(from, to);
  const at = new Map(weeks.map((w, i) => [w, i]));
  const rows = await ctx.tx
    .selectFrom('ifsg_cases')
    .select([
      'disease_digest',
      'reporting_week',
      'status',
      'outbreak_id',
      (eb) => eb.fn.countAll<number | string>().as('n'),
      (eb) => eb.fn.min('record_id').as('one'),
    ])
    .where('tenant_id', '=', tenantId)
    .where('department_id', '=', departmentId)
    .where('deleted_at', 'is', null)
    .where('reporting_week', '>=', from)
    .where('reporting_week', '<=', to)
    .groupBy(['disease_digest', 'reporting_week', 'status', 'outbreak_id'])
    .execute();

  const zeros = () => weeks.map(() => 0);
  const diseases = new Map<string, { one: string; counts: number[]; notACase: number }>();
  const byStatus = new Map<Status, number[]>(CASE_STATUSES.map((s) => [s, zeros()]));
  const byOutbreak = new Map<string | null, number[]>();
  const weekTotals = zeros();
  let notACase = 0;
  for (const r of rows) {
    const i = at.get(r.reporting_week);
    if (i === undefined) continue;
    const n = Number(r.n);
    const d = diseases.get(r.disease_digest) ?? { one: r.one as string, counts: zeros(), notACase: 0 };
    diseases.set(r.disease_digest, d);
    const perStatus = byStatus.get(r.status as Status);
    if (perStatus) perStatus[i]! += n;
    if (r.status === 'not-a-case') {
      d.notACase += n;
      notACase += n;
      continue;
    }
    d.counts[i]! += n;
    weekTotals[i]! += n;
    const o = byOutbreak.get(r.outbreak_id) ?? zeros();
    o[i]! += n;
    byOutbreak.set(r.outbreak_id, o);
  }

  // One row's sealed label per disease, opened with the department key.
  const ones = [...diseases.values()].map((d) => d.one);
  const sealed = ones.length
    ? await ctx.tx
        .selectFrom('ifsg_cases')
        .select(['record_id', 'department_id', 'disease_enc'])
        .where('tenant_id', '=', tenantId)
        .where('record_id', 'in', ones)
        .execute()
    : [];
  const labels = new Map<string, IfsgCaseContent['disease']>();
  for (const row of sealed) labels.set(row.record_id, await deps.cases.diseaseOf(ctx, row));
  const names = await outbreakNames(
    ctx,
    deps.keyring,
    departmentId,
    [...byOutbreak.keys()].filter((k): k is string => k !== null),
  );
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const diseaseRows = [...diseases.values()]
    .map((d) => ({ disease: labels.get(d.one)!, counts: d.counts, total: sum(d.counts), notACase: d.notACase }))
    .sort((a, b) => b.total - a.total || a.disease.code.localeCompare(b.disease.code));
  ctx.audit.detail = { weeks: weeks.length, diseases: diseaseRows.length, cases: sum(weekTotals) + notACase };
  return {
    from,
    to,
    weeks,
    diseases: diseaseRows,
    weekTotals,
    total: sum(weekTotals),
    notACase,
    byStatus: CASE_STATUSES.map((status) => ({
      status,
      counts: byStatus.get(status)!,
      total: sum(byStatus.get(status)!),
    })),
    byOutbreak: [...byOutbreak.entries()]
      .map(([outbreakId, counts]) => ({
        outbreakId,
        name: outbreakId ? (names.get(outbreakId) ?? null) : null,
        counts,
        total: sum(counts),
      }))
      .sort((a, b) => (a.outbreakId === null ? 1 : b.outbreakId === null ? -1 : b.total - a.total)),
  };
}
