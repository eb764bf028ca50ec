// fdatasync of SQLite's write-ahead log on the thread pool: what
// synchronous=FULL does inside every commit, without holding up the event
// loop meanwhile. The group committer calls it after each commit and answers
// no one before it returns. fsync flushes the file, whichever descriptor asks,
// so a read-only descriptor of our own will do.
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
    async sync() {
      await (await open()).datasync();
    },
    async close() {
      const h = await handle?.catch(() => undefined);
      handle = undefined;
      await h?.close();
    },
  };
}
