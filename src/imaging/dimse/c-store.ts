// C-STORE: the request's command is judged first (SOP class on its
// presentation context, instance UID, the device's permission to store);
// then the instance streams through the store use case (store-instance.ts),
// which indexes and audits it once the whole dataset is in and on disk, and
// whose StoreFailure carries the status this answers. Anything but success
// leaves no file and no row behind.
import { decide } from '../../access/policy.ts';
import { CommandField, Status, type Command } from '../dicom/command.ts';
import { isStorageSopClass, isValidUid } from '../dicom/uids.ts';
import { type IncomingInstance, StoreFailure, storeFailure } from '../store-instance.ts';
import { gatedService, type DimseService, type MessageHandler } from './service-classes.ts';
import type { AssociationScope } from './association-scope.ts';

export const cStore: DimseService = {
  command: CommandField.CStoreRq,
  access: { action: 'dicom.store', resource: 'department' },
  sopClasses: isStorageSopClass,
  start: (scope, command, contextId) => new StoreOperation(scope, command, contextId),
};

class StoreOperation implements MessageHandler {
  /** Set once the instance is refused: the rest of the dataset is read and dropped. */
  private refusal: StoreFailure | undefined;
  private incoming: Promise<IncomingInstance> | undefined;

  private readonly scope: AssociationScope;
  private readonly command: Command;
  private readonly contextId: number;
  constructor(scope: AssociationScope, command: Command, contextId: number) {
    this.scope = scope;
    this.command = command;
    this.contextId = contextId;
    const { principal } = scope.device;
    const departmentId = principal.device!.departmentId;
    const context = scope.contexts.get(contextId)!;
    const sopClass = command.affectedSopClassUid ?? '';
    const instance = command.affectedSopInstanceUid ?? '';
    if (!isStorageSopClass(sopClass) || context.abstractSyntax !== sopClass) {
      this.refusal = new StoreFailure(
        Status.SopClassNotSupported,
        'SOP class not supported on this presentation context',
      );
    } else if (!isValidUid(instance)) {
      this.refusal = new StoreFailure(Status.CannotUnderstand, 'invalid Affected SOP Instance UID');
    } else if (decide(principal, 'dicom.store', { kind: 'department', departmentId }) !== 'allow') {
      this.refusal = new StoreFailure(Status.NotAuthorized, 'this device may not store');
    } else {
      this.incoming = scope.departmentKey().then((key) =>
        scope.deps.storeInstance({
          tenantId: scope.device.tenantId,
          departmentId,
          key,
          receivedFrom: scope.device.device.id,
          meta: {
            mediaStorageSopClassUid: sopClass,
            mediaStorageSopInstanceUid: instance,
            transferSyntaxUid: context.transferSyntax,
            sourceAeTitle: scope.callingAeTitle,
          },
          enter: (work) => gatedService(scope, cStore, work),
        }),
      );
      this.incoming.catch(() => undefined);
    }
  }

  async data(chunk: Buffer) {
    if (this.refusal) return;
    try {
      await (await this.incoming!).push(chunk);
    } catch (e) {
      this.refusal = storeFailure(e);
    }
  }

  /** The dataset never ended: nothing of it is kept, and nothing is answered; a refused device's attempt is still on the record. */
  async abandon() {
    if (this.refusal) return this.recordDenial(this.refusal.status);
    await (await this.incoming!).discard();
  }

  /** A refused device's attempt is on the record, as the gate's denial. */
  private async recordDenial(status: number) {
    if (status === Status.NotAuthorized)
      await gatedService(this.scope, cStore, async () => undefined).catch(() => undefined);
  }

  async end() {
    let status: number = Status.Success;
    let comment = '';
    try {
      if (this.refusal) throw this.refusal;
      await (await this.incoming!).finish();
    } catch (e) {
      ({ status, message: comment } = storeFailure(e));
    }
    await this.recordDenial(status);
    this.scope.send(this.contextId, {
      commandField: CommandField.CStoreRsp,
      hasDataset: false,
      affectedSopClassUid: this.command.affectedSopClassUid,
      affectedSopInstanceUid: this.command.affectedSopInstanceUid,
      messageIdBeingRespondedTo: this.command.messageId,
      status,
      ...(status === Status.Success ? {} : { errorComment: comment.slice(0, 64) }),
    });
  }
}
