// C-ECHO (verification): answers a registered device, and says so in the audit log.
import { CommandField, Status } from '../dicom/command.ts';
import { VERIFICATION } from '../dicom/uids.ts';
import { gatedService, type DimseService } from './service-classes.ts';

export const cEcho: DimseService = {
  command: CommandField.CEchoRq,
  access: { action: 'dicom.echo', resource: 'tenant' },
  sopClasses: (uid) => uid === VERIFICATION,
  start(scope, command, contextId) {
    return {
      data() {},
      async end() {
        await gatedService(scope, cEcho, async () => undefined);
        scope.send(contextId, {
          commandField: CommandField.CEchoRsp,
          hasDataset: false,
          affectedSopClassUid: command.affectedSopClassUid,
          messageIdBeingRespondedTo: command.messageId,
          status: Status.Success,
        });
      },
    };
  },
};
