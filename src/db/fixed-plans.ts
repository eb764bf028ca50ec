// SQLite statements whose plan never depends on a bound value. SQLite may mark a
// parameter "re-plan when rebound" (LIKE patterns, partial indexes, and since 3.54
// every `column = ?` a join's loop does not use), and `sqlite3_clear_bindings`,
// which better-sqlite3 calls after every run, then expires the statement: each
// execution parses and plans it again (3-5× the cost of the gated read's joins).
// A parameter written `+?` is the same value without affinity or collation, like
// `?`, but SQLite does not look at its bound value while planning — the query
// planner stability guarantee (SQLITE_DBCONFIG_ENABLE_QPSG) better-sqlite3 does
// not expose. Kartei uses no LIKE, no partial index and no ANALYZE statistics,
// so it gives up no plan by it.

/** `sql` with each positional parameter `?` (or `?NNN`) written `+?`; literals, quoted names and comments untouched. */
export function fixedPlan(sql: string): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql.charAt(i);
    let end = i + 1;
    if (c === "'" || c === '"' || c === '`') end = quoted(sql, i, c);
    else if (c === '[') end = until(sql, i + 1, ']');
    else if (c === '-' && sql[i + 1] === '-') end = until(sql, i + 2, '\n');
    else if (c === '/' && sql[i + 1] === '*') end = until(sql, i + 2, '*/');
    else if (c === '?') out += '+';
    out += sql.slice(i, end);
    i = end;
  }
  return out;
}

/** The end of a quoted literal or name starting at `start` (a doubled quote stays inside). */
function quoted(sql: string, start: number, q: string): number {
  let i = start + 1;
  for (;;) {
    const at = sql.indexOf(q, i);
    if (at < 0) return sql.length;
    if (sql[at + 1] !== q) return at + 1;
    i = at + 2;
  }
}

function until(sql: string, from: number, closing: string): number {
  const at = sql.indexOf(closing, from);
  return at < 0 ? sql.length : at + closing.length;
}
