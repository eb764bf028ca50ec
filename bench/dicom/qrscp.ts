// DCMTK's own query/retrieve SCP (dcmqrscp 3.6.7) serving a study's plaintext files, for the
// floors under C-GET and C-MOVE in `npm run bench:dicom-retrieval`: the same requesters and the
// same storescp destination as against Kartei and Orthanc, with a native SCP that reads the files
// as they are (no decryption, no gate, no audit, no database beyond DCMTK's index file). It forks
// a child per association (with --single-process, 3.6.7 ends after the first): its CPU is the
// parent's own and its reaped children's (/proc/<pid>/stat: utime, stime, cutime, cstime), read
// once `idle()` says no child is left. No TLS.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type DicomTarget, runTool } from './dcmtk.ts';

export interface QrScp {
  target: DicomTarget;
  pid: number;
  /** Resolves once no association's child process is left (reaped, so counted in the parent's stat). */
  idle(): Promise<void>;
  stop(): void;
}

/** dcmqrscp on loopback as `aet`, holding `files`, knowing `peers` (the requester, C-MOVE destinations). */
export async function startQrScp(opts: {
  aet: string;
  port: number;
  callingAet: string;
  files: string[];
  peers: { aet: string; port: number }[];
}): Promise<QrScp> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-qrscp-'));
  const storage = path.join(dir, 'storage');
  fs.mkdirSync(storage);
  const copies = opts.files.map((f, i) => {
    const copy = path.join(storage, `i${i}.dcm`);
    fs.copyFileSync(f, copy);
    return copy;
  });
  const indexed = await runTool('dcmqridx', [storage, ...copies]);
  if (indexed.code !== 0) throw new Error(`dcmqridx: ${indexed.stderr}`);
  const hosts = [{ aet: opts.callingAet, port: 0 }, ...opts.peers]
    .map((p, i) => `peer${i} = (${p.aet}, 127.0.0.1, ${p.port})`)
    .join('\n');
  const config = path.join(dir, 'dcmqrscp.cfg');
  fs.writeFileSync(
    config,
    `NetworkTCPPort = ${opts.port}\nMaxPDUSize = 16384\nMaxAssociations = 16\n` +
      `HostTable BEGIN\n${hosts}\nHostTable END\nVendorTable BEGIN\nVendorTable END\n` +
      `AETable BEGIN\n${opts.aet} ${storage} RW (10, 1024mb) ANY\nAETable END\n`,
  );
  const child = spawn('dcmqrscp', ['-c', config, String(opts.port)], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, TCP_NODELAY: '1' },
  });
  // Ready once it answers a C-ECHO: a bare connect would end its single process after the next association.
  const echo = () =>
    runTool('echoscu', ['-aet', opts.callingAet, '-aec', opts.aet, '127.0.0.1', String(opts.port)]).then(
      (r) => r.code === 0,
    );
  for (const deadline = Date.now() + 10_000; !(await echo()); await new Promise((r) => setTimeout(r, 100))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`dcmqrscp did not answer on ${opts.port}`);
  }
  return {
    target: { host: '127.0.0.1', port: opts.port, calledAet: opts.aet, callingAet: opts.callingAet },
    pid: child.pid!,
    async idle() {
      const children = `/proc/${child.pid}/task/${child.pid}/children`;
      for (const deadline = Date.now() + 5_000; fs.readFileSync(children, 'utf8').trim() && Date.now() < deadline; )
        await new Promise((r) => setTimeout(r, 20));
    },
    stop() {
      child.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
