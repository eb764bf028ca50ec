// Issue 17: bulk letters: one template for a selection of files, with progress — a placeholder until its screen lands.

export function LetterRunsScreen(_: { rest: string }) {
  return null;
}
