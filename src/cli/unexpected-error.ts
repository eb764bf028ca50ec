// s24-review: an error `kartei` has no refusal for, said on stderr without what it read. Left uncaught,
// Node prints it with the source line it was thrown at — for JSON.parse that line is the text parsed (a
// damaged file of the key directory, a server's answer), shown whole — and the message of JSON.parse's
// SyntaxError quotes its start. Said here: what kind of error, then only the stack's frames (code
// locations), for a report.
import { msg } from './messages.ts';

/** The error as `kartei` says it: a line in the operator's language, then the stack's frames. */
export function unexpectedErrorText(e: unknown): string {
  const err = e instanceof Error ? e : new Error(typeof e);
  // A SyntaxError's message may quote what was parsed; others name what failed (a code, a file).
  const what = err instanceof SyntaxError ? `SyntaxError: ${msg('unexpected.json')}` : `${err.name}: ${err.message}`;
  const frames = (err.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l));
  return `kartei: ${msg('unexpected.error', { what })}\n${frames.join('\n')}\n`;
}

/** Installs the saying for errors nothing awaits (a listener's, a timer's): said, then exit 1. */
export function sayUncaughtErrors(): void {
  process.on('uncaughtException', (e) => {
    process.stderr.write(unexpectedErrorText(e));
    process.exit(1);
  });
}
