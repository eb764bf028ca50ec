// C-GET: the requester names studies, series or instances of the device's
// department; each is sent back on the same association as a C-STORE
// sub-operation, streamed from its sealed file exactly as it was stored.
// The retrieval is audited before the first byte leaves (with each linked
// person's file); an instance the requester cannot take in its stored
// transfer syntax counts as a failed sub-operation.
import { bindingBytes } from '../../vault/aead.ts';
import { CommandField, Priority, Status, type Command } from '../dicom/command.ts';
import { parsePart10Header } from '../dicom/part10.ts';
import { QueryRetrieveSopClass } from '../dicom/uids.ts';
import type { Dataset } from '../dicom/values.ts';
import { instanceFileBinding } from '../instance-index.ts';
import { findInstances, findSeries, findStudies, type InstanceMatch } from '../study-query.ts';
import { linkedFiles, MAX_MATCHES, refusalStatus } from './c-find.ts';
import { IdentifierMessage, queryOf, type Level } from './identifier-message.ts';
import { gatedService, type DimseService } from './services.ts';
import type { AssociationScope } from './association-scope.ts';

const GET_CLASSES = new Set<string>([QueryRetrieveSopClass.PatientRootGet, QueryRetrieveSopClass.StudyRootGet]);

export const cGet: DimseService = {
  command: CommandField.CGetRq,
  access: { action: 'dicom.retrieve', resource: 'department' },
  sopClasses: (uid) => GET_CLASSES.has(uid),
  alongside: true,
  start: (scope, command, contextId) => new GetOperation(scope, command, contextId),
};

class GetOperation extends IdentifierMessage {
  constructor(scope: AssociationScope, command: Command, contextId: number) {
    super(scope, command, contextId, GET_CLASSES, CommandField.CGetRsp);
  }

  protected async run(identifier: Dataset, level: Level) {
    let instances: InstanceMatch[];
    try {
      instances = await gatedService(this.scope, cGet, async (ctx) => {
        const { tenantId, device } = { tenantId: ctx.principal.tenantId, device: ctx.principal.device! };
        const { keyring } = this.scope.services;
        const q = queryOf(identifier);
        const studies = await findStudies(ctx.tx, keyring, tenantId, device.departmentId, q, MAX_MATCHES);
        const found = await findInstances(ctx.tx, await findSeries(ctx.tx, keyring, tenantId, device.departmentId, studies, q), q);
        ctx.audit.detail = { level, instances: found.length };
        ctx.audit.hits = linkedFiles(studies, device.departmentId);
        return found;
      });
    } catch (e) {
      return this.answer(refusalStatus(e), 'retrieval refused or failed');
    }
    const key = await this.scope.departmentKey();
    const counts = { remainingSuboperations: instances.length, completedSuboperations: 0, failedSuboperations: 0, warningSuboperations: 0 };
    for (const instance of instances) {
      counts.remainingSuboperations--;
      const contextId = this.contextFor(instance);
      const status = contextId === undefined ? Status.ProcessingFailure : await this.storeBack(instance, contextId, key);
      if (status === Status.Success) counts.completedSuboperations++;
      else if ((status & 0xf000) === 0xb000) counts.warningSuboperations++;
      else counts.failedSuboperations++;
      if (counts.remainingSuboperations > 0) this.answer(Status.Pending, '', undefined, counts);
    }
    const failed = counts.failedSuboperations + counts.warningSuboperations > 0;
    this.answer(failed ? Status.SubOperationsCompleteWithFailures : Status.Success, failed ? 'some instances were not taken' : '', undefined, { ...counts, remainingSuboperations: undefined });
  }

  /** A context on which the requester takes this SOP class as SCP in the stored transfer syntax. */
  private contextFor(instance: InstanceMatch): number | undefined {
    if (!this.scope.roles.get(instance.sopClassUid)?.scp) return undefined;
    for (const [id, c] of this.scope.contexts) {
      if (c.abstractSyntax === instance.sopClassUid && c.transferSyntax === instance.transferSyntaxUid) return id;
    }
    return undefined;
  }

  private async storeBack(instance: InstanceMatch, contextId: number, key: Buffer): Promise<number> {
    const { services, device } = this.scope;
    const plain = services.images.openRead(instance.file, key, bindingBytes(instanceFileBinding(device.tenantId, instance.id)));
    const response = await this.scope.request(
      contextId,
      {
        commandField: CommandField.CStoreRq,
        hasDataset: true,
        affectedSopClassUid: instance.sopClassUid,
        affectedSopInstanceUid: instance.sopInstanceUid,
        priority: Priority.Medium,
      },
      datasetOf(plain),
    );
    return response.status ?? Status.ProcessingFailure;
  }
}

/** The dataset of a stored Part 10 file: everything after its meta information. */
async function* datasetOf(file: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let head = Buffer.alloc(0);
  let started = false;
  for await (const chunk of file) {
    if (started) {
      yield chunk;
      continue;
    }
    head = Buffer.concat([head, chunk]);
    const parsed = parsePart10Header(head);
    if (!parsed) continue;
    started = true;
    if (head.length > parsed.datasetOffset) yield head.subarray(parsed.datasetOffset);
  }
}
