// Attack on C-MOVE's outgoing association (a helper's review): a registered destination known by its
// pinned certificate that takes the TCP connection and never answers the TLS handshake must be given up
// after the connect timeout, its socket closed, instead of holding the move (and the requester's
// association waiting for it) for as long as the peer likes. (Once connected, the StoreScu's own idle
// timeout of 30 s covers a destination that stops answering.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { StoreScu } from '../../src/imaging/dimse/store-scu.ts';
import type { Device } from '../../src/imaging/device-registry.ts';

async function silentDestination() {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    // Read and drop: its 'end', and so its 'close', are seen when our side lets go.
    socket.resume();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, sockets, port: (server.address() as net.AddressInfo).port };
}

const device = (port: number): Device => ({
  id: 'dest',
  aeTitle: 'DEST',
  departmentId: 'dep1',
  permissions: ['retrieve'],
  certificate: { fingerprint256: 'AA:BB', subject: 'CN=dest', validTo: '2030-01-01' },
  host: '127.0.0.1',
  port,
  createdAt: '2026-12-07T00:00:00Z',
});

test('attack: a move destination that takes the connection and never answers the TLS handshake is given up and its socket closed', {
  timeout: 60_000,
}, async () => {
  const d = await silentDestination();
  try {
    const started = Date.now();
    const opening = StoreScu.open(
      device(d.port),
      { aeTitle: 'KARTEI' },
      [{ sopClass: '1.2.840.10008.5.1.4.1.1.2', transferSyntax: '1.2.840.10008.1.2.1' }],
      300,
    );
    const outcome = await Promise.race([
      opening.then(
        () => 'opened',
        (e: Error) => `refused: ${e.message}`,
      ),
      sleep(5_000).then(() => 'still waiting'),
    ]);
    assert.equal(outcome, 'refused: destination did not connect in time');
    assert.ok(Date.now() - started < 5_000, 'the handshake was given up after the connect timeout');
    await sleep(50);
    assert.ok(d.sockets.length === 1, 'the destination was contacted once');
    const peer = d.sockets[0]!;
    const closed =
      peer.destroyed || (await Promise.race([once(peer, 'close').then(() => true), sleep(2_000).then(() => false)]));
    assert.ok(closed, 'our side closed the connection');
  } finally {
    for (const s of d.sockets) s.destroy();
    d.server.close();
  }
});
