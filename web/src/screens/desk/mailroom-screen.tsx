// Issue 17: the department's mail-room of scans not yet in a file — a placeholder until its screen lands.

export function MailroomScreen(_: { rest: string }) {
  return null;
}
