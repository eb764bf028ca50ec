// The numbers screen's table as CSV text for a spreadsheet: semicolons (German Excel), a BOM, CRLF;
// a cell is quoted when it holds a quote, a semicolon or a line break, and a text that a spreadsheet
// would take for a formula (=, +, -, @, tab, CR first: a disease's display is typed by people) is
// kept as text by a leading apostrophe.
export function csvCell(value: string | number): string {
  if (typeof value === 'number') return String(value);
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[";\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvText(lines: (string | number)[][]): string {
  return `\uFEFF${lines.map((l) => l.map(csvCell).join(';')).join('\r\n')}\r\n`;
}
