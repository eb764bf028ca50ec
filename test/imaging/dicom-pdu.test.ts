// The PDU codec: a byte stream gives the same PDUs however it is split into
// chunks, P-DATA values are views of the received bytes, messages are cut to
// the peer's PDU size, and broken streams raise PduError with an abort reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  encodeAbort,
  encodeReleaseRp,
  encodeReleaseRq,
  pDataPdus,
  PDataWriter,
  PduReader,
  type Pdu,
  type Pdv,
} from '../../src/imaging/dicom/pdu.ts';
import { AbortReason, PduError } from '../../src/imaging/dicom/pdu-frame.ts';
import {
  encodeAssociateAc,
  encodeAssociateRj,
  encodeAssociateRq,
  type AssociateAc,
  type AssociateRq,
} from '../../src/imaging/dicom/association.ts';
import { APPLICATION_CONTEXT, StorageSopClass, TransferSyntax, VERIFICATION } from '../../src/imaging/dicom/uids.ts';

const rq: AssociateRq = {
  protocolVersion: 1,
  calledAeTitle: 'KARTEI',
  callingAeTitle: 'CT-LINKS',
  applicationContext: APPLICATION_CONTEXT,
  presentationContexts: [
    { id: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [TransferSyntax.ImplicitVrLittleEndian] },
    {
      id: 3,
      abstractSyntax: StorageSopClass.Ct,
      transferSyntaxes: [TransferSyntax.ExplicitVrLittleEndian, TransferSyntax.ImplicitVrLittleEndian],
    },
  ],
  maxPduLength: 16384,
  implementationClassUid: '1.2.3.4',
  implementationVersionName: 'TEST_1',
  asyncOps: { invoked: 1, performed: 1 },
  roleSelections: new Map([[StorageSopClass.Ct, { scu: false, scp: true }]]),
  extendedNegotiation: new Map([[StorageSopClass.Ct, Buffer.of(1, 0, 1, 0)]]),
};

const ac: AssociateAc = {
  ...rq,
  presentationContexts: [
    { id: 1, result: 0, transferSyntax: TransferSyntax.ImplicitVrLittleEndian },
    { id: 3, result: 4, transferSyntax: TransferSyntax.ExplicitVrLittleEndian },
  ],
};

/** A stream of every PDU type, with a P-DATA-TF of several PDVs. */
function sampleStream(): Buffer {
  const command = randomBytes(100);
  const dataset = randomBytes(70_000);
  return Buffer.concat([
    encodeAssociateRq(rq),
    encodeAssociateAc(ac),
    encodeAssociateRj({ result: 1, source: 1, reason: 7 }),
    ...pDataPdus(1, true, command, 16384),
    ...pDataPdus(3, false, dataset, 16384),
    encodeReleaseRq(),
    encodeReleaseRp(),
    encodeAbort(2, 6),
  ]);
}

/** The PDUs in `stream` read in chunks cut at `cuts`; a value that came in pieces is joined again. */
function readAll(stream: Buffer, cuts: number[], max = 16384): Pdu[] {
  const reader = new PduReader(max);
  const out: Pdu[] = [];
  let from = 0;
  for (const cut of [...cuts, stream.length]) {
    out.push(...reader.push(stream.subarray(from, cut)));
    from = cut;
  }
  assert.equal(reader.buffered, 0);
  return out.map((p) => (p.type === 'p-data' ? { type: 'p-data', pdvs: joinPieces(p.pdvs) } : p));
}

/** Joins the pieces of values that arrived across chunks (consecutive, same context and kind, not last). */
function joinPieces(pdvs: Pdv[]): Pdv[] {
  const out: Pdv[] = [];
  let open = false;
  for (const p of pdvs) {
    const prev = out.at(-1);
    if (open && prev && prev.contextId === p.contextId && prev.isCommand === p.isCommand)
      out[out.length - 1] = { ...p, data: Buffer.concat([prev.data, p.data]) };
    else out.push({ ...p });
    open = !p.isLast;
  }
  return out;
}

test('PduReader: one chunk, 1-byte chunks and random splits give the same PDUs', () => {
  const stream = sampleStream();
  const whole = readAll(stream, []);
  assert.deepEqual(
    whole.map((p) => p.type),
    ['associate-rq', 'associate-ac', 'associate-rj', ...Array(6).fill('p-data'), 'release-rq', 'release-rp', 'abort'],
  );
  const byteWise = readAll(
    stream,
    Array.from({ length: stream.length - 1 }, (_, i) => i + 1),
  );
  assert.deepEqual(byteWise, whole);
  for (let round = 0; round < 50; round++) {
    const cuts = [
      ...new Set(Array.from({ length: 1 + (round % 40) }, () => Math.floor(Math.random() * stream.length))),
    ].sort((a, b) => a - b);
    assert.deepEqual(readAll(stream, cuts), whole, `cuts ${cuts.join(',')}`);
  }
});

test('PduReader: A-ASSOCIATE, A-ASSOCIATE-RJ and A-ABORT fields survive a round trip', () => {
  const [q, a, j, ...rest] = readAll(sampleStream(), []);
  assert.deepEqual(q, { type: 'associate-rq', rq });
  assert.deepEqual(a, { type: 'associate-ac', ac });
  assert.deepEqual(j, { type: 'associate-rj', rj: { result: 1, source: 1, reason: 7 } });
  assert.deepEqual(rest.at(-1), { type: 'abort', source: 2, reason: 6 });
});

test('PduReader: P-DATA values are the received bytes, not copies, and reassemble the message', () => {
  const dataset = randomBytes(50_000);
  const stream = Buffer.concat(pDataPdus(5, false, dataset, 16384));
  const pdus = new PduReader(16384).push(stream);
  const pdvs = pdus.flatMap((p) => (p.type === 'p-data' ? p.pdvs : []));
  assert.equal(pdvs.length, 4);
  assert.deepEqual(
    pdvs.map((p) => [p.contextId, p.isCommand, p.isLast]),
    [
      [5, false, false],
      [5, false, false],
      [5, false, false],
      [5, false, true],
    ],
  );
  assert.deepEqual(Buffer.concat(pdvs.map((p) => p.data)), dataset);
  for (const p of pdvs) assert.equal(p.data.buffer, stream.buffer, 'a view of the chunk');
});

test('PduReader: a P-DATA-TF across socket chunks comes as pieces of those chunks, never a copy', () => {
  const dataset = randomBytes(50_000);
  const stream = Buffer.concat(pDataPdus(5, false, dataset, 16384));
  // Chunks as a socket hands them: each its own buffer, cut at odd places (inside PDV headers too).
  const cuts = [3, 9, 11, 7000, 16390, 16391, 40000, stream.length];
  const chunks = cuts.map((end, i) => Buffer.from(stream.subarray(i ? cuts[i - 1] : 0, end)));
  const reader = new PduReader(16384);
  const pdvs = chunks.flatMap((c) => reader.push(c)).flatMap((p) => (p.type === 'p-data' ? p.pdvs : []));
  assert.equal(reader.buffered, 0);
  assert.deepEqual(Buffer.concat(pdvs.map((p) => p.data)), dataset);
  assert.deepEqual(
    pdvs.map((p) => p.isLast),
    pdvs.map((_, i) => i === pdvs.length - 1),
  );
  for (const p of pdvs)
    assert.ok(
      chunks.some((c) => c.buffer === p.data.buffer),
      'every piece is a view of a received chunk',
    );
  assert.ok(pdvs.length > 4, 'values across chunks came in pieces');
});

test('PDataWriter: PDUs never exceed the peer maximum, for any chunking of the message', () => {
  const data = randomBytes(10_000);
  for (const max of [7, 100, 4096, 9_994, 9_995, 9_996, 10_006, 10_007, 0]) {
    const writer = new PDataWriter(7, false, max);
    const buffers: Buffer[] = [];
    for (let at = 0; at < data.length; at += 999) buffers.push(...writer.push(data.subarray(at, at + 999)));
    buffers.push(...writer.end());
    const pdus = new PduReader(max || 1 << 20).push(Buffer.concat(buffers));
    for (const p of pdus) assert.ok(p.type === 'p-data' && p.pdvs.length === 1);
    const pdvs = pdus.flatMap((p) => (p.type === 'p-data' ? p.pdvs : []));
    if (max)
      assert.ok(
        pdvs.every((p) => p.data.length + 6 <= max),
        `max ${max}`,
      );
    assert.deepEqual(Buffer.concat(pdvs.map((p) => p.data)), data);
    assert.deepEqual(
      pdvs.map((p) => p.isLast),
      pdvs.map((_, i) => i === pdvs.length - 1),
    );
  }
  // An empty message is one PDV with no data, marked last.
  const [empty] = new PduReader(100).push(Buffer.concat(pDataPdus(1, true, Buffer.alloc(0), 100)));
  assert.deepEqual(empty, {
    type: 'p-data',
    pdvs: [{ contextId: 1, isCommand: true, isLast: true, data: Buffer.alloc(0) }],
  });
});

test('PduReader: unknown types, oversize PDUs and broken items raise PduError with an abort reason', () => {
  const fails = (bytes: Buffer, reason: number, max = 16384) => {
    const reader = new PduReader(max);
    assert.throws(
      () => reader.push(bytes),
      (e) => e instanceof PduError && e.abortReason === reason,
      bytes.toString('hex').slice(0, 40),
    );
    assert.throws(() => reader.push(Buffer.alloc(0)), PduError, 'stays broken');
  };
  const header = (type: number, length: number) => {
    const b = Buffer.alloc(6);
    b[0] = type;
    b.writeUInt32BE(length, 2);
    return b;
  };
  fails(Buffer.from('GET / HTTP/1.1\r\n'), AbortReason.UnrecognizedPdu);
  fails(header(0x08, 4), AbortReason.UnrecognizedPdu);
  // Refused as soon as the header says so, before the body arrives.
  fails(header(0x04, 16385), AbortReason.InvalidPduParameterValue);
  fails(header(0x01, 10 * 1024 * 1024), AbortReason.InvalidPduParameterValue);
  fails(Buffer.concat([header(0x05, 6), Buffer.alloc(6)]), AbortReason.InvalidPduParameterValue);
  fails(Buffer.concat([header(0x07, 2), Buffer.alloc(2)]), AbortReason.InvalidPduParameterValue);
  // P-DATA whose PDV lengths do not add up to the PDU length, or that is empty.
  fails(header(0x04, 0), AbortReason.InvalidPduParameterValue);
  fails(
    Buffer.concat([header(0x04, 10), Buffer.from([0, 0, 0, 9, 1, 3, 0, 0, 0, 0])]),
    AbortReason.InvalidPduParameterValue,
  );
  fails(
    Buffer.concat([header(0x04, 10), Buffer.from([0, 0, 0, 1, 1, 3, 0, 0, 0, 0])]),
    AbortReason.InvalidPduParameterValue,
  );
  fails(
    Buffer.concat([header(0x04, 10), Buffer.from([0, 0, 0, 4, 1, 3, 0, 0, 0, 0])]),
    AbortReason.InvalidPduParameterValue,
  );
  // A-ASSOCIATE-RQ with an item running past the PDU, an even context ID, no abstract syntax.
  const good = encodeAssociateRq(rq);
  const cut = Buffer.from(good.subarray(0, good.length - 3));
  cut.writeUInt32BE(cut.length - 6, 2);
  fails(cut, AbortReason.InvalidPduParameterValue);
  fails(
    encodeAssociateRq({
      ...rq,
      presentationContexts: [{ id: 2, abstractSyntax: VERIFICATION, transferSyntaxes: ['1.2.840.10008.1.2'] }],
    }),
    AbortReason.InvalidPduParameterValue,
  );
  fails(
    encodeAssociateRq({ ...rq, presentationContexts: [{ id: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [] }] }),
    AbortReason.InvalidPduParameterValue,
  );
  fails(Buffer.concat([header(0x01, 10), Buffer.alloc(10)]), AbortReason.InvalidPduParameterValue);
});

test('PduReader: random garbage never escapes as anything but PduError', () => {
  for (let i = 0; i < 2000; i++) {
    const bytes = randomBytes(6 + (i % 300));
    bytes[0] = 1 + (i % 7);
    // Mostly a length that matches the body, so that parsing gets past the header.
    if (i % 4) bytes.writeUInt32BE(bytes.length - 6, 2);
    try {
      new PduReader(16384).push(bytes);
    } catch (e) {
      assert.ok(e instanceof PduError, String(e));
    }
  }
});
