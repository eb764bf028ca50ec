// The metrics' own listener (issue 19): `GET /metrics` in Prometheus's text
// format and nothing else, apart from the application's port, so a proxy in
// front of Kartei never exposes it. Loopback by default; beyond loopback
// `checkStartable` demands TLS (the server's certificate, used here too) and a
// bearer token from a 0600 file, compared in constant time. Scrapes that
// arrive together share one rendering; connections are few and short-lived, so
// a flood of requests costs the server little and grows nothing.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/config.ts';
import { TLS_SERVER_POLICY } from '../config/tls-policy.ts';
import type { Metrics } from './metrics.ts';

/** More scrapers than this at once are not served (Prometheus scrapes with one connection). */
const MAX_CONNECTIONS = 16;

export interface MetricsListener {
  url: string;
  close(): Promise<void>;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export async function startMetricsListener(
  metrics: Metrics,
  listen: NonNullable<Config['metrics']>,
  tls: Config['tls'],
): Promise<MetricsListener> {
  const token = listen.tokenFile ? fs.readFileSync(listen.tokenFile, 'utf8').trim() : undefined;
  if (token !== undefined && token.length < 16)
    throw new Error(`the metrics token in ${listen.tokenFile} is shorter than 16 characters`);
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
  const options = { requestTimeout: 5_000, headersTimeout: 5_000, keepAliveTimeout: 5_000, maxHeaderSize: 8_192 };
  // TLS where a token travels beyond this host; on loopback plain, like the application's own default.
  const secure = expected !== undefined && tls;
  const server = secure
    ? https.createServer(
        { ...options, ...TLS_SERVER_POLICY, cert: fs.readFileSync(tls.certFile), key: fs.readFileSync(tls.keyFile) },
        handler,
      )
    : http.createServer(options, handler);
  server.maxConnections = MAX_CONNECTIONS;
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
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
