// How long a contact is followed up by default: the last exposure plus the longest incubation
// period of the index case's disease. A small table by DEMIS notification category (the first three
// letters of the code: `msvd` disease and `msvp` pathogen are both measles); 14 days where it lists
// nothing. The follow-up end stays editable per contact: this is only its prefill.
//
// Sources (the upper end of the incubation period as the RKI gives it):
//   measles (msv): RKI-Ratgeber Masern (Epid. Bull. 46/2024): 7–21 days → 21
//   SARS-CoV-2 / COVID-19 (cvd): RKI, Kontaktpersonen-Nachverfolgung bei SARS-CoV-2-Infektionen
//     (2021): "in den meisten Fällen maximal 14 Tage" → 14
//   default: 14, the period the RKI's contact tracing guidance has used where no disease says otherwise.

const MAX_INCUBATION_DAYS: Record<string, number> = {
  msv: 21,
  cvd: 14,
};

const DEFAULT_FOLLOW_UP_DAYS = 14;

/** The days of follow-up after the last exposure for a disease's notification category code. */
export function followUpDays(diseaseCode: string): number {
  return MAX_INCUBATION_DAYS[diseaseCode.trim().toLowerCase().slice(0, 3)] ?? DEFAULT_FOLLOW_UP_DAYS;
}

/** An ISO date plus `days` days. */
export function addDays(isoDate: string, days: number): string {
  const d = new Date(`${isoDate}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** Whole days from `a` to `b` (ISO dates); negative when `b` lies before `a`. */
export function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86_400_000);
}

/** The office's calendar day of an instant (German offices: Europe/Berlin), as an ISO date. */
export function officeDay(iso: string): string {
  return new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Berlin' }).format(new Date(iso));
}
