// Whose turn it is to write the SQLite file, among this process's writers: the
// group committer on the event loop and the audit appender's thread
// (`audit/append-thread.ts`). SQLite lets one write transaction run at a time
// and makes a second writer wait in its busy handler, which sleeps for whole
// milliseconds — on the event loop that would hold up every request. So the two
// take turns here first: the event loop waits without blocking
// (`Atomics.waitAsync`), the appender's thread waits blocking (`Atomics.wait`),
// and only then BEGIN IMMEDIATE. Other processes (the command line) still meet
// SQLite's own lock and busy timeout.

/** The shared word: 0 free, else who has the turn. Handed to the appender's thread as is (shared memory). */
export type WriteTurn = Int32Array;

/** The event loop's name for the turn; each appender thread has one of its own (`appenderName`). */
export const EVENT_LOOP = 1;
type Who = number;

/**
 * The name of the n-th appender thread started in this process: a thread that ended gives back only a turn
 * it holds itself, never the turn of the thread started after it.
 */
export const appenderName = (n: number): Who => 2 + (n % 0x3fff_fff0);

/** ES2024's `Atomics.waitAsync` (Node has it; the project's TypeScript library is ES2022's). */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(a: Int32Array, i: number, v: number): { async: false } | { async: true; value: Promise<string> };
  }
).waitAsync;

export const newWriteTurn = (): WriteTurn => new Int32Array(new SharedArrayBuffer(4));

/** Waits without blocking the thread until the turn is free, and takes it. */
export async function takeTurn(turn: WriteTurn, who: Who): Promise<void> {
  for (
    let held = Atomics.compareExchange(turn, 0, 0, who);
    held !== 0;
    held = Atomics.compareExchange(turn, 0, 0, who)
  ) {
    const w = waitAsync(turn, 0, held);
    if (w.async) await w.value;
  }
}

/** Waits, blocking this thread (never the event loop's), until the turn is free, and takes it. */
export function takeTurnBlocking(turn: WriteTurn, who: Who): void {
  for (let held = Atomics.compareExchange(turn, 0, 0, who); held !== 0; held = Atomics.compareExchange(turn, 0, 0, who))
    Atomics.wait(turn, 0, held);
}

/** Gives the turn back if `who` has it (a thread that ended gives back what it held), and wakes the waiters. */
export function giveTurn(turn: WriteTurn, who: Who): void {
  if (Atomics.compareExchange(turn, 0, who, 0) === who) Atomics.notify(turn, 0);
}
