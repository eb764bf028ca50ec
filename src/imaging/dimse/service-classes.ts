// What a DIMSE service class (C-ECHO, C-STORE, …) is to the server: the
// request it answers, and the action and resource it declares to the gate. A
// service that does not declare them stops the listener from starting, like
// an undeclared route.
import type { Action } from '../../access/policy.ts';
import type { GateContext } from '../../access/gate.ts';
import type { Command } from '../dicom/command.ts';
import type { AssociationScope } from './association-scope.ts';

/** Handles one message's dataset as it arrives, then answers. */
export interface MessageHandler {
  data(chunk: Buffer): Promise<void> | void;
  end(): Promise<void>;
  /**
   * The association ended before the dataset's last fragment: let go of what was received, answer
   * and run nothing (bytes that stop on an element boundary still read as a whole, shorter dataset).
   */
  abandon?(): Promise<void>;
  /** A C-CANCEL for this request arrived: stop, and end with status Cancel (only operations that run alongside). */
  cancel?(): void;
}

export interface DimseService {
  /** The request's CommandField. */
  command: number;
  /** What it does, to the device's own department (`department`) or to nothing in particular (`tenant`). */
  access: { action: Action; resource: 'tenant' | 'department' };
  /** The abstract syntaxes (SOP classes) it serves; negotiation accepts their union. */
  sopClasses: (uid: string) => boolean;
  /** Keeps running while further messages arrive: C-GET awaits the responses to its sub-operations, and a C-CANCEL may stop any of them. */
  alongside?: boolean;
  start(scope: AssociationScope, command: Command, contextId: number): MessageHandler;
}

export class UndeclaredServiceError extends Error {}

export function assertDeclaredService(s: DimseService): void {
  if (!s.access?.action || !['tenant', 'department'].includes(s.access.resource)) {
    throw new UndeclaredServiceError(
      `DIMSE service 0x${s.command?.toString(16)} does not declare its action and resource; refusing to start`,
    );
  }
}

/** Runs `work` through the gate with the service's declared action, for the association's device. */
export function gatedService<T>(
  scope: AssociationScope,
  service: DimseService,
  work: (ctx: GateContext) => Promise<T>,
): Promise<T> {
  const { principal } = scope.device;
  const ref =
    service.access.resource === 'department'
      ? { kind: 'department' as const, departmentId: principal.device!.departmentId }
      : { kind: 'tenant' as const };
  return scope.deps.gate.run(principal, service.access.action, ref, work);
}
