// A C-GET or C-MOVE requester in a process of its own, for what DCMTK 3.6.7's getscu and
// movescu cannot do: TLS. The bench starts it once per retrieval against Kartei and Orthanc
// alike, so its work never shares the bench process (where Kartei runs) with the server.
// C-GET: every C-STORE sub-operation is answered and its dataset written to `outDir`.
// C-MOVE: the server sends the study to `destination` (a storescp the bench runs).
// Timed inside: from the association request to the final response, without process start.
// Prints one JSON line: { status, completed, failed, instances, bytes, ms }.
import fs from 'node:fs';
import path from 'node:path';
import { CommandField, Priority, Status } from '../../src/imaging/dicom/command.ts';
import { writeDataset } from '../../src/imaging/dicom/dataset-writer.ts';
import { Tag } from '../../src/imaging/dicom/tags.ts';
import { QueryRetrieveSopClass, TransferSyntax } from '../../src/imaging/dicom/uids.ts';
import { DimseClient } from '../../test/helpers/dimse-client.ts';

export interface RetrieveJob {
  op: 'get' | 'move';
  port: number;
  calledAet: string;
  callingAet: string;
  tls?: { certFile: string; keyFile: string; caFile: string };
  studyUid: string;
  /** SOP classes and transfer syntaxes the study holds: C-GET offers to take each (SCP role). */
  storage: { sopClassUid: string; transferSyntax: string }[];
  /** C-GET: where the received datasets go. */
  outDir?: string;
  /** C-MOVE: the destination's AE title. */
  destination?: string;
}

export interface RetrieveOutcome {
  status: number;
  completed: number;
  failed: number;
  /** Instances and dataset bytes received by this process (C-GET only). */
  instances: number;
  bytes: number;
  ms: number;
}

const job = JSON.parse(process.argv[2]!) as RetrieveJob;
const model = job.op === 'get' ? QueryRetrieveSopClass.StudyRootGet : QueryRetrieveSopClass.StudyRootMove;
const storage = job.op === 'get' ? job.storage : [];
const contexts = [
  { id: 1, abstractSyntax: model, transferSyntax: TransferSyntax.ExplicitVrLittleEndian },
  ...storage.map((s, i) => ({ id: 3 + 2 * i, abstractSyntax: s.sopClassUid, transferSyntax: s.transferSyntax })),
];
const identifier = writeDataset(
  [
    { tag: Tag.QueryRetrieveLevel, vr: 'CS', value: 'STUDY' },
    { tag: Tag.StudyInstanceUid, vr: 'UI', value: job.studyUid },
  ],
  { encoding: 'explicit-le' },
);

const t0 = performance.now();
const client = await DimseClient.associate(job.port, {
  calling: job.callingAet,
  called: job.calledAet,
  contexts,
  roles: new Map(storage.map((s) => [s.sopClassUid, { scu: false, scp: true }])),
  tls: job.tls,
});
client.send(
  1,
  {
    commandField: job.op === 'get' ? CommandField.CGetRq : CommandField.CMoveRq,
    hasDataset: true,
    affectedSopClassUid: model,
    messageId: 1,
    priority: Priority.Medium,
    moveDestination: job.destination,
  },
  identifier,
);
let instances = 0;
let bytes = 0;
for (;;) {
  const m = await client.next();
  if (m.command.commandField === CommandField.CStoreRq) {
    fs.writeFileSync(path.join(job.outDir!, m.command.affectedSopInstanceUid!), m.dataset!);
    instances++;
    bytes += m.dataset!.length;
    const { messageId, affectedSopClassUid, affectedSopInstanceUid } = m.command;
    client.send(m.contextId, {
      commandField: CommandField.CStoreRsp,
      hasDataset: false,
      messageIdBeingRespondedTo: messageId,
      affectedSopClassUid,
      affectedSopInstanceUid,
      status: Status.Success,
    });
    continue;
  }
  if (m.command.status === Status.Pending) continue;
  const outcome: RetrieveOutcome = {
    status: m.command.status ?? -1,
    completed: m.command.completedSuboperations ?? 0,
    failed: m.command.failedSuboperations ?? 0,
    instances,
    bytes,
    ms: performance.now() - t0,
  };
  await client.release();
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
  break;
}
