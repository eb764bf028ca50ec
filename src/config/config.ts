// Runtime configuration from the environment, with the secure defaults of the
// contract: loopback listener, ./data and ./keys, SQLite.
import path from 'node:path';
import { isIP } from 'node:net';
import { AE_TITLE } from '../imaging/dicom/uids.ts';
import { refusal, RefusalError } from './refusal.ts'; // Issue 19: cli-german
import { originOf, schemeOf } from './shown-address.ts'; // s24: echo
import { unreadableSetting, whyUnreadable } from './setting-file.ts'; // Issue 19: s25-start-files

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  keyDir: string;
  /** postgres://… for PostgreSQL (the app role); absent = embedded SQLite in dataDir. */
  databaseUrl?: string;
  /** postgres://… of the schema owner, used only to run migrations. */
  databaseAdminUrl?: string;
  tls?: { certFile: string; keyFile: string };
  /** Public base URL used in the printed setup link. */
  publicUrl: string;
  logLevel: string;
  /** The DICOM (DIMSE) listener; null when switched off with KARTEI_DICOM_LISTEN=off. */
  dicom: DicomConfig | null;
  /**
   * Reverse proxies (addresses and CIDR ranges) whose X-Forwarded-For names the
   * client: the login throttle counts that address. Empty: the header is ignored.
   */
  trustedProxies: string[];
  /**
   * A PEM file of CAs that sign the DEMIS servers' certificates, trusted instead of the
   * system's and Node's CAs (the DEMIS test environment, a test stand-in). Unset: those.
   */
  demisCaFile?: string;
  // Issue 17: documents
  /** The largest attachment or scan accepted, in bytes (`KARTEI_ATTACHMENT_MAX_MB`, default 50 MB). */
  attachmentMaxBytes: number;
  // Issue 19: ops
  /** Free space under which the data or key directory's file system is `low` (`KARTEI_STORAGE_LOW_MB`, default 1024). */
  storageLowBytes: number;
  /**
   * The Prometheus metrics listener (`KARTEI_METRICS_LISTEN`, default 127.0.0.1:9464; `off`: none).
   * Beyond loopback it needs TLS (the server's certificate) and a bearer token (`tokenFile`).
   */
  metrics: { host: string; port: number; tokenFile?: string } | null;
  // Issue 19: keys
  /** How often the TLS files' change times are looked at, to reload them (`KARTEI_TLS_WATCH_SECONDS`, default 60; 0: only on SIGHUP). */
  tlsWatchMs: number;
  /** `kartei doctor` reports a master key older than this (`KARTEI_KEY_MAX_AGE_DAYS`, default 365). */
  keyMaxAgeDays: number;
  // Issue 19: backup
  /** A data backup older than this is a `kartei doctor` finding (`KARTEI_BACKUP_MAX_AGE_HOURS`, default 26). */
  backupMaxAgeHours: number;
  // Issue 19: storage-db
  /**
   * Where sealed images and documents live (`KARTEI_STORAGE`): `database` (PostgreSQL itself, shared by
   * every instance), `files` (the data directory) or `s3`. Unset: `storageKind` decides by the database.
   */
  storage?: StorageKind;
  // Issue 19: s3
  /** The S3-compatible object store sealed files live in (`KARTEI_STORAGE=s3`, `KARTEI_S3_*`); absent otherwise. */
  s3?: S3Config;
}

export interface DicomConfig {
  host: string;
  port: number;
  /** The called AE title associations must name. */
  aeTitle: string;
  /** Server certificate, key, and the CA that signs device certificates: client certificates are required. */
  tls?: { certFile: string; keyFile: string; caFile: string };
  /** Associations held at once per calling device and per remote address (defaults 8 and 16). */
  maxAssociationsPerDevice?: number;
  maxAssociationsPerAddress?: number;
}

// Issue 19: cli-german — a code and parameters beside the message, for `kartei` to say it in German (src/cli/refusals.ts).
export class ConfigError extends RefusalError {}

function parseListen(value: string, name = 'KARTEI_LISTEN'): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:]+)):(\d{1,5})$/.exec(value.trim());
  if (!m)
    throw new ConfigError(
      `${name} must look like HOST:PORT (got "${value}")`,
      refusal('setting-listen-malformed', { name, value }),
    );
  const host = (m[1] ?? m[2])!;
  const port = Number(m[3]);
  if (port < 1 || port > 65535)
    throw new ConfigError(
      `${name} port out of range: ${port}`,
      refusal('setting-port-out-of-range', { name, port, value }),
    );
  return { host, port };
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1';
  return false;
}

/** An address's host is loopback (a URL writes an IPv6 host in brackets: `http://[::1]:8080`). */
export const isLoopbackUrl = (url: URL): boolean => isLoopback(url.hostname.replace(/^\[(.*)\]$/, '$1'));

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  refuseFileContent(env); // Issue 19: s23-review
  const { host, port } = parseListen(env.KARTEI_LISTEN ?? '127.0.0.1:8080');
  // s24-review: one of the two without the other was served as plain HTTP (on loopback) without a word.
  if (!env.KARTEI_TLS_CERT !== !env.KARTEI_TLS_KEY)
    throw new ConfigError(
      'HTTPS needs both KARTEI_TLS_CERT and KARTEI_TLS_KEY (one of them is set): set the other, or unset both for plain HTTP on loopback',
      refusal('tls-incomplete'),
    );
  const tls =
    env.KARTEI_TLS_CERT && env.KARTEI_TLS_KEY
      ? { certFile: path.resolve(env.KARTEI_TLS_CERT), keyFile: path.resolve(env.KARTEI_TLS_KEY) }
      : undefined;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    host,
    port,
    dataDir: path.resolve(env.KARTEI_DATA_DIR ?? './data'),
    keyDir: path.resolve(env.KARTEI_KEY_DIR ?? './keys'),
    // Issue 19: s23-review — a malformed address refused here, without repeating it (databaseAddress).
    databaseUrl: databaseAddress(env, 'KARTEI_DATABASE_URL'),
    databaseAdminUrl: databaseAddress(env, 'KARTEI_DATABASE_ADMIN_URL') ?? databaseAddress(env, 'KARTEI_DATABASE_URL'),
    tls,
    publicUrl: publicAddress(env.KARTEI_PUBLIC_URL) ?? `${tls ? 'https' : 'http'}://${shownHost}:${port}`, // s24: echo
    logLevel: env.KARTEI_LOG_LEVEL ?? 'info',
    dicom: loadDicomConfig(env),
    trustedProxies: parseTrustedProxies(env.KARTEI_TRUSTED_PROXY),
    demisCaFile: env.KARTEI_DEMIS_CA_FILE ? path.resolve(env.KARTEI_DEMIS_CA_FILE) : undefined,
    // Issue 17: documents
    attachmentMaxBytes: attachmentMaxMb(env.KARTEI_ATTACHMENT_MAX_MB) * 1024 * 1024,
    // Issue 19: ops
    storageLowBytes: storageLowMb(env.KARTEI_STORAGE_LOW_MB) * 1024 * 1024,
    metrics: loadMetricsConfig(env),
    // Issue 19: keys
    tlsWatchMs: wholeNumber(env, 'KARTEI_TLS_WATCH_SECONDS', 60, 0) * 1000,
    keyMaxAgeDays: wholeNumber(env, 'KARTEI_KEY_MAX_AGE_DAYS', 365, 1),
    // Issue 19: backup
    backupMaxAgeHours: backupMaxAgeHours(env.KARTEI_BACKUP_MAX_AGE_HOURS),
    // Issue 19: storage-db
    storage: storageSetting(env.KARTEI_STORAGE),
    // Issue 19: s3
    ...loadS3Config(env),
  };
}

// Issue 19: storage-db
const STORAGE_KINDS = ['database', 'files', 's3'] as const;
export type StorageKind = (typeof STORAGE_KINDS)[number];

function storageSetting(value: string | undefined): StorageKind | undefined {
  const v = value?.trim();
  if (!v) return undefined;
  if (!(STORAGE_KINDS as readonly string[]).includes(v))
    throw new ConfigError(
      `KARTEI_STORAGE must be one of ${STORAGE_KINDS.join(', ')} (got "${value}")`,
      refusal('storage-kind-unknown', { value: String(value) }),
    );
  return v as StorageKind;
}

/** Where sealed files live: as set, else in the database with PostgreSQL and in files with SQLite. */
export const storageKind = (c: Pick<Config, 'storage' | 'databaseUrl'>): StorageKind =>
  c.storage ?? (c.databaseUrl ? 'database' : 'files');

// Issue 19: s3
export interface S3Config {
  /** `https://host[:port]`; `http://` only to a loopback address. */
  endpoint: string;
  bucket: string;
  region: string;
  /** Put before every object's name: '' or segments ending in '/'. */
  prefix: string;
  /** Access key id and secret, read at start (mode 600 or refused; `sealed-objects-s3.ts`). */
  credentialsFile: string;
}

const S3_SETTINGS = ['ENDPOINT', 'BUCKET', 'REGION', 'PREFIX', 'CREDENTIALS_FILE'].map((s) => `KARTEI_S3_${s}`);

/**
 * The S3 settings when `KARTEI_STORAGE=s3`, refused when incomplete or unsafe: plain HTTP only to
 * loopback, no secret in the environment (it would be readable in /proc and passed to children).
 */
function loadS3Config(env: NodeJS.ProcessEnv): { s3?: S3Config } {
  const stray = Object.keys(env).find((k) => k.startsWith('KARTEI_S3_') && !S3_SETTINGS.includes(k));
  if (stray)
    throw new ConfigError(
      `${stray} is no setting of Kartei: the S3 credentials are read only from the file named by KARTEI_S3_CREDENTIALS_FILE (mode 600), never from the environment`,
      refusal('s3-setting-unknown', { name: stray }),
    );
  const given = S3_SETTINGS.filter((k) => env[k]?.trim());
  if (env.KARTEI_STORAGE?.trim() !== 's3') {
    if (given.length > 0)
      throw new ConfigError(
        `${given.join(', ')} set, but KARTEI_STORAGE is not s3: set KARTEI_STORAGE=s3 or remove them`,
        refusal('s3-settings-without-s3', { names: given.join(', ') }),
      );
    return {};
  }
  const missing = ['KARTEI_S3_ENDPOINT', 'KARTEI_S3_BUCKET', 'KARTEI_S3_REGION', 'KARTEI_S3_CREDENTIALS_FILE'].filter(
    (k) => !env[k]?.trim(),
  );
  if (missing.length > 0)
    throw new ConfigError(
      `KARTEI_STORAGE=s3 needs ${missing.join(', ')}`,
      refusal('s3-settings-missing', { names: missing.join(', ') }),
    );
  const bucket = env.KARTEI_S3_BUCKET!.trim();
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
    throw new ConfigError(
      `KARTEI_S3_BUCKET must be a bucket name of 3 to 63 lower-case letters, digits, dots and hyphens (got "${bucket}")`,
      refusal('s3-bucket-invalid', { value: bucket }),
    );
  const region = env.KARTEI_S3_REGION!.trim();
  if (!/^[a-z0-9-]{1,64}$/.test(region))
    throw new ConfigError(
      `KARTEI_S3_REGION must be a region name such as eu-central-1 (got "${region}")`,
      refusal('s3-region-invalid', { value: region }),
    );
  const prefix = (env.KARTEI_S3_PREFIX ?? '').trim();
  if (
    prefix &&
    !prefix.split('/').every((p) => /^[A-Za-z0-9_.-]+$/.test(p) && p !== '.' && p !== '..' && !p.includes('.tmp-'))
  )
    throw new ConfigError(
      `KARTEI_S3_PREFIX must be names of letters, digits, '_', '.' and '-' separated by single slashes, without a leading or trailing slash (got "${prefix}")`,
      refusal('s3-prefix-invalid', { value: prefix }),
    );
  return {
    s3: {
      endpoint: s3Endpoint(env.KARTEI_S3_ENDPOINT!.trim()),
      bucket,
      region,
      prefix: prefix ? `${prefix}/` : '',
      credentialsFile: path.resolve(env.KARTEI_S3_CREDENTIALS_FILE!.trim()),
    },
  };
}

// Issue 19: s23-review — the settings that name a file holding a key, certificate, token or credentials.
const FILE_SETTINGS = [
  'KARTEI_TLS_CERT',
  'KARTEI_TLS_KEY',
  'KARTEI_DICOM_TLS_CERT',
  'KARTEI_DICOM_TLS_KEY',
  'KARTEI_DICOM_TLS_CA',
  'KARTEI_METRICS_TOKEN_FILE',
  'KARTEI_S3_CREDENTIALS_FILE',
  'KARTEI_DEMIS_CA_FILE',
] as const;

/**
 * The file's content given where its path belongs (a PEM key pasted into KARTEI_TLS_KEY): refused naming
 * the setting only. Read as a path, it failed deep in the start, and Node's error repeated it — the key.
 */
function refuseFileContent(env: NodeJS.ProcessEnv): void {
  for (const name of FILE_SETTINGS) {
    const value = env[name];
    if (value && (/[\r\n]/.test(value) || value.includes('-----BEGIN')))
      throw new ConfigError(
        `${name} must name a file (its path), not hold the file's content (which is not repeated here: it may be a key)`,
        refusal('setting-file-content', { name }),
      );
  }
}

// Issue 19: s23-review — a database address the URL parser cannot read threw from deep in the start,
// and Node printed that error with the whole address, password included, on stderr.
/**
 * A database address (`postgres://user:password@host:port/db?…`), or undefined when unset; one that
 * cannot be read is refused naming the setting only: it nearly always holds a password, and where the
 * parser gave up (a `#` or `/` in an unencoded password) says nothing about where it ends.
 */
function databaseAddress(env: NodeJS.ProcessEnv, name: 'KARTEI_DATABASE_URL' | 'KARTEI_DATABASE_ADMIN_URL') {
  const value = env[name];
  if (!value) return undefined;
  if (!URL.canParse(value))
    throw new ConfigError(
      `${name} must be an address such as postgres://kartei:PASSWORD@db.example.org:5432/kartei, special characters of the password percent-encoded (the value is not repeated here: it may hold the password)`,
      refusal('database-url-invalid', { name }),
    );
  // Issue 19: s25-start-files — pg reads these files when it connects: one it cannot read ended every
  // command with pg's stack (a FIFO would hang it). Refused naming the parameter and file, never the address.
  const params = new URL(value).searchParams;
  for (const param of ['sslrootcert', 'sslcert', 'sslkey']) {
    const file = params.get(param);
    const why = file === null ? undefined : whyUnreadable(file);
    if (file !== null && why) throw new ConfigError(...unreadableSetting(`${name} (${param}=)`, file, why));
  }
  return value;
}

// s24: echo — the address users open is printed (the setup link), put into every enrolment link and sent
// to the identity provider (SSO's redirect): a user and password in it would go everywhere with it.
/**
 * KARTEI_PUBLIC_URL as given, or undefined when unset; one the URL parser cannot read, or with a user or
 * password in it, is refused naming the setting only (the value may hold the password).
 */
function publicAddress(value: string | undefined): string | undefined {
  if (!value) return value;
  // s24-review: an http(s) address only (originOf), without a query or fragment: `minio:geheim` and
  // `kartei.example:8443` parse as URLs of their own schemes and went into every link as written, and
  // a query or fragment would (links are the address with a path appended).
  const url = originOf(value) === undefined ? undefined : new URL(value);
  if (!url || url.username || url.password || url.search || url.hash || /[?#]/.test(value))
    throw new ConfigError(
      'KARTEI_PUBLIC_URL must be the address users open, such as https://kartei.gesundheitsamt.example: http(s), without user, password, query or fragment (the value is not repeated here: it may hold a password)',
      refusal('public-url-invalid'),
    );
  return value;
}

/** `https://host[:port]`, or `http://` to loopback; nothing else (no path, no user in the address). */
function s3Endpoint(given: string): string {
  // s24: echo — a refusal says at most the origin of an http(s) address, or the scheme written before
  // `//` (src/config/shown-address.ts): `minio:geheim` is a "URL" whose path is the password, and a
  // value that is no address may be the secret itself.
  const origin = originOf(given);
  if (origin === undefined) {
    const scheme = schemeOf(given);
    if (scheme && scheme !== 'http://' && scheme !== 'https://')
      throw new ConfigError(
        `KARTEI_S3_ENDPOINT must start with https:// (it starts with ${scheme}; the rest is not repeated here: it may hold a password)`,
        refusal('s3-endpoint-scheme', { scheme }),
      );
    throw new ConfigError(
      'KARTEI_S3_ENDPOINT must be an address such as https://s3.example.org: scheme, host and optionally port (the value is not repeated here: it may hold a password)',
      refusal('s3-endpoint-invalid'),
    );
  }
  const url = new URL(given);
  if (url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== ''))
    throw new ConfigError(
      `KARTEI_S3_ENDPOINT must be scheme, host and port only, without user, path or query (got ${origin} with more, which is not repeated here: it may hold a password or a signature)`,
      refusal('s3-endpoint-not-origin', { value: origin }),
    );
  if (url.protocol === 'http:' && !isLoopbackUrl(url))
    throw new ConfigError(
      `Refusing KARTEI_S3_ENDPOINT ${origin}: beyond loopback the object store is reached only over https (set an https:// address)`,
      refusal('s3-endpoint-plain-http', { value: origin }),
    );
  return url.origin;
}

// Issue 19: ops
/** Whole megabytes from 0 (no warning) upwards; 1024 unless set. */
function storageLowMb(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return 1024;
  if (!/^\d{1,9}$/.test(value.trim()))
    throw new ConfigError(
      `KARTEI_STORAGE_LOW_MB must be a whole number of megabytes (got "${value}")`,
      refusal('storage-low-mb-invalid', { value }),
    );
  return Number(value.trim());
}

/** `HOST:PORT` (port 0: any free one, for tests) or `off`. */
function loadMetricsConfig(env: NodeJS.ProcessEnv): Config['metrics'] {
  const listen = env.KARTEI_METRICS_LISTEN ?? '127.0.0.1:9464';
  if (listen === 'off') return null;
  const { host, port } = /:0$/.test(listen.trim())
    ? { ...parseListen(listen.trim().replace(/:0$/, ':1'), 'KARTEI_METRICS_LISTEN'), port: 0 }
    : parseListen(listen, 'KARTEI_METRICS_LISTEN');
  const tokenFile = env.KARTEI_METRICS_TOKEN_FILE ? path.resolve(env.KARTEI_METRICS_TOKEN_FILE) : undefined;
  return { host, port, ...(tokenFile ? { tokenFile } : {}) };
}

// Issue 19: keys
/** A whole number from `min` up (at most 6 digits), `fallback` when unset. */
function wholeNumber(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const v = env[name]?.trim();
  if (!v) return fallback;
  if (!/^\d{1,6}$/.test(v) || Number(v) < min)
    throw new ConfigError(
      `${name} must be a whole number from ${min} (got "${v}")`,
      refusal('setting-whole-number', { name, min, value: v }),
    );
  return Number(v);
}

// Issue 19: backup
/** Whole hours from 1 to 8760; 26 unless set (a daily backup, with room for a slow night). */
function backupMaxAgeHours(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return 26;
  const h = Number(value.trim());
  if (!/^\d+$/.test(value.trim()) || h < 1 || h > 8760)
    throw new ConfigError(
      `KARTEI_BACKUP_MAX_AGE_HOURS must be a whole number of hours from 1 to 8760 (got "${value}")`,
      refusal('backup-max-age-invalid', { value }),
    );
  return h;
}

// Issue 17: documents
/** Whole megabytes from 1 to 2000 (a document's size is stored as a 32-bit integer); 50 unless set. */
function attachmentMaxMb(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return 50;
  const mb = Number(value.trim());
  if (!/^\d+$/.test(value.trim()) || mb < 1 || mb > 2000)
    throw new ConfigError(
      `KARTEI_ATTACHMENT_MAX_MB must be a whole number of megabytes from 1 to 2000 (got "${value}")`,
      refusal('attachment-max-invalid', { value }),
    );
  return mb;
}

/**
 * `10.0.0.5, 10.1.0.0/16, fd00::/8`: addresses and CIDR ranges, nothing else (no
 * names, no `*`, no `/0`: trusting every sender lets any client pick its address).
 */
function parseTrustedProxies(value: string | undefined): string[] {
  if (value === undefined || value.trim() === '') return [];
  return value.split(',').map((entry) => {
    const item = entry.trim();
    const [address, prefix, ...rest] = item.split('/');
    const family = isIP(address ?? '');
    const bits = family === 4 ? 32 : 128;
    const prefixOk =
      prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) >= 1 && Number(prefix) <= bits);
    if (family === 0 || !prefixOk || rest.length > 0) {
      throw new ConfigError(
        `KARTEI_TRUSTED_PROXY must list IP addresses or CIDR ranges, separated by commas (got "${item}")`,
        refusal('trusted-proxy-invalid', { value: item }),
      );
    }
    return item;
  });
}

function loadDicomConfig(env: NodeJS.ProcessEnv): DicomConfig | null {
  const listen = env.KARTEI_DICOM_LISTEN ?? '127.0.0.1:11112';
  if (listen === 'off') return null;
  const { host, port } = parseListen(listen, 'KARTEI_DICOM_LISTEN');
  const aeTitle = (env.KARTEI_DICOM_AET ?? 'KARTEI').trim();
  if (!AE_TITLE.test(aeTitle))
    throw new ConfigError(
      `KARTEI_DICOM_AET must be 1 to 16 characters without backslash (got "${aeTitle}")`,
      refusal('dicom-aet-invalid', { value: aeTitle }),
    );
  const [cert, key, ca] = [env.KARTEI_DICOM_TLS_CERT, env.KARTEI_DICOM_TLS_KEY, env.KARTEI_DICOM_TLS_CA];
  if ((cert || key || ca) && !(cert && key && ca)) {
    throw new ConfigError(
      'DICOM TLS needs all three of KARTEI_DICOM_TLS_CERT, KARTEI_DICOM_TLS_KEY and KARTEI_DICOM_TLS_CA (the CA that signs device certificates)',
      refusal('dicom-tls-incomplete'),
    );
  }
  const tls =
    cert && key && ca
      ? { certFile: path.resolve(cert), keyFile: path.resolve(key), caFile: path.resolve(ca) }
      : undefined;
  return {
    host,
    port,
    aeTitle,
    tls,
    maxAssociationsPerDevice: positiveInteger(env, 'KARTEI_DICOM_MAX_ASSOCIATIONS_PER_DEVICE'),
    maxAssociationsPerAddress: positiveInteger(env, 'KARTEI_DICOM_MAX_ASSOCIATIONS_PER_ADDRESS'),
  };
}

function positiveInteger(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name]?.trim();
  if (!v) return undefined;
  if (!/^\d{1,6}$/.test(v) || Number(v) < 1)
    throw new ConfigError(
      `${name} must be a whole number from 1 (got "${v}")`,
      refusal('setting-whole-number', { name, min: 1, value: v }),
    );
  return Number(v);
}

/** Refusals that must happen before any socket is opened. */
export function checkStartable(config: Config): void {
  if (!isLoopback(config.host) && !config.tls) {
    throw new ConfigError(
      `Refusing to listen on ${config.host}: a listener beyond loopback needs TLS ` +
        `(set KARTEI_TLS_CERT and KARTEI_TLS_KEY, or listen on 127.0.0.1).`,
      refusal('listen-needs-tls', { host: config.host }),
    );
  }
  if (config.dicom && !isLoopback(config.dicom.host) && !config.dicom.tls) {
    throw new ConfigError(
      `Refusing to listen for DICOM on ${config.dicom.host}: beyond loopback the DICOM listener needs TLS with client certificates ` +
        `(set KARTEI_DICOM_TLS_CERT, KARTEI_DICOM_TLS_KEY and KARTEI_DICOM_TLS_CA, or KARTEI_DICOM_LISTEN=127.0.0.1:11112).`,
      refusal('dicom-needs-tls', { host: config.dicom.host }),
    );
  }
  // Issue 19: ops — the metrics say how busy every route is: beyond loopback only over TLS and with a token.
  if (config.metrics && !isLoopback(config.metrics.host) && !(config.tls && config.metrics.tokenFile)) {
    throw new ConfigError(
      `Refusing to serve metrics on ${config.metrics.host}: beyond loopback the metrics listener needs TLS and a bearer token ` +
        `(set KARTEI_TLS_CERT, KARTEI_TLS_KEY and KARTEI_METRICS_TOKEN_FILE, or KARTEI_METRICS_LISTEN=127.0.0.1:9464).`,
      refusal('metrics-needs-tls', { host: config.metrics.host }),
    );
  }
  // Issue 19: storage-db — the database keeps sealed files only with PostgreSQL.
  if (storageKind(config) === 'database' && !config.databaseUrl) {
    throw new ConfigError(
      'Refusing to start: KARTEI_STORAGE=database keeps images and documents in PostgreSQL, and no KARTEI_DATABASE_URL ' +
        'is set (with SQLite they live in the data directory: unset KARTEI_STORAGE or set it to files).',
      refusal('database-storage-needs-postgres'),
    );
  }
  const rel = path.relative(config.dataDir, config.keyDir);
  if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))) {
    throw new ConfigError(
      `Refusing to start: the key directory (${config.keyDir}) lies inside the data directory ` +
        `(${config.dataDir}); a copy of the data would carry its own keys.`,
      refusal('key-dir-inside-data-dir', { keyDir: config.keyDir, dataDir: config.dataDir }),
    );
  }
}

/**
 * Whether browsers reach Kartei over HTTPS: served with TLS here, or a public address of https://
 * (TLS ended at a proxy in front). Cookies are then `Secure` and HSTS is sent either way.
 */
export const servedOverHttps = (c: Pick<Config, 'tls' | 'publicUrl'>): boolean =>
  !!c.tls || c.publicUrl.startsWith('https:');
