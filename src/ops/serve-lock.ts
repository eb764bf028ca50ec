// One `kartei serve` per data directory: the store's recovery at start removes
// files no index row names, which would be another server's writes still in
// flight. The lock is a file naming the server's process id, made with an
// atomic link; one left by a process that is gone (a crash, a kill) is taken over.
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../config/config.ts';
import { refusal } from '../config/refusal.ts'; // Issue 19: cli-german

export const LOCK_FILE = 'serve.lock';

/**
 * Issue 19: keys — what `pid` is: a running `kartei` process ('server' for `kartei serve`, 'command'
 * for another `kartei …` that holds the lock, like `kartei keys rotate-master`), or undefined. On
 * Linux it must be a Node binary (/proc/<pid>/exe) whose arguments name bin/kartei.js — a process
 * that only has "kartei" somewhere in its command line (`vim kartei.conf`) is none.
 */
export function karteiProcess(pid: number): 'server' | 'command' | undefined {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  let exe: string;
  let argv: string[];
  try {
    exe = fs.readlinkSync(`/proc/${pid}/exe`);
    argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return undefined;
  }
  if (!/^node(js)?[\d.]*$/.test(path.basename(exe.replace(/ \(deleted\)$/, '')))) return undefined;
  const script = argv.findIndex(
    (a, i) => i > 0 && a.replaceAll('\\', '/').split('/').slice(-2).join('/') === 'bin/kartei.js',
  );
  if (script < 0) return undefined;
  return argv[script + 1] === 'serve' ? 'server' : 'command';
}

/** The process id of the `kartei serve` that holds `dataDir`'s lock, or undefined when none runs. */
export function runningServer(dataDir: string): number | undefined {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(path.join(dataDir, LOCK_FILE), 'utf8').trim());
  } catch {
    return undefined;
  }
  return karteiProcess(pid) === 'server' ? pid : undefined;
}

/**
 * Whether `pid` still holds a lock: a running `kartei` process. Where /proc cannot say (not Linux,
 * or another user's process hidden from us), a live process counts — two servers on one data
 * directory are worse than a refused start.
 */
function running(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (!fs.existsSync(`/proc/${pid}/cmdline`)) return true;
  try {
    fs.readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return true;
  }
  return karteiProcess(pid) !== undefined;
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
          refusal('server-running', { pid: holder, dataDir, lock }),
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
