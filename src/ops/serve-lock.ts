// One `kartei serve` per data directory: the store's recovery at start removes
// files no index row names, which would be another server's writes still in
// flight. The lock is a file naming the server's process id, made with an
// atomic link; one left by a process that is gone (a crash, a kill) is taken over.
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../config/config.ts';

export const LOCK_FILE = 'serve.lock';

/** Whether `pid` is a running `kartei` process (on Linux, by its command line; elsewhere any process). */
function running(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('kartei');
  } catch {
    return true;
  }
}

/** Takes the data directory's lock; throws a ConfigError while another server holds it. Returns its release. */
export function lockDataDir(dataDir: string): () => void {
  const lock = path.join(dataDir, LOCK_FILE);
  const mine = `${lock}.${process.pid}`;
  fs.writeFileSync(mine, `${process.pid}\n`, { mode: 0o600 });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        fs.linkSync(mine, lock);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
      }
      const holder = Number(fs.readFileSync(lock, 'utf8').trim());
      if (running(holder))
        throw new ConfigError(
          `another kartei server (process ${holder}) uses the data directory ${dataDir}; stop it first (lock: ${lock})`,
        );
      fs.rmSync(lock, { force: true });
    }
  } finally {
    fs.rmSync(mine, { force: true });
  }
  return () => {
    try {
      if (Number(fs.readFileSync(lock, 'utf8').trim()) === process.pid) fs.rmSync(lock);
    } catch {
      // Gone already.
    }
  };
}
