// `npm run bench:backup` (issue 19): `kartei backup` of an office with BENCH_PERSONS persons
// (default 100,000, seeded by bench/server.ts) and BENCH_IMAGES images (default 5,000, stored over
// STOW-RS, BENCH_IMAGE_SIZE² 16-bit pixels, default 256), while the gated read runs beside it:
//  - the backup's time and throughput against its floor, a plain copy of the same data directory
//    (`cp -r`, then `sync -f`: the backup syncs every file too),
//  - the gated `GET /api/records/:id` rate (autocannon, 50 connections) during the backup as a
//    share of its rate just before, without one.
// Alternating rounds (BENCH_ROUNDS, default 2): backup, copy, backup, copy. Prints a table; the
// lead adds the figures of a quiet machine to bench/RESULTS.md.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import autocannon from 'autocannon';
import { makeInstance } from '../test/helpers/dicom-files.ts';

const PERSONS = Number(process.env.BENCH_PERSONS ?? 100_000);
const IMAGES = Number(process.env.BENCH_IMAGES ?? 5_000);
const SIZE = Number(process.env.BENCH_IMAGE_SIZE ?? 256);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = 50;
const ROOT = path.resolve(import.meta.dirname, '..');

interface Rate {
  rps: number;
  p99: number;
  errors: number;
}

/** Gated reads until `until` settles (or for SECONDS). */
function reads(url: string, headers: Record<string, string>, until?: Promise<unknown>): Promise<Rate> {
  return new Promise((resolve, reject) => {
    const inst = autocannon({ url, headers, connections: CONNECTIONS, duration: until ? 3600 : SECONDS }, (err, r) =>
      err ? reject(err) : resolve({ rps: r.requests.average, p99: r.latency.p99, errors: r.errors + r.non2xx }),
    );
    until?.finally(() => inst.stop());
  });
}

const bytesUnder = (dir: string): number =>
  (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((e) => e.isFile())
    .reduce((n, e) => n + fs.statSync(path.join(e.parentPath, e.name)).size, 0);

const server = spawn(
  process.execPath,
  ['--import', path.join(import.meta.dirname, 'production-start.ts'), 'bench/server.ts'],
  { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, BENCH_PERSONS: String(PERSONS) } },
);
const exited = new Promise((r) => server.once('exit', r));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-bench-backup-'));
try {
  const info = JSON.parse(
    await new Promise<string>((resolve, reject) => {
      readline.createInterface({ input: server.stdout! }).once('line', resolve);
      server.once('exit', (code) => reject(new Error(`bench server exited ${code}`)));
    }),
  ) as { port: number; cookie: string; csrf: string; recordId: string; dir: string; seedSeconds: number };
  const base = `http://127.0.0.1:${info.port}`;
  const auth = { cookie: `kartei_session=${info.cookie}` };

  // --- 5,000 images over STOW-RS, 50 to a request.
  const storeStarted = Date.now();
  const boundary = 'bench-backup-boundary';
  for (let done = 0; done < IMAGES; done += 50) {
    const parts: Buffer[] = [];
    for (let i = done; i < Math.min(done + 50, IMAGES); i++) {
      const inst = makeInstance({ rows: SIZE, columns: SIZE, bitsAllocated: 16, pixels: 'random' });
      parts.push(
        Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`),
        inst.file,
        Buffer.from('\r\n'),
      );
    }
    parts.push(Buffer.from(`--${boundary}--\r\n`));
    const r = await fetch(`${base}/dicom-web/studies`, {
      method: 'POST',
      headers: {
        ...auth,
        'x-csrf-token': info.csrf,
        'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
        accept: 'application/dicom+json',
      },
      body: Buffer.concat(parts),
    });
    if (r.status !== 200) throw new Error(`STOW-RS: ${r.status} ${await r.text()}`);
  }
  const storeSeconds = (Date.now() - storeStarted) / 1000;
  const dataDir = path.join(info.dir, 'data');
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KARTEI_'))),
    KARTEI_DATA_DIR: dataDir,
    KARTEI_KEY_DIR: path.join(info.dir, 'keys'),
    KARTEI_LOG_LEVEL: 'warn',
  } as Record<string, string>;
  const url = `${base}/api/records/${info.recordId}`;
  await reads(url, auth); // warm-up

  const backups: { seconds: number; bytes: number; without: Rate; during: Rate }[] = [];
  const copies: { seconds: number; bytes: number }[] = [];
  const loads: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    loads.push(os.loadavg()[0]!.toFixed(1));
    const without = await reads(url, auth);
    const dest = path.join(work, `backup-${round}`);
    const started = Date.now();
    const child = spawn(process.execPath, ['bin/kartei.js', 'backup', dest], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const done = new Promise<number | null>((r) => child.once('exit', r));
    const during = await reads(url, auth, done);
    if ((await done) !== 0) throw new Error(`kartei backup failed: ${out}`);
    process.stderr.write(out);
    backups.push({ seconds: (Date.now() - started) / 1000, bytes: bytesUnder(dest), without, during });
    fs.rmSync(dest, { recursive: true, force: true });

    const copy = path.join(work, `copy-${round}`);
    const copyStarted = Date.now();
    const cp = spawnSync('sh', ['-c', `cp -r "${dataDir}" "${copy}" && sync -f "${copy}"`], { stdio: 'inherit' });
    if (cp.status !== 0) throw new Error('cp failed');
    copies.push({ seconds: (Date.now() - copyStarted) / 1000, bytes: bytesUnder(copy) });
    fs.rmSync(copy, { recursive: true, force: true });
  }
  loads.push(os.loadavg()[0]!.toFixed(1));

  const mbps = (b: number, s: number) => (b / 1024 / 1024 / s).toFixed(0);
  const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 1 });
  process.stdout.write(
    `\n### Backup — ${new Date().toISOString()}\n\n` +
      `Node ${process.version}, ${os.cpus().length} cores; ${fmt(PERSONS)} persons (seeded in ${fmt(info.seedSeconds)} s), ` +
      `${fmt(IMAGES)} images of ${SIZE}×${SIZE} 16-bit (stored over STOW-RS in ${fmt(storeSeconds)} s); ` +
      `${ROUNDS} alternating rounds; load average at each round's start and the end: ${loads.join(', ')}.\n\n` +
      '| round | `kartei backup` | plain copy (`cp -r` + `sync -f`) | backup / copy time | gated reads without → during the backup |\n|---|---|---|---|---|\n' +
      backups
        .map(
          (b, i) =>
            `| ${i + 1} | ${fmt(b.seconds)} s, ${mbps(b.bytes, b.seconds)} MB/s (${mbps(b.bytes, 1)} MB) | ` +
            `${fmt(copies[i]!.seconds)} s, ${mbps(copies[i]!.bytes, copies[i]!.seconds)} MB/s (${mbps(copies[i]!.bytes, 1)} MB) | ` +
            `${fmt(b.seconds / copies[i]!.seconds)}× | ${fmt(b.without.rps)} → ${fmt(b.during.rps)} req/s ` +
            `(**${fmt((100 * b.during.rps) / b.without.rps)} %**), p99 ${b.without.p99} → ${b.during.p99} ms, errors ${b.during.errors} |`,
        )
        .join('\n') +
      '\n',
  );
} finally {
  server.kill('SIGTERM');
  await exited;
  fs.rmSync(work, { recursive: true, force: true });
}
