// C-MOVE: the instances go to a registered destination — a device of the
// same department that may receive images (`retrieve`) and has a host and
// port — over a new association of ours. An unknown or ineligible
// destination is refused (A801) and the refusal audited; no address the
// registry does not hold is ever contacted.
import { Status } from '../dicom/command.ts';
import type { Device } from '../device-registry.ts';
import type { InstanceMatch } from '../study-query.ts';
import { queryRetrieveService } from './identifier-message.ts';
import { RetrieveOperation } from './retrieve-operation.ts';
import { reachableDestination, StoreScu } from './store-scu.ts';

class MoveOperation extends RetrieveOperation {
  protected readonly service = cMove;
  private scu: StoreScu | undefined;
  private target: Device | undefined;

  protected override auditDetail() {
    return { destination: this.command.moveDestination ?? '' };
  }

  protected override async precheck() {
    this.target = await this.destination();
    if (this.target) return undefined;
    await this.auditRefusedDestination();
    return Status.MoveDestinationUnknown;
  }

  protected async prepare(instances: InstanceMatch[]) {
    if (instances.length === 0) return undefined;
    try {
      this.scu = await StoreScu.open(
        this.target!,
        { aeTitle: this.scope.aeTitle, tls: this.scope.tls },
        instances.map((i) => ({ sopClass: i.sopClassUid, transferSyntax: i.transferSyntaxUid })),
      );
      return undefined;
    } catch {
      return Status.UnableToProcess;
    }
  }

  /**
   * The destination if it is registered in this office and department, may receive images and
   * can be reached where it is registered: at its address (never a name to resolve), over TLS to
   * its pinned certificate, or without one only on loopback.
   */
  private async destination(): Promise<Device | undefined> {
    const { deps, device } = this.scope;
    const d = await deps.deviceByAeTitle(device.tenantId, this.command.moveDestination ?? '');
    const eligible =
      d &&
      d.departmentId === device.principal.device!.departmentId &&
      d.permissions.includes('retrieve') &&
      d.port &&
      reachableDestination(d);
    return eligible ? d : undefined;
  }

  private auditRefusedDestination() {
    const { deps, device } = this.scope;
    const departmentId = device.principal.device!.departmentId;
    return deps.audit({
      tenantId: device.tenantId,
      actorId: device.device.id,
      action: 'dicom.retrieve',
      resourceType: 'department',
      resourceId: departmentId,
      departmentId,
      outcome: 'denied',
      detail: {
        destination: this.command.moveDestination ?? '',
        why: 'not a registered destination of this department',
      },
    });
  }

  protected deliver(instance: InstanceMatch, dataset: AsyncIterable<Buffer>) {
    return this.scu!.store(instance.sopClassUid, instance.sopInstanceUid, instance.transferSyntaxUid, dataset);
  }

  protected async done() {
    await this.scu?.release();
  }
}

// Alongside, so that a C-CANCEL can stop it between instances.
export const cMove = queryRetrieveService('move', MoveOperation);
