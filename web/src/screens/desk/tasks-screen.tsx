// Issue 17: the worklist of tasks and deadlines (Wiedervorlage) — a placeholder until its screen lands.

export function TasksScreen(_: { rest: string }) {
  return null;
}
