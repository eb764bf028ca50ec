// Attacks on the DIMSE sender freeing decrypted pieces once written (issue 18:
// send-message.ts with plaintext-pieces.ts): under backpressure, over plain TCP
// and TLS, with PDU sizes that cut pieces anywhere, several messages of
// different "patients" at once, every byte the peer receives must be the
// piece's (a piece wiped or detached too early arrives as zeros or not at all),
// and slices of Node's shared 8 KiB pool must never be detached (that would
// destroy unrelated buffers beside them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import fs from 'node:fs';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { MessageCut, sendMessage } from '../../src/imaging/dimse/send-message.ts';
import { PduReader } from '../../src/imaging/dicom/pdu.ts';
import { isReleasable, markReleasable, releasePiece } from '../../src/imaging/plaintext-pieces.ts';
import { testCertificate } from '../helpers/certificates.ts';

function patterned(size: number, id: number): Buffer {
  const b = Buffer.allocUnsafeSlow(size);
  for (let i = 0; i < size; i++) b[i] = (id * 71 + i * 7 + (i >> 9)) & 0xff;
  return b;
}

/** Piece sizes around every boundary that matters: 1 byte, Node's pool (4 KiB), PDU data sizes. */
const PIECE_SIZES = [1, 7, 4095, 4096, 4097, 16_378, 16_384, 65_536, 262_144, 3, 100_000, 8192, 1];
/** And enough after them (~6 MiB) that writes wait in the sender's socket, beyond the kernel's buffers. */
const BULK = Array.from({ length: 24 }, (_, i) => 262_144 + (i % 3));

/** The dataset as the read path hands it: fresh pieces of their own, each marked releasable. */
function pieces(id: number): { all: Buffer; gen: () => AsyncGenerator<Buffer> } {
  const list = [...PIECE_SIZES, ...BULK].map((s, i) => patterned(s, id * 100 + i));
  const all = Buffer.concat(list);
  return {
    all,
    async *gen() {
      for (const p of list) {
        yield markReleasable(p);
        await sleep(0);
      }
    },
  };
}

/** Reads P-DATA from the socket, slowly at first (backpressure), and returns the dataset bytes. */
async function receive(socket: net.Socket): Promise<Buffer> {
  const reader = new PduReader(1024 * 1024);
  const data: Buffer[] = [];
  socket.pause();
  await sleep(150); // the sender's socket fills up: writes wait
  return new Promise((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      for (const pdu of reader.push(chunk)) {
        if (pdu.type !== 'p-data') continue;
        for (const pdv of pdu.pdvs) {
          if (pdv.isCommand) continue;
          data.push(Buffer.from(pdv.data)); // a copy: the test keeps nothing of Node's
          if (pdv.isLast) resolve(Buffer.concat(data));
        }
      }
      // Slow reader: pause a moment now and then.
      socket.pause();
      setTimeout(() => socket.resume(), 1);
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error('the peer’s connection closed before the message ended')));
    socket.resume();
  });
}

async function pair(secure: boolean): Promise<{ client: net.Socket; server: net.Socket; close: () => void }> {
  let srv: net.Server;
  const accepted = new Promise<net.Socket>((resolve) => {
    if (secure) {
      const c = testCertificate('attack-send');
      srv = tls.createServer({ key: fs.readFileSync(c.keyFile), cert: fs.readFileSync(c.certFile) }, resolve);
    } else srv = net.createServer(resolve);
  });
  srv!.listen(0, '127.0.0.1');
  await once(srv!, 'listening');
  const port = (srv!.address() as net.AddressInfo).port;
  const client: net.Socket = secure
    ? tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false })
    : net.connect(port, '127.0.0.1');
  await once(client, secure ? 'secureConnect' : 'connect');
  const server = await accepted;
  return {
    client,
    server,
    close: () => {
      client.destroy();
      server.destroy();
      srv.close();
    },
  };
}

for (const secure of [false, true])
  test(`attack: three messages of different patients at once, slow peers, PDU sizes cutting pieces anywhere (${secure ? 'TLS' : 'TCP'})`, {
    timeout: 60_000,
  }, async () => {
    const maxPdus = [4096 + 6, 16_384, 16_390 + 1];
    const conns = await Promise.all(maxPdus.map(() => pair(secure)));
    try {
      const datasets = maxPdus.map((_, i) => pieces(i + 1));
      const expected = datasets.map((d) => Buffer.from(d.all));
      const got = await Promise.all(
        conns.map(async (c, i) => {
          const receiving = receive(c.server);
          await sendMessage(c.client, 1, Buffer.from('command'), datasets[i]!.gen(), maxPdus[i]!);
          return receiving;
        }),
      );
      for (let i = 0; i < got.length; i++) {
        assert.equal(got[i]!.length, expected[i]!.length, `message ${i} length`);
        assert.ok(got[i]!.equals(expected[i]!), `message ${i}: every byte the peer got is its own patient's`);
      }
    } finally {
      for (const c of conns) c.close();
    }
  });

for (const secure of [false, true])
  for (const size of [262_144, 16_384 * 3 + 5])
    test(`attack: a peer that goes away mid-message (${secure ? 'TLS' : 'TCP'}, pieces of ${size} bytes): the sending stops with an error, its pieces are freed once the socket has closed, the next message is whole`, {
      timeout: 60_000,
    }, async () => {
      const gone = await pair(secure);
      gone.client.on('error', () => undefined);
      const handed: Buffer[] = [];
      let atGone = 0;
      const sending = sendMessage(
        gone.client,
        1,
        Buffer.from('c'),
        (async function* () {
          // Pieces that the PDUs cut anywhere (the writer holds a piece's tail for the next PDU), arriving
          // now and then as from the disk.
          for (let i = 0; i < 60; i++) {
            const p = patterned(size, 500 + i);
            handed.push(p);
            yield markReleasable(p);
            if (i % 2) await sleep(1);
          }
        })(),
        16_384,
      );
      try {
        gone.server.pause();
        await sleep(50);
        atGone = handed.length;
        gone.server.destroy();
        const outcome = await sending.then(
          () => 'sent',
          (e: Error) => e.message,
        );
        assert.ok(!/undefined|TypeError/.test(outcome), `the sending ends cleanly: ${outcome}`);
        // Every piece the sender took is wiped and freed once its socket has closed, not left to the garbage
        // collector (before, a failed write freed nothing, and the piece whose tail the writer held stayed).
        if (!gone.client.closed) await new Promise((r) => gone.client.once('close', r));
        await sleep(20);
        const left = handed.filter((p) => p.buffer.byteLength > 0).length;
        assert.ok(atGone > 1, 'the message was under way when its peer went away');
        assert.equal(left, 0, `${left} of ${handed.length} pieces taken for a peer gone away not freed`);
        assert.ok(handed.length <= atGone + 3, `no more pieces read for a peer gone (${atGone} → ${handed.length})`);
      } finally {
        gone.close();
      }
      const ok = await pair(true);
      try {
        const d = pieces(9);
        const expected = Buffer.from(d.all);
        const receiving = receive(ok.server);
        await sendMessage(ok.client, 3, Buffer.from('c'), d.gen(), 16_384);
        assert.ok((await receiving).equals(expected));
      } finally {
        ok.close();
      }
    });

test('attack: our side closes the connection without an error while the sender waits for it to drain (an idle timeout, the listener closing): the sending ends, its source is closed and every piece freed', {
  timeout: 60_000,
}, async () => {
  const c = await pair(false);
  try {
    const handed: Buffer[] = [];
    let sourceClosed = false;
    const sending = sendMessage(
      c.client,
      1,
      Buffer.from('c'),
      (async function* () {
        try {
          for (let i = 0; i < 40; i++) {
            const p = patterned(262_144, 800 + i);
            handed.push(p);
            yield markReleasable(p);
          }
        } finally {
          sourceClosed = true; // the read-ahead and the open file go with it
        }
      })(),
      16_384,
    );
    c.server.pause();
    await sleep(100);
    assert.ok(c.client.writableNeedDrain, 'the sender waits for the socket to drain');
    c.client.destroy(); // no error: a closed socket never drains
    const outcome = await Promise.race([
      sending.then(
        () => 'sent',
        () => 'refused',
      ),
      sleep(5_000).then(() => 'still waiting'),
    ]);
    assert.equal(outcome, 'refused');
    assert.equal(sourceClosed, true, 'the dataset’s source was closed');
    await sleep(20);
    assert.equal(handed.filter((p) => p.buffer.byteLength > 0).length, 0, 'every piece freed');
  } finally {
    c.close();
  }
});

test('attack: the sender’s socket ended mid-message (as an association closing would): the sending ends, the peer gets only the message’s bytes, and every piece is freed once the socket has closed', {
  timeout: 60_000,
}, async () => {
  const c = await pair(false);
  try {
    const list = Array.from({ length: 40 }, (_, i) => patterned(262_144, 700 + i));
    const expected = Buffer.concat(list);
    // The peer reads everything that arrives, slowly, until the connection ends.
    const reader = new PduReader(1024 * 1024);
    const got: Buffer[] = [];
    c.server.pause();
    c.server.on('data', (chunk: Buffer) => {
      for (const pdu of reader.push(chunk))
        if (pdu.type === 'p-data') for (const pdv of pdu.pdvs) if (!pdv.isCommand) got.push(Buffer.from(pdv.data));
      c.server.pause();
      setTimeout(() => c.server.resume(), 1);
    });
    const ended = new Promise((r) => c.server.once('close', r));
    c.server.on('error', () => undefined);
    c.client.on('error', () => undefined); // a write after the end fails, and the socket with it
    const handed: Buffer[] = [];
    const sending = sendMessage(
      c.client,
      1,
      Buffer.from('c'),
      (async function* () {
        for (const [i, p] of list.entries()) {
          // Ended while megabytes of earlier writes still wait in the socket: every later write fails.
          if (i === 20) c.client.end();
          handed.push(p);
          yield markReleasable(p);
        }
      })(),
      16_384,
    );
    await sleep(100); // the sender's writes back up before the peer reads
    c.server.resume();
    await sending.catch(() => undefined);
    await ended;
    const body = Buffer.concat(got);
    assert.ok(body.length > 262_144, `the peer got some of what was written before the end (${body.length} bytes)`);
    assert.ok(
      body.equals(expected.subarray(0, body.length)),
      'every byte the peer got is the message’s, none wiped under a write',
    );
    if (!c.client.closed) await new Promise((r) => c.client.once('close', r));
    await sleep(20);
    assert.ok(handed.length < list.length, 'the sending stopped once its socket was gone');
    assert.equal(
      handed.filter((p) => p.buffer.byteLength > 0).length,
      0,
      'all it took freed once the socket has closed',
    );
  } finally {
    c.close();
  }
});

test('attack: files that fail mid-message on a live association (a chunk that does not authenticate): each message frees what it took at once, and nothing waits on the socket', {
  timeout: 60_000,
}, async () => {
  const c = await pair(false);
  try {
    c.server.on('data', () => undefined); // the peer reads everything
    const closeListeners = c.client.listenerCount('close');
    const taken: Buffer[] = [];
    for (let m = 0; m < 15; m++) {
      const sending = sendMessage(
        c.client,
        1,
        Buffer.from('c'),
        (async function* () {
          // Pieces the PDUs cut anywhere: the writer holds the last one's tail when the file fails.
          for (let i = 0; i < 3; i++) {
            const p = patterned(16_384 * 3 + 5, m * 10 + i);
            taken.push(p);
            yield markReleasable(p);
          }
          throw new Error('chunk 3 does not authenticate');
        })(),
        16_384,
      );
      // Half the message went out: the caller learns that it must end the association.
      await assert.rejects(
        sending,
        (e) => e instanceof MessageCut && /does not authenticate/.test((e.cause as Error).message),
      );
    }
    assert.equal(c.client.listenerCount('close'), closeListeners, 'no listener left per message');
    for (let i = 0; i < 100 && taken.some((p) => p.buffer.byteLength > 0); i++) await sleep(10);
    assert.equal(c.client.destroyed, false, 'the association is still open');
    assert.equal(taken.filter((p) => p.buffer.byteLength > 0).length, 0, 'every piece freed while the socket is open');
  } finally {
    c.close();
  }
});

test('a file that cannot be read at all fails before the command goes out: nothing of the message is sent', {
  timeout: 60_000,
}, async () => {
  const c = await pair(false);
  try {
    let received = 0;
    c.server.on('data', (d: Buffer) => (received += d.length));
    const sending = sendMessage(
      c.client,
      1,
      Buffer.from('command'),
      (async function* () {
        yield* [];
        throw new Error('the file is gone');
      })(),
      16_384,
    );
    await assert.rejects(sending, /the file is gone/);
    await sendMessage(
      c.client,
      1,
      Buffer.from('c'),
      (async function* () {
        yield Buffer.from('next');
      })(),
      16_384,
    );
    for (let i = 0; i < 100 && received < 29; i++) await sleep(10);
    // Only the next message: its command PDU (6 + 6 + 1 bytes) and its dataset's (6 + 6 + 4).
    assert.equal(received, 29, 'the failed message sent nothing');
  } finally {
    c.close();
  }
});

test('attack: slices of Node’s shared pool, strings and views are never freed, so their neighbours keep their bytes', () => {
  const cases: Buffer[] = [
    Buffer.allocUnsafe(100),
    Buffer.allocUnsafe(4095),
    Buffer.from('Mustermann^Erika'),
    Buffer.concat([Buffer.from('a'), Buffer.from('b')]),
    Buffer.allocUnsafeSlow(10_000).subarray(0, 5000),
    Buffer.allocUnsafeSlow(10_000).subarray(5000),
  ];
  for (const piece of cases) {
    // A neighbour from the same pool (or the same backing store), holding another patient's name.
    const neighbour = Buffer.from('Musterfrau^Anna');
    const kept = Buffer.from(neighbour.toString());
    piece.fill(0x41);
    markReleasable(piece);
    assert.equal(isReleasable(piece), false, `a ${piece.length}-byte slice is not releasable`);
    releasePiece(piece);
    assert.ok(piece.buffer.byteLength > 0, 'not detached');
    assert.ok(neighbour.equals(kept), 'the neighbour keeps its bytes');
    assert.ok(
      piece.every((x) => x === 0x41),
      'not wiped',
    );
  }
  // Exactly 4 KiB from allocUnsafe is still a pool slice on Node 24: not releasable either.
  const four = markReleasable(Buffer.allocUnsafe(4096));
  assert.equal(isReleasable(four), false);
  // A piece that owns its memory (as the decipher's output does) is freed, and nothing else with it.
  const own = markReleasable(Buffer.allocUnsafeSlow(4096).fill(1));
  const other = Buffer.from('Beispiel^Max');
  releasePiece(own);
  assert.equal(own.length, 0);
  assert.equal(other.toString(), 'Beispiel^Max');
  // Freed twice: harmless.
  releasePiece(own);
});
