// What a file's list shows of a record: its title or the first line of its main
// text, cut to a line's length. Computed from the unsealed content of the page's
// records only, and only for records the caller may read.
const TITLE_FIELD: Record<string, string[]> = {
  note: ['text'],
  examination: ['reason', 'findings'],
  notification: ['disease'],
  'expert-opinion': ['question'],
  'tb-screening': ['notes'],
  'ifsg-case': ['notes'],
  'ifsg-contact': ['notes'],
};

const TITLE_MAX = 120;

export function recordTitle(type: string, content: Record<string, unknown>): string | null {
  for (const field of TITLE_FIELD[type] ?? []) {
    const value = content[field];
    if (typeof value !== 'string') continue;
    const line = value
      .split(/\r?\n/)
      .map((l) => l.trim())
      .find((l) => l.length > 0);
    if (line) return line.length > TITLE_MAX ? `${line.slice(0, TITLE_MAX - 1)}…` : line;
  }
  return null;
}
