// fdatasync of SQLite's write-ahead log on the thread pool: what
// synchronous=FULL does inside every commit, without holding up the event
// loop meanwhile. The group committer calls it after each commit and answers
// no one before it returns. fsync flushes the file, whichever descriptor asks,
// so a read-only descriptor of our own will do. Commits that come while a sync
// is running share the next one, so at most one waits behind the one running.
import fsp from 'node:fs/promises';

export interface WalSync {
  /** Makes everything written to the log so far durable. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export function walSync(walFile: string): WalSync {
  // Opened at the first sync: the log exists once the first commit has been written.
  let handle: Promise<fsp.FileHandle> | undefined;
  const open = () =>
    (handle ??= fsp.open(walFile, 'r').catch((e: unknown) => {
      handle = undefined;
      throw e;
    }));
  return {
    sync: coalesced(async () => (await open()).datasync()),
    async close() {
      const h = await handle?.catch(() => undefined);
      handle = undefined;
      await h?.close();
    },
  };
}

/**
 * A sync that callers share: one that arrives while a sync runs waits for the
 * next one, which starts after the running one ends and so after the caller's
 * own writes; all who arrive meanwhile wait for that same next one.
 */
export function coalesced(sync: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  let next: Promise<void> | undefined;
  const start = () => {
    const p = sync();
    running = p;
    const clear = () => {
      if (running === p) running = undefined;
    };
    p.then(clear, clear);
    return p;
  };
  const again = () => {
    next = undefined;
    return start();
  };
  return () => {
    if (!running) return start();
    next ??= running.then(again, again);
    return next;
  };
}
