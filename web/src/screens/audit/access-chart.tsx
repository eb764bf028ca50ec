// Accesses to files per day and department over the last 30 days: stacked bars
// (an SVG drawn with attributes only, as the CSP allows no inline styles) and the
// same figures as a table for screen readers and printing.
import { api } from '../../api/client.ts';
import type { AccessCount } from '../../api/types.ts';
import { formatDate, useT } from '../../i18n/i18n.ts';
import { departmentName, useSession } from '../../session.tsx';
import { Loaded, useLoad } from '../../ui/load.tsx';
import { Table } from '../../ui/table.tsx';

const DAYS = 30;
const COLOURS = ['#0b5394', '#b45f06', '#38761d', '#741b47', '#134f5c', '#7f6000', '#5b0f00', '#20124d'];
const W = 720;
const H = 220;
const PAD = 30;

export function AccessChart() {
  const t = useT();
  const { me } = useSession();
  const to = new Date();
  const from = new Date(to.getTime() - (DAYS - 1) * 86_400_000);
  from.setUTCHours(0, 0, 0, 0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the window is the 30 days before the chart opened; a render's new Date must not load again
  const stats = useLoad(
    () =>
      api<AccessCount[]>(
        'GET',
        `/api/audit/stats?from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}`,
      ),
    [],
  );
  const days = Array.from({ length: DAYS }, (_, i) =>
    new Date(from.getTime() + i * 86_400_000).toISOString().slice(0, 10),
  );
  return (
    <section aria-labelledby="chart-title">
      <h2 id="chart-title">{t('chart.title', { n: DAYS })}</h2>
      <Loaded state={stats}>
        {(rows) => {
          const depts = [...new Set(rows.map((r) => r.departmentId ?? ''))];
          const at = (day: string, dept: string) =>
            rows.find((r) => r.day === day && (r.departmentId ?? '') === dept)?.count ?? 0;
          const totals = days.map((d) => depts.reduce((n, dept) => n + at(d, dept), 0));
          const max = Math.max(1, ...totals);
          const bar = (W - PAD) / DAYS;
          const label = (dept: string) => (dept ? departmentName(me, dept) : t('chart.noDepartment'));
          const sum = totals.reduce((a, b) => a + b, 0);
          return (
            <>
              <svg
                viewBox={`0 0 ${W} ${H + 20}`}
                width="100%"
                role="img"
                aria-label={t('chart.summary', { n: sum, days: DAYS })}
                className="chart"
              >
                <line x1={PAD} y1={H} x2={W} y2={H} stroke="#6b7580" />
                <text x={PAD - 4} y={12} textAnchor="end" fontSize="11" fill="#1b1f24">
                  {max}
                </text>
                {days.map((day, i) => {
                  let y = H;
                  return (
                    <g key={day}>
                      {depts.map((dept, k) => {
                        const h = (at(day, dept) / max) * (H - 10);
                        y -= h;
                        return h > 0 ? (
                          <rect
                            key={dept}
                            x={PAD + i * bar + 1}
                            y={y}
                            width={bar - 2}
                            height={h}
                            fill={COLOURS[k % COLOURS.length]}
                          />
                        ) : null;
                      })}
                      {i % 5 === 0 && (
                        <text x={PAD + i * bar} y={H + 14} fontSize="10" fill="#1b1f24">
                          {formatDate(day)}
                        </text>
                      )}
                    </g>
                  );
                })}
              </svg>
              <ul className="legend">
                {depts.map((dept, k) => (
                  <li key={dept}>
                    <svg width="12" height="12" aria-hidden="true">
                      <rect width="12" height="12" fill={COLOURS[k % COLOURS.length]} />
                    </svg>{' '}
                    {label(dept)}
                  </li>
                ))}
              </ul>
              <details>
                <summary>{t('chart.asTable')}</summary>
                <Table
                  items={days.filter((_, i) => totals[i]! > 0)}
                  headers={[t('chart.day'), ...depts.map(label)]}
                  row={(day) => (
                    <tr key={day}>
                      <th scope="row">{formatDate(day)}</th>
                      {depts.map((dept) => (
                        <td key={dept}>{at(day, dept)}</td>
                      ))}
                    </tr>
                  )}
                />
              </details>
            </>
          );
        }}
      </Loaded>
    </section>
  );
}
