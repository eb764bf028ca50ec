// DIMSE command sets: every field survives a round trip, the bytes are what
// PS3.7 prescribes, and malformed commands raise CommandError, never a crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  CommandError,
  CommandField,
  decodeCommand,
  encodeCommand,
  Priority,
  Status,
  statusCategory,
  type Command,
} from '../../src/imaging/dicom/command.ts';
import { writeDataset } from '../../src/imaging/dicom/dataset-writer.ts';
import { QueryRetrieveSopClass, StorageSopClass, VERIFICATION } from '../../src/imaging/dicom/uids.ts';

const commands: Command[] = [
  { commandField: CommandField.CEchoRq, hasDataset: false, affectedSopClassUid: VERIFICATION, messageId: 1 },
  {
    commandField: CommandField.CEchoRsp,
    hasDataset: false,
    affectedSopClassUid: VERIFICATION,
    messageIdBeingRespondedTo: 1,
    status: Status.Success,
  },
  {
    commandField: CommandField.CStoreRq,
    hasDataset: true,
    affectedSopClassUid: StorageSopClass.Ct,
    messageId: 65535,
    priority: Priority.Low,
    affectedSopInstanceUid: '2.25.1234567890123456789012345678901234567',
    moveOriginatorAeTitle: 'VIEWER',
    moveOriginatorMessageId: 7,
  },
  {
    commandField: CommandField.CStoreRsp,
    hasDataset: false,
    affectedSopClassUid: StorageSopClass.Ct,
    messageIdBeingRespondedTo: 3,
    status: Status.DataSetDoesNotMatchSopClass,
    offendingElement: [0x00100010, 0x7fe00010],
    errorComment: 'Pixel data missing',
    affectedSopInstanceUid: '1.2.3',
  },
  {
    commandField: CommandField.CFindRq,
    hasDataset: true,
    affectedSopClassUid: QueryRetrieveSopClass.StudyRootFind,
    messageId: 2,
    priority: Priority.Medium,
  },
  {
    commandField: CommandField.CMoveRq,
    hasDataset: true,
    affectedSopClassUid: QueryRetrieveSopClass.StudyRootMove,
    messageId: 4,
    priority: Priority.High,
    moveDestination: 'WORKSTATION1',
  },
  {
    commandField: CommandField.CMoveRsp,
    hasDataset: false,
    affectedSopClassUid: QueryRetrieveSopClass.StudyRootMove,
    messageIdBeingRespondedTo: 4,
    status: Status.Pending,
    remainingSuboperations: 10,
    completedSuboperations: 5,
    failedSuboperations: 1,
    warningSuboperations: 0,
  },
  {
    commandField: CommandField.CGetRq,
    hasDataset: true,
    affectedSopClassUid: QueryRetrieveSopClass.PatientRootGet,
    messageId: 9,
    priority: Priority.Medium,
  },
  { commandField: CommandField.CCancelRq, hasDataset: false, messageIdBeingRespondedTo: 9 },
];

test('commands: every field survives a round trip', () => {
  for (const c of commands) assert.deepEqual(decodeCommand(encodeCommand(c)), c);
});

test('commands: bytes as PS3.7 prescribes: Implicit VR LE, group length first, UIDs NUL-padded, AE space-padded', () => {
  const bytes = encodeCommand({
    commandField: CommandField.CEchoRq,
    hasDataset: false,
    affectedSopClassUid: VERIFICATION,
    messageId: 1,
  });
  assert.equal(
    bytes.toString('hex'),
    '00000000' +
      '04000000' +
      (bytes.length - 12).toString(16).padStart(2, '0') +
      '000000' +
      '00000200' +
      '12000000' +
      Buffer.from('1.2.840.10008.1.1\0').toString('hex') +
      '00000001' +
      '02000000' +
      '3000' +
      '00001001' +
      '02000000' +
      '0100' +
      '00000008' +
      '02000000' +
      '0101',
  );
  const move = encodeCommand(commands[5]!);
  assert.ok(move.includes(Buffer.from('WORKSTATION1')));
  const ae = encodeCommand({ ...commands[5]!, moveDestination: 'ODD' });
  assert.ok(ae.includes(Buffer.from('ODD ')));
  // ErrorComment has no character set in a command: non-ASCII is replaced, not mis-encoded.
  const comment = decodeCommand(encodeCommand({ ...commands[3]!, errorComment: 'Größe falsch' }));
  assert.equal(comment.errorComment, 'Gr??e falsch');
});

test('commands: malformed command sets raise CommandError', () => {
  const good = encodeCommand(commands[2]!);
  const implicit = (elements: Parameters<typeof writeDataset>[0]) => {
    const body = writeDataset(elements, { encoding: 'implicit-le' });
    return Buffer.concat([writeDataset([{ tag: 0, vr: 'UL', value: body.length }], { encoding: 'implicit-le' }), body]);
  };
  const bad: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['truncated', good.subarray(0, good.length - 1)],
    ['cut in a header', good.subarray(0, 15)],
    ['no group length', good.subarray(12)],
    ['wrong group length', Buffer.concat([good, Buffer.from([0, 0, 0x10, 0, 2, 0, 0, 0, 0, 0])])],
    [
      'element outside group 0000',
      implicit([
        { tag: 0x00000100, vr: 'US', value: 0x30 },
        { tag: 0x00000110, vr: 'US', value: 1 },
        { tag: 0x00000800, vr: 'US', value: 0x101 },
        { tag: 0x00100010, vr: 'PN', value: 'X' },
      ]),
    ],
    [
      'no command field',
      implicit([
        { tag: 0x00000110, vr: 'US', value: 1 },
        { tag: 0x00000800, vr: 'US', value: 0x101 },
      ]),
    ],
    [
      'no data set type',
      implicit([
        { tag: 0x00000100, vr: 'US', value: 0x30 },
        { tag: 0x00000110, vr: 'US', value: 1 },
      ]),
    ],
    [
      'US of 4 bytes',
      implicit([
        { tag: 0x00000100, vr: 'UL', value: 0x30 },
        { tag: 0x00000800, vr: 'US', value: 0x101 },
      ]),
    ],
    ['C-STORE-RQ without instance UID', encodeCommand({ ...commands[2]!, affectedSopInstanceUid: '' })],
    ['C-STORE-RQ without dataset', encodeCommand({ ...commands[2]!, hasDataset: false })],
    ['C-MOVE-RQ without destination', encodeCommand({ ...commands[5]!, moveDestination: undefined })],
    ['C-ECHO-RSP without status', encodeCommand({ ...commands[1]!, status: undefined })],
  ];
  for (const [why, bytes] of bad) assert.throws(() => decodeCommand(bytes), CommandError, why);
  // An operation we do not know still decodes, so it can be answered with 0211H.
  assert.equal(
    decodeCommand(encodeCommand({ commandField: 0x0100, hasDataset: false, messageId: 3 })).commandField,
    0x0100,
  );
});

test('commands: random bytes and random corruption raise only CommandError', () => {
  const good = encodeCommand(commands[3]!);
  for (let i = 0; i < 3000; i++) {
    const bytes = i % 2 ? randomBytes(i % 120) : Buffer.from(good);
    if (i % 2 === 0) bytes[i % bytes.length]! ^= 1 + (i % 255);
    try {
      decodeCommand(bytes);
    } catch (e) {
      assert.ok(e instanceof CommandError, String(e));
    }
  }
});

test('status categories follow PS3.7 Annex C', () => {
  assert.equal(statusCategory(Status.Success), 'success');
  assert.equal(statusCategory(Status.Pending), 'pending');
  assert.equal(statusCategory(Status.PendingWithOptionalKeysUnsupported), 'pending');
  assert.equal(statusCategory(Status.Cancel), 'cancel');
  assert.equal(statusCategory(Status.SubOperationsCompleteWithFailures), 'warning');
  assert.equal(statusCategory(Status.DataSetDoesNotMatchSopClassWarning), 'warning');
  for (const s of [
    Status.OutOfResources,
    Status.DataSetDoesNotMatchSopClass,
    Status.CannotUnderstand,
    Status.SopClassNotSupported,
    Status.NotAuthorized,
    Status.MoveDestinationUnknown,
    Status.ProcessingFailure,
    Status.MistypedArgument,
  ]) {
    assert.equal(statusCategory(s), 'failure', s.toString(16));
  }
});
