// The team's numbers (issue 16): cases per disease per reporting week (Meldewoche, ISO week) as a
// table with totals, per status and per outbreak, a bar chart per week (inline SVG drawn with
// attributes only; its text alternative is the table below it), and the table as a CSV download.
import { useEffect, useRef, useState } from 'react';
import { api } from '../../api/client.ts';
import type { DepartmentNumbers } from '../../api/types.ts';
import { useT } from '../../i18n/i18n.ts';
import { FormError, TextField, useForm } from '../../ui/form.tsx';
import { Loaded } from '../../ui/load.tsx';
import { csvText } from './numbers-csv.ts';
import { NumbersChart } from './numbers-chart.tsx';
import { DepartmentChoice, useDepartmentChoice } from './outbreaks-shared.tsx';
import type { STATUSES } from './outbreaks-shared.tsx';

type T = ReturnType<typeof useT>;

/** The ISO week of a day, `2026-W49`. */
function isoWeek(d: Date): string {
  const x = new Date(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()));
  x.setUTCDate(x.getUTCDate() + 4 - (x.getUTCDay() || 7));
  const year = x.getUTCFullYear();
  const week = Math.ceil(((x.getTime() - Date.UTC(year, 0, 1)) / 86_400_000 + 1) / 7);
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/** `2026-W49` → "KW 49/2026". */
const weekLabel = (t: T, w: string) => {
  const m = /^(\d{4})-W(\d{2})$/.exec(w);
  return m ? t('numbers.week', { week: Number(m[2]), year: m[1]! }) : w;
};

export function NumbersScreen(_: { rest: string }) {
  const t = useT();
  const choice = useDepartmentChoice();
  const department = choice.chosen;
  // The weeks shown: the last ten at first; the form's once it was answered (a refusal stays in the form).
  const range = useRef<{ from: string; to: string } | null>(null);
  range.current ??= { from: isoWeek(new Date(Date.now() - 9 * 7 * 86_400_000)), to: isoWeek(new Date()) };
  const form = useForm(range.current);
  const [numbers, setNumbers] = useState<{ data: DepartmentNumbers | undefined; error: unknown }>({
    data: undefined,
    error: undefined,
  });
  const ask = (from: string, to: string) =>
    api<DepartmentNumbers>(
      'GET',
      `/api/departments/${department}/numbers?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`,
    );
  // biome-ignore lint/correctness/useExhaustiveDependencies: asked again only when another department is chosen; a new range comes from the form
  useEffect(() => {
    let live = true;
    setNumbers({ data: undefined, error: undefined });
    const { from, to } = range.current!;
    ask(from, to).then(
      (data) => live && setNumbers({ data, error: undefined }),
      (error: unknown) => live && setNumbers({ data: undefined, error }),
    );
    return () => {
      live = false;
    };
  }, [department]);
  return (
    <section aria-labelledby="numbers-title">
      <h2 id="numbers-title">{t('numbers.title')}</h2>
      <DepartmentChoice choice={choice} label={t('numbers.department')} />
      <form
        noValidate
        className="inline-form"
        aria-label={t('numbers.title')}
        onSubmit={form.onSubmit(async (v) => {
          const from = v.from.trim();
          const to = v.to.trim();
          const data = await ask(from, to);
          range.current = { from, to };
          setNumbers({ data, error: undefined });
        })}
      >
        <TextField
          label={t('numbers.from')}
          value={form.values.from}
          onChange={(x) => form.set('from', x)}
          hint={t('numbers.weekHint')}
          error={form.fieldError('querystring.from')}
        />
        <TextField
          label={t('numbers.to')}
          value={form.values.to}
          onChange={(x) => form.set('to', x)}
          hint={t('numbers.weekHint')}
          error={form.fieldError('querystring.to')}
        />
        <button type="submit" className="primary" disabled={form.busy}>
          {t('numbers.show')}
        </button>
      </form>
      <FormError form={form} fields={['querystring.from', 'querystring.to']} />
      <Loaded state={numbers}>{(n) => <Numbers n={n} />}</Loaded>
    </section>
  );
}

function Numbers({ n }: { n: DepartmentNumbers }) {
  const t = useT();
  const weeks = n.weeks.map((w) => weekLabel(t, w));
  const outbreakName = (o: DepartmentNumbers['byOutbreak'][number]) =>
    o.outbreakId === null ? t('numbers.noOutbreak') : (o.name ?? t('numbers.unknownOutbreak'));
  const diseaseName = (d: DepartmentNumbers['diseases'][number]['disease']) => d.display ?? d.code;
  const csv = csvText([
    [t('numbers.disease'), ...weeks, t('numbers.total')],
    ...n.diseases.map((d) => [diseaseName(d.disease), ...d.counts, d.total]),
    [t('numbers.total'), ...n.weekTotals, n.total],
  ]);
  const [href, setHref] = useState<string | null>(null);
  useEffect(() => {
    const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv;charset=utf-8' }));
    setHref(url);
    return () => URL.revokeObjectURL(url);
  }, [csv]);
  if (n.total === 0 && n.notACase === 0) return <p>{t('numbers.none')}</p>;
  return (
    <>
      <NumbersChart n={n} weeks={weeks} />
      <WeekTable
        caption={t('numbers.byDisease')}
        first={t('numbers.disease')}
        weeks={weeks}
        rows={n.diseases.map((d) => ({
          key: d.disease.code,
          label: diseaseName(d.disease),
          counts: d.counts,
          total: d.total,
        }))}
        totals={{ counts: n.weekTotals, total: n.total }}
      />
      {href && (
        <p>
          <a href={href} download={`fallzahlen-${n.from}-${n.to}.csv`}>
            {t('numbers.csv')}
          </a>
        </p>
      )}
      {n.notACase > 0 && <p>{t('numbers.notACase', { n: n.notACase })}</p>}
      <p className="hint">{t('numbers.restrictedNote')}</p>
      <WeekTable
        caption={t('numbers.byStatus')}
        first={t('numbers.status')}
        weeks={weeks}
        rows={n.byStatus.map((s) => ({
          key: s.status,
          label: t(`outbreaks.status.${s.status as (typeof STATUSES)[number]}`),
          counts: s.counts,
          total: s.total,
        }))}
      />
      {n.byOutbreak.length > 0 && (
        <WeekTable
          caption={t('numbers.byOutbreak')}
          first={t('numbers.outbreak')}
          weeks={weeks}
          rows={n.byOutbreak.map((o) => ({
            key: o.outbreakId ?? '-',
            label: outbreakName(o),
            counts: o.counts,
            total: o.total,
          }))}
        />
      )}
    </>
  );
}

/** A table of rows × weeks with a total per row and, if given, a footer of totals per week. */
function WeekTable({
  caption,
  first,
  weeks,
  rows,
  totals,
}: {
  caption: string;
  first: string;
  weeks: string[];
  rows: { key: string; label: string; counts: number[]; total: number }[];
  totals?: { counts: number[]; total: number };
}) {
  const t = useT();
  return (
    // A wide table scrolls on its own, reachable by keyboard.
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must take the focus to be scrolled by keyboard (WCAG 2.1.1)
    <section className="table-scroll" aria-label={caption} tabIndex={0}>
      <table className="numbers">
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{first}</th>
            {weeks.map((w) => (
              <th key={w} scope="col">
                {w}
              </th>
            ))}
            <th scope="col">{t('numbers.total')}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.key}>
              <th scope="row">{r.label}</th>
              {r.counts.map((c, i) => (
                <td key={weeks[i]} className="number">
                  {c}
                </td>
              ))}
              <td className="number">{r.total}</td>
            </tr>
          ))}
        </tbody>
        {totals && (
          <tfoot>
            <tr>
              <th scope="row">{t('numbers.total')}</th>
              {totals.counts.map((c, i) => (
                <td key={weeks[i]} className="number">
                  {c}
                </td>
              ))}
              <td className="number">{totals.total}</td>
            </tr>
          </tfoot>
        )}
      </table>
    </section>
  );
}
