// Attacks on the PDU reader without copies (issue 18, pdu.ts): P-DATA-TF
// values are handed out as subarrays of the received chunks, in pieces when a
// PDU spans chunks. For every split point of a stream of PDUs (several PDVs in
// one PDU, PDV boundaries at chunk boundaries, empty values), what comes out
// must be the message byte for byte, with isLast only on a value's last piece,
// values handed out earlier must not change as more arrives, and broken
// lengths must fail the same way whether they arrive whole or split. Also: the
// design needs socket chunks Node never reuses; that is checked on real
// sockets (TCP and TLS), so a change of Node's habit would show.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import fs from 'node:fs';
import { once } from 'node:events';
import { pDataPdus, PduReader, type Pdu } from '../../src/imaging/dicom/pdu.ts';
import { PduError } from '../../src/imaging/dicom/pdu-frame.ts';
import { testCertificate } from '../helpers/certificates.ts';

function pattern(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (seed * 31 + i * 5) & 0xff;
  return b;
}

/** One P-DATA-TF holding several PDVs (the writer makes one per PDU; peers may send more). */
function multiPdv(values: { ctx: number; control: number; data: Buffer }[]): Buffer {
  const items = values.map((v) => {
    const h = Buffer.alloc(6);
    h.writeUInt32BE(2 + v.data.length, 0);
    h[4] = v.ctx;
    h[5] = v.control;
    return Buffer.concat([h, v.data]);
  });
  const body = Buffer.concat(items);
  const head = Buffer.alloc(6);
  head[0] = 0x04;
  head.writeUInt32BE(body.length, 2);
  return Buffer.concat([head, body]);
}

const command = pattern(90, 1);
const dataset = pattern(3000, 2);
const STREAM = Buffer.concat([
  ...pDataPdus(1, true, command, 64),
  multiPdv([
    { ctx: 3, control: 0, data: pattern(17, 3) },
    { ctx: 3, control: 0, data: Buffer.alloc(0) },
    { ctx: 3, control: 0, data: pattern(1, 4) },
  ]),
  ...pDataPdus(3, false, dataset, 1000),
  multiPdv([{ ctx: 5, control: 3, data: pattern(40, 5) }]),
]);
/** What the stream says, by context and kind, and how many values end (isLast) in each. */
function collect(pdus: Pdu[], into: Map<string, Buffer[]>, lasts: Map<string, number>, kept: [Buffer, Buffer][]) {
  for (const pdu of pdus) {
    assert.equal(pdu.type, 'p-data');
    if (pdu.type !== 'p-data') continue;
    for (const v of pdu.pdvs) {
      const k = `${v.contextId}/${v.isCommand}`;
      into.set(k, [...(into.get(k) ?? []), v.data]);
      if (v.isLast) lasts.set(k, (lasts.get(k) ?? 0) + 1);
      kept.push([v.data, Buffer.from(v.data)]);
    }
  }
}

function readSplit(cuts: number[]) {
  const reader = new PduReader(1 << 20);
  const into = new Map<string, Buffer[]>();
  const lasts = new Map<string, number>();
  const kept: [Buffer, Buffer][] = [];
  let at = 0;
  for (const cut of [...cuts, STREAM.length]) {
    // Each chunk is a buffer of its own, as a socket read gives.
    collect(reader.push(Buffer.from(STREAM.subarray(at, cut))), into, lasts, kept);
    at = cut;
  }
  return { into, lasts, kept, buffered: reader.buffered };
}

const whole = readSplit([]);

test('attack: every split point in two, and in three around it, gives the same message, isLast once per message', () => {
  assert.ok(Buffer.concat(whole.into.get('1/true')!).equals(command));
  assert.ok(Buffer.concat(whole.into.get('3/false')!).equals(Buffer.concat([pattern(17, 3), pattern(1, 4), dataset])));
  assert.equal(whole.lasts.get('1/true'), 1);
  assert.equal(whole.lasts.get('3/false'), 1);
  assert.equal(whole.lasts.get('5/true'), 1);
  for (let cut = 1; cut < STREAM.length; cut++) {
    for (const second of [cut + 1, cut + 5, cut + 6, cut + 12]) {
      const cuts = second < STREAM.length ? [cut, second] : [cut];
      const r = readSplit(cuts);
      for (const [k, parts] of whole.into)
        assert.ok(Buffer.concat(r.into.get(k) ?? []).equals(Buffer.concat(parts)), `${k} split at ${cuts}`);
      assert.deepEqual(r.lasts, whole.lasts, `isLast split at ${cuts}`);
      assert.equal(r.buffered, 0);
      // What was handed out early has not changed as later chunks came and were parsed.
      for (const [view, copy] of r.kept)
        assert.ok(view.equals(copy), `a value changed after it was handed out (${cuts})`);
    }
  }
});

test('attack: one byte at a time', () => {
  const cuts = Array.from({ length: STREAM.length - 1 }, (_, i) => i + 1);
  const r = readSplit(cuts);
  for (const [k, parts] of whole.into) assert.ok(Buffer.concat(r.into.get(k)!).equals(Buffer.concat(parts)), k);
  assert.deepEqual(r.lasts, whole.lasts);
});

test('attack: a giant claimed PDU length fails at once, before anything is buffered for it', () => {
  const head = Buffer.from([0x04, 0, 0xff, 0xff, 0xff, 0xff]);
  const reader = new PduReader(16_384);
  assert.throws(() => reader.push(head), PduError);
  assert.throws(() => reader.push(Buffer.alloc(10)), PduError, 'the stream stays broken');
});

test('attack: PDV lengths that overrun or underrun their PDU fail the same way whole or split anywhere', () => {
  const bad = [
    // PDV length beyond the PDU
    (() => {
      const p = multiPdv([{ ctx: 1, control: 2, data: pattern(20, 9) }]);
      p.writeUInt32BE(0x7fffffff, 6);
      return p;
    })(),
    // PDV length shorter than its header
    (() => {
      const p = multiPdv([{ ctx: 1, control: 2, data: pattern(20, 9) }]);
      p.writeUInt32BE(1, 6);
      return p;
    })(),
    // a second PDV's header cut by the PDU's end
    (() => {
      const p = multiPdv([{ ctx: 1, control: 0, data: pattern(20, 9) }]);
      const extra = Buffer.concat([p, Buffer.from([0, 0, 0])]);
      extra.writeUInt32BE(p.length - 6 + 3, 2);
      return extra;
    })(),
  ];
  for (const pdu of bad) {
    assert.throws(() => new PduReader(1 << 20).push(Buffer.from(pdu)), PduError, 'whole');
    for (let cut = 1; cut < pdu.length; cut++) {
      const reader = new PduReader(1 << 20);
      assert.throws(
        () => {
          reader.push(Buffer.from(pdu.subarray(0, cut)));
          reader.push(Buffer.from(pdu.subarray(cut)));
        },
        PduError,
        `split at ${cut}`,
      );
    }
  }
});

/** Collects 'data' chunks of a connection, while the peer writes `total` bytes in pieces. */
async function chunksOf(secure: boolean): Promise<Buffer[]> {
  const total = 4 * 1024 * 1024;
  const c = secure ? testCertificate('attack-pdu') : undefined;
  const chunks: Buffer[] = [];
  let got = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => {
    done = r;
  });
  const onSocket = (s: net.Socket) => {
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      if (got >= total) done();
    });
  };
  const srv = c
    ? tls.createServer({ key: fs.readFileSync(c.keyFile), cert: fs.readFileSync(c.certFile) }, onSocket)
    : net.createServer(onSocket);
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as net.AddressInfo).port;
  const client = c
    ? tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false })
    : net.connect(port, '127.0.0.1');
  await once(client, c ? 'secureConnect' : 'connect');
  for (let i = 0; i < 64; i++) client.write(pattern(total / 64, i));
  await finished;
  client.destroy();
  srv.close();
  return chunks;
}

for (const secure of [false, true])
  test(`attack: Node hands out every socket read in memory of its own, never reused (${secure ? 'TLS' : 'TCP'})`, async () => {
    const chunks = await chunksOf(secure);
    assert.ok(chunks.length > 4, `only ${chunks.length} reads`);
    const copies = chunks.map((d) => Buffer.from(d));
    // Overlapping memory between two reads would mean a reused buffer: the reader's subarrays would change.
    const seen = new Map<ArrayBufferLike, [number, number][]>();
    for (const d of chunks) {
      const r = seen.get(d.buffer) ?? [];
      for (const [s, e] of r) assert.ok(d.byteOffset >= e || d.byteOffset + d.length <= s, 'two reads share memory');
      r.push([d.byteOffset, d.byteOffset + d.length]);
      seen.set(d.buffer, r);
    }
    for (let i = 0; i < chunks.length; i++) assert.ok(chunks[i]!.equals(copies[i]!), `read ${i} changed`);
  });
