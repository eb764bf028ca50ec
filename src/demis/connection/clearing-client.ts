// Talks to DEMIS as a health office does: every request over mutual TLS with the office's
// certificate (our TLS policy, the server checked against the system's CAs or a configured CA
// file), an OAuth2 token from the token endpoint of the OEGD realm (client id and secret of the
// software product; the password grant with the office's user when a password is configured,
// otherwise client credentials), then the clearing API's FHIR search for the office's Binary
// resources by `_lastUpdated`, oldest first, page by page along `Bundle.link` "next" (never to
// another origin: the token goes nowhere else). Failures are `DemisFailure`s whose text is ours
// (kind, HTTP status, TLS code), never a server's body or a secret.
import fs from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';
import { TLS_POLICY } from '../../config/tls-policy.ts';

export type FailureKind = 'timeout' | 'unauthorized' | 'server' | 'tls' | 'network' | 'protocol' | 'decrypt' | 'import';

export class DemisFailure extends Error {
  readonly kind: FailureKind;
  readonly status?: number;
  constructor(kind: FailureKind, message: string, status?: number) {
    super(message);
    this.kind = kind;
    this.status = status;
  }
}

/** What a connection needs to reach DEMIS; secrets in memory for one poll only. */
export interface ClearingAccess {
  tokenUrl: string;
  clearingUrl: string;
  clientId: string;
  clientSecret: string;
  username: string;
  password: string | null;
  certificate: string;
  privateKey: string;
}

/** One encrypted notification as the clearing API lists it. */
interface ClearingBinary {
  id: string;
  lastUpdated: string;
  /** The notification bundle's identifier (tag RelatedNotificationBundle), when given. */
  bundleId?: string;
  data: Uint8Array;
}

export interface ClearingPage {
  binaries: ClearingBinary[];
  next: string | null;
}

const RELATED_BUNDLE = 'https://demis.rki.de/fhir/CodeSystem/RelatedNotificationBundle';
const PAGE_SIZE = 50;
/** An access token longer than this is refused (a JWT of DEMIS is a few kB; a giant one would go into every header). */
export const MAX_TOKEN_CHARS = 64 * 1024;

/** The CAs a DEMIS server's certificate is checked against: the configured file, or Node's and the system's. */
export function demisTrust(caFile?: string): string[] {
  if (caFile) return [fs.readFileSync(caFile, 'utf8')];
  return [...new Set([...tls.getCACertificates('default'), ...tls.getCACertificates('system')])];
}

const TLS_CODES = /^(ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|HOSTNAME_MISMATCH|ERR_OSSL)/;

export class ClearingClient {
  private readonly access: ClearingAccess;
  private readonly agent: https.Agent;
  private readonly timeoutMs: number;
  constructor(access: ClearingAccess, o: { ca: string[]; timeoutMs: number }) {
    this.access = access;
    this.timeoutMs = o.timeoutMs;
    this.agent = new https.Agent({
      ...TLS_POLICY,
      cert: access.certificate,
      key: access.privateKey,
      ca: o.ca,
      keepAlive: true,
      maxSockets: 2,
    });
  }

  close(): void {
    this.agent.destroy();
  }

  /** An access token for the office (the OEGD realm's token endpoint). */
  async token(): Promise<string> {
    const a = this.access;
    const form = new URLSearchParams({ client_id: a.clientId, client_secret: a.clientSecret });
    if (a.password !== null) {
      form.set('grant_type', 'password');
      form.set('username', a.username);
      form.set('password', a.password);
    } else form.set('grant_type', 'client_credentials');
    const res = await this.request('token endpoint', a.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: Buffer.from(form.toString()),
    });
    let token: unknown;
    try {
      token = JSON.parse(res.toString('utf8'))?.access_token;
    } catch {
      token = undefined;
    }
    if (typeof token !== 'string' || token.length === 0)
      throw new DemisFailure('protocol', 'token endpoint: the answer holds no access_token');
    if (token.length > MAX_TOKEN_CHARS || !/^[\x21-\x7e]+$/.test(token))
      throw new DemisFailure('protocol', 'token endpoint: the access_token is oversized or not printable ASCII');
    return token;
  }

  /** The first page's address: the office's Binaries updated at or after `position`, oldest first. */
  firstPage(position: string | null): string {
    const url = new URL(`${this.access.clearingUrl.replace(/\/+$/, '')}/Binary`);
    if (position) url.searchParams.set('_lastUpdated', `ge${position}`);
    url.searchParams.set('_sort', '_lastUpdated');
    url.searchParams.set('_count', String(PAGE_SIZE));
    return url.toString();
  }

  async page(url: string, token: string): Promise<ClearingPage> {
    const origin = new URL(this.access.clearingUrl).origin;
    if (new URL(url).origin !== origin)
      throw new DemisFailure('protocol', 'clearing API: a next page on another origin was not followed');
    const res = await this.request('clearing API', url, {
      method: 'GET',
      headers: { accept: 'application/fhir+json', authorization: `Bearer ${token}` },
    });
    let bundle: {
      resourceType?: string;
      entry?: { resource?: unknown }[];
      link?: { relation?: string; url?: string }[];
    };
    try {
      bundle = JSON.parse(res.toString('utf8'));
    } catch {
      throw new DemisFailure('protocol', 'clearing API: the answer is not JSON');
    }
    if (bundle?.resourceType !== 'Bundle')
      throw new DemisFailure('protocol', 'clearing API: the answer is not a Bundle');
    const binaries = (bundle.entry ?? []).map((e, i) => binaryOf(e.resource, i));
    const next = bundle.link?.find((l) => l.relation === 'next')?.url ?? null;
    return { binaries, next };
  }

  private request(
    what: string,
    url: string,
    o: { method: string; headers: Record<string, string>; body?: Buffer },
  ): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const target = new URL(url);
      if (target.protocol !== 'https:') return reject(new DemisFailure('protocol', `${what}: not an https:// address`));
      const req = https.request(
        target,
        {
          method: o.method,
          agent: this.agent,
          headers: { ...o.headers, ...(o.body ? { 'content-length': String(o.body.length) } : {}) },
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > 64 * 1024 * 1024) {
              req.destroy(new DemisFailure('protocol', `${what}: answer larger than 64 MiB`));
              return;
            }
            chunks.push(c);
          });
          res.on('error', (e) => reject(failureOf(what, e)));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status === 401 || status === 403)
              return reject(new DemisFailure('unauthorized', `${what}: HTTP ${status}`, status));
            if (status >= 500) return reject(new DemisFailure('server', `${what}: HTTP ${status}`, status));
            if (status !== 200) return reject(new DemisFailure('protocol', `${what}: HTTP ${status}`, status));
            resolve(Buffer.concat(chunks));
          });
        },
      );
      // TLS 1.3: the server checks the client certificate after the client's side of the handshake
      // is done, so a refused (e.g. expired) certificate shows as a connection closed before any answer.
      let handshaken = false;
      let answered = false;
      req.on('socket', (socket) => {
        if ((socket as tls.TLSSocket).authorized) handshaken = true;
        else socket.once('secureConnect', () => (handshaken = true));
      });
      req.on('response', () => (answered = true));
      const late = () =>
        req.destroy(new DemisFailure('timeout', `${what}: no answer within ${Math.round(this.timeoutMs / 1000)} s`));
      // `timeout` is the socket's idle time: a server trickling a byte now and then would keep it alive
      // forever (slowloris), so the whole exchange has a deadline too.
      const deadline = setTimeout(
        () =>
          req.destroy(
            new DemisFailure(
              'timeout',
              `${what}: answer not complete within ${Math.round((this.timeoutMs * 4) / 1000)} s`,
            ),
          ),
        this.timeoutMs * 4,
      );
      deadline.unref();
      req.on('close', () => clearTimeout(deadline));
      req.on('timeout', late);
      req.on('error', (e: Error & { code?: string }) =>
        reject(
          handshaken && !answered && (e.code === 'ECONNRESET' || e.code === 'EPIPE')
            ? new DemisFailure('tls', `${what}: TLS connection closed by the server (client certificate refused?)`)
            : failureOf(what, e),
        ),
      );
      req.end(o.body);
    });
  }
}

function failureOf(what: string, e: Error & { code?: string }): DemisFailure {
  if (e instanceof DemisFailure) return e;
  const code = typeof e.code === 'string' && /^[A-Z0-9_]{1,64}$/.test(e.code) ? e.code : 'unknown';
  if (TLS_CODES.test(code)) return new DemisFailure('tls', `${what}: TLS ${code}`);
  return new DemisFailure('network', `${what}: ${code}`);
}

function binaryOf(resource: unknown, index: number): ClearingBinary {
  const r = resource as {
    resourceType?: string;
    id?: unknown;
    contentType?: unknown;
    data?: unknown;
    meta?: { lastUpdated?: unknown; tag?: { system?: string; code?: unknown }[] };
  };
  const bad = (why: string) => new DemisFailure('protocol', `clearing API: entry ${index}: ${why}`);
  if (r?.resourceType !== 'Binary') throw bad('not a Binary');
  if (typeof r.id !== 'string' || !/^[A-Za-z0-9\-.]{1,64}$/.test(r.id)) throw bad('no valid id');
  const lastUpdated = r.meta?.lastUpdated;
  if (typeof lastUpdated !== 'string' || Number.isNaN(Date.parse(lastUpdated))) throw bad('no meta.lastUpdated');
  if (r.contentType !== 'application/cms' && r.contentType !== 'application/pkcs7-mime')
    throw bad('not application/cms');
  if (typeof r.data !== 'string' || r.data.length === 0) throw bad('no data');
  const bundleId = r.meta?.tag?.find((t) => t.system === RELATED_BUNDLE)?.code;
  return {
    id: r.id,
    lastUpdated,
    ...(typeof bundleId === 'string' ? { bundleId } : {}),
    data: new Uint8Array(Buffer.from(r.data, 'base64')),
  };
}
