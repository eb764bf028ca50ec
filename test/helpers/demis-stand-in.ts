// A local stand-in for DEMIS as a health office meets it (see docs/demis.md): HTTPS on 127.0.0.1
// with a certificate of the test CA, a client certificate of that CA required on every
// connection; the OEGD realm's token endpoint (client id and secret, and the office's user and
// password for the password grant); the clearing API's `GET …/fhir/Binary` with `_lastUpdated`,
// `_sort`, `_count` and `_offset`, paged by `Bundle.link` "next", each Binary a CMS EnvelopedData
// sealed for the office's certificate (src/demis/connection/cms.ts, as DEMIS builds it). Modes
// for failure: `timeout` (no answer), `500`, `401`, `wrong-server-certificate` (a self-signed one);
// an expired (or foreign) client certificate is refused by its TLS layer itself, as DEMIS's is.
// Unref'd, and it closes itself after `lifetimeMs` in case a test forgets.
import { randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { sealFor } from '../../src/demis/connection/cms.ts';
import { testCa, testCertificate, untrustedCertificate } from './certificates.ts';

export type StandInMode = 'ok' | 'timeout' | '500' | '401' | 'wrong-server-certificate';

export interface StandInOffice {
  clientId: string;
  clientSecret: string;
  /** The office's user at DEMIS (its code); also the ResponsibleDepartment tag. */
  username: string;
  /** Null: the client-credentials grant. */
  password: string | null;
  /** The office's certificate (PEM): the payloads are sealed for it. */
  certificate: string;
}

export interface StandInRequest {
  path: string;
  /** The CN of the client certificate presented. */
  client: string;
}

export interface DemisStandIn {
  tokenUrl: string;
  clearingUrl: string;
  /** The CA file the client must trust for this server. */
  caFile: string;
  mode: StandInMode;
  /** Requests that reached the HTTP layer (TLS refusals never do). */
  requests: StandInRequest[];
  /** TLS handshakes the server refused (the client's certificate). */
  tlsRefusals: string[];
  /** Adds a notification; `sameInstant`: with the previous one's lastUpdated. Returns the Binary id. */
  add(bundle: string, o?: { sameInstant?: boolean; sealedFor?: string }): Promise<string>;
  /** Removes a notification (as DEMIS support would one that cannot be opened). */
  remove(id: string): void;
  close(): Promise<void>;
}

interface Stored {
  id: string;
  at: number;
  lastUpdated: string;
  bundleId: string;
  data: string;
}

const REALM_PATH = '/auth/realms/OEGD/protocol/openid-connect/token';
const CLEARING_PATH = '/notification-clearing-api/fhir';

/** DEMIS writes offsets (+01:00): so does the stand-in. */
const cet = (t: number) => new Date(t + 3_600_000).toISOString().replace('Z', '+01:00');

export async function startDemisStandIn(
  office: StandInOffice,
  o: { pageSize?: number; lifetimeMs?: number } = {},
): Promise<DemisStandIn> {
  const ca = testCa();
  const good = testCertificate('demis-stand-in');
  const pageSize = o.pageSize ?? 2;
  const stored: Stored[] = [];
  const tokens = new Set<string>();
  const held: ServerResponse[] = [];
  let clock = Date.now() - 60_000;
  const server = https.createServer({
    cert: good.cert,
    key: good.key,
    ca: ca.cert,
    requestCert: true,
    rejectUnauthorized: true,
  });
  server.on('tlsClientError', (e) => standIn.tlsRefusals.push((e as Error & { code?: string }).code ?? e.message));
  const send = (res: ServerResponse, status: number, body: unknown, type = 'application/json') => {
    res.writeHead(status, { 'content-type': type });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
  server.on('request', async (req, res) => {
    const url = new URL(req.url ?? '/', `https://127.0.0.1`);
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    standIn.requests.push({ path: url.pathname, client: String(peer?.subject?.CN ?? '') });
    if (standIn.mode === 'timeout') return void held.push(res);
    if (standIn.mode === '500') return send(res, 500, { error: 'internal' });
    if (req.method === 'POST' && url.pathname === REALM_PATH) {
      const form = new URLSearchParams(await readBody(req));
      if (standIn.mode === '401') return send(res, 401, { error: 'invalid_client' });
      const grant = form.get('grant_type');
      const clientOk = form.get('client_id') === office.clientId && form.get('client_secret') === office.clientSecret;
      const userOk =
        office.password === null
          ? grant === 'client_credentials'
          : grant === 'password' &&
            form.get('username') === office.username &&
            form.get('password') === office.password;
      if (!clientOk || !userOk) return send(res, 401, { error: 'invalid_grant' });
      const token = randomBytes(24).toString('base64url');
      tokens.add(token);
      return send(res, 200, { access_token: token, expires_in: 300, token_type: 'Bearer' });
    }
    if (req.method === 'GET' && url.pathname === `${CLEARING_PATH}/Binary`) {
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (!bearer || !tokens.has(bearer)) return send(res, 401, { resourceType: 'OperationOutcome' });
      const since = url.searchParams.get('_lastUpdated');
      const from = since?.startsWith('ge') ? Date.parse(since.slice(2)) : Number.NEGATIVE_INFINITY;
      const count = Math.min(Number(url.searchParams.get('_count') ?? pageSize), pageSize);
      const offset = Number(url.searchParams.get('_offset') ?? 0);
      const matching = stored.filter((s) => s.at >= from).sort((a, b) => a.at - b.at);
      const page = matching.slice(offset, offset + count);
      const link = [{ relation: 'self', url: url.toString() }];
      if (offset + count < matching.length) {
        const next = new URL(url);
        next.host = `127.0.0.1:${port}`;
        next.searchParams.set('_offset', String(offset + count));
        link.push({ relation: 'next', url: next.toString() });
      }
      return send(
        res,
        200,
        {
          resourceType: 'Bundle',
          type: 'searchset',
          total: matching.length,
          link,
          entry: page.map((s) => ({
            fullUrl: `https://127.0.0.1:${port}${CLEARING_PATH}/Binary/${s.id}`,
            resource: {
              resourceType: 'Binary',
              id: s.id,
              meta: {
                versionId: '1',
                lastUpdated: s.lastUpdated,
                tag: [
                  { system: 'https://demis.rki.de/fhir/CodeSystem/ResponsibleDepartment', code: office.username },
                  {
                    system: 'https://demis.rki.de/fhir/CodeSystem/RelatedNotificationBundle',
                    code: s.bundleId,
                    display: `Relates to message with identifier: ${s.bundleId}`,
                  },
                ],
              },
              contentType: 'application/cms',
              data: s.data,
            },
            search: { mode: 'match' },
          })),
        },
        'application/fhir+json',
      );
    }
    return send(res, 404, { resourceType: 'OperationOutcome' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  const port = (server.address() as { port: number }).port;
  let closed: Promise<void> | undefined;
  const lifetime = setTimeout(() => void standIn.close(), o.lifetimeMs ?? 120_000);
  lifetime.unref();
  let mode: StandInMode = 'ok';
  const standIn: DemisStandIn = {
    tokenUrl: `https://127.0.0.1:${port}${REALM_PATH}`,
    clearingUrl: `https://127.0.0.1:${port}${CLEARING_PATH}`,
    caFile: ca.certFile,
    get mode() {
      return mode;
    },
    set mode(m: StandInMode) {
      mode = m;
      const cert = m === 'wrong-server-certificate' ? untrustedCertificate('demis-impostor') : good;
      server.setSecureContext({ cert: cert.cert, key: cert.key, ca: ca.cert });
      if (m !== 'timeout') for (const r of held.splice(0)) r.destroy();
    },
    requests: [],
    tlsRefusals: [],
    async add(bundle, a = {}) {
      if (!a.sameInstant || stored.length === 0) clock += 1000;
      const id = randomUUID();
      const bundleId = /<identifier>[\s\S]*?<value value="([^"]+)"/.exec(bundle)?.[1] ?? randomUUID();
      const sealed = await sealFor(new TextEncoder().encode(bundle), a.sealedFor ?? office.certificate);
      stored.push({ id, at: clock, lastUpdated: cet(clock), bundleId, data: Buffer.from(sealed).toString('base64') });
      return id;
    },
    remove(id) {
      const i = stored.findIndex((x) => x.id === id);
      if (i >= 0) stored.splice(i, 1);
    },
    close() {
      clearTimeout(lifetime);
      closed ??= new Promise<void>((resolve) => {
        for (const r of held.splice(0)) r.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
  return standIn;
}

/** The subject CN of a PEM certificate (for assertions on what the stand-in saw). */
export const commonName = (pem: string) => /CN=([^,\n]+)/.exec(new X509Certificate(pem).subject)?.[1] ?? '';
