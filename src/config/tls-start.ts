// The files the listeners need, read and checked once before anything listens: the server's
// certificate and key (HTTPS, and the metrics listener beyond loopback), the DICOM listener's
// certificate, key and device CA, and the metrics token. A file missing, unreadable, not PEM, or a key
// that does not belong to its certificate is a refusal naming the setting and the file — said by
// `kartei` in German — where it used to end the start with Node's stack, possibly after the HTTP
// listener was already up. s25: what was checked is what the listeners are given (ListenerFiles):
// a file replaced or removed after the check is not read again at the start. A certificate that
// expired or is not valid yet still starts (clients refuse it; `kartei doctor` says so critically).
// A key's or token's setting that names no existing file is not repeated: it may be the secret, pasted.
// A metrics token file others may read, or a token shorter than 16 characters, is refused too (s25:
// it only skipped the metrics listener; a missing one stopped the start).
import { ConfigError, type Config } from './config.ts';
import { refusal } from './refusal.ts';
import { SECRET_FILES, unreadableSetting } from './setting-file.ts';
import { loadTlsMaterial, readSmallFile, type TlsFiles, type TlsMaterial, type TlsRefusal } from './tls-reload.ts';

/** A listener's certificate, key (and CA) as checked: its `options` go to the listener. */
export type CheckedTls = Extract<TlsMaterial, { ok: true }>;

/** What the listeners are started with (each present when configured). */
export interface ListenerFiles {
  https?: CheckedTls;
  dicom?: CheckedTls;
  metricsToken?: string;
}

/** A metrics token file is a line: larger than this is no token file. */
const MAX_TOKEN_BYTES = 4096;
/** A shorter token is guessed. */
const MIN_TOKEN_CHARS = 16;

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

/** The listeners' files read and checked, or the refusal of the first that cannot be used. */
export function refuseUnusableListenerFiles(config: Config): ListenerFiles {
  const out: ListenerFiles = {};
  if (config.tls) out.https = httpsMaterial(config.tls);
  if (config.dicom?.tls) out.dicom = dicomMaterial(config.dicom.tls);
  const token = config.metrics?.tokenFile;
  if (token) out.metricsToken = readMetricsToken(token);
  return out;
}

/** The HTTPS certificate and key (KARTEI_TLS_CERT, KARTEI_TLS_KEY) read and checked, else refused. */
export function httpsMaterial(files: TlsFiles): CheckedTls {
  return checked({
    files,
    settings: [
      ['KARTEI_TLS_CERT', files.certFile],
      ['KARTEI_TLS_KEY', files.keyFile],
    ],
  });
}

/** The DICOM listener's certificate, key and device CA read and checked, else refused. */
export function dicomMaterial(files: Required<TlsFiles>): CheckedTls {
  return checked({
    files,
    settings: [
      ['KARTEI_DICOM_TLS_CERT', files.certFile],
      ['KARTEI_DICOM_TLS_KEY', files.keyFile],
      ['KARTEI_DICOM_TLS_CA', files.caFile],
    ],
  });
}

function checked(l: Listener): CheckedTls {
  const m = loadTlsMaterial(l.files, Date.now(), [], true);
  if (m.ok) return m;
  const { code, file, params } = m.refused;
  const name = settingOf(l, file);
  if (code === 'tls-file-unreadable') throw unreadable(name, file ?? '', params.code ?? '');
  throw new ConfigError(
    `Refusing to start: ${name}: ${m.reason}`,
    startRefusal(code, { ...params, name }) ?? refusal('tls-start-refused', { name, reason: m.reason }),
  );
}

/**
 * The metrics token (KARTEI_METRICS_TOKEN_FILE's first line, trimmed), read once without blocking; a
 * file others may read (every local account could scrape) or a token shorter than 16 characters refused.
 */
export function readMetricsToken(file: string): string {
  let read: ReturnType<typeof readSmallFile>;
  try {
    read = readSmallFile(file, MAX_TOKEN_BYTES);
  } catch (e) {
    throw unreadable('KARTEI_METRICS_TOKEN_FILE', file, (e as NodeJS.ErrnoException).code ?? (e as Error).message);
  }
  if (read.mode & 0o077) {
    const mode = read.mode.toString(8);
    throw new ConfigError(
      `Refusing to start: the metrics token file ${file} is readable by others (mode ${mode}); run chmod 600 on it`,
      refusal('metrics-token-exposed', { file, mode }),
    );
  }
  const token = read.bytes.toString('utf8').trim();
  if (token.length < MIN_TOKEN_CHARS)
    throw new ConfigError(
      `Refusing to start: the metrics token in ${file} is shorter than ${MIN_TOKEN_CHARS} characters`,
      refusal('metrics-token-short', { file }),
    );
  return token;
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

function unreadable(name: string, file: string, code: string): ConfigError {
  return new ConfigError(...unreadableSetting(name, file, code));
}
