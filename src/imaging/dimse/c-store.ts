// C-STORE: an instance streams to disk as it arrives — behind a Part 10 file
// meta header, byte for byte as received, sealed with the department's key —
// while a scanner picks out what the index needs. Only when the whole dataset
// is in, consistent with its command, and on disk is it indexed and audited
// in one transaction; anything else leaves no file and no row behind.
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { decide } from '../../access/policy.ts';
import { KarteiError } from '../../errors.ts';
import { bindingBytes } from '../../vault/aead.ts';
import { CommandField, Status, type Command } from '../dicom/command.ts';
import { DatasetScanner } from '../dicom/dataset-scanner.ts';
import { part10Header } from '../dicom/part10.ts';
import { INDEXED_TAGS, Tag } from '../dicom/tags.ts';
import { isStorageSopClass, isValidUid } from '../dicom/uids.ts';
import { textValue } from '../dicom/values.ts';
import { indexInstance, instanceFileBinding } from '../instance-index.ts';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from './implementation.ts';
import { gatedService, type DimseService, type MessageHandler } from './services.ts';
import type { AssociationScope } from './association-scope.ts';
import type { SealedWrite } from '../../vault/sealed-files.ts';

export const cStore: DimseService = {
  command: CommandField.CStoreRq,
  access: { action: 'dicom.store', resource: 'department' },
  sopClasses: isStorageSopClass,
  start: (scope, command, contextId) => new StoreOperation(scope, command, contextId),
};

class StoreOperation implements MessageHandler {
  private readonly id = randomUUID();
  private readonly departmentId: string;
  private readonly transferSyntaxUid: string;
  /** Set once the instance is refused: the rest of the dataset is read and dropped. */
  private refusal: { status: number; comment: string } | undefined;
  private scanner: DatasetScanner | undefined;
  private write: SealedWrite | undefined;
  private ready: Promise<void> | undefined;

  constructor(
    private readonly scope: AssociationScope,
    private readonly command: Command,
    private readonly contextId: number,
  ) {
    const { principal } = scope.device;
    this.departmentId = principal.device!.departmentId;
    const context = scope.contexts.get(contextId)!;
    this.transferSyntaxUid = context.transferSyntax;
    const sopClass = command.affectedSopClassUid ?? '';
    const instance = command.affectedSopInstanceUid ?? '';
    if (!isStorageSopClass(sopClass) || context.abstractSyntax !== sopClass) {
      this.refusal = { status: Status.SopClassNotSupported, comment: 'SOP class not supported on this presentation context' };
    } else if (!isValidUid(instance)) {
      this.refusal = { status: Status.CannotUnderstand, comment: 'invalid Affected SOP Instance UID' };
    } else if (decide(principal, 'dicom.store', { kind: 'department', departmentId: this.departmentId }) !== 'allow') {
      this.refusal = { status: Status.NotAuthorized, comment: 'this device may not store' };
    } else {
      this.scanner = new DatasetScanner(this.transferSyntaxUid, INDEXED_TAGS);
      this.ready = this.open(sopClass, instance);
    }
  }

  private async open(sopClass: string, instance: string) {
    const tenantId = this.scope.device.tenantId;
    const key = await this.scope.departmentKey();
    this.write = this.scope.services.images.create(this.file, key, bindingBytes(instanceFileBinding(tenantId, this.id)));
    this.write.stream.write(
      part10Header({
        mediaStorageSopClassUid: sopClass,
        mediaStorageSopInstanceUid: instance,
        transferSyntaxUid: this.transferSyntaxUid,
        implementationClassUid: IMPLEMENTATION_CLASS_UID,
        implementationVersionName: IMPLEMENTATION_VERSION_NAME,
        sourceAeTitle: this.scope.callingAeTitle,
      }),
    );
  }

  private get file() {
    return `${this.scope.device.tenantId}/${this.departmentId}/${this.id.slice(0, 2)}/${this.id}.dcm`;
  }

  async data(chunk: Buffer) {
    if (this.refusal) return;
    try {
      await this.ready;
      this.scanner!.push(chunk);
      if (!this.write!.stream.write(chunk)) await once(this.write!.stream, 'drain');
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
    let scanned;
    try {
      await this.ready;
      scanned = this.scanner!.end();
    } catch (e) {
      await this.fail(Status.CannotUnderstand, `dataset cannot be read: ${(e as Error).message}`);
      return this.refusal!;
    }
    const el = scanned.elements;
    const mismatch = this.mismatch(el);
    if (mismatch) {
      await this.fail(Status.DataSetDoesNotMatchSopClass, mismatch);
      return this.refusal!;
    }
    const { size, sha256 } = await this.write!.commit();
    const header = size - scanned.length;
    try {
      await gatedService(this.scope, cStore, async (ctx) => {
        const indexed = await indexInstance(ctx, this.scope.services.keyring, {
          id: this.id,
          departmentId: this.departmentId,
          deviceId: this.scope.device.device.id,
          transferSyntaxUid: this.transferSyntaxUid,
          elements: el,
          pixelData: scanned.pixelData && { ...scanned.pixelData, offset: scanned.pixelData.offset + header },
          file: this.file,
          size,
          sha256,
        });
        ctx.audit.resourceId = indexed.instanceId;
        ctx.audit.personId = indexed.personId ?? undefined;
        ctx.audit.detail = { studyId: indexed.studyId, bytes: size, ...(indexed.duplicate ? { duplicate: true } : {}) };
        if (indexed.duplicate) await this.scope.services.images.remove(this.file);
      });
      return { status: Status.Success, comment: '' };
    } catch (e) {
      await this.scope.services.images.remove(this.file).catch(() => undefined);
      if (e instanceof KarteiError && e.code === 'audit-unavailable') return { status: Status.OutOfResources, comment: 'audit log unavailable; not stored' };
      return { status: Status.ProcessingFailure, comment: 'could not be stored' };
    }
  }

  /** Why the dataset does not fit its command, if it does not. */
  private mismatch(el: ReturnType<DatasetScanner['end']>['elements']): string | undefined {
    if (textValue(el, Tag.SopInstanceUid) !== this.command.affectedSopInstanceUid) return 'SOP Instance UID differs from the command';
    if (textValue(el, Tag.SopClassUid) !== this.command.affectedSopClassUid) return 'SOP Class UID differs from the command';
    for (const [tag, name] of [[Tag.StudyInstanceUid, 'Study'], [Tag.SeriesInstanceUid, 'Series']] as const) {
      if (!isValidUid(textValue(el, tag) ?? '')) return `missing or invalid ${name} Instance UID`;
    }
    return undefined;
  }

  private async fail(status: number, comment: string) {
    this.refusal ??= { status, comment };
    const write = this.write;
    this.write = undefined;
    await write?.abort().catch(() => undefined);
  }
}
