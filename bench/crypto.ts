// `npm run bench:crypto`: AES-256-GCM in Kartei's own sealing and opening code against
// `openssl speed -evp aes-256-gcm` at the same piece size, in the same run (issue 18: ≥ 80 %).
// For each piece size (64 KiB, 256 KiB — the chunk size on disk — and 1 MiB):
//  - sealChunk / openChunk (src/vault/stream-format.ts): one chunk sealed or opened alone;
//  - ChunkSealer (stream-seal.ts): a stream of pieces of that size sealed into chunks of that size;
//  - readPlainChunks (stream-open.ts): a file sealed in chunks of that size, read back and opened
//    chunk by chunk, the file in the page cache (read once before);
// each output given back the way Kartei's paths give it back once written: the ingest's sealer frees
// its sealed chunks (`ChunkSealer.written`), the retrieval senders wipe and free each decrypted piece
// (`releasePiece`, src/imaging/plaintext-pieces.ts) — without that, V8 runs a full garbage
// collection per ~64 MiB of fresh Buffers, which is what this figure would then measure;
// and beside them `openssl speed -evp aes-256-gcm -bytes N -seconds S` (the machine's OpenSSL),
// alternating rounds (BENCH_CRYPTO_ROUNDS, default 3; BENCH_CRYPTO_SECONDS per measure, default 2),
// the best round of each. OpenSSL divides by its user CPU time, so Kartei's figures are bytes per
// CPU second of this process (user + system: page faults count against it); GB/s by the clock
// and minor page faults per piece beside them. Run through the production start (npm script),
// so the allocator is the one an office runs; the table names it. Appends to bench/RESULTS.md
// only with BENCH_APPEND=1.
import { execFileSync, execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchState } from '../src/ops/launch.ts';
import { fileKey, newHeader, openChunk, sealChunk } from '../src/vault/stream-format.ts';
import { ChunkSealer } from '../src/vault/stream-seal.ts';
import { readPlainChunks } from '../src/vault/stream-open.ts';
import { markReleasable, releasePiece } from '../src/imaging/plaintext-pieces.ts';

const SIZES = [64 * 1024, 256 * 1024, 1024 * 1024];
const ROUNDS = Number(process.env.BENCH_CRYPTO_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_CRYPTO_SECONDS ?? 2);
/** The sealed file readPlainChunks opens, and the stream ChunkSealer seals per pass. */
const FILE_BYTES = 32 * 1024 * 1024;
const GOAL = 0.8;

interface Figure {
  /** Bytes per CPU second, in GB/s. */
  cpu: number;
  /** Bytes per second by the clock, in GB/s. */
  wall: number;
  faultsPerPiece: number;
}

/** Runs `pass` (which processes `bytes` bytes in `pieces` pieces) until SECONDS have passed. */
async function measure(bytes: number, pieces: number, pass: () => unknown): Promise<Figure> {
  await pass();
  let n = 0;
  const r0 = process.resourceUsage();
  const t0 = performance.now();
  do {
    await pass();
    n++;
  } while (performance.now() - t0 < SECONDS * 1000);
  const seconds = (performance.now() - t0) / 1000;
  const r1 = process.resourceUsage();
  const cpu = (r1.userCPUTime + r1.systemCPUTime - r0.userCPUTime - r0.systemCPUTime) / 1e6;
  return {
    cpu: (n * bytes) / cpu / 1e9,
    wall: (n * bytes) / seconds / 1e9,
    faultsPerPiece: (r1.minorPageFault - r0.minorPageFault) / (n * pieces),
  };
}

/** `openssl speed -evp aes-256-gcm` at one size, in GB/s (it prints thousands of bytes per second). */
function opensslSpeed(size: number): number {
  const out = execFileSync(
    'openssl',
    ['speed', '-evp', 'aes-256-gcm', '-bytes', String(size), '-seconds', String(SECONDS)],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const m = /^AES-256-GCM\s+([\d.]+)k\s*$/im.exec(out);
  if (!m) throw new Error(`cannot read openssl speed's output:\n${out}`);
  return (Number(m[1]) * 1000) / 1e9;
}

const key = randomBytes(32);
const aad = Buffer.from('bench/crypto');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-bench-crypto-'));

type Row = 'openssl' | 'sealChunk' | 'openChunk' | 'ChunkSealer' | 'readPlainChunks';
const ROWS: Row[] = ['openssl', 'sealChunk', 'openChunk', 'ChunkSealer', 'readPlainChunks'];
const results = new Map<string, Figure[]>();
const record = (row: Row, size: number, f: Figure) => {
  const k = `${row}/${size}`;
  results.set(k, [...(results.get(k) ?? []), f]);
};

async function kartei(size: number): Promise<void> {
  const plain = randomBytes(size);
  const f = fileKey(key, aad, newHeader(size));
  const sealedParts: Buffer[] = [];
  sealChunk(f, 0, false, plain, sealedParts);
  const sealed = Buffer.concat(sealedParts);
  // Freed as the sealer frees what it made (the cipher's output owns its memory; the tag is tiny).
  const free = (b: Buffer) =>
    b.byteOffset === 0 &&
    b.byteLength === b.buffer.byteLength &&
    (b.buffer as ArrayBuffer & { transfer(length: number): ArrayBuffer }).transfer(0);
  record(
    'sealChunk',
    size,
    await measure(size, 1, () => {
      const out: Buffer[] = [];
      sealChunk(f, 0, false, plain, out);
      free(out[0]!);
    }),
  );
  record('openChunk', size, await measure(size, 1, () => releasePiece(markReleasable(openChunk(f, 0, false, sealed)))));
  // A stream of pieces of this size, sealed into chunks of this size.
  const pieces = FILE_BYTES / size;
  const stream = randomBytes(FILE_BYTES);
  record(
    'ChunkSealer',
    size,
    await measure(FILE_BYTES, pieces, () => {
      const s = new ChunkSealer(key, aad, size);
      for (let off = 0; off < FILE_BYTES; off += size) s.written(s.update(stream.subarray(off, off + size)));
      s.written(s.final());
    }),
  );
  // The same stream as a sealed file in the page cache, opened chunk by chunk.
  const file = path.join(dir, `sealed-${size}`);
  if (!fs.existsSync(file)) {
    const s = new ChunkSealer(key, aad, size);
    fs.writeFileSync(file, Buffer.concat([...s.update(stream), ...s.final()]));
  }
  record(
    'readPlainChunks',
    size,
    await measure(FILE_BYTES, pieces, async () => {
      const fh = await fs.promises.open(file);
      try {
        let n = 0;
        for await (const p of readPlainChunks(fh, key, aad)) {
          n += p.length;
          releasePiece(markReleasable(p));
        }
        if (n !== FILE_BYTES) throw new Error(`opened ${n} of ${FILE_BYTES} bytes`);
      } finally {
        await fh.close();
      }
    }),
  );
}

const allocator = launchState().summary;
const loadBefore = os.loadavg();
for (let round = 0; round < ROUNDS; round++) {
  for (const size of SIZES) {
    // Which goes first alternates.
    const openssl = () => {
      const gbps = opensslSpeed(size);
      record('openssl', size, { cpu: gbps, wall: gbps, faultsPerPiece: 0 });
    };
    if (round % 2 === 0) {
      openssl();
      await kartei(size);
    } else {
      await kartei(size);
      openssl();
    }
  }
}
const loadAfter = os.loadavg();
fs.rmSync(dir, { recursive: true, force: true });

const best = (row: Row, size: number) => results.get(`${row}/${size}`)!.reduce((a, b) => (b.cpu > a.cpu ? b : a));
const fmt = (x: number, d = 2) => x.toFixed(d);
const kib = (size: number) => (size >= 1024 * 1024 ? `${size / 1024 / 1024} MiB` : `${size / 1024} KiB`);
const lines: string[] = [];
const short: string[] = [];
lines.push(
  '| piece | openssl speed (GB/s) | ' +
    ROWS.slice(1)
      .map((r) => `${r}: GB/s per CPU s (by the clock; faults/piece) — of openssl`)
      .join(' | ') +
    ' |',
);
lines.push(
  `|---|---|${ROWS.slice(1)
    .map(() => '---')
    .join('|')}|`,
);
for (const size of SIZES) {
  const o = best('openssl', size).cpu;
  const cells = ROWS.slice(1).map((row) => {
    const f = best(row, size);
    const ratio = f.cpu / o;
    if (ratio < GOAL) short.push(`${row} at ${kib(size)}: ${fmt(ratio * 100, 0)} % of openssl speed (goal ≥ 80 %)`);
    return `${fmt(f.cpu)} (${fmt(f.wall)}; ${fmt(f.faultsPerPiece, 1)}) — **${fmt(ratio * 100, 0)} %**`;
  });
  lines.push(
    `| ${kib(size)} | ${fmt(o)} (rounds: ${results
      .get(`openssl/${size}`)!
      .map((f) => fmt(f.cpu))
      .join(', ')}) | ${cells.join(' | ')} |`,
  );
}
const opensslVersion = execFileSync('openssl', ['version'], { encoding: 'utf8' }).trim();
const head = [
  `Node ${process.versions.node} (OpenSSL ${process.versions.openssl}) against \`openssl speed\` of ${opensslVersion}; allocator: ${allocator}.`,
  `${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}); load average ${loadBefore.map((x) => fmt(x)).join('/')} at the start, ${loadAfter
    .map((x) => fmt(x))
    .join('/')} at the end; ${ROUNDS} alternating rounds of ${SECONDS} s per measure, the best round of each.`,
  '',
];
const tail = [
  '',
  short.length
    ? `Falls short:\n${short.map((s) => `- ${s}`).join('\n')}`
    : 'Every measure reaches ≥ 80 % of `openssl speed` at its piece size.',
];
process.stdout.write(`${[...head, ...lines, ...tail].join('\n')}\n`);

if (process.env.BENCH_APPEND === '1') {
  const commit = execSync('git rev-parse --short HEAD').toString().trim();
  const dirty = execSync("git status --porcelain -- src bench ':!bench/RESULTS.md'").toString().trim();
  const title = `## ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — AES-256-GCM in Kartei's sealing and opening against openssl speed — commit ${commit}${dirty ? ' (uncommitted changes)' : ''}`;
  fs.appendFileSync('bench/RESULTS.md', `\n${[title, '', ...head, ...lines, ...tail].join('\n')}\n`);
}
