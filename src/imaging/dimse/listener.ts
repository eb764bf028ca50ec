// The DICOM listener: plain TCP on loopback, or TLS 1.2+ with a client
// certificate required and verified against the configured CA (the device's
// own certificate is then pinned by the registry). No Nagle delay, bounded
// idle time, every association on its own handler, which reaches the rest of
// Kartei only through the gate and use cases it is given (dimse-deps.ts).
import net from 'node:net';
import tls from 'node:tls';
import type { DicomConfig } from '../../config/config.ts';
import type { DimseListenerOptions } from './dimse-deps.ts';
import { AssociationHandler, auditRefusedAssociation, LOCAL_LIMIT_EXCEEDED } from './association-handler.ts';
import { AssociationLimits } from './association-limits.ts';
import { encodeAssociateRj } from '../dicom/association.ts';
import { TLS_SERVER_POLICY } from '../../config/tls-policy.ts';
import { dicomMaterial } from '../../config/tls-start.ts'; // Issue 19: s25-start-files
import { DEPLOYMENT_CHAIN } from '../../db/schema.ts';
import { assertDeclaredService, type DimseService } from './service-classes.ts';
import { cEcho } from './c-echo.ts';
import { cStore } from './c-store.ts';
import { cFind } from './c-find.ts';
import { cGet } from './c-get.ts';
import { cMove } from './c-move.ts';

/** The service classes Kartei offers. */
const SERVICE_CLASSES: readonly DimseService[] = [cEcho, cStore, cFind, cGet, cMove];

/** An association silent this long is dropped (PS3.8's ARTIM, and idle associations). */
const IDLE_MS = 120_000;
/** How long a caller may take for the TLS handshake. */
const HANDSHAKE_MS = 10_000;
/** Connections the listener holds at all, whoever the callers are. */
const MAX_CONNECTIONS = 1_024;
/** Refusals for one address over its limit are logged once in this span (all of them are audited, counted). */
const REFUSAL_LOG_MS = 60_000;

export interface DimseListener {
  port: number;
  close(): Promise<void>;
  // Issue 19: keys — a new certificate (and device CA) for new associations; present only with TLS.
  setSecureContext?(options: tls.SecureContextOptions): void;
}

export async function startDimseListener(
  config: DicomConfig,
  opts: DimseListenerOptions,
  serviceClasses: readonly DimseService[] = SERVICE_CLASSES,
): Promise<DimseListener> {
  serviceClasses.forEach(assertDeclaredService);
  const byCommand = new Map(serviceClasses.map((s) => [s.command, s]));
  const sockets = new Set<net.Socket>();
  const limits = new AssociationLimits(config.maxAssociationsPerDevice, config.maxAssociationsPerAddress);
  const loggedAt = new Map<string, number>();
  /**
   * Every connection counts against its address from the moment it is accepted — over TLS
   * before the handshake, so callers that never finish one cannot hold connections unbounded.
   */
  const admit = (socket: net.Socket): boolean => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const address = socket.remoteAddress ?? '';
    const release = limits.claimAddress(address);
    if (!release) {
      auditAddressRefusal(address);
      return false;
    }
    socket.once('close', release);
    return true;
  };
  const accept = (socket: net.Socket) => {
    if (!config.tls && !admit(socket)) {
      // Refused before a byte is read: a connection over its address's limit holds nothing.
      socket.end(encodeAssociateRj(LOCAL_LIMIT_EXCEEDED));
      setTimeout(() => socket.destroy(), 5_000).unref();
      return;
    }
    if (config.tls) {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    socket.setNoDelay(true);
    socket.setTimeout(IDLE_MS, () => socket.destroy());
    // Our AE title, and our TLS material, which we also present when we connect to a move destination.
    void new AssociationHandler(socket, { ...opts, aeTitle: config.aeTitle, tls: config.tls, limits }, byCommand).run();
  };
  /**
   * Each refusal on the deployment chain (no device is known yet), counted per address and minute by
   * the attempt log like a refused association, so none of a flood is lost; in the log once a minute per address.
   */
  const auditAddressRefusal = (address: string) => {
    const detail = { why: 'too-many-associations', limit: 'address', max: limits.perAddress };
    void auditRefusedAssociation(opts.deps, DEPLOYMENT_CHAIN, null, detail, address).catch((e) => opts.log?.(e));
    const now = Date.now();
    const since = loggedAt.get(address);
    if (since !== undefined && now - since < REFUSAL_LOG_MS) return;
    loggedAt.set(address, now);
    for (const [a, t] of loggedAt) if (now - t >= REFUSAL_LOG_MS) loggedAt.delete(a);
    opts.log?.(new Error(`DICOM connection from ${address} refused: ${limits.perAddress} associations held`));
  };
  const server = config.tls
    ? tls.createServer(
        {
          // The certificate, key and CA as checked (s25: read once, at the start).
          ...(opts.tls ?? dicomMaterial(config.tls).options),
          requestCert: true,
          rejectUnauthorized: true,
          // A handshake not finished by then ends (Node's default waits 120 s).
          handshakeTimeout: HANDSHAKE_MS,
          ...TLS_SERVER_POLICY,
        },
        accept,
      )
    : net.createServer(accept);
  server.maxConnections = MAX_CONNECTIONS;
  if (config.tls) {
    // The raw connection, before any TLS: over its address's limit it is closed at once (nothing to answer in clear).
    server.on('connection', (raw: net.Socket) => {
      if (!admit(raw)) raw.destroy();
    });
  }
  // A caller without a certificate from our CA never reaches an association: its refusal is audited here.
  server.on(
    'tlsClientError',
    (_err, socket) =>
      void auditRefusedAssociation(
        opts.deps,
        DEPLOYMENT_CHAIN,
        null,
        { why: 'tls-handshake-failed' },
        socket?.remoteAddress,
      ).catch((e) => opts.log?.(e)),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    // Issue 19: keys
    ...(server instanceof tls.Server
      ? { setSecureContext: (o: tls.SecureContextOptions) => server.setSecureContext(o) }
      : {}),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
