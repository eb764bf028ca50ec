// Secret files in the key directory: created 0600 on first use, refused when
// anyone but the owner may read them.
import fs from 'node:fs';
import path from 'node:path';

export class KeyFileError extends Error {}

export function ensureKeyDir(keyDir: string): void {
  fs.mkdirSync(keyDir, { recursive: true, mode: 0o700 });
  const mode = fs.statSync(keyDir).mode & 0o777;
  if (mode & 0o077) {
    throw new KeyFileError(
      `Refusing to start: key directory ${keyDir} is accessible by others (mode ${mode.toString(8)}); run chmod 700 on it.`,
    );
  }
}

/** Reads the secret at `file`, creating it with `create()` if absent. */
export function readOrCreateSecret(file: string, create: () => Buffer): Buffer {
  ensureKeyDir(path.dirname(file));
  if (!fs.existsSync(file)) {
    try {
      fs.writeFileSync(file, create(), { mode: 0o600, flag: 'wx' });
    } catch (e) {
      // Another process created it first: use theirs.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  return readSecret(file);
}

/** Issue 19: keys — the secret at `file` (checked like any key file), or undefined when there is none. */
export function readSecretIfPresent(file: string): Buffer | undefined {
  return fs.existsSync(file) ? readSecret(file) : undefined;
}

/**
 * Issue 19: keys — writes a secret so that a crash leaves the old file or the whole new one: a
 * temporary file (0600), its fsync, the rename, the directory's fsync.
 */
export function writeSecretDurably(file: string, secret: Buffer): void {
  const tmp = `${file}.tmp`;
  fs.rmSync(tmp, { force: true });
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    fs.writeFileSync(fd, secret);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  syncDir(path.dirname(file));
}

/** Issue 19: keys — makes the directory's entries (a rename, a link, an unlink) durable. */
export function syncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function readSecret(file: string): Buffer {
  const mode = fs.statSync(file).mode & 0o777;
  if (mode & 0o077) {
    throw new KeyFileError(
      `Refusing to start: ${file} is readable by others (mode ${mode.toString(8)}); run chmod 600 on it.`,
    );
  }
  return fs.readFileSync(file);
}

/** Permission problems of the key directory and its files, for the doctor. */
export function keyFileProblems(keyDir: string): string[] {
  if (!fs.existsSync(keyDir)) return [];
  const problems: string[] = [];
  const check = (p: string) => {
    const mode = fs.statSync(p).mode & 0o777;
    if (mode & 0o077) problems.push(`${p} has mode ${mode.toString(8)}`);
  };
  check(keyDir);
  for (const f of fs.readdirSync(keyDir)) check(path.join(keyDir, f));
  return problems;
}
