// The floor under WADO-RS for `npm run bench:dicom-retrieval`: a bare Node HTTP server, in Kartei's
// bench server process (retrieval-server.ts), that sends one study's stored instances one after
// another, decrypted as Kartei stores them (`/decrypted`: the sealed files' read path, pooled
// reads, the next file read ahead while one is sent, each piece freed once written, as WADO-RS
// does), as the sealed bytes on disk (`/sealed`, read a MiB at a time, freed once written), or from memory
// (`/memory`, the plaintext read once beforehand), with no gate, audit, routing, Fastify or
// multipart framing. What Node itself gets from reading, decrypting and writing to a socket, step
// by step; `/decrypted` is the floor WADO-RS is held to.
import { once } from 'node:events';
import fsp from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { instanceFileBinding } from '../../src/imaging/instance-store.ts';
import { markReleasable, releasePiece } from '../../src/imaging/plaintext-pieces.ts';
import { ReadAhead } from '../../src/imaging/read-ahead.ts';
import { bindingBytes } from '../../src/vault/aead.ts';
import type { Harness } from '../../test/helpers/harness.ts';

const MiB = 1024 * 1024;

export interface Floor {
  url: string;
  close(): Promise<void>;
}

/** The study's instances as stored (file and id), with the department key that opens them. */
async function storedStudy(h: Harness, tenantId: string, departmentId: string, studyUid: string) {
  return inTenantTransaction(h.services.store, tenantId, async (tx) => ({
    key: await h.services.keyring.departmentKey(tx, tenantId, departmentId),
    instances: await tx
      .selectFrom('instances')
      .innerJoin('studies', 'studies.id', 'instances.study_id')
      .select(['instances.id', 'instances.file'])
      .where('studies.study_uid', '=', studyUid)
      .execute(),
  }));
}

export async function startWadoFloor(
  h: Harness,
  tenantId: string,
  departmentId: string,
  studyUid: string,
): Promise<Floor> {
  const { key, instances } = await storedStudy(h, tenantId, departmentId, studyUid);
  const images = path.join(h.config.dataDir, 'images');
  const decrypted = (i: (typeof instances)[number]) =>
    h.services.images.openRead(i.file, key, bindingBytes(instanceFileBinding(tenantId, i.id)));
  const inMemory: Buffer[] = [];
  for (const i of instances) for await (const chunk of decrypted(i)) inMemory.push(chunk);
  const server = http.createServer(async (req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const send = async (chunks: AsyncIterable<Buffer> | Iterable<Buffer>, release = false) => {
      for await (const chunk of chunks) {
        // Decrypted pieces are freed once written, as Kartei's senders do (plaintext-pieces.ts).
        const written = release ? () => releasePiece(markReleasable(chunk)) : undefined;
        if (!res.write(chunk, written)) await once(res, 'drain');
      }
    };
    if (req.url === '/memory') await send(inMemory);
    else if (req.url === '/sealed') for (const i of instances) await send(readFile(path.join(images, i.file)), true);
    else {
      // As WADO-RS: each file read ahead while the one before it is sent.
      const ahead = instances.map((i) => new ReadAhead(decrypted(i)));
      for (let n = 0; n < ahead.length; n++) {
        ahead[n + 1]?.start();
        await send(ahead[n]!, true);
      }
    }
    res.end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/**
 * A file a MiB at a time, each read into a buffer of its own and exactly its size, freed once
 * written as the decrypted pieces are (the socket may still hold the last).
 */
async function* readFile(file: string): AsyncGenerator<Buffer> {
  const fh = await fsp.open(file, 'r');
  try {
    const { size } = await fh.stat();
    for (let at = 0; at < size; ) {
      const { bytesRead, buffer } = await fh.read({
        buffer: Buffer.allocUnsafeSlow(Math.min(MiB, size - at)),
        position: at,
      });
      if (bytesRead < buffer.length) throw new Error(`${file} changed while read`);
      at += bytesRead;
      yield buffer;
    }
  } finally {
    await fh.close();
  }
}
