// What every SealedStore does, run against each store: files under a directory
// and rows in PostgreSQL (the latter only with KARTEI_TEST_PG). What goes in
// comes out, whole or in ranges; nothing is under the final name before commit,
// nothing after an abort, a failed source or a killed process (only a temporary
// entry, which removeLeftover takes); a commit onto a taken name replaces it
// whole; a flipped byte fails to open; the stored bytes hold no plaintext; a
// large object is never held whole in memory; several writes at once keep
// their own bytes. For the database also: its rows are walled by office.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { sql } from 'kysely';
import { bindingBytes, DecryptionError } from '../../src/vault/aead.ts';
import { SealedFiles } from '../../src/vault/sealed-files.ts';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { readS3Credentials, s3SealedStore } from '../../src/vault/sealed-objects-s3.ts';
import { startS3Server } from '../helpers/s3-server.ts';
import { SealedRows } from '../../src/vault/sealed-rows.ts';
import type { SealedStore } from '../../src/vault/sealed-store.ts';
import { openStore, type Store } from '../../src/db/connect.ts';
import { freshPostgres, PG_ADMIN } from '../helpers/harness.ts';

const key = randomBytes(32);
const aad = bindingBytes({ tenantId: 't1', table: 'instances', rowId: 'i1', field: 'blob' });

/** One store under test and what a test needs to see behind its back. */
interface Subject {
  store: SealedStore;
  /** Flips one bit of the stored sealed bytes of a committed object, `at` bytes into its chunks. */
  flip(relPath: string, at: number): Promise<void>;
  /** Every byte the medium holds, as pieces (files' contents; the tables' rows). */
  stored(): Promise<Buffer[]>;
  /** A script for a child process that makes the same store as `child` in its scope. */
  childPrelude: string;
  childEnv: Record<string, string>;
  close(): Promise<void>;
}

const fileSubject = (): Subject => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kartei-contract-'));
  const under = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const p = path.join(dir, e.name);
      return e.isDirectory() ? under(p) : [p];
    });
  const module = new URL('../../src/vault/sealed-files.ts', import.meta.url).href;
  return {
    store: new SealedFiles(root),
    async flip(relPath, at) {
      const f = path.join(root, relPath);
      const bytes = fs.readFileSync(f);
      bytes[at + 48]! ^= 1; // past the header (48 bytes)
      fs.writeFileSync(f, bytes);
    },
    stored: async () => under(root).map((f) => fs.readFileSync(f)),
    childPrelude: `import { SealedFiles } from ${JSON.stringify(module)};
      const child = new SealedFiles(process.env.ROOT);`,
    childEnv: { ROOT: root },
    close: async () => fs.rmSync(root, { recursive: true, force: true }),
  };
};

async function rowSubject(): Promise<Subject & { db: Store; admin: pg.Pool }> {
  const urls = await freshPostgres();
  const db = await openStore({ dataDir: os.tmpdir(), ...urls });
  const admin = new pg.Pool({ connectionString: urls.databaseAdminUrl, max: 2 });
  const store = new SealedRows(db, 'images');
  const connect = new URL('../../src/db/connect.ts', import.meta.url).href;
  const rows = new URL('../../src/vault/sealed-rows.ts', import.meta.url).href;
  return {
    db,
    admin,
    store,
    async flip(relPath, at) {
      const seg = (
        await admin.query<{ bytes: Buffer; n: number; id: number }>(
          `select c.object_id as id, c.n, c.bytes from sealed_chunks c join sealed_objects o on o.id = c.object_id
           where o.path = $1 and o.committed order by c.n`,
          [relPath],
        )
      ).rows;
      let off = at;
      for (const c of seg) {
        if (off < c.bytes.length) {
          c.bytes[off]! ^= 1;
          await admin.query('update sealed_chunks set bytes = $1 where object_id = $2 and n = $3', [
            c.bytes,
            c.id,
            c.n,
          ]);
          return;
        }
        off -= c.bytes.length;
      }
      throw new Error('past the end');
    },
    async stored() {
      const objects = await admin.query<{ header: Buffer; path: string }>('select header, path from sealed_objects');
      const chunks = await admin.query<{ bytes: Buffer }>('select bytes from sealed_chunks');
      return [...objects.rows.flatMap((o) => [o.header, Buffer.from(o.path)]), ...chunks.rows.map((c) => c.bytes)];
    },
    childPrelude: `import { openStore } from ${JSON.stringify(connect)};
      import { SealedRows } from ${JSON.stringify(rows)};
      const db = await openStore({ dataDir: '/tmp', databaseUrl: process.env.DB, databaseAdminUrl: process.env.ADMIN });
      const child = new SealedRows(db, 'images');`,
    childEnv: { DB: urls.databaseUrl, ADMIN: urls.databaseAdminUrl },
    async close() {
      await admin.end();
      await store.close();
      await db.close();
    },
  };
}

async function s3Subject(): Promise<Subject> {
  const server = await startS3Server();
  const store = s3SealedStore(server.config, 'images');
  const s3 = new S3Client({
    endpoint: server.config.endpoint,
    region: server.config.region,
    credentials: readS3Credentials(server.config.credentialsFile),
    forcePathStyle: true,
  });
  const objectKey = (relPath: string) => `${server.config.prefix}images/${relPath}`;
  const under = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const p = path.join(dir, e.name);
      return e.isDirectory() ? under(p) : [p];
    });
  const module = new URL('../../src/vault/sealed-objects-s3.ts', import.meta.url).href;
  return {
    store,
    async flip(relPath, at) {
      const res = await s3.send(new GetObjectCommand({ Bucket: server.config.bucket, Key: objectKey(relPath) }));
      const bytes = Buffer.from(await res.Body!.transformToByteArray());
      bytes[at + 48]! ^= 1;
      await s3.send(new PutObjectCommand({ Bucket: server.config.bucket, Key: objectKey(relPath), Body: bytes }));
    },
    stored: async () => under(server.directory).map((f) => fs.readFileSync(f)),
    childPrelude: `import { s3SealedStore } from ${JSON.stringify(module)};
      const child = s3SealedStore(JSON.parse(process.env.S3), 'images');`,
    childEnv: { S3: JSON.stringify(server.config) },
    async close() {
      s3.destroy();
      await server.stop();
    },
  };
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

async function put(s: SealedStore, relPath: string, plain: Buffer, chunkSize?: number) {
  const w = s.create(relPath, key, aad, { chunkSize });
  await pipeline(Readable.from(pieces(plain, 500_000)), w.stream);
  return w.commit();
}

async function entries(s: SealedStore) {
  const all = [];
  for await (const e of s.walk()) all.push(e);
  return all.sort((a, b) => a.relPath.localeCompare(b.relPath));
}

const kinds: { name: string; make: () => Promise<Subject>; skip?: string }[] = [
  { name: 'files', make: async () => fileSubject() },
  { name: 'database', make: rowSubject, skip: PG_ADMIN ? undefined : 'needs KARTEI_TEST_PG' },
  { name: 's3', make: s3Subject },
];

for (const kind of kinds) {
  describe(`sealed store: ${kind.name}`, { skip: kind.skip }, () => {
    let s: Subject;
    before(async () => {
      s = await kind.make();
    });
    after(() => s?.close());

    test('what is written comes back whole and in ranges; plainSize without the key; remove, then ENOENT', async () => {
      const plain = randomBytes(3 * 1024 * 1024 + 17);
      assert.deepEqual(await put(s.store, 't1/a/b/instance.dcm', plain, 4096), { size: plain.length });
      assert.deepEqual(await readAll(s.store.openRead('t1/a/b/instance.dcm', key, aad)), plain);
      assert.equal(await s.store.plainSize('t1/a/b/instance.dcm'), plain.length);
      for (const [start, length] of [
        [0, 10],
        [4095, 2],
        [4096, 4096],
        [plain.length - 1, 1],
        [1_000_000, 300_000],
        [5, 0],
      ] as const) {
        assert.deepEqual(
          await s.store.readRange('t1/a/b/instance.dcm', key, aad, start, length),
          plain.subarray(start, start + length),
        );
      }
      await assert.rejects(s.store.readRange('t1/a/b/instance.dcm', key, aad, plain.length, 1), RangeError);
      const big = randomBytes(1_000_000);
      await put(s.store, 't1/a/default', big);
      assert.deepEqual(await readAll(s.store.openRead('t1/a/default', key, aad)), big);
      assert.deepEqual(
        await s.store.readRange('t1/a/default', key, aad, 262_000, 600_000),
        big.subarray(262_000, 862_000),
      );

      assert.equal((await put(s.store, 't1/empty', Buffer.alloc(0))).size, 0);
      assert.deepEqual(await readAll(s.store.openRead('t1/empty', key, aad)), Buffer.alloc(0));
      assert.equal(await s.store.plainSize('t1/empty'), 0);
      await s.store.remove('t1/empty');
      await assert.rejects(s.store.plainSize('t1/empty'), { code: 'ENOENT' });
      await assert.rejects(s.store.remove('t1/empty'), { code: 'ENOENT' });
      await assert.rejects(readAll(s.store.openRead('t1/missing', key, aad)), { code: 'ENOENT' });
      await assert.rejects(s.store.readRange('t1/missing', key, aad, 0, 1), { code: 'ENOENT' });
      assert.throws(() => s.store.create('t1/../x', key, aad), /invalid sealed file path/);
      assert.throws(() => s.store.openRead('t1/x.tmp-1', key, aad), /invalid sealed file path/);
    });

    test('nothing under the final name before commit; abort and a failing source leave nothing; a commit onto a taken name replaces it whole', async () => {
      const w = s.store.create('t1/atomic/one', key, aad);
      // More than one part of an S3 upload: a smaller object has no temporary entry there (it goes up whole at commit).
      await pipeline(Readable.from(pieces(randomBytes(8_000_000), 100_000)), w.stream);
      const during = (await entries(s.store)).filter((e) => e.relPath.startsWith('t1/atomic/'));
      assert.equal(during.length, 1, 'a temporary entry while it is written');
      assert.equal(during[0]!.temporary, true);
      await assert.rejects(readAll(s.store.openRead('t1/atomic/one', key, aad)), { code: 'ENOENT' });
      await w.abort();
      assert.deepEqual(
        (await entries(s.store)).filter((e) => e.relPath.startsWith('t1/atomic/')),
        [],
        'abort leaves nothing',
      );
      await assert.rejects(w.commit(), /aborted/);

      const failing = s.store.create('t1/atomic/two', key, aad);
      async function* broken() {
        yield randomBytes(1_500_000);
        yield randomBytes(1_500_000);
        throw new Error('client went away');
      }
      await assert.rejects(pipeline(broken(), failing.stream), /client went away/);
      await assert.rejects(failing.commit());
      await failing.abort();
      assert.deepEqual(
        (await entries(s.store)).filter((e) => e.relPath.startsWith('t1/atomic/')),
        [],
      );

      // Files rename onto a taken name and so replace it; the database does the same, in one transaction.
      const v1 = randomBytes(100_000);
      const v2 = randomBytes(2_000_000);
      await put(s.store, 't1/atomic/four', v1);
      const replacing = s.store.create('t1/atomic/four', key, aad);
      await pipeline(Readable.from(pieces(v2, 300_000)), replacing.stream);
      assert.deepEqual(await readAll(s.store.openRead('t1/atomic/four', key, aad)), v1, 'the old one until commit');
      await replacing.commit();
      assert.deepEqual(await readAll(s.store.openRead('t1/atomic/four', key, aad)), v2);
      const after = (await entries(s.store)).filter((e) => e.relPath.startsWith('t1/atomic/'));
      assert.deepEqual(
        after.map((e) => [e.relPath, e.temporary]),
        [['t1/atomic/four', false]],
      );
      assert.deepEqual(await replacing.commit(), { size: v2.length }, 'commit answers again');
      await replacing.abort();
      assert.deepEqual(
        await readAll(s.store.openRead('t1/atomic/four', key, aad)),
        v2,
        'abort after commit changes nothing',
      );
      if (s.store.shared)
        for (const e of after) assert.ok(e.modifiedAt && Date.now() - e.modifiedAt.getTime() < 60_000, 'modifiedAt');
    });

    test('a process killed before commit leaves only a temporary entry, which removeLeftover takes', async () => {
      const script = `${s.childPrelude}
        const w = child.create('t1/crash/crashed.dcm', Buffer.alloc(32, 7), Buffer.from('aad'));
        w.stream.write(Buffer.alloc(8 * 1024 * 1024, 0x41));
        setInterval(() => {}, 1000);`;
      const proc = spawn(process.execPath, ['--input-type=module', '-e', script], {
        env: { ...process.env, ...s.childEnv },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      proc.stderr.on('data', (d) => {
        stderr += d;
      });
      const exited = new Promise<[number | null, string | null]>((r) => proc.on('exit', (code, sig) => r([code, sig])));
      // Killed once its write shows as an entry (not after a fixed time: on a loaded machine an upload can take longer).
      const crashEntries = async () => (await entries(s.store)).filter((e) => e.relPath.startsWith('t1/crash/'));
      for (let waited = 0; waited < 30_000 && (await crashEntries()).length === 0; waited += 50)
        await new Promise((r) => setTimeout(r, 50));
      proc.kill('SIGKILL');
      const [, signal] = await exited;
      assert.equal(signal, 'SIGKILL', stderr);
      const left = (await entries(s.store)).filter((e) => e.relPath.startsWith('t1/crash/'));
      assert.equal(left.length, 1, 'the write got as far as a temporary entry');
      assert.equal(left[0]!.temporary, true);
      assert.match(left[0]!.relPath, /^t1\/crash\/crashed\.dcm\.tmp-[0-9a-f]+$/);
      await assert.rejects(s.store.plainSize('t1/crash/crashed.dcm'), { code: 'ENOENT' });
      await s.store.removeLeftover(left[0]!.relPath);
      assert.deepEqual(
        (await entries(s.store)).filter((e) => e.relPath.startsWith('t1/crash/')),
        [],
      );
    });

    test('a flipped bit in a stored chunk fails to open; the chunks before it come out, later ranges fail', async () => {
      const plain = randomBytes(1_000_000);
      await put(s.store, 't1/tamper/f', plain, 65_536);
      await s.flip('t1/tamper/f', 600_000);
      const got: Buffer[] = [];
      await assert.rejects(
        (async () => {
          for await (const b of s.store.openRead('t1/tamper/f', key, aad)) got.push(b as Buffer);
        })(),
        DecryptionError,
      );
      const out = Buffer.concat(got);
      assert.ok(out.length < 600_000 && out.equals(plain.subarray(0, out.length)), 'only authenticated chunks');
      assert.deepEqual(await s.store.readRange('t1/tamper/f', key, aad, 0, 100), plain.subarray(0, 100));
      await assert.rejects(s.store.readRange('t1/tamper/f', key, aad, 590_000, 100), DecryptionError);
      await put(s.store, 't1/tamper/g', plain);
      await assert.rejects(
        readAll(s.store.openRead('t1/tamper/g', key, Buffer.from('another binding'))),
        DecryptionError,
      );
      await assert.rejects(readAll(s.store.openRead('t1/tamper/g', randomBytes(32), aad)), DecryptionError);
    });

    test('the stored bytes hold no plaintext: a name written all through an object is found nowhere', async () => {
      const marker = 'Patientin Hannelore Quastenberg, geb. 12.03.1961';
      const plain = Buffer.from(Array.from({ length: 40_000 }, (_, i) => `${i}: ${marker}\n`).join(''), 'utf8');
      assert.ok(plain.includes('Quastenberg'), 'the control: the plaintext holds the marker');
      await put(s.store, 't1/scan/report.txt', plain);
      const needles = ['Quastenberg', 'quastenberg', 'Hannelore', '12.03.1961'].flatMap((x) => [
        Buffer.from(x, 'utf8'),
        Buffer.from(x, 'utf16le'),
      ]);
      const stored = await s.stored();
      assert.ok(stored.reduce((n, b) => n + b.length, 0) > plain.length, 'the scan saw the sealed bytes');
      for (const b of stored) for (const n of needles) assert.equal(b.includes(n), false, n.toString());
    });

    test('writes interleaved piece by piece, as from several associations at once, each keep their own bytes', async () => {
      const plains = Array.from({ length: 6 }, (_, i) => randomBytes(700_000 + i * 300_003));
      const writes = plains.map((_, i) => s.store.create(`t1/many/${i}.dcm`, key, aad));
      const piecesOf = plains.map((p) => [...pieces(p, 70_000)]);
      for (let i = 0; piecesOf.some((p) => i < p.length); i++)
        await Promise.all(
          writes.map(async (w, k) => {
            const piece = piecesOf[k]![i];
            if (piece && !w.stream.write(piece)) await new Promise((r) => w.stream.once('drain', r));
          }),
        );
      assert.deepEqual(
        (await Promise.all(writes.map((w) => w.commit()))).map((r) => r.size),
        plains.map((p) => p.length),
      );
      await Promise.all(
        plains.map(async (plain, i) =>
          assert.deepEqual(await readAll(s.store.openRead(`t1/many/${i}.dcm`, key, aad)), plain, `object ${i}`),
        ),
      );
    });

    test('a 100 MB object is written and read without being held whole in memory', async () => {
      const total = 100 * 1024 * 1024;
      const piece = randomBytes(64 * 1024);
      // What is alive, after a full collection: garbage not yet collected is not held.
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      gc();
      let peak = 0;
      const base = process.memoryUsage().arrayBuffers;
      const sample = () => {
        gc();
        peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
      };
      async function* source() {
        for (let n = 0; n < total; n += piece.length) {
          if (n % (4 * 1024 * 1024) === 0) sample();
          yield piece;
        }
      }
      const w = s.store.create('t1/large/object', key, aad);
      await pipeline(source(), w.stream);
      assert.equal((await w.commit()).size, total);
      const hash = createHash('sha256');
      let n = 0;
      for await (const b of s.store.openRead('t1/large/object', key, aad)) {
        hash.update(b);
        if (Math.floor((n + b.length) / 4194304) > Math.floor(n / 4194304)) sample();
        n += b.length;
      }
      assert.equal(n, total);
      const want = createHash('sha256');
      for (let m = 0; m < total; m += piece.length) want.update(piece);
      assert.equal(hash.digest('hex'), want.digest('hex'));
      // Bounded, not by the object: a few batches, and the database client's buffers, which grow per
      // connection to the largest message it sent or received (a batch, four chunks) and are kept;
      // Node's HTTP client holds up to 8 MB of a response it receives at times (a bare http.get too).
      const bound = (s.store.kind === 's3' ? 24 : 40) * 1024 * 1024;
      assert.ok(peak < bound, `at most ${(peak / 1048576).toFixed(1)} MB of buffers at once`);
      await s.store.remove('t1/large/object');
    });

    if (kind.name === 'database')
      test("the rows are walled by office: another office's transaction sees none of them", async () => {
        const { db } = s as Awaited<ReturnType<typeof rowSubject>>;
        await put(s.store, 't2/walled/x', randomBytes(10_000));
        const seen = (tenant: string) =>
          db.db.transaction().execute(async (tx) => {
            await sql`select set_config('kartei.tenant', ${tenant}, true)`.execute(tx);
            const o = await sql<{
              n: number;
            }>`select count(*)::int as n from sealed_objects where path = 't2/walled/x'`.execute(tx);
            const c = await sql<{ n: number }>`select count(*)::int as n from sealed_chunks c
              join sealed_objects o on o.id = c.object_id where o.tenant_id = 't2'`.execute(tx);
            return [o.rows[0]!.n, c.rows[0]!.n];
          });
        assert.deepEqual(await seen('t2'), [1, 1], 'the control: its own office sees it');
        assert.deepEqual(await seen('t1'), [0, 0]);
        await assert.rejects(
          db.db.transaction().execute(async (tx) => {
            await sql`select set_config('kartei.tenant', 't1', true)`.execute(tx);
            await sql`insert into sealed_objects (area, path, tenant_id, committed, header, writer)
              values ('images', 't2/forged', 't2', true, '\\x00', 'test')`.execute(tx);
          }),
          /row-level security/,
        );
        assert.ok(
          (await entries(s.store)).some((e) => e.relPath === 't2/walled/x'),
          'walk sees every office',
        );
      });

    if (kind.name === 'database')
      test("commits while every connection of the application's pool is held in a transaction (a document commits inside the gate's)", {
        timeout: 120_000,
      }, async () => {
        const { db } = s as Awaited<ReturnType<typeof rowSubject>>;
        const plain = randomBytes(1_500_000);
        await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            db.db.transaction().execute(async (tx) => {
              await sql`select 1`.execute(tx);
              const w = s.store.create(`t1/held/${i}`, key, aad);
              await pipeline(Readable.from(pieces(plain, 200_000)), w.stream);
              await w.commit();
            }),
          ),
        );
        assert.equal(await s.store.plainSize('t1/held/11'), plain.length);
      });
  });
}
