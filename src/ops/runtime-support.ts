// Whether the Node.js that runs Kartei is still supported: the end-of-life dates of
// the long-term-support lines (nodejs.org/en/about/previous-releases). Odd majors
// never become LTS and end six months after their release: never supported here.
// Add the next line here when it becomes LTS (each October).

/** Last day of support of each LTS major (ISO date, UTC). */
const NODE_LTS_END_OF_LIFE: Readonly<Record<number, string>> = {
  10: '2021-04-30',
  12: '2022-04-30',
  14: '2023-04-30',
  16: '2023-09-11',
  18: '2025-04-30',
  20: '2026-04-30',
  22: '2027-04-30',
  24: '2028-04-30',
  26: '2029-04-30',
};

export type RuntimeSupport =
  | { status: 'supported'; major: number; endOfLife?: string }
  | { status: 'end-of-life'; major: number; endOfLife: string }
  | { status: 'not-lts'; major: number };

/** Judges `version` (e.g. process.versions.node) at `now`. */
export function runtimeSupport(version: string, now = Date.now()): RuntimeSupport {
  const major = Number.parseInt(version, 10);
  if (!Number.isInteger(major) || major % 2 === 1) return { status: 'not-lts', major };
  const endOfLife = NODE_LTS_END_OF_LIFE[major];
  const known = Object.keys(NODE_LTS_END_OF_LIFE).map(Number);
  // An even major older than the table ended before its first line did; a newer one is younger than every line here.
  if (!endOfLife)
    return major < Math.min(...known)
      ? { status: 'end-of-life', major, endOfLife: NODE_LTS_END_OF_LIFE[Math.min(...known)]! }
      : { status: 'supported', major };
  // Support ends at the end of that day (UTC).
  return now >= Date.parse(`${endOfLife}T00:00:00Z`) + 86_400_000
    ? { status: 'end-of-life', major, endOfLife }
    : { status: 'supported', major, endOfLife };
}
