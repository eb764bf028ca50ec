// Issue 17: a file's tasks and deadlines — a placeholder until its screen lands.

export function FileTasks(_: { personId: string }) {
  return null;
}
