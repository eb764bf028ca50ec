// What a service sees of the association it runs in: the identified device,
// the negotiated presentation contexts, and a way to answer.
import type { Services } from '../../services.ts';
import type { Identification } from '../devices.ts';
import type { AcceptedContext } from '../dicom/negotiation.ts';
import type { Command } from '../dicom/command.ts';

export interface AssociationScope {
  services: Services;
  device: Extract<Identification, { ok: true }>;
  callingAeTitle: string;
  contexts: ReadonlyMap<number, AcceptedContext>;
  /** Sends a response command (and dataset) on a presentation context. */
  send(contextId: number, command: Command, dataset?: Buffer): void;
}
