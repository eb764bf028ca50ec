// Retrievals reuse and free buffers (pooled reads in vault/stream-open.ts; the
// sender frees each decrypted piece once the socket has written it): two
// C-GETs of different studies at once, one of them read slowly so that the
// server's writes back up, each get their own instances byte for byte; and so
// does a C-MOVE running beside them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { startDimseListener, type DimseListener } from '../../src/imaging/dimse/listener.ts';
import { CommandField, Status } from '../../src/imaging/dicom/command.ts';
import { writeDataset } from '../../src/imaging/dicom/dataset-writer.ts';
import { Tag } from '../../src/imaging/dicom/tags.ts';
import { QueryRetrieveSopClass, TransferSyntax } from '../../src/imaging/dicom/uids.ts';
import { startHarness, setUpTenant, freePort, type Harness, type Tenant } from '../helpers/harness.ts';
import { makeInstance, type TestInstance } from '../helpers/dicom-files.ts';
import { DimseClient } from '../helpers/dimse-client.ts';
import { parsePart10Header } from '../../src/imaging/dicom/part10.ts';

let h: Harness;
let t: Tenant;
let listener: DimseListener;
/** Two studies of four instances each, ~5 MB apiece: each spans many sealed chunks and reads, and a study is more than the loopback socket buffers hold, so that a slow reader makes the server wait. */
const studies: TestInstance[][] = [];

function dcmtk(tool: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(tool, args, { env: { ...process.env, TCP_NODELAY: '1' }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

before(async () => {
  h = await startHarness();
  t = await setUpTenant(h, ['RAD']);
  const r = await t.admin.post('/api/admin/devices', {
    departmentId: t.departments.RAD,
    aeTitle: 'BIGGET',
    permissions: ['store', 'retrieve'],
    host: '127.0.0.1',
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  listener = await startDimseListener(
    { host: '127.0.0.1', port: await freePort(), aeTitle: 'KARTEI' },
    { deps: h.dimseDeps },
  );
  for (const [s, patientId] of ['PID-BUF-A', 'PID-BUF-B'].entries()) {
    const studyInstanceUid = makeInstance().studyInstanceUid;
    studies.push(
      Array.from({ length: 4 }, (_, i) =>
        makeInstance({
          patientId,
          studyInstanceUid,
          rows: 2560,
          columns: 1000 + i,
          seed: 10 * s + i + 1,
          undefinedLengthSequences: false,
        }),
      ),
    );
  }
  const files = studies.flat().map((x, i) => {
    const file = path.join(h.dir, `buf-${i}.dcm`);
    fs.writeFileSync(file, x.file);
    return file;
  });
  const stored = await dcmtk('storescu', [
    '-aet',
    'BIGGET',
    '-aec',
    'KARTEI',
    '127.0.0.1',
    String(listener.port),
    ...files,
  ]);
  assert.equal(stored.code, 0, stored.out);
});
after(async () => {
  await listener?.close();
  await h?.close();
});

const identifier = (studyUid: string) =>
  writeDataset(
    [
      { tag: Tag.QueryRetrieveLevel, vr: 'CS', value: 'STUDY' },
      { tag: Tag.StudyInstanceUid, vr: 'UI', value: studyUid },
    ],
    { encoding: 'explicit-le' },
  );

/** A C-GET of `study` on an association of its own; `slow`: the socket is paused a while before each instance is read. */
async function get(study: TestInstance[], slow: boolean): Promise<Map<string, Buffer>> {
  const sop = study[0]!;
  const c = await DimseClient.associate(listener.port, {
    calling: 'BIGGET',
    called: 'KARTEI',
    contexts: [
      {
        id: 1,
        abstractSyntax: QueryRetrieveSopClass.StudyRootGet,
        transferSyntax: TransferSyntax.ExplicitVrLittleEndian,
      },
      { id: 3, abstractSyntax: sop.sopClassUid, transferSyntax: sop.transferSyntax },
    ],
    roles: new Map([[sop.sopClassUid, { scu: false, scp: true }]]),
  });
  const socket = (c as unknown as { socket: net.Socket }).socket;
  const got = new Map<string, Buffer>();
  try {
    c.send(
      1,
      {
        commandField: CommandField.CGetRq,
        hasDataset: true,
        affectedSopClassUid: QueryRetrieveSopClass.StudyRootGet,
        messageId: 1,
        priority: 0,
      },
      identifier(sop.studyInstanceUid),
    );
    for (;;) {
      if (slow) {
        // The server keeps writing into a socket nobody reads: its writes wait for 'drain'.
        socket.pause();
        await new Promise((r) => setTimeout(r, 150));
        socket.resume();
      }
      const m = await c.next();
      if (m.command.commandField === CommandField.CGetRsp) {
        if (m.command.status === Status.Pending) continue;
        assert.equal(m.command.status, Status.Success);
        return got;
      }
      assert.equal(m.command.commandField, CommandField.CStoreRq);
      got.set(m.command.affectedSopInstanceUid!, m.dataset!);
      c.send(m.contextId, {
        commandField: CommandField.CStoreRsp,
        hasDataset: false,
        messageIdBeingRespondedTo: m.command.messageId,
        affectedSopClassUid: m.command.affectedSopClassUid,
        affectedSopInstanceUid: m.command.affectedSopInstanceUid,
        status: Status.Success,
      });
    }
  } finally {
    await c.release();
  }
}

function assertStudy(got: Map<string, Buffer>, study: TestInstance[], what: string) {
  assert.equal(got.size, study.length, `${what}: instances`);
  for (const sent of study)
    assert.ok(got.get(sent.sopInstanceUid)?.equals(sent.dataset), `${what}: ${sent.sopInstanceUid} byte for byte`);
}

test('two C-GETs of different studies at once, one read slowly, each get their own instances byte for byte', async () => {
  for (let round = 0; round < 2; round++) {
    const [a, b] = await Promise.all([get(studies[0]!, round === 0), get(studies[1]!, round === 1)]);
    assertStudy(a, studies[0]!, `study A, round ${round}`);
    assertStudy(b, studies[1]!, `study B, round ${round}`);
  }
});

test('a C-MOVE beside a C-GET of another study, both read slowly: the destination receives the moved study byte for byte', async () => {
  const destPort = await freePort();
  const inbox = fs.mkdtempSync(path.join(h.dir, 'inbox-'));
  // Bit-preserving: the files hold the datasets as they arrived.
  const storescp = spawn('storescp', ['+B', '-aet', 'BUFDEST', '-od', inbox, String(destPort)], {
    env: { ...process.env, TCP_NODELAY: '1' },
    stdio: 'ignore',
  });
  try {
    const r = await t.admin.post('/api/admin/devices', {
      departmentId: t.departments.RAD,
      aeTitle: 'BUFDEST',
      permissions: ['retrieve'],
      host: '127.0.0.1',
      port: destPort,
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    await waitForPort(destPort);
    const move = dcmtk('movescu', [
      '-S',
      '-aet',
      'BIGGET',
      '-aec',
      'KARTEI',
      '-aem',
      'BUFDEST',
      '-k',
      'QueryRetrieveLevel=STUDY',
      '-k',
      `StudyInstanceUID=${studies[0]![0]!.studyInstanceUid}`,
      '127.0.0.1',
      String(listener.port),
    ]);
    const got = await get(studies[1]!, true);
    const moved = await move;
    assert.equal(moved.code, 0, moved.out);
    assertStudy(got, studies[1]!, 'C-GET beside the move');
    const received = new Map<string, Buffer>();
    for (const name of fs.readdirSync(inbox)) {
      const file = fs.readFileSync(path.join(inbox, name));
      const part10 = parsePart10Header(file)!;
      received.set(part10.meta.mediaStorageSopInstanceUid, file.subarray(part10.datasetOffset));
    }
    assertStudy(received, studies[0]!, 'moved');
  } finally {
    storescp.kill();
  }
});

async function waitForPort(port: number) {
  for (const deadline = Date.now() + 10_000; ; await new Promise((r) => setTimeout(r, 50))) {
    const open = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error('storescp did not start');
  }
}
