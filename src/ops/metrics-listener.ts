// The metrics' own listener (issue 19): `GET /metrics` in Prometheus's text
// format and nothing else, apart from the application's port, so a proxy in
// front of Kartei never exposes it. Loopback by default; beyond loopback
// `checkStartable` demands TLS (the server's certificate, used here too) and a
// bearer token from a 0600 file (refused if group or others may read it),
// compared in constant time. Scrapes that arrive together share one rendering;
// connections are few and short-lived (one that sends nothing is closed after
// `FIRST_REQUEST_MS`), so a flood of requests or idle sockets costs the server
// little, grows nothing and keeps Prometheus out for seconds at most. Its HTTPS
// certificate is reloaded with the server's (`setSecureContext`, TlsReloader).
// s25: the start hands it the token and certificate it checked (src/config/tls-start.ts): no file is
// read again here; without them (a test's own listener) they are read and checked the same way.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/config.ts';
import { httpsMaterial, readMetricsToken } from '../config/tls-start.ts'; // Issue 19: s25-start-files
import type { Metrics } from './metrics.ts';

/** More scrapers than this at once are not served (Prometheus scrapes with one connection). */
const MAX_CONNECTIONS = 64;
/** A connection that has sent no request this long after opening is closed. */
const FIRST_REQUEST_MS = 2_000;

export interface MetricsListener {
  url: string;
  /** Over HTTPS: takes a reloaded certificate (the TlsReloader's target). */
  setSecureContext?: (options: import('node:tls').SecureContextOptions) => void;
  close(): Promise<void>;
}

/** Why the token file cannot be used (group or others may read it), or nothing: for the start and `kartei doctor`. */
export function metricsTokenFileProblem(file: string): string | undefined {
  const mode = fs.statSync(file).mode & 0o777;
  if (mode & 0o077)
    return `the metrics token file ${file} is readable by others (mode ${mode.toString(8)}); run chmod 600 on it`;
  return undefined;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export async function startMetricsListener(
  metrics: Metrics,
  listen: NonNullable<Config['metrics']>,
  tls: Config['tls'],
  started?: { token?: string; tls?: import('node:tls').SecureContextOptions },
): Promise<MetricsListener> {
  // A token file others may read, a short token: refused (ConfigError with its code) by readMetricsToken.
  const token = started ? started.token : listen.tokenFile ? readMetricsToken(listen.tokenFile) : undefined;
  const expected = token === undefined ? undefined : digest(`Bearer ${token}`);
  let rendering: Promise<string> | undefined;
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = (req.url ?? '').split('?')[0];
    if ((req.method !== 'GET' && req.method !== 'HEAD') || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (expected && !timingSafeEqual(digest(req.headers.authorization ?? ''), expected)) {
      res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' }).end('unauthorized\n');
      return;
    }
    rendering ??= metrics.text().finally(() => (rendering = undefined));
    rendering.then(
      (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(req.method === 'HEAD' ? '' : text),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics failed\n'),
    );
  };
  const options = {
    requestTimeout: 5_000,
    headersTimeout: 5_000,
    keepAliveTimeout: 5_000,
    maxHeaderSize: 8_192,
    // Node checks the timeouts above this often (30 s by default: idle sockets would hold the few connections).
    connectionsCheckingInterval: 1_000,
  };
  // TLS where a token travels beyond this host; on loopback plain, like the application's own default.
  const secure = expected !== undefined && tls;
  const server = secure
    ? https.createServer(
        {
          ...options,
          // The server's policy, certificate and key, as checked.
          ...(started?.tls ?? httpsMaterial(tls).options),
          // A TLS handshake that does not finish is as idle as a silent socket.
          handshakeTimeout: FIRST_REQUEST_MS,
        },
        handler,
      )
    : http.createServer(options, handler);
  server.maxConnections = MAX_CONNECTIONS;
  // A connection that sends nothing is closed soon; its first request ends this timer (the timeouts above take over).
  server.on(secure ? 'secureConnection' : 'connection', (socket: import('node:net').Socket) => {
    socket.setTimeout(FIRST_REQUEST_MS, () => socket.destroy());
  });
  server.on('request', (req: http.IncomingMessage) => req.socket.setTimeout(0));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return {
    url: `${secure ? 'https' : 'http'}://${host}:${port}/metrics`,
    ...(secure ? { setSecureContext: (o) => (server as https.Server).setSecureContext(o) } : {}),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
