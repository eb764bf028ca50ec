// Secret files in the key directory: created 0600 on first use, refused when
// anyone but the owner may read them, when they are no regular file, and (the files only
// Kartei writes) when they are symbolic links; what the doctor lists about the directory.
import fs from 'node:fs';
import path from 'node:path';
import { refusal, RefusalError } from '../config/refusal.ts';

/** A key file or directory refused; `refusal`: its code and parameters, for `kartei` to say it in German. */
export class KeyFileError extends RefusalError {}

export function ensureKeyDir(keyDir: string): void {
  fs.mkdirSync(keyDir, { recursive: true, mode: 0o700 });
  const mode = fs.statSync(keyDir).mode & 0o777;
  if (mode & 0o077) {
    throw new KeyFileError(
      `Refusing to start: key directory ${keyDir} is accessible by others (mode ${mode.toString(8)}); run chmod 700 on it.`,
      refusal('key-dir-exposed', { keyDir, mode: mode.toString(8) }),
    );
  }
}

/** Reads the secret at `file`, creating it with `create()` if absent. */
export function readOrCreateSecret(file: string, create: () => Buffer): Buffer {
  ensureKeyDir(path.dirname(file));
  refuseDanglingLink(file);
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

/** Whether there is a file at `file`, or a link (one that points at nothing counts: it is not absent). */
export const keyFilePresent = (file: string) => fs.existsSync(file) || isLink(file);

const isLink = (file: string) => {
  try {
    return fs.lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
};

/**
 * s25-review: a key file that is a link to nothing (a secrets volume not mounted) is refused naming the
 * link: it is neither a key to make (Kartei wrote none, and the link stays) nor a lost one (Node's ENOENT).
 */
function refuseDanglingLink(file: string): void {
  if (fs.existsSync(file) || !isLink(file)) return;
  const target = path.resolve(path.dirname(file), fs.readlinkSync(file));
  throw new KeyFileError(
    `Refusing ${file}: it is a symbolic link to ${target}, which does not exist (a volume not mounted?); make the key there reachable, or remove the link.`,
    refusal('key-file-dangling-link', { file, target }),
  );
}

/**
 * Issue 19: keys — the secret at `file` (checked like any key file), or undefined when there is none.
 * Files only Kartei writes (a rotation's next and retired masters, the deployment index keys) are
 * never links: one is refused (`links: false`), not followed out of the key directory.
 */
export function readSecretIfPresent(file: string, opts: { links?: boolean } = {}): Buffer | undefined {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  if (st.isSymbolicLink() && opts.links === false)
    throw new KeyFileError(
      `Refusing ${file}: it is a symbolic link, and Kartei writes this file itself, never as a link; remove it.`,
      refusal('key-file-own-link', { file }),
    );
  return readSecret(file, opts.links !== false);
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

/** Secrets are small: a key file larger than this is no key file. */
const MAX_SECRET_BYTES = 64 * 1024;

/**
 * A key file's bytes, read through one descriptor (no race between the checks and the read): a
 * regular file (a FIFO would block), 0600 or stricter, small. `follow: false` refuses a link.
 */
function readSecret(file: string, follow = true): Buffer {
  const flags = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | (follow ? 0 : fs.constants.O_NOFOLLOW);
  let fd: number;
  try {
    fd = fs.openSync(file, flags);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP')
      throw new KeyFileError(`Refusing ${file}: it is a symbolic link; remove it.`, refusal('key-file-link', { file }));
    throw e;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile())
      throw new KeyFileError(`Refusing ${file}: it is not a regular file.`, refusal('key-file-not-file', { file }));
    const mode = st.mode & 0o777;
    if (mode & 0o077) {
      throw new KeyFileError(
        `Refusing to start: ${file} is readable by others (mode ${mode.toString(8)}); run chmod 600 on it.`,
        refusal('key-file-exposed', { file, mode: mode.toString(8) }),
      );
    }
    if (st.size > MAX_SECRET_BYTES)
      throw new KeyFileError(
        `Refusing ${file}: ${st.size} bytes is no key file.`,
        refusal('key-file-too-large', { file, size: st.size }),
      );
    return fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Issue 19: keys — the files Kartei writes into the key directory (and their temporary forms). */
const KNOWN_KEY_FILES = [
  /^master\.key$/,
  /^master\.(next|retired)\.key$/,
  /^deployment-index\.[0-9a-f]+\.key$/,
  /^audit-chain\.key$/,
  /^audit-signing(\.next)?\.key$/,
  /^audit-signing-retired\.json$/,
  /^audit-witness\.json$/,
  // Issue 19: attack21 — what a restore keeps and writes there (src/ops/restore.ts).
  /^audit-witness\.before-restore-[0-9T-]+Z\.json$/,
  /^audit-witness\.json\.restore$/,
  /^kartei-keys-backup\.json$/,
];

/**
 * Issue 19: keys — what the doctor lists beside the modes: links among the files Kartei writes
 * itself (all but master.key, which may be a deliberate link, e.g. a container's secret), and files
 * Kartei does not write (planted, or left by hand).
 */
export function keyDirectoryOddities(keyDir: string): { links: string[]; unknown: string[] } {
  const out = { links: [] as string[], unknown: [] as string[] };
  if (!fs.existsSync(keyDir)) return out;
  for (const f of fs.readdirSync(keyDir)) {
    const name = f.replace(/\.tmp$/, '');
    if (!KNOWN_KEY_FILES.some((r) => r.test(name))) out.unknown.push(path.join(keyDir, f));
    else if (name !== 'master.key' && fs.lstatSync(path.join(keyDir, f)).isSymbolicLink())
      out.links.push(path.join(keyDir, f));
  }
  return out;
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

/**
 * A key directory file's JSON, or undefined when it is none (damaged): the caller refuses it naming the
 * file only. JSON.parse's own error quotes the text's start, and Node shows the text whole when it is not
 * caught — in a key file, the secret.
 */
export function keyFileJson<T>(text: string): Partial<T> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed && typeof parsed === 'object' ? (parsed as Partial<T>) : undefined;
  } catch {
    return undefined;
  }
}
