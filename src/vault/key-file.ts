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
