// The cases per reporting week as bars (issue 16): an inline SVG drawn with attributes only (the CSP
// allows no inline styles), with a title and a description; the table beside it holds the same numbers.
import { useId } from 'react';
import type { DepartmentNumbers } from '../../api/types.ts';
import { useT } from '../../i18n/i18n.ts';

const W = 720;
const H = 220;
const PAD = 34;
const BAR = '#0b5394';
const INK = '#1b1f24';

export function NumbersChart({ n, weeks }: { n: DepartmentNumbers; weeks: string[] }) {
  const t = useT();
  const id = useId();
  const max = Math.max(1, ...n.weekTotals);
  const slot = (W - PAD) / Math.max(1, weeks.length);
  // At most about 13 week labels fit under the bars.
  const every = Math.max(1, Math.ceil(weeks.length / 13));
  return (
    <svg
      viewBox={`0 0 ${W} ${H + 24}`}
      width="100%"
      role="img"
      aria-labelledby={`${id}-title ${id}-desc`}
      className="chart"
    >
      <title id={`${id}-title`}>{t('numbers.chartTitle')}</title>
      <desc id={`${id}-desc`}>
        {t('numbers.chartDesc', { from: weeks[0] ?? '', to: weeks.at(-1) ?? '', total: n.total })}
      </desc>
      <line x1={PAD} y1={H} x2={W} y2={H} stroke="#6b7580" />
      <text x={PAD - 4} y={12} textAnchor="end" fontSize="11" fill={INK}>
        {max}
      </text>
      <text x={PAD - 4} y={H} textAnchor="end" fontSize="11" fill={INK}>
        0
      </text>
      {n.weekTotals.map((count, i) => {
        const h = (count / max) * (H - 16);
        const x = PAD + i * slot;
        return (
          <g key={n.weeks[i]}>
            {h > 0 && <rect x={x + 2} y={H - h} width={Math.max(1, slot - 4)} height={h} fill={BAR} />}
            {count > 0 && slot >= 18 && (
              <text x={x + slot / 2} y={H - h - 3} textAnchor="middle" fontSize="10" fill={INK}>
                {count}
              </text>
            )}
            {i % every === 0 && (
              <text x={x + slot / 2} y={H + 16} textAnchor="middle" fontSize="10" fill={INK}>
                {weeks[i]}
              </text>
            )}
          </g>
        );
      })}
    </svg>
  );
}
