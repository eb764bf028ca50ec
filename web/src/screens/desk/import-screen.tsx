// Issue 17: importing persons and records from CSV and XLSX — a placeholder until its screen lands.

export function ImportScreen(_: { rest: string }) {
  return null;
}
