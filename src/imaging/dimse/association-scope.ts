// What a service sees of the association it runs in: the identified device,
// the negotiated presentation contexts, the gate and the archive's use cases
// (dimse-deps.ts), and a way to answer.
import type { DimseDeps } from './dimse-deps.ts';
import type { DicomConfig } from '../../config/config.ts';
import type { Identification } from '../devices.ts';
import type { AcceptedContext } from '../dicom/negotiation.ts';
import type { RoleSelection } from '../dicom/association.ts';
import type { Command } from '../dicom/command.ts';

export interface AssociationScope {
  /** The gate and the archive's use cases (dimse-deps.ts). */
  deps: DimseDeps;
  device: Extract<Identification, { ok: true }>;
  callingAeTitle: string;
  /** Our own AE title, and our TLS material for associations we open (C-MOVE). */
  aeTitle: string;
  tls?: DicomConfig['tls'];
  contexts: ReadonlyMap<number, AcceptedContext>;
  /** Roles granted per SOP class, from the requester's side (C-GET: it plays SCP for storage). */
  roles: ReadonlyMap<string, RoleSelection>;
  /** The device's department key, to seal and open its images. */
  departmentKey(): Promise<Buffer>;
  /** Sends a response command (and dataset) on a presentation context. */
  send(contextId: number, command: Command, dataset?: Buffer): void;
  /** Sends a request of our own (a C-STORE sub-operation), its dataset streamed, and waits for the peer's response. */
  request(contextId: number, command: Command, dataset: AsyncIterable<Buffer>): Promise<Command>;
}
