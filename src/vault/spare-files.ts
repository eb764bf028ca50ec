// Temporary files opened ahead of the writes that will take them (issue 18,
// ingest): creating a file waits for the file system's journal (0.1–0.9 ms
// per file measured on the benchmark machine, by what the journal is doing),
// and a store whose file is not open yet cannot write a byte of what arrives.
// A spare is created empty (0600) in a directory of its own (`.spare`) under
// the directory it is for (an office's, so a leftover names its office), on
// the thread pool while nothing waits for it; a write takes one at
// once and renames it into its final directory when it commits (the same file
// system). Spares a process still holds are removed when its store closes;
// what a crash leaves is a temporary file like any other, removed by the next
// start's recovery (and not counted as a cut-off write).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

/** The spares' directory, under the directory they are for. */
export const SPARE_DIR = '.spare';

export interface Spare {
  /** Its path (absolute). */
  tmp: string;
  fd: number;
}

export class SpareFiles {
  private readonly dir: string;
  private readonly keep: number;
  private readonly mark: string;
  private readonly ready: Spare[] = [];
  /** Paths being created now (on disk before their open answers). */
  private readonly opening = new Set<string>();
  private closed = false;
  private dirMade: Promise<unknown> | undefined;

  /** `parent`: the directory they are for; `mark`: what makes a name temporary in the store (its infix). */
  constructor(parent: string, keep: number, mark: string) {
    this.dir = path.join(parent, SPARE_DIR);
    this.keep = keep;
    this.mark = mark;
  }

  /**
   * An open spare if one is ready (else undefined: the write opens its own); another is opened in its place. One
   * whose name is gone (its directory removed behind our back) is closed, not handed out: bytes written into it
   * could not be renamed into place.
   */
  take(): Spare | undefined {
    let spare = this.ready.pop();
    while (spare && fs.fstatSync(spare.fd).nlink === 0) {
      fs.closeSync(spare.fd);
      this.dirMade = undefined;
      spare = this.ready.pop();
    }
    this.fill();
    return spare;
  }

  /**
   * The spares this process holds or is creating now (absolute paths): not a crashed process's leftovers. With
   * `readyOnly`, those a write would be given now.
   */
  held(readyOnly = false): string[] {
    return [...this.ready.map((s) => s.tmp), ...(readyOnly ? [] : this.opening)];
  }

  /** Closes and removes the spares not taken; none is opened after. */
  close(): void {
    this.closed = true;
    for (const s of this.ready.splice(0)) {
      try {
        fs.closeSync(s.fd);
        fs.rmSync(s.tmp, { force: true });
      } catch {
        // Left for the next start's recovery, as after a crash; the others are still closed.
      }
    }
  }

  private fill() {
    while (!this.closed && this.ready.length + this.opening.size < this.keep) {
      const tmp = path.join(this.dir, `spare${this.mark}${randomBytes(8).toString('hex')}`);
      this.opening.add(tmp);
      // Not its parent: a directory a store's files live in is made (and synced) by their writes alone.
      this.dirMade ??= fsp.mkdir(this.dir, { mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
      this.dirMade
        .then(
          () =>
            new Promise<number>((resolve, reject) =>
              fs.open(tmp, 'wx', 0o600, (e, fd) => (e ? reject(e) : resolve(fd))),
            ),
        )
        .then(
          (fd) => {
            if (!this.closed) return void this.ready.push({ tmp, fd });
            try {
              fs.closeSync(fd);
              fs.rmSync(tmp, { force: true });
            } catch {
              // Left for the next start's recovery, as after a crash.
            }
          },
          // None this time (the directory removed, the disk full): writes open their own, and the next take tries again.
          () => {
            this.dirMade = undefined;
          },
        )
        .finally(() => this.opening.delete(tmp));
    }
  }
}
