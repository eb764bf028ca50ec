// Attacks on the sealed files' synchronous writes (issue 18, ingest): writes,
// rename and close on the event loop, the two syncs on the thread pool.
// - 120 writes at once with their syncs held for random times: no descriptor is
//   closed while a sync on it runs (a reused number would sync another file),
//   each fdatasync names the file it was meant for from start to end, and a
//   commit resolves only once its file's data and a directory sync that saw
//   its final name are done.
// - 150 writes at once, each ended its own way (committed, aborted before the
//   open, mid-write or after the last byte, destroyed with an error, a short
//   write, a failing directory sync, a rename that fails): afterwards the
//   process holds exactly the descriptors it held before, no temporary file is
//   left, and the final names are exactly those of the commits that resolved,
//   each readable.
// - The directory removed between writes, and under an open write.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes, randomInt } from 'node:crypto';
import { bindingBytes } from '../../src/vault/aead.ts';
import { SealedFiles } from '../../src/vault/sealed-files.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-attack-sealed-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const key = randomBytes(32);
const aad = bindingBytes({ tenantId: 't1', table: 'instances', rowId: 'i1', field: 'blob' });
const descriptors = () => fs.readdirSync('/proc/self/fd').length;
/** The open descriptors and what each is on. */
const openFiles = () => fs.readdirSync('/proc/self/fd').map((fd) => `${fd} ${target(Number(fd))}`);
const tick = () => new Promise((r) => setImmediate(r));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Callback = (e: NodeJS.ErrnoException | null) => void;
type Sync = (fd: number, cb: Callback) => void;
type Fs = {
  fsync: Sync;
  fdatasync: Sync;
  closeSync: (fd: number) => void;
  writevSync: typeof fs.writevSync;
  renameSync: typeof fs.renameSync;
};
const hooks = fs as unknown as Fs;

/** Runs `work` with some of fs's functions replaced, and puts them back whatever happens. */
async function patched<T>(replace: Partial<Fs>, work: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(replace).map((k) => [k, hooks[k as keyof Fs]]));
  Object.assign(hooks, replace);
  try {
    return await work();
  } finally {
    Object.assign(hooks, saved);
  }
}

async function readAll(r: AsyncIterable<Buffer>): Promise<Buffer> {
  const got: Buffer[] = [];
  for await (const b of r) got.push(b);
  return Buffer.concat(got);
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => fs.statSync(path.join(dir, f)).isFile());
}

test('120 writes with their syncs held: no descriptor closed under a running sync, each sync on its own file, commit only after both syncs', async () => {
  const root = path.join(tmp, 'held');
  const files = new SealedFiles(root);
  const w0 = files.create('d0/warm', key, aad);
  w0.stream.end(randomBytes(10));
  await w0.commit();
  const { fsync, fdatasync, closeSync } = hooks;
  const running = new Map<number, string>(); // descriptor → what its sync is on
  const violations: string[] = [];
  const dataSynced = new Set<string>(); // files whose fdatasync finished
  const durable = new Set<string>(); // final names a finished directory sync saw
  const target = (fd: number) => fs.readlinkSync(`/proc/self/fd/${fd}`);
  const held =
    (real: Sync, onDone: (what: string, seen: string[]) => void): Sync =>
    (fd, cb) => {
      const what = target(fd);
      if (running.has(fd)) violations.push(`two syncs at once on descriptor ${fd}`);
      running.set(fd, what);
      const seen = fs.statSync(what).isDirectory() ? fs.readdirSync(what).map((n) => path.join(what, n)) : [];
      setTimeout(
        () =>
          real(fd, (e) => {
            if (target(fd) !== what)
              violations.push(`descriptor ${fd} changed from ${what} to ${target(fd)} during its sync`);
            running.delete(fd);
            if (!e) onDone(what, seen);
            cb(e);
          }),
        randomInt(0, 25),
      );
    };
  const plain = Array.from({ length: 120 }, () => randomBytes(randomInt(1, 200_000)));
  await patched(
    {
      fdatasync: held(fdatasync, (what) => dataSynced.add(what)),
      fsync: held(fsync, (_what, seen) => {
        for (const f of seen) durable.add(f);
      }),
      closeSync: (fd) => {
        if (running.has(fd)) violations.push(`descriptor ${fd} (${running.get(fd)}) closed while its sync runs`);
        closeSync(fd);
      },
    },
    () =>
      Promise.all(
        plain.map(async (p, i) => {
          // Half into the known directory, half into new ones (whose parents are synced too).
          const rel = i % 2 ? `d0/f${i}` : `d${(i % 7) + 1}/s${i % 3}/f${i}`;
          const w = files.create(rel, key, aad);
          for (let at = 0; at < p.length; at += 65_536) {
            if (!w.stream.write(p.subarray(at, at + 65_536))) await new Promise((r) => w.stream.once('drain', r));
            if (randomInt(3) === 0) await tick();
          }
          await w.commit();
          const file = path.join(root, rel);
          if (!dataSynced.has(file)) violations.push(`${rel} committed before its fdatasync finished`);
          if (!durable.has(file)) violations.push(`${rel} committed before a directory sync that saw it finished`);
        }),
      ),
  );
  assert.deepEqual(violations, []);
  for (const [i, p] of plain.entries()) {
    const rel = i % 2 ? `d0/f${i}` : `d${(i % 7) + 1}/s${i % 3}/f${i}`;
    assert.ok((await readAll(files.openRead(rel, key, aad))).equals(p), rel);
  }
});

test('150 writes at once ended every way: the same descriptors afterwards, no temporary file, exactly the resolved commits under their names', async () => {
  const root = path.join(tmp, 'many');
  const files = new SealedFiles(root);
  const w0 = files.create('m/warm', key, aad);
  w0.stream.end(randomBytes(10));
  await w0.commit();
  const before = openFiles();
  const { fsync, writevSync, renameSync } = hooks;
  const kinds = [
    'commit',
    'abort-early',
    'abort-mid',
    'abort-ended',
    'destroy',
    'short-write',
    'dir-sync-fails',
    'rename-fails',
    'abort-during-commit',
  ] as const;
  const committed = new Map<string, Buffer>();
  const outcomes = new Map<string, number>();
  await patched(
    {
      fsync: (fd, cb) => {
        if (target(fd).includes('dir-sync-fails'))
          return setImmediate(() => cb(Object.assign(new Error('EIO'), { code: 'EIO' })));
        fsync(fd, cb);
      },
      writevSync: ((fd: number, bufs: NodeJS.ArrayBufferView[], pos?: number) => {
        const n = writevSync(fd, bufs, pos);
        return target(fd).includes('short') ? n - 1 : n;
      }) as typeof fs.writevSync,
      renameSync: (from, to) => {
        if (String(to).includes('rename')) throw Object.assign(new Error('EXDEV'), { code: 'EXDEV' });
        renameSync(from, to);
      },
    },
    () =>
      Promise.all(
        Array.from({ length: 150 }, async (_, i) => {
          const kind = kinds[i % kinds.length]!;
          // A directory of its own for each failing directory sync.
          const rel = kind === 'dir-sync-fails' ? `m/${kind}-${i}/f` : `m/${kind}-${i}`;
          const plain = randomBytes(randomInt(1, 300_000));
          const w = files.create(rel, key, aad);
          if (kind === 'abort-early') return void (await w.abort());
          w.stream.on('error', () => undefined);
          w.stream.write(plain.subarray(0, plain.length >> 1));
          await tick();
          if (kind === 'abort-mid') return void (await w.abort());
          if (kind === 'destroy') {
            w.stream.destroy(new Error('the sender went away'));
            await assert.rejects(w.commit());
            return void outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
          }
          w.stream.end(plain.subarray(plain.length >> 1));
          if (kind === 'abort-ended') {
            await new Promise((r) => w.stream.once('finish', r));
            return void (await w.abort());
          }
          const commit = w.commit();
          if (kind === 'abort-during-commit') await w.abort();
          try {
            await commit;
            committed.set(rel, plain);
          } catch {
            outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
          }
        }),
      ),
  );
  assert.deepEqual(
    openFiles().filter((f) => !before.includes(f)),
    [],
    'every descriptor is closed',
  );
  const left = filesUnder(path.join(root, 'm')).filter((f) => f !== 'warm');
  assert.deepEqual(
    left.filter((f) => f.includes('.tmp-')),
    [],
    'no temporary file is left',
  );
  assert.deepEqual(left.sort(), [...committed.keys()].map((r) => r.slice(2)).sort(), 'exactly the resolved commits');
  for (const kind of ['short-write', 'rename-fails', 'dir-sync-fails', 'destroy'] as const)
    assert.ok((outcomes.get(kind) ?? 0) > 0, `${kind} made commits fail`);
  assert.ok(
    [...committed.keys()].some((r) => r.includes('/commit-')),
    'plain commits resolved',
  );
  for (const [rel, plain] of committed) assert.ok((await readAll(files.openRead(rel, key, aad))).equals(plain), rel);
});

function target(fd: number) {
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return '';
  }
}

test('the directory removed between writes is made again; removed under an open write, that commit fails and leaves nothing', async () => {
  const root = path.join(tmp, 'gone');
  const files = new SealedFiles(root);
  const put = async (rel: string, plain: Buffer) => {
    const w = files.create(rel, key, aad);
    w.stream.end(plain);
    return w.commit();
  };
  await put('g/a', randomBytes(1_000));
  const before = descriptors();
  fs.rmSync(path.join(root, 'g'), { recursive: true });
  const plain = randomBytes(100_000);
  await put('g/b', plain);
  assert.ok((await readAll(files.openRead('g/b', key, aad))).equals(plain), 'written after the directory came back');
  // Removed while a write holds its temporary file open: the rename cannot find it.
  const w = files.create('g/c', key, aad);
  w.stream.write(randomBytes(50_000));
  await sleep(20);
  fs.rmSync(path.join(root, 'g'), { recursive: true });
  w.stream.end(randomBytes(10));
  await assert.rejects(w.commit(), { code: 'ENOENT' });
  assert.equal(descriptors(), before, 'no descriptor left open');
  assert.deepEqual(filesUnder(root), []);
  await put('g/d', plain);
  assert.deepEqual(filesUnder(root), ['g/d']);
});

test('a dataset in 4-byte pieces (a peer sending tiny PDVs) costs the event loop no write call per piece, at most two per sealed chunk', async () => {
  const root = path.join(tmp, 'tiny');
  const files = new SealedFiles(root);
  const plain = randomBytes(1024 * 1024 + 13);
  const { writevSync } = hooks;
  let calls = 0;
  let bytes = 0;
  await patched(
    {
      writevSync: ((fd: number, bufs: NodeJS.ArrayBufferView[], pos?: number) => {
        calls++;
        const n = writevSync(fd, bufs, pos);
        bytes += n;
        return n;
      }) as typeof fs.writevSync,
    },
    async () => {
      const w = files.create('t/one', key, aad);
      for (let at = 0; at < plain.length; at += 4) {
        if (!w.stream.write(plain.subarray(at, at + 4))) await new Promise((r) => w.stream.once('drain', r));
      }
      await w.commit();
    },
  );
  assert.equal(bytes, fs.statSync(path.join(root, 't/one')).size, 'every sealed byte written once');
  // At most two calls a sealed chunk (one that straddles a 64 KiB boundary of the file is cut there): 262,147 pieces.
  assert.ok(calls <= 2 * Math.ceil(bytes / 65_536) + 2, `${calls} write calls for ${bytes} bytes`);
  assert.ok((await readAll(files.openRead('t/one', key, aad))).equals(plain));
});

test('a commit whose new directory fails to sync settles only after the parents’ syncs it started: none runs on, holding a descriptor, after it', async () => {
  const root = path.join(tmp, 'parents');
  const files = new SealedFiles(root);
  const w0 = files.create('p/warm', key, aad);
  w0.stream.end(randomBytes(10));
  await w0.commit(); // p is known; p/new is not, so its commit syncs p/new and p
  const { fsync } = hooks;
  const events: string[] = [];
  await patched(
    {
      fsync: (fd, cb) => {
        const dir = path.basename(target(fd));
        if (dir === 'new') return setImmediate(() => cb(Object.assign(new Error('EIO'), { code: 'EIO' })));
        // The parent's sync is slow: it ends well after the new directory's has failed.
        setTimeout(
          () =>
            fsync(fd, (e) => {
              events.push(`${dir} synced`);
              cb(e);
            }),
          50,
        );
      },
    },
    async () => {
      const w = files.create('p/new/f', key, aad);
      w.stream.end(randomBytes(1_000));
      await assert.rejects(w.commit(), { code: 'EIO' });
      events.push('commit settled');
    },
  );
  assert.deepEqual(events, ['p synced', 'commit settled']);
  assert.deepEqual(
    openFiles().filter((f) => f.includes(root)),
    [],
    'no directory of the store is held open',
  );
});
