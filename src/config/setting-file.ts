// s25: what a refusal says of a setting that names a file that cannot be read: the reason as the
// operator would put it, and — for a setting whose file holds a secret (a key, a token) — that it
// names no file, without repeating the value (it may be the secret itself, pasted), with a hint when
// the name starts with `~` (not expanded) or has spaces at a start or end (part of the path). Used by
// the listeners' files (tls-start.ts) and the database address's files (config.ts).
import fs from 'node:fs';
import { refusal, type Refusal } from './refusal.ts';

/** Why a file cannot be read, as the operator would put it. */
const WHY: Record<string, { de: string; en: string }> = {
  ENOENT: { de: 'es gibt sie nicht', en: 'it does not exist' },
  EACCES: { de: 'keine Leserechte', en: 'no permission to read it' },
  EPERM: { de: 'keine Leserechte', en: 'no permission to read it' },
  ENOTDIR: { de: 'ein Teil des Pfades ist kein Verzeichnis', en: 'a part of the path is not a directory' },
  ELOOP: { de: 'zu viele symbolische Links', en: 'too many symbolic links' },
  ENAMETOOLONG: { de: 'der Name ist zu lang', en: 'the name is too long' },
  ENOTFILE: { de: 'keine gewöhnliche Datei', en: 'not a regular file' },
  'not a regular file': { de: 'keine gewöhnliche Datei', en: 'not a regular file' },
};

/** Settings whose file holds a secret: a value that names no file may be the secret itself, pasted in. */
export const SECRET_FILES = new Set(['KARTEI_TLS_KEY', 'KARTEI_DICOM_TLS_KEY', 'KARTEI_METRICS_TOKEN_FILE']);

/**
 * A name the operator meant otherwise: a part of the (resolved) path starting with `~` — the shell
 * expands it, Kartei does not — or starting or ending with a space (a quote in a unit file or .env).
 */
const misleadingName = (file: string) => file.split('/').some((part) => part.startsWith('~') || part !== part.trim());

/**
 * The refusal of `name` naming `file`, which cannot be read for `code` (an errno code or readSmallFile's
 * reason): a ConfigError's message and refusal (`new ConfigError(...unreadableSetting(…))`).
 */
export function unreadableSetting(name: string, file: string, code: string): [message: string, refusal: Refusal] {
  const why =
    WHY[code] ?? (code.startsWith('larger than') ? { de: 'zu groß', en: 'too large' } : { de: code, en: code });
  // s24-review: a long value (a key or token pasted) fails as ENAMETOOLONG, not ENOENT: not repeated either.
  if (SECRET_FILES.has(name) && (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG')) {
    const message = `Refusing to start: ${name} names no file that exists (the value is not repeated here: it may be the key or token itself)`;
    if (misleadingName(file))
      return [
        `${message}; ~ is not expanded, and spaces at the start or end are part of the path`,
        refusal('secret-file-missing-hint', { name }),
      ];
    return [message, refusal('secret-file-missing', { name })];
  }
  return [
    `Refusing to start: ${name} names ${file}, which cannot be read (${why.en})`,
    refusal('setting-file-unreadable', { name, file, why: why.de }),
  ];
}

/**
 * Why `file` could not be read, looked at without opening it (a FIFO is not opened), or undefined: a
 * regular file this process may read. For files another library reads later (pg's SSL files).
 */
export function whyUnreadable(file: string): string | undefined {
  try {
    if (!fs.statSync(file).isFile()) return 'ENOTFILE';
    fs.accessSync(file, fs.constants.R_OK);
    return undefined;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? 'EIO';
  }
}
