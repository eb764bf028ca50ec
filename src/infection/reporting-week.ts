// The reporting week (Meldewoche) of a date: its ISO 8601 week, as the RKI counts notifications.
// Weeks start on Monday; week 1 is the one with the year's first Thursday.

/** `2026-12-04` → `2026-W49`; `2027-01-01` (a Friday) → `2026-W53`. */
export function reportingWeek(isoDate: string): string {
  const [y, m, d] = isoDate.slice(0, 10).split('-').map(Number) as [number, number, number];
  const date = new Date(Date.UTC(y, m - 1, d));
  const weekday = date.getUTCDay() || 7; // Monday 1 … Sunday 7
  // The Thursday of the same week decides the week's year.
  date.setUTCDate(date.getUTCDate() + 4 - weekday);
  const year = date.getUTCFullYear();
  const week = Math.ceil(((date.getTime() - Date.UTC(year, 0, 1)) / 86_400_000 + 1) / 7);
  return `${year}-W${String(week).padStart(2, '0')}`;
}
