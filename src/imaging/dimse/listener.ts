// The DICOM listener: plain TCP on loopback, or TLS 1.2+ with a client
// certificate required and verified against the configured CA (the device's
// own certificate is then pinned by the registry). No Nagle delay, bounded
// idle time, every association on its own handler.
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { DicomConfig } from '../../config/config.ts';
import type { Services } from '../../services.ts';
import { AssociationHandler, auditRefusedAssociation } from './association-handler.ts';
import { DEPLOYMENT_CHAIN } from '../../db/schema.ts';
import { assertDeclaredService, type DimseService } from './services.ts';
import { cEcho } from './c-echo.ts';
import { cStore } from './c-store.ts';
import { cFind } from './c-find.ts';
import { cGet } from './c-get.ts';
import { cMove } from './c-move.ts';

export const DIMSE_SERVICES: readonly DimseService[] = [cEcho, cStore, cFind, cGet, cMove];

/** An association silent this long is dropped (PS3.8's ARTIM, and idle associations). */
const IDLE_MS = 120_000;

export interface DimseListenerOptions {
  services: Services;
  /** How long a new connection may take to ask for an association (default 30 s). */
  associationTimeoutMs?: number;
  log?: (e: unknown) => void;
}

export interface DimseListener {
  port: number;
  close(): Promise<void>;
}

export async function startDimseListener(config: DicomConfig, opts: DimseListenerOptions, services: readonly DimseService[] = DIMSE_SERVICES): Promise<DimseListener> {
  services.forEach(assertDeclaredService);
  const byCommand = new Map(services.map((s) => [s.command, s]));
  const sockets = new Set<net.Socket>();
  const accept = (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.setNoDelay(true);
    socket.setTimeout(IDLE_MS, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    // Our AE title, and our TLS material, which we also present when we connect to a move destination.
    void new AssociationHandler(socket, { ...opts, aeTitle: config.aeTitle, tls: config.tls }, byCommand).run();
  };
  const server = config.tls
    ? tls.createServer(
        {
          cert: fs.readFileSync(config.tls.certFile),
          key: fs.readFileSync(config.tls.keyFile),
          ca: fs.readFileSync(config.tls.caFile),
          requestCert: true,
          rejectUnauthorized: true,
          minVersion: 'TLSv1.2',
        },
        accept,
      )
    : net.createServer(accept);
  // A caller without a certificate from our CA never reaches an association: its refusal is audited here.
  server.on('tlsClientError', (_err, socket) =>
    void auditRefusedAssociation(opts.services, DEPLOYMENT_CHAIN, null, { why: 'tls-handshake-failed' }, socket?.remoteAddress).catch((e) => opts.log?.(e)),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
