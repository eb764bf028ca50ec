// C-STORE: an instance streams to disk as it arrives (instance-writer.ts).
// Only when the whole dataset is in, consistent with its command, and on disk
// is it indexed and audited in one transaction; anything else leaves no file
// and no row behind.
import { decide } from '../../access/policy.ts';
import { KarteiError } from '../../errors.ts';
import { CommandField, Status, type Command } from '../dicom/command.ts';
import { isStorageSopClass, isValidUid } from '../dicom/uids.ts';
import { indexInstance } from '../instance-index.ts';
import { InstanceMismatch, InstanceWriter } from '../instance-writer.ts';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from './implementation.ts';
import { gatedService, type DimseService, type MessageHandler } from './services.ts';
import type { AssociationScope } from './association-scope.ts';

export const cStore: DimseService = {
  command: CommandField.CStoreRq,
  access: { action: 'dicom.store', resource: 'department' },
  sopClasses: isStorageSopClass,
  start: (scope, command, contextId) => new StoreOperation(scope, command, contextId),
};

class StoreOperation implements MessageHandler {
  /** Set once the instance is refused: the rest of the dataset is read and dropped. */
  private refusal: { status: number; comment: string } | undefined;
  private writer: InstanceWriter | undefined;
  private ready: Promise<void> | undefined;

  constructor(
    private readonly scope: AssociationScope,
    private readonly command: Command,
    private readonly contextId: number,
  ) {
    const { principal } = scope.device;
    const departmentId = principal.device!.departmentId;
    const context = scope.contexts.get(contextId)!;
    const sopClass = command.affectedSopClassUid ?? '';
    const instance = command.affectedSopInstanceUid ?? '';
    if (!isStorageSopClass(sopClass) || context.abstractSyntax !== sopClass) {
      this.refusal = { status: Status.SopClassNotSupported, comment: 'SOP class not supported on this presentation context' };
    } else if (!isValidUid(instance)) {
      this.refusal = { status: Status.CannotUnderstand, comment: 'invalid Affected SOP Instance UID' };
    } else if (decide(principal, 'dicom.store', { kind: 'department', departmentId }) !== 'allow') {
      this.refusal = { status: Status.NotAuthorized, comment: 'this device may not store' };
    } else {
      this.ready = scope.departmentKey().then((key) => {
        this.writer = new InstanceWriter({
          images: scope.services.instances,
          tenantId: scope.device.tenantId,
          departmentId,
          key,
          receivedFrom: scope.device.device.id,
          meta: {
            mediaStorageSopClassUid: sopClass,
            mediaStorageSopInstanceUid: instance,
            transferSyntaxUid: context.transferSyntax,
            implementationClassUid: IMPLEMENTATION_CLASS_UID,
            implementationVersionName: IMPLEMENTATION_VERSION_NAME,
            sourceAeTitle: scope.callingAeTitle,
          },
        });
      });
    }
  }

  async data(chunk: Buffer) {
    if (this.refusal) return;
    try {
      await this.ready;
      await this.writer!.push(chunk);
    } catch (e) {
      await this.fail(Status.CannotUnderstand, `dataset cannot be read: ${(e as Error).message}`);
    }
  }

  async end() {
    const { status, comment } = this.refusal ?? (await this.finish());
    if (status === Status.NotAuthorized) await gatedService(this.scope, cStore, async () => undefined).catch(() => undefined);
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

  private async finish(): Promise<{ status: number; comment: string }> {
    const writer = this.writer;
    let facts;
    try {
      await this.ready;
      facts = await this.writer!.close();
    } catch (e) {
      const mismatch = e instanceof InstanceMismatch;
      await this.fail(mismatch ? Status.DataSetDoesNotMatchSopClass : Status.CannotUnderstand, mismatch ? e.message : `dataset cannot be read: ${(e as Error).message}`);
      return this.refusal!;
    }
    try {
      await gatedService(this.scope, cStore, async (ctx) => {
        const indexed = await indexInstance(ctx, this.scope.services.keyring, facts);
        ctx.audit.resourceId = indexed.instanceId;
        ctx.audit.personId = indexed.personId ?? undefined;
        ctx.audit.detail = { studyId: indexed.studyId, bytes: facts.size, ...(indexed.duplicate ? { duplicate: true } : {}) };
        if (indexed.duplicate) await writer!.discard();
      });
      return { status: Status.Success, comment: '' };
    } catch (e) {
      await writer!.discard();
      if (e instanceof KarteiError && e.code === 'audit-unavailable') return { status: Status.OutOfResources, comment: 'audit log unavailable; not stored' };
      return { status: Status.ProcessingFailure, comment: 'could not be stored' };
    }
  }

  private async fail(status: number, comment: string) {
    this.refusal ??= { status, comment };
    const writer = this.writer;
    this.writer = undefined;
    await writer?.discard();
  }
}
