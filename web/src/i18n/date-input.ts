// Dates as German users type them, whatever the browser's locale: 12.04.1961, 12.4.1961
// and 1961-04-12 all mean the 12th of April 1961 and are sent as ISO (`1961-04-12`).
// Four-digit years only (12.4.61 is refused, not guessed); 31.02.2020 is no date.

/** The ISO date of what was typed, or null when it is no real date. */
export function parseDateInput(text: string): string | null {
  const s = text.trim();
  const german = /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/.exec(s);
  const iso = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(s);
  const [y, m, d] = german ? [german[3], german[2], german[1]] : iso ? [iso[1], iso[2], iso[3]] : [];
  if (!y || !m || !d) return null;
  const year = Number(y);
  const month = Number(m);
  const day = Number(d);
  if (year < 1000 || month < 1 || month > 12 || day < 1) return null;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day > daysInMonth) return null;
  return `${y}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** An ISO date written for the input: `1961-04-12` → `12.04.1961`; anything else as it is. */
export function dateInputText(value: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  return m ? `${m[3]}.${m[2]}.${m[1]}` : value;
}
