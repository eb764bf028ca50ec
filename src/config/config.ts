// Runtime configuration from the environment, with the secure defaults of the
// contract: loopback listener, ./data and ./keys, SQLite.
import path from 'node:path';
import { isIP } from 'node:net';

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
}

export class ConfigError extends Error {}

export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:]+)):(\d{1,5})$/.exec(value.trim());
  if (!m) throw new ConfigError(`KARTEI_LISTEN must look like HOST:PORT (got "${value}")`);
  const host = (m[1] ?? m[2])!;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw new ConfigError(`KARTEI_LISTEN port out of range: ${port}`);
  return { host, port };
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1';
  return false;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const { host, port } = parseListen(env.KARTEI_LISTEN ?? '127.0.0.1:8080');
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
    databaseUrl: env.KARTEI_DATABASE_URL || undefined,
    databaseAdminUrl: env.KARTEI_DATABASE_ADMIN_URL || env.KARTEI_DATABASE_URL || undefined,
    tls,
    publicUrl: env.KARTEI_PUBLIC_URL ?? `${tls ? 'https' : 'http'}://${shownHost}:${port}`,
    logLevel: env.KARTEI_LOG_LEVEL ?? 'info',
  };
}

/** Refusals that must happen before any socket is opened. */
export function checkStartable(config: Config): void {
  if (!isLoopback(config.host) && !config.tls) {
    throw new ConfigError(
      `Refusing to listen on ${config.host}: a listener beyond loopback needs TLS ` +
        `(set KARTEI_TLS_CERT and KARTEI_TLS_KEY, or listen on 127.0.0.1).`,
    );
  }
  const rel = path.relative(config.dataDir, config.keyDir);
  if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))) {
    throw new ConfigError(
      `Refusing to start: the key directory (${config.keyDir}) lies inside the data directory ` +
        `(${config.dataDir}); a copy of the data would carry its own keys.`,
    );
  }
}
