// The files the listeners need, checked before anything listens: the server's certificate and key
// (HTTPS, and the metrics listener beyond loopback), the DICOM listener's certificate, key and device
// CA, and the metrics token. A file missing, unreadable, not PEM, or a key that does not belong to its
// certificate is a refusal naming the setting and the file — said by `kartei` in German — where it used
// to end the start with Node's stack, possibly after the HTTP listener was already up. A certificate
// that expired or is not valid yet still starts (clients refuse it; `kartei doctor` says so critically).
// A key's or token's setting that names no existing file is not repeated: it may be the secret, pasted.
import fs from 'node:fs';
import { ConfigError, type Config } from './config.ts';
import { refusal } from './refusal.ts';
import { loadTlsMaterial, type TlsFiles, type TlsRefusal } from './tls-reload.ts';

/** What the operator set for each file, so the refusal names the setting. */
interface Listener {
  files: TlsFiles;
  /** Each setting and the file it names (two settings may name the same). */
  settings: [name: string, file: string][];
}

/**
 * s24-review: the setting that names `file`; of two that name the same, the one holding a secret (its
 * value is then not repeated): a key pasted into the key's and the CA's setting alike is a key.
 */
function settingOf(l: Listener, file: string | undefined): string {
  const named = l.settings.filter(([, f]) => f === file).map(([n]) => n);
  return named.find((n) => SECRET_FILES.has(n)) ?? named[0] ?? l.settings.map(([n]) => n).join(', ');
}

export function refuseUnusableListenerFiles(config: Config): void {
  const listeners: Listener[] = [];
  if (config.tls)
    listeners.push({
      files: config.tls,
      settings: [
        ['KARTEI_TLS_CERT', config.tls.certFile],
        ['KARTEI_TLS_KEY', config.tls.keyFile],
      ],
    });
  const dicom = config.dicom?.tls;
  if (dicom)
    listeners.push({
      files: dicom,
      settings: [
        ['KARTEI_DICOM_TLS_CERT', dicom.certFile],
        ['KARTEI_DICOM_TLS_KEY', dicom.keyFile],
        ['KARTEI_DICOM_TLS_CA', dicom.caFile],
      ],
    });
  for (const l of listeners) {
    const m = loadTlsMaterial(l.files);
    if (m.ok) continue;
    const { code, file, params } = m.refused;
    if (code === 'tls-cert-expired' || code === 'tls-cert-not-yet-valid') continue;
    const name = settingOf(l, file);
    if (code === 'tls-file-unreadable') throw unreadable(name, file ?? '', params.code ?? '');
    throw new ConfigError(
      `Refusing to start: ${name}: ${m.reason}`,
      startRefusal(code, { ...params, name }) ?? refusal('tls-start-refused', { name, reason: m.reason }),
    );
  }
  const token = config.metrics?.tokenFile;
  if (token) {
    try {
      fs.accessSync(token, fs.constants.R_OK);
      if (!fs.statSync(token).isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOTFILE' });
    } catch (e) {
      throw unreadable('KARTEI_METRICS_TOKEN_FILE', token, (e as NodeJS.ErrnoException).code ?? 'EIO');
    }
  }
}

/** Each refusal by its code, written out (test/cli/refusals.test.ts finds every code made in src). */
function startRefusal(code: TlsRefusal['code'], params: Record<string, string>) {
  switch (code) {
    case 'tls-cert-not-pem':
      return refusal('tls-cert-not-pem', params);
    case 'tls-key-unreadable':
      return refusal('tls-key-unreadable', params);
    case 'tls-key-mismatch':
      return refusal('tls-key-mismatch', params);
    case 'tls-ca-not-pem':
      return refusal('tls-ca-not-pem', params);
    case 'tls-library':
      return refusal('tls-library', params);
    default:
      // Refusals a start does not meet (expiry is let through, names only a reload compares).
      return undefined;
  }
}

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
const SECRET_FILES = new Set(['KARTEI_TLS_KEY', 'KARTEI_DICOM_TLS_KEY', 'KARTEI_METRICS_TOKEN_FILE']);

function unreadable(name: string, file: string, code: string): ConfigError {
  const why =
    WHY[code] ?? (code.startsWith('larger than') ? { de: 'zu groß', en: 'too large' } : { de: code, en: code });
  // s24-review: a long value (a key or token pasted) fails as ENAMETOOLONG, not ENOENT: not repeated either.
  if (SECRET_FILES.has(name) && (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG'))
    return new ConfigError(
      `Refusing to start: ${name} names no file that exists (the value is not repeated here: it may be the key or token itself)`,
      refusal('secret-file-missing', { name }),
    );
  return new ConfigError(
    `Refusing to start: ${name} names ${file}, which cannot be read (${why.en})`,
    refusal('setting-file-unreadable', { name, file, why: why.de }),
  );
}
