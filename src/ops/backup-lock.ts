// One backup or restore at a time per data directory: a lock file naming the process id and
// the start, made with an atomic link (as `serve.lock`, src/ops/serve-lock.ts); one left by a
// process that is gone is taken over. It is also how `kartei doctor` sees a backup running:
// a file, not a process's memory. `restore-incomplete` marks a data directory a restore is
// filling: no server starts on it, and only `kartei restore` clears it.
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../config/config.ts';
import { refusal } from '../config/refusal.ts'; // Issue 19: cli-german

export const BACKUP_LOCK_FILE = 'backup.lock';
export const RESTORE_MARKER = 'restore-incomplete';

interface LockContent {
  pid: number;
  at: string;
  what: string;
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function read(file: string): LockContent | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as LockContent;
  } catch {
    return undefined;
  }
}

/** The running backup or restore, if any (for the doctor). */
export function runningBackup(dataDir: string): LockContent | undefined {
  const c = read(path.join(dataDir, BACKUP_LOCK_FILE));
  return c && alive(c.pid) ? c : undefined;
}

/** Takes the lock for `what` (`backup`, `restore`); throws a ConfigError while another holds it. Returns its release. */
export function lockBackup(dataDir: string, what: string): () => void {
  const lock = path.join(dataDir, BACKUP_LOCK_FILE);
  const mine = `${lock}.${process.pid}`;
  fs.writeFileSync(mine, JSON.stringify({ pid: process.pid, at: new Date().toISOString(), what }), { mode: 0o600 });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        fs.linkSync(mine, lock);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
      }
      const holder = read(lock);
      if (holder && alive(holder.pid))
        throw new ConfigError(
          `another ${holder.what} (process ${holder.pid}, since ${holder.at}) is running on ${dataDir}; wait for it to end (lock: ${lock})`,
          refusal('backup-running', { what: holder.what, pid: holder.pid, at: holder.at, dataDir, lock }),
        );
      fs.rmSync(lock, { force: true });
    }
  } finally {
    fs.rmSync(mine, { force: true });
  }
  return () => {
    if (read(lock)?.pid === process.pid) fs.rmSync(lock, { force: true });
  };
}

/** Refuses to start a server on a data directory an interrupted restore left. */
export function refuseWhileRestoring(dataDir: string): void {
  if (fs.existsSync(path.join(dataDir, RESTORE_MARKER)))
    throw new ConfigError(
      `a restore into ${dataDir} has not finished (${RESTORE_MARKER}); run \`kartei restore\` with the same backup again to complete it`,
      refusal('restore-unfinished', { dataDir, marker: RESTORE_MARKER }),
    );
}
