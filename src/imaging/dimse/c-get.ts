// C-GET: each instance goes back on the same association as a C-STORE
// sub-operation, on a context where the requester took the SCP role for its
// SOP class in the stored transfer syntax (there is no transcoding: without
// one, the sub-operation fails).
import { CommandField, Priority, Status } from '../dicom/command.ts';
import type { InstanceMatch } from '../study-query.ts';
import { queryRetrieveService } from './identifier-message.ts';
import { RetrieveOperation } from './retrieve-operation.ts';

class GetOperation extends RetrieveOperation {
  protected readonly service = cGet;

  protected async prepare() {
    return undefined;
  }

  protected async deliver(instance: InstanceMatch, dataset: AsyncIterable<Buffer>) {
    const contextId = this.contextFor(instance);
    if (contextId === undefined) return Status.ProcessingFailure;
    const command = {
      commandField: CommandField.CStoreRq,
      hasDataset: true,
      affectedSopClassUid: instance.sopClassUid,
      affectedSopInstanceUid: instance.sopInstanceUid,
      priority: Priority.Medium,
    };
    return (await this.scope.request(contextId, command, dataset)).status ?? Status.ProcessingFailure;
  }

  protected async done() {}

  private contextFor(instance: InstanceMatch): number | undefined {
    if (!this.scope.roles.get(instance.sopClassUid)?.scp) return undefined;
    for (const [id, c] of this.scope.contexts) {
      if (c.abstractSyntax === instance.sopClassUid && c.transferSyntax === instance.transferSyntaxUid) return id;
    }
    return undefined;
  }
}

// Keeps the association reading, so the sub-operations' responses reach it.
export const cGet = queryRetrieveService('get', GetOperation);
