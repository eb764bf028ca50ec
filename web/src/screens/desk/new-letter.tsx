// Issue 17: making a letter or certificate from a template for this file — a placeholder until its screen lands.

export function NewLetter(_: { personId: string; onCreated: () => void }) {
  return null;
}
