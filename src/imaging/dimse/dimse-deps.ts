// What the DIMSE server needs of the rest of Kartei, and nothing more: the
// gate a device's request runs through, the archive's use cases (store,
// search, retrieve) and the few calls an association makes before or beside a
// gate's decision (who the caller is, a move destination, the department's
// key, the audit of associations and refusals). The composition root
// (src/server.ts) builds it once from the services; the handlers never see them.
// Also the listener's options, which carry it to each association's handler.
import type { Gate, GateContext } from '../../access/gate.ts';
import type { AuditEvent } from '../../audit/audit-log.ts';
import type { Caller, Device, Identification } from '../device-registry.ts';
import type { Values } from '../match-attributes.ts';
import type { Retrieval } from '../retrieve-instances.ts';
import type { ArchiveSearch } from '../search-archive.ts';
import type { IncomingInstance, StoreRequest } from '../store-instance.ts';
import type { SealedInstance } from '../stored-instance.ts';

export interface DimseDeps {
  /** authenticate (the association's device) → decide → audit, in one transaction. */
  gate: Pick<Gate, 'run'>;
  /** The registry's proof of a caller: pinned certificate over TLS, or loopback host on a plain listener. */
  identifyDevice(caller: Caller): Promise<Identification>;
  /** A device of the office by its AE title (C-MOVE's destination), if registered. */
  deviceByAeTitle(tenantId: string, aeTitle: string): Promise<Device | undefined>;
  /** A department's key, to seal and open its images. */
  departmentKey(tenantId: string, departmentId: string): Promise<Buffer>;
  /** An event outside a gate's decision (an association, a limit, a refused destination), in its own transaction. */
  audit(event: AuditEvent): Promise<void>;
  /** A refused attempt by a caller not (yet) known, aggregated per source and minute. */
  auditAttempt(event: AuditEvent, address: string | undefined, kind: string): Promise<void>;
  /** The store use case (store-instance.ts): one instance on its way in, into the archive's files. */
  storeInstance(request: Omit<StoreRequest, 'instances' | 'keyring'>): IncomingInstance;
  /** The search use case (search-archive.ts), inside the gate. */
  searchArchive(ctx: GateContext, search: ArchiveSearch): Promise<Values[]>;
  /** The retrieve use case (retrieve-instances.ts), inside the gate. */
  retrieveInstances(ctx: GateContext, retrieval: Retrieval): Promise<SealedInstance[]>;
}

/** What the listener is started with and hands on to each association's handler. */
export interface DimseListenerOptions {
  /** The gate and the archive's use cases, built once by the composition root (src/server.ts). */
  deps: DimseDeps;
  /** How long a new connection may take to ask for an association (default 30 s). */
  associationTimeoutMs?: number;
  log?: (e: unknown) => void;
  /**
   * Issue 19: s25-start-files — the certificate, key and device CA as the start checked them
   * (src/config/tls-start.ts): not read again. Without them (config.tls set): read and checked the same way.
   */
  tls?: import('node:tls').SecureContextOptions;
}
