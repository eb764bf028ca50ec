// Sealed files: what goes in comes out, whole or in ranges; the stored bytes
// show no plaintext; files and directories are the owner's alone; a file
// appears under its name only on commit, never after an abort, a failed source
// or a crash; paths that could leave the root are refused.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { bindingBytes, DecryptionError } from '../../src/vault/aead.ts';
import { sealedSize } from '../../src/vault/stream-format.ts';
import { SealedFiles } from '../../src/vault/sealed-files.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-sealed-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const key = randomBytes(32);
const aad = bindingBytes({ tenantId: 't1', table: 'instances', rowId: 'i1', field: 'blob' });

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(p) : [p];
  });
}

function* pieces(buf: Buffer, max: number) {
  for (let off = 0; off < buf.length; ) {
    const n = Math.min(buf.length - off, randomInt(1, max + 1));
    yield buf.subarray(off, off + n);
    off += n;
  }
}

async function readAll(r: AsyncIterable<Buffer>): Promise<Buffer> {
  const got: Buffer[] = [];
  for await (const b of r) got.push(b as Buffer);
  return Buffer.concat(got);
}

async function store(files: SealedFiles, relPath: string, plain: Buffer, chunkSize?: number) {
  const w = files.create(relPath, key, aad, { chunkSize });
  await pipeline(Readable.from(pieces(plain, 500_000)), w.stream);
  return w.commit();
}

test("what is written comes back whole and in ranges; the size is the plaintext's; modes are 0600 and 0700", async () => {
  const root = path.join(tmp, 'round', 'blobs');
  const files = new SealedFiles(root);
  const plain = randomBytes(3 * 1024 * 1024 + 17);
  const result = await store(files, 'studies/1.2.840/series-7/instance.dcm', plain, 4096);
  assert.deepEqual(result, { size: plain.length });
  assert.deepEqual(await readAll(files.openRead('studies/1.2.840/series-7/instance.dcm', key, aad)), plain);
  assert.equal(await files.plainSize('studies/1.2.840/series-7/instance.dcm'), plain.length);
  for (const [start, length] of [
    [0, 10],
    [4095, 2],
    [4096, 4096],
    [plain.length - 1, 1],
    [1_000_000, 300_000],
  ] as const) {
    assert.deepEqual(
      await files.readRange('studies/1.2.840/series-7/instance.dcm', key, aad, start, length),
      plain.subarray(start, start + length),
    );
  }

  const stored = filesUnder(root);
  assert.deepEqual(stored, [path.join(root, 'studies/1.2.840/series-7/instance.dcm')], 'no temporary file is left');
  assert.equal(fs.statSync(stored[0]!).size, sealedSize(plain.length, 4096));
  assert.equal(fs.statSync(stored[0]!).mode & 0o777, 0o600);
  for (const dir of [
    root,
    path.join(root, 'studies'),
    path.join(root, 'studies/1.2.840'),
    path.join(root, 'studies/1.2.840/series-7'),
  ]) {
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700, dir);
  }

  const empty = await store(files, 'empty', Buffer.alloc(0));
  assert.equal(empty.size, 0);
  assert.deepEqual(await readAll(files.openRead('empty', key, aad)), Buffer.alloc(0));
  assert.equal(await files.plainSize('empty'), 0);

  await files.remove('empty');
  assert.equal(fs.existsSync(path.join(root, 'empty')), false);
  await assert.rejects(files.plainSize('empty'), { code: 'ENOENT' });
});

test('the stored file shows no plaintext: a name written all through it is found nowhere under the root', async () => {
  const root = path.join(tmp, 'scan');
  const files = new SealedFiles(root);
  const marker = 'Patientin Hannelore Quastenberg, geb. 12.03.1961';
  const plain = Buffer.from(Array.from({ length: 20_000 }, (_, i) => `${i}: ${marker}\n`).join(''), 'utf8');
  assert.ok(plain.includes('Quastenberg'), 'the control: the plaintext holds the marker');
  await store(files, 'report.txt', plain);
  const needles = ['Quastenberg', 'quastenberg', 'Hannelore', '12.03.1961'].flatMap((s) => [
    Buffer.from(s, 'utf8'),
    Buffer.from(s, 'utf16le'),
  ]);
  for (const f of filesUnder(root)) {
    const bytes = fs.readFileSync(f);
    for (const n of needles) assert.equal(bytes.includes(n), false, `${n.toString()} in ${f}`);
  }
});

test('a file appears only on commit: abort and a failing source leave nothing, and an overwrite is all or nothing', async () => {
  const root = path.join(tmp, 'atomic');
  const files = new SealedFiles(root);
  const dir = path.join(root, 'a');

  const aborted = files.create('a/one', key, aad);
  await pipeline(Readable.from(pieces(randomBytes(1_000_000), 100_000)), aborted.stream);
  assert.deepEqual(fs.readdirSync(dir).length, 1, 'the temporary file exists before commit');
  assert.equal(fs.existsSync(path.join(dir, 'one')), false, 'but not the final one');
  await aborted.abort();
  assert.deepEqual(fs.readdirSync(dir), []);
  await assert.rejects(aborted.commit(), /aborted/);
  assert.deepEqual(fs.readdirSync(dir), []);

  const untouched = files.create('a/two', key, aad);
  await untouched.abort();
  assert.deepEqual(fs.readdirSync(dir), []);

  const failing = files.create('a/three', key, aad);
  async function* broken() {
    yield randomBytes(300_000);
    throw new Error('client went away');
  }
  await assert.rejects(pipeline(broken(), failing.stream), /client went away/);
  await assert.rejects(failing.commit());
  assert.deepEqual(fs.readdirSync(dir), []);

  const v1 = randomBytes(100_000);
  const v2 = randomBytes(200_000);
  await store(files, 'a/four', v1);
  const replacing = files.create('a/four', key, aad);
  replacing.stream.write(v2);
  assert.deepEqual(await readAll(files.openRead('a/four', key, aad)), v1, 'the old file until commit');
  await replacing.commit();
  assert.deepEqual(await readAll(files.openRead('a/four', key, aad)), v2);
  assert.deepEqual(fs.readdirSync(dir), ['four']);
  assert.deepEqual(await replacing.commit(), { size: v2.length }, 'commit answers again');
  await replacing.abort();
  assert.deepEqual(await readAll(files.openRead('a/four', key, aad)), v2, 'abort after commit changes nothing');
});

test('a process killed before commit leaves no file under the final name', () => {
  const root = path.join(tmp, 'crash');
  const module = new URL('../../src/vault/sealed-files.ts', import.meta.url).href;
  const script = `
    import { SealedFiles } from ${JSON.stringify(module)};
    const w = new SealedFiles(process.env.ROOT).create('x/crashed.dcm', Buffer.alloc(32, 7), Buffer.from('aad'));
    w.stream.write(Buffer.alloc(4 * 1024 * 1024, 0x41), () => process.kill(process.pid, 'SIGKILL'));
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, ROOT: root },
    encoding: 'utf8',
  });
  assert.equal(child.signal, 'SIGKILL', child.stderr);
  const left = fs.readdirSync(path.join(root, 'x'));
  assert.equal(left.length, 1, 'the write got as far as its temporary file');
  assert.match(left[0]!, /^crashed\.dcm\.tmp-[0-9a-f]+$/);
  assert.equal(fs.existsSync(path.join(root, 'x', 'crashed.dcm')), false);
});

test("a directory removed behind the writer's back is made again by the next write", async () => {
  const root = path.join(tmp, 'dirs');
  const files = new SealedFiles(root);
  const one = randomBytes(10_000);
  await store(files, 'd/e/one', one);
  // The writer now knows d/e; take it away, as an operator cleaning up might.
  fs.rmSync(path.join(root, 'd'), { recursive: true });
  const two = randomBytes(10_000);
  await store(files, 'd/e/two', two);
  assert.deepEqual(await readAll(files.openRead('d/e/two', key, aad)), two);
  assert.deepEqual(fs.readdirSync(path.join(root, 'd', 'e')), ['two']);
});

test('a stored file that was altered, cut or read with another binding fails to read', async () => {
  const root = path.join(tmp, 'tamper');
  const files = new SealedFiles(root);
  const plain = randomBytes(1_000_000);
  await store(files, 'f', plain, 65_536);
  const file = path.join(root, 'f');
  const good = fs.readFileSync(file);

  const bad = Buffer.from(good);
  bad[600_000]! ^= 1;
  fs.writeFileSync(file, bad);
  const opened = files.openRead('f', key, aad);
  const got: Buffer[] = [];
  await assert.rejects(
    (async () => {
      for await (const b of opened) got.push(b as Buffer);
    })(),
    DecryptionError,
  );
  const out = Buffer.concat(got);
  assert.ok(
    out.length < 600_000 && out.equals(plain.subarray(0, out.length)),
    'only authenticated chunks before the altered one',
  );
  assert.deepEqual(await files.readRange('f', key, aad, 0, 100), plain.subarray(0, 100));
  await assert.rejects(files.readRange('f', key, aad, 590_000, 100), DecryptionError);

  fs.writeFileSync(file, good.subarray(0, good.length - 70_000));
  await assert.rejects(readAll(files.openRead('f', key, aad)), DecryptionError);

  fs.writeFileSync(file, good);
  await assert.rejects(readAll(files.openRead('f', key, Buffer.from('another binding'))), DecryptionError);
  await assert.rejects(readAll(files.openRead('missing', key, aad)), { code: 'ENOENT' });
  assert.deepEqual(await readAll(files.openRead('f', key, aad)), plain);
});

test('paths that could leave the root or pass for a temporary file are refused', async () => {
  const files = new SealedFiles(path.join(tmp, 'paths'));
  const bad = [
    '',
    '/etc/passwd',
    '..',
    '../x',
    'a/../../x',
    'a/..',
    './a',
    'a/./b',
    'a//b',
    'a/',
    'a\\b',
    'a b',
    'ä',
    'a\0b',
    'x.tmp-0011',
    'a/b.tmp-x/c',
  ];
  for (const p of bad) {
    assert.throws(() => files.create(p, key, aad), /invalid sealed file path/, JSON.stringify(p));
    assert.throws(() => files.openRead(p, key, aad), /invalid sealed file path/, JSON.stringify(p));
    await assert.rejects(files.readRange(p, key, aad, 0, 1), /invalid sealed file path/, JSON.stringify(p));
    await assert.rejects(files.plainSize(p), /invalid sealed file path/, JSON.stringify(p));
    await assert.rejects(files.remove(p), /invalid sealed file path/, JSON.stringify(p));
  }
  assert.equal(fs.existsSync(path.join(tmp, 'paths')), false, 'nothing was created');
  for (const p of ['a', 'A-Z_0.9', '1.2.840.10008/x.dcm', '...', '.hidden']) {
    const w = files.create(p, key, aad);
    await w.abort();
  }
});

test('writes interleaved piece by piece, as from several associations at once, each keep their own bytes (the sealer frees its buffers after each write)', async () => {
  const files = new SealedFiles(path.join(tmp, 'interleaved'));
  const plains = Array.from({ length: 4 }, (_, i) => randomBytes(700_000 + i * 100_003));
  const writes = plains.map((_, i) => files.create(`d/${i}.dcm`, key, aad));
  const piecesOf = plains.map((p) => [...pieces(p, 70_000)]);
  for (let i = 0; piecesOf.some((p) => i < p.length); i++)
    await Promise.all(
      writes.map(async (w, s) => {
        const piece = piecesOf[s]![i];
        if (piece && !w.stream.write(piece)) await new Promise((r) => w.stream.once('drain', r));
      }),
    );
  assert.deepEqual(
    (await Promise.all(writes.map((w) => w.commit()))).map((r) => r.size),
    plains.map((p) => p.length),
  );
  for (const [i, plain] of plains.entries())
    assert.deepEqual(await readAll(files.openRead(`d/${i}.dcm`, key, aad)), plain, `file ${i}`);
  for (const p of piecesOf.flat()) assert.ok(p.length > 0, "the writer's input is never freed");
});

test("commit resolves only once the file's data and its new directory entry are synced, the two syncs side by side", async () => {
  const root = path.join(tmp, 'order');
  const files = new SealedFiles(root);
  await store(files, 'o/first', randomBytes(1_000)); // the directory is known from here on: one sync for it
  const events: string[] = [];
  let running = 0;
  let together = 0;
  type Sync = (fd: number, cb: (e: NodeJS.ErrnoException | null) => void) => void;
  const { fsync, fdatasync } = fs as unknown as { fsync: Sync; fdatasync: Sync };
  const held =
    (name: string, real: Sync): Sync =>
    (fd, cb) => {
      running++;
      events.push(`${name} start`);
      // Both wait a while: if they ran one after the other, neither would see the other running.
      setTimeout(() => {
        together = Math.max(together, running);
        real(fd, (e) => {
          running--;
          events.push(`${name} end`);
          cb(e);
        });
      }, 50);
    };
  const hooks = fs as unknown as { fsync: Sync; fdatasync: Sync };
  hooks.fsync = held('sync', fsync);
  hooks.fdatasync = held('datasync', fdatasync);
  try {
    const w = files.create('o/second', key, aad);
    w.stream.write(randomBytes(200_000));
    const committed = w.commit().then(() => events.push('committed'));
    await committed;
  } finally {
    hooks.fsync = fsync;
    hooks.fdatasync = fdatasync;
  }
  assert.deepEqual(events.slice(-1), ['committed']);
  assert.deepEqual(events.filter((e) => e.endsWith('start')).sort(), ['datasync start', 'sync start']);
  assert.equal(together, 2, 'the file and its directory are synced side by side');
  assert.ok(fs.existsSync(path.join(root, 'o', 'second')));
});

test('reading a file leaves no descriptor open: read to the end, stopped early, failing, or never started', async () => {
  const root = path.join(tmp, 'descriptors');
  const files = new SealedFiles(root);
  const plain = randomBytes(3_000_000);
  await store(files, 'g', plain, 262_144);
  const open = () => fs.readdirSync('/proc/self/fd').length;
  const before = open();
  assert.deepEqual(await readAll(files.openRead('g', key, aad)), plain);
  const early = files.openRead('g', key, aad);
  assert.ok(!(await early.next()).done);
  assert.equal(open(), before + 1, 'open while being read');
  await early.return(undefined);
  await assert.rejects(readAll(files.openRead('g', key, Buffer.from('another binding'))), DecryptionError);
  await assert.rejects(readAll(files.openRead('missing', key, aad)), { code: 'ENOENT' });
  files.openRead('g', key, aad); // never started: nothing is opened until the first read
  assert.equal(open(), before);
});

test('writing leaves no descriptor open and no file behind: committed, aborted at every step, failing to write or to sync, 50 at once', async () => {
  const root = path.join(tmp, 'write-descriptors');
  const files = new SealedFiles(root);
  const open = () => fs.readdirSync('/proc/self/fd').length;
  await store(files, 'w/warm', randomBytes(1_000)); // the directory is known from here on
  const before = open();
  // Committed, 50 side by side.
  await Promise.all(Array.from({ length: 50 }, (_, i) => store(files, `w/c${i}`, randomBytes(70_000))));
  assert.equal(open(), before, 'after 50 commits');
  // Aborted before the file is open, mid-write, and after the last byte but before commit.
  const early = files.create('w/a0', key, aad);
  await early.abort();
  const mid = files.create('w/a1', key, aad);
  mid.stream.write(randomBytes(300_000));
  await new Promise((r) => setImmediate(r));
  await mid.abort();
  const ended = files.create('w/a2', key, aad);
  ended.stream.end(randomBytes(10_000));
  await new Promise((r) => ended.stream.once('finish', r));
  await ended.abort();
  assert.equal(open(), before, 'after three aborts');
  // A write that fails (the descriptor is taken away under it) and a sync that fails.
  const failing = files.create('w/f0', key, aad);
  failing.stream.write(randomBytes(10_000));
  await new Promise((r) => setImmediate(r));
  const { writevSync } = fs;
  (fs as { writevSync: typeof fs.writevSync }).writevSync = () => {
    throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
  };
  try {
    failing.stream.write(randomBytes(300_000));
    await assert.rejects(failing.commit(), { code: 'ENOSPC' });
  } finally {
    (fs as { writevSync: typeof fs.writevSync }).writevSync = writevSync;
  }
  type Sync = (fd: number, cb: (e: NodeJS.ErrnoException | null) => void) => void;
  const hooks = fs as unknown as { fdatasync: Sync };
  const { fdatasync } = hooks;
  hooks.fdatasync = (_fd, cb) => setImmediate(() => cb(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' })));
  try {
    const syncFails = files.create('w/f1', key, aad);
    syncFails.stream.end(randomBytes(10_000));
    await assert.rejects(syncFails.commit(), { code: 'EIO' });
  } finally {
    hooks.fdatasync = fdatasync;
  }
  assert.equal(open(), before, 'after a failed write and a failed sync');
  const left = filesUnder(path.join(root, 'w')).map((f) => path.basename(f));
  assert.deepEqual(left.sort(), ['warm', ...Array.from({ length: 50 }, (_, i) => `c${i}`)].sort());
});
