// Association negotiation, and the codec end to end against DCMTK: a minimal
// acceptor built from the codec alone (PDU reader, negotiation, commands,
// scanner, writer) serves echoscu, storescu, findscu and getscu on 127.0.0.1,
// and each tool has to finish without error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile, spawnSync } from 'node:child_process';
import { PDataWriter, PduReader, encodeAbort, encodeReleaseRp } from '../../src/imaging/dicom/pdu.ts';
import { encodeAssociateAc, encodeAssociateRj, type AssociateRq } from '../../src/imaging/dicom/association.ts';
import { negotiate, type AcceptedContext, type NegotiationPolicy } from '../../src/imaging/dicom/negotiation.ts';
import { CommandField, decodeCommand, encodeCommand, Status, type Command } from '../../src/imaging/dicom/command.ts';
import { DatasetScanner, type ScanResult } from '../../src/imaging/dicom/dataset-scanner.ts';
import { readDataset } from '../../src/imaging/dicom/dataset-reader.ts';
import { writeDataset } from '../../src/imaging/dicom/dataset-writer.ts';
import { PduError } from '../../src/imaging/dicom/pdu-frame.ts';
import { INDEXED_TAGS, Tag } from '../../src/imaging/dicom/tags.ts';
import { textValue, numberValue, type Dataset } from '../../src/imaging/dicom/values.ts';
import {
  APPLICATION_CONTEXT,
  datasetLayout,
  isStorageSopClass,
  QueryRetrieveSopClass,
  StorageSopClass,
  TransferSyntax,
  VERIFICATION,
} from '../../src/imaging/dicom/uids.ts';
import { makeInstance } from '../helpers/dicom-files.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-dimse-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

const ACCEPTED = new Set<string>([
  VERIFICATION,
  ...Object.values(StorageSopClass),
  ...Object.values(QueryRetrieveSopClass),
]);
const policy = (
  preference: string[] = [TransferSyntax.ExplicitVrLittleEndian, TransferSyntax.ImplicitVrLittleEndian],
): NegotiationPolicy => ({
  acceptedAbstractSyntaxes: (uid) => ACCEPTED.has(uid),
  transferSyntaxPreference: preference,
  ourMaxPduLength: 16384,
  implementationClassUid: '1.2.826.0.1.3680043.10.1234.9',
  implementationVersionName: 'KARTEI_0',
});

interface Message {
  contextId: number;
  context: AcceptedContext;
  command: Command;
  /** Identifier of a query or retrieve, read whole. */
  identifier?: Dataset;
  /** An instance, scanned as it streamed in. */
  scanned?: ScanResult;
}

interface Session {
  rq?: AssociateRq;
  accepted?: Map<number, AcceptedContext>;
  messages: Message[];
  released: boolean;
}

/** What the acceptor sends back for a request: responses, each a command and optionally a dataset. */
type Responder = (m: Message) => { command: Command; dataset?: Buffer }[];

/** A one-association DIMSE acceptor made of the codec; resolves when the peer has released or aborted. */
function acceptOne(server: net.Server, negotiation: NegotiationPolicy, respond: Responder): Promise<Session> {
  const session: Session = { messages: [], released: false };
  return new Promise((resolve, reject) => {
    server.once('connection', (socket) => {
      const reader = new PduReader(negotiation.ourMaxPduLength);
      let peerMax = 0;
      let command: Buffer[] = [];
      let pending: { contextId: number; command: Command; scanner?: DatasetScanner; identifier?: Buffer[] } | undefined;
      const send = (contextId: number, r: { command: Command; dataset?: Buffer }) => {
        for (const [isCommand, data] of [
          [true, encodeCommand(r.command)],
          ...(r.dataset ? [[false, r.dataset]] : []),
        ] as [boolean, Buffer][]) {
          const w = new PDataWriter(contextId, isCommand, peerMax);
          for (const b of [...w.push(data), ...w.end()]) socket.write(b);
        }
      };
      const dispatch = () => {
        const p = pending!;
        pending = undefined;
        const context = session.accepted!.get(p.contextId)!;
        const encoding = datasetLayout(context.transferSyntax) as 'implicit-le' | 'explicit-le';
        const m: Message = {
          contextId: p.contextId,
          context,
          command: p.command,
          ...(p.scanner ? { scanned: p.scanner.end() } : {}),
          ...(p.identifier ? { identifier: readDataset(Buffer.concat(p.identifier), encoding) } : {}),
        };
        session.messages.push(m);
        for (const r of respond(m)) send(p.contextId, r);
      };
      socket.on('data', (chunk) => {
        try {
          for (const pdu of reader.push(chunk)) {
            if (pdu.type === 'associate-rq') {
              session.rq = pdu.rq;
              peerMax = pdu.rq.maxPduLength;
              const n = negotiate(pdu.rq, negotiation);
              if (!n.accepted) {
                socket.end(encodeAssociateRj(n.rj));
                continue;
              }
              session.accepted = n.contexts;
              socket.write(encodeAssociateAc(n.ac));
            } else if (pdu.type === 'p-data') {
              for (const pdv of pdu.pdvs) {
                if (pdv.isCommand) {
                  command.push(Buffer.from(pdv.data));
                  if (!pdv.isLast) continue;
                  const c = decodeCommand(Buffer.concat(command));
                  command = [];
                  const ts = session.accepted!.get(pdv.contextId)!.transferSyntax;
                  pending = { contextId: pdv.contextId, command: c };
                  if (c.commandField === CommandField.CStoreRq) pending.scanner = new DatasetScanner(ts, INDEXED_TAGS);
                  else if (c.hasDataset) pending.identifier = [];
                  if (!c.hasDataset) dispatch();
                } else {
                  if (pending?.scanner) pending.scanner.push(pdv.data);
                  else pending!.identifier!.push(Buffer.from(pdv.data));
                  if (pdv.isLast) dispatch();
                }
              }
            } else if (pdu.type === 'release-rq') {
              session.released = true;
              socket.end(encodeReleaseRp());
            } else if (pdu.type === 'abort') {
              socket.destroy();
            }
          }
        } catch (e) {
          if (e instanceof PduError) socket.end(encodeAbort(2, e.abortReason));
          else socket.destroy();
          reject(e);
        }
      });
      socket.on('close', () => resolve(session));
      socket.on('error', reject);
    });
  });
}

async function withAcceptor(
  negotiation: NegotiationPolicy,
  respond: Responder,
  tool: (port: number) => [string, string[]],
): Promise<{ session: Session; code: number | null; output: string }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const accepted = acceptOne(server, negotiation, respond);
    const [cmd, args] = tool(port);
    const run = new Promise<{ code: number | null; output: string }>((resolve) => {
      execFile(
        cmd,
        args,
        { env: { ...process.env, TCP_NODELAY: '1' }, timeout: 30_000, cwd: tmp },
        (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
      );
    });
    const [session, result] = await Promise.all([accepted, run]);
    return { session, ...result };
  } finally {
    server.close();
  }
}

const respondTo = (m: Message, command: Partial<Command> & { commandField: number }): Command => ({
  hasDataset: false,
  messageIdBeingRespondedTo: m.command.messageId!,
  affectedSopClassUid: m.command.affectedSopClassUid!,
  ...command,
});

test('echoscu: our A-ASSOCIATE-AC, its C-ECHO-RQ, our C-ECHO-RSP, release', async () => {
  const { session, code, output } = await withAcceptor(
    policy(),
    (m) => [{ command: respondTo(m, { commandField: CommandField.CEchoRsp, status: Status.Success }) }],
    (port) => ['echoscu', ['-aet', 'ECHO-SCU', '-aec', 'KARTEI', '127.0.0.1', String(port)]],
  );
  assert.equal(code, 0, output);
  const rq = session.rq!;
  assert.equal(rq.callingAeTitle, 'ECHO-SCU');
  assert.equal(rq.calledAeTitle, 'KARTEI');
  assert.equal(rq.applicationContext, APPLICATION_CONTEXT);
  assert.equal(rq.protocolVersion, 1);
  assert.deepEqual(rq.presentationContexts, [
    { id: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [TransferSyntax.ImplicitVrLittleEndian] },
  ]);
  assert.equal(rq.maxPduLength, 16384);
  assert.match(rq.implementationClassUid, /^1\.2\.276\.0\.7230010\.3\./, 'DCMTK root');
  assert.match(rq.implementationVersionName ?? '', /^OFFIS_DCMTK_/);
  assert.equal(session.messages.length, 1);
  const [echo] = session.messages;
  assert.equal(echo!.command.commandField, CommandField.CEchoRq);
  assert.equal(echo!.command.affectedSopClassUid, VERIFICATION);
  assert.equal(echo!.command.hasDataset, false);
  assert.ok(session.released);
});

test('storescu: instances stream through the scanner in the negotiated syntax, 16 KiB PDUs', async () => {
  for (const syntax of [TransferSyntax.ExplicitVrLittleEndian, TransferSyntax.ImplicitVrLittleEndian]) {
    const instances = [
      makeInstance({ patientName: 'Müller^Jürgen', characterSet: 'ISO_IR 100', rows: 512, columns: 512 }),
      makeInstance({
        syntax: 'implicit',
        patientName: 'Müller^Jürgen',
        frames: 3,
        rows: 100,
        columns: 100,
        bitsAllocated: 8,
      }),
      makeInstance({ patientName: 'Øster^Åsa', undefinedLengthSequences: false }),
    ];
    const files = instances.map((inst, i) => {
      const file = path.join(tmp, `store-${i}.dcm`);
      fs.writeFileSync(file, inst.file);
      return file;
    });
    const { session, code, output } = await withAcceptor(
      policy([syntax]),
      (m) => [
        {
          command: respondTo(m, {
            commandField: CommandField.CStoreRsp,
            status: Status.Success,
            affectedSopInstanceUid: m.command.affectedSopInstanceUid!,
          }),
        },
      ],
      (port) => ['storescu', ['-aec', 'KARTEI', '127.0.0.1', String(port), ...files]],
    );
    assert.equal(code, 0, output);
    assert.equal(session.messages.length, 3);
    session.messages.forEach((m, i) => {
      const inst = instances[i]!;
      assert.equal(m.context.transferSyntax, syntax);
      assert.equal(m.command.affectedSopInstanceUid, inst.sopInstanceUid);
      const ds = m.scanned!.elements;
      assert.equal(textValue(ds, Tag.SopInstanceUid), inst.sopInstanceUid);
      assert.equal(textValue(ds, Tag.StudyInstanceUid), inst.studyInstanceUid);
      assert.equal(textValue(ds, Tag.PatientName), ['Müller^Jürgen', 'Müller^Jürgen', 'Øster^Åsa'][i]);
      assert.equal(textValue(ds, Tag.PatientId), 'PID-0001', 'not the ID nested in a sequence');
      assert.equal(m.scanned!.pixelData?.length, inst.pixelDataLength);
      assert.equal(numberValue(ds, Tag.NumberOfFrames), i === 1 ? 3 : undefined);
    });
  }
});

test('findscu: a C-FIND identifier read whole, our UTF-8 match written back and understood', async () => {
  const out = path.join(tmp, 'find');
  fs.mkdirSync(out, { recursive: true });
  const { session, code, output } = await withAcceptor(
    policy(),
    (m) => [
      {
        command: respondTo(m, { commandField: CommandField.CFindRsp, status: Status.Pending, hasDataset: true }),
        dataset: writeDataset(
          [
            { tag: Tag.QueryRetrieveLevel, vr: 'CS', value: 'STUDY' },
            { tag: Tag.PatientName, vr: 'PN', value: 'Müller^Jürgen' },
            { tag: Tag.StudyInstanceUid, vr: 'UI', value: '1.2.3.4' },
            { tag: Tag.StudyDate, vr: 'DA', value: '20240115' },
          ],
          { encoding: datasetLayout(m.context.transferSyntax) as 'implicit-le' | 'explicit-le' },
        ),
      },
      { command: respondTo(m, { commandField: CommandField.CFindRsp, status: Status.Success }) },
    ],
    (port) => [
      'findscu',
      [
        '-S',
        '-aec',
        'KARTEI',
        '-X',
        '-od',
        out,
        '-k',
        'QueryRetrieveLevel=STUDY',
        '-k',
        'PatientName=Mü*',
        '-k',
        'StudyInstanceUID',
        '-k',
        'StudyDate=20240101-',
        '-k',
        'SpecificCharacterSet=ISO_IR 192',
        '127.0.0.1',
        String(port),
      ],
    ],
  );
  assert.equal(code, 0, output);
  const [find] = session.messages;
  assert.equal(find!.command.commandField, CommandField.CFindRq);
  assert.equal(find!.command.affectedSopClassUid, QueryRetrieveSopClass.StudyRootFind);
  const id = find!.identifier!;
  assert.equal(textValue(id, Tag.QueryRetrieveLevel), 'STUDY');
  assert.equal(textValue(id, Tag.PatientName), 'Mü*');
  assert.equal(textValue(id, Tag.StudyDate), '20240101-');
  assert.ok(id.has(Tag.StudyInstanceUid), 'an empty key is kept: return it');
  assert.deepEqual(id.get(Tag.StudyInstanceUid)!.value, []);
  const dump = spawnSync(
    'dcmdump',
    ['+U8', '+P', 'PatientName', '+P', 'SpecificCharacterSet', path.join(out, 'rsp0001.dcm')],
    { encoding: 'utf8' },
  );
  assert.match(dump.stdout, /ISO_IR 192/);
  assert.match(dump.stdout, /Müller\^Jürgen/);
});

test('getscu: it offers to be SCP for storage (accepted), its C-GET identifier decodes', async () => {
  const { session, code, output } = await withAcceptor(
    policy(),
    (m) => [
      {
        command: respondTo(m, {
          commandField: CommandField.CGetRsp,
          status: Status.Success,
          remainingSuboperations: 0,
          completedSuboperations: 0,
          failedSuboperations: 0,
          warningSuboperations: 0,
        }),
      },
    ],
    (port) => [
      'getscu',
      [
        '-aec',
        'KARTEI',
        '-od',
        tmp,
        '-k',
        'QueryRetrieveLevel=STUDY',
        '-k',
        'StudyInstanceUID=1.2.3.4',
        '127.0.0.1',
        String(port),
      ],
    ],
  );
  assert.equal(code, 0, output);
  const rq = session.rq!;
  const ct = rq.roleSelections.get(StorageSopClass.Ct);
  assert.deepEqual(ct, { scu: false, scp: true });
  const get = session.messages[0]!;
  assert.equal(get.command.commandField, CommandField.CGetRq);
  assert.equal(get.command.affectedSopClassUid, QueryRetrieveSopClass.PatientRootGet);
  assert.equal(textValue(get.identifier!, Tag.StudyInstanceUid), '1.2.3.4');
  // Our answer: the storage contexts accepted with the SCP role granted.
  const n = negotiate(rq, policy());
  assert.ok(n.accepted);
  assert.deepEqual(n.ac.roleSelections.get(StorageSopClass.Ct), { scu: false, scp: true });
  assert.ok([...n.ac.roleSelections.keys()].every(isStorageSopClass));
});

test('negotiate: unsupported abstract syntax 3, no common transfer syntax 4, roles only as offered and allowed', () => {
  const rq: AssociateRq = {
    protocolVersion: 1,
    calledAeTitle: 'KARTEI',
    callingAeTitle: 'MODALITY',
    applicationContext: APPLICATION_CONTEXT,
    presentationContexts: [
      {
        id: 1,
        abstractSyntax: StorageSopClass.Ct,
        transferSyntaxes: [
          TransferSyntax.JpegBaseline,
          TransferSyntax.ImplicitVrLittleEndian,
          TransferSyntax.ExplicitVrLittleEndian,
        ],
      },
      {
        id: 3,
        abstractSyntax: '1.2.840.10008.5.1.4.1.1.66',
        transferSyntaxes: [TransferSyntax.ImplicitVrLittleEndian],
      },
      { id: 5, abstractSyntax: StorageSopClass.Mr, transferSyntaxes: [TransferSyntax.Jpeg2000] },
      {
        id: 7,
        abstractSyntax: QueryRetrieveSopClass.StudyRootFind,
        transferSyntaxes: [TransferSyntax.ImplicitVrLittleEndian],
      },
    ],
    maxPduLength: 0,
    implementationClassUid: '1.2.3',
    roleSelections: new Map([
      [StorageSopClass.Ct, { scu: true, scp: true }],
      [QueryRetrieveSopClass.StudyRootFind, { scu: true, scp: true }],
      ['1.2.840.10008.5.1.4.1.1.66', { scu: false, scp: true }],
    ]),
  };
  const n = negotiate(rq, policy());
  assert.ok(n.accepted);
  assert.deepEqual(
    n.ac.presentationContexts.map((c) => [c.id, c.result, c.transferSyntax]),
    [
      [1, 0, TransferSyntax.ExplicitVrLittleEndian],
      [3, 3, TransferSyntax.ImplicitVrLittleEndian],
      [5, 4, TransferSyntax.Jpeg2000],
      [7, 0, TransferSyntax.ImplicitVrLittleEndian],
    ],
  );
  assert.deepEqual(
    [...n.contexts],
    [
      [1, { abstractSyntax: StorageSopClass.Ct, transferSyntax: TransferSyntax.ExplicitVrLittleEndian }],
      [
        7,
        { abstractSyntax: QueryRetrieveSopClass.StudyRootFind, transferSyntax: TransferSyntax.ImplicitVrLittleEndian },
      ],
    ],
  );
  assert.deepEqual(
    [...n.ac.roleSelections],
    [
      [StorageSopClass.Ct, { scu: true, scp: true }],
      [QueryRetrieveSopClass.StudyRootFind, { scu: true, scp: false }],
    ],
  );
  assert.equal(n.ac.maxPduLength, 16384);
  assert.equal(n.ac.calledAeTitle, 'KARTEI');

  // Preference per abstract syntax: JPEG kept as sent for CT.
  const perClass = negotiate(rq, {
    ...policy(),
    transferSyntaxPreference: (uid) =>
      uid === StorageSopClass.Ct ? [TransferSyntax.JpegBaseline] : [TransferSyntax.ImplicitVrLittleEndian],
  });
  assert.ok(perClass.accepted);
  assert.equal(perClass.ac.presentationContexts[0]!.transferSyntax, TransferSyntax.JpegBaseline);

  assert.deepEqual(negotiate({ ...rq, applicationContext: '1.2.3' }, policy()), {
    accepted: false,
    rj: { result: 1, source: 1, reason: 2 },
  });
  assert.deepEqual(negotiate({ ...rq, protocolVersion: 2 }, policy()), {
    accepted: false,
    rj: { result: 1, source: 2, reason: 2 },
  });
});
