// The office's day: a German health office counts its days in Europe/Berlin, as the server does
// (src/infection/incubation.ts `officeDay`), whatever time zone the browser's machine is set to. A
// follow-up recorded at 00:30 is today's in Berlin even where the machine's clock says UTC.

/** Today as an ISO date (2026-12-04) in Europe/Berlin. */
export function officeToday(now: Date = new Date()): string {
  return new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Berlin' }).format(now);
}
