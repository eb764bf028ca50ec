// Attacks on sealed objects kept in PostgreSQL (issue 19, vault/sealed-rows.ts, migration 038), as the
// application's role: crafted paths, objects and chunks swapped between paths and offices behind the
// store's back, a header that claims another key version, one office's session reaching into another
// office's object, a second instance's recovery removing a write another instance is committing, and
// what the application's role may change. PostgreSQL only (skipped without KARTEI_TEST_PG).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { sql } from 'kysely';
import { bindingBytes, DecryptionError } from '../../src/vault/aead.ts';
import { SealedRows } from '../../src/vault/sealed-rows.ts';
import { instanceFileBinding } from '../../src/imaging/instance-store.ts';
import { openStore, type Store } from '../../src/db/connect.ts';
import { freshPostgres, PG_ADMIN } from '../helpers/harness.ts';

const skip = !PG_ADMIN && 'needs KARTEI_TEST_PG';
const keyA = randomBytes(32);
const keyB = randomBytes(32);
const aadOf = (relPath: string) => bindingBytes(instanceFileBinding(relPath.split('/')[0]!, relPath));

async function put(s: SealedRows, relPath: string, plain: Buffer, key = keyA, chunkSize = 1024) {
  const w = s.create(relPath, key, aadOf(relPath), { chunkSize });
  await pipeline(Readable.from([plain]), w.stream);
  return w.commit();
}

async function read(s: SealedRows, relPath: string, key = keyA): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of s.openRead(relPath, key, aadOf(relPath))) parts.push(p);
  return Buffer.concat(parts);
}

describe('sealed objects in PostgreSQL under attack', { skip }, () => {
  let db: Store;
  let admin: pg.Pool;
  let store: SealedRows;
  let appUser: string;
  let urls: Awaited<ReturnType<typeof freshPostgres>>;
  before(async () => {
    urls = await freshPostgres();
    appUser = new URL(urls.databaseUrl).username;
    db = await openStore({ dataDir: os.tmpdir(), ...urls });
    admin = new pg.Pool({ connectionString: urls.databaseAdminUrl, max: 2 });
    store = new SealedRows(db, 'images');
  });
  after(async () => {
    await store?.close();
    await admin?.end();
    await db?.close();
  });

  /** The object's row and chunks, as the database's owner sees them. */
  const rowsOf = async (relPath: string) => {
    const o = (
      await admin.query<{ id: string; header: Buffer; sealed_size: string }>(
        'select id, header, sealed_size from sealed_objects where path = $1 and committed',
        [relPath],
      )
    ).rows[0]!;
    const chunks = (
      await admin.query<{ n: number; bytes: Buffer }>(
        'select n, bytes from sealed_chunks where object_id = $1 order by n',
        [o.id],
      )
    ).rows;
    return { ...o, chunks };
  };

  test('crafted paths are refused before anything is read, written or removed', async () => {
    await put(store, 'tA/secret/1', Buffer.from('office A only'));
    const crafted = [
      'tB/../tA/secret/1',
      '../tA/secret/1',
      'tB/..%2ftA%2fsecret%2f1',
      'tB%2f..%2ftA/secret/1',
      'tB/./../tA/secret/1',
      'tB//tA/secret/1',
      '/tA/secret/1',
      'tA/secret/1/',
      'tA\\secret\\1',
      'tA/secret/1\u0000',
      'tA/secret/\u2215 1',
      'tA/secre\u0074\u0301/1',
      'tA/\uff0e\uff0e/tA/secret/1',
      'tA/secret/1.tmp-1',
      '',
      '.',
      '..',
    ];
    for (const p of crafted) {
      assert.throws(() => store.create(p, keyA, aadOf(p)), /invalid sealed file path/, `create ${JSON.stringify(p)}`);
      assert.throws(() => store.openRead(p, keyA, aadOf(p)), /invalid sealed file path/, `read ${JSON.stringify(p)}`);
      await assert.rejects(store.readRange(p, keyA, aadOf(p), 0, 1), /invalid sealed file path/);
      await assert.rejects(store.plainSize(p), /invalid sealed file path/);
      await assert.rejects(store.remove(p), /invalid sealed file path/);
    }
    await assert.rejects(store.removeLeftover('tB/../tA/secret/1.tmp-1'), /invalid sealed file path/);
    assert.equal((await read(store, 'tA/secret/1')).toString(), 'office A only', 'the object is untouched');
  });

  test('an overlong path is stored and read back whole, or refused with nothing left behind', async () => {
    const long = `tA/${'x'.repeat(250)}/${'y'.repeat(9000)}`;
    const plain = randomBytes(3000);
    const done = await put(store, long, plain).then(
      () => true,
      () => false,
    );
    const left = (await admin.query('select 1 from sealed_objects where path = $1', [long])).rowCount;
    if (done) assert.deepEqual(await read(store, long), plain);
    else assert.equal(left, 0, 'a refused write leaves no row');
  });

  test("an object's rows moved under another office's path (same key) do not open there", async () => {
    await put(store, 'tA/moved/src', Buffer.from('A: Befund von Frau Musterfrau'));
    await put(store, 'tB/moved/dst', Buffer.from('B: harmless'));
    const src = await rowsOf('tA/moved/src');
    const dst = await rowsOf('tB/moved/dst');
    await admin.query('delete from sealed_chunks where object_id = $1', [dst.id]);
    await admin.query('update sealed_objects set header = $1, sealed_size = $2 where id = $3', [
      src.header,
      src.sealed_size,
      dst.id,
    ]);
    for (const c of src.chunks)
      await admin.query('insert into sealed_chunks (object_id, n, tenant_id, bytes) values ($1, $2, $3, $4)', [
        dst.id,
        c.n,
        'tB',
        c.bytes,
      ]);
    await assert.rejects(read(store, 'tB/moved/dst', keyA), DecryptionError);
    await assert.rejects(read(store, 'tB/moved/dst', keyB), DecryptionError, "and not under office B's key");
    await assert.rejects(store.readRange('tB/moved/dst', keyA, aadOf('tB/moved/dst'), 0, 4), DecryptionError);
  });

  test('a chunk swapped between two objects of one office under one key and binding does not open', async () => {
    const p1 = randomBytes(4000);
    const p2 = randomBytes(4000);
    // The same binding for both: only the per-object salt keeps them apart.
    const aad = aadOf('tA/swap/1');
    for (const [p, plain] of [
      ['tA/swap/1', p1],
      ['tA/swap/2', p2],
    ] as const) {
      const w = store.create(p, keyA, aad, { chunkSize: 1024 });
      await pipeline(Readable.from([plain]), w.stream);
      await w.commit();
    }
    const one = await rowsOf('tA/swap/1');
    const two = await rowsOf('tA/swap/2');
    await admin.query('update sealed_chunks set bytes = $1 where object_id = $2 and n = 1', [
      two.chunks[1]!.bytes,
      one.id,
    ]);
    const parts: Buffer[] = [];
    await assert.rejects(async () => {
      for await (const p of store.openRead('tA/swap/1', keyA, aad)) parts.push(p);
    }, DecryptionError);
    const out = Buffer.concat(parts);
    assert.ok(out.length <= 1024 && out.equals(p1.subarray(0, out.length)), 'nothing from the swapped chunk on');
    // The header swapped instead: nothing opens.
    await admin.query('update sealed_objects set header = $1 where id = $2', [two.header, one.id]);
    await assert.rejects(store.readRange('tA/swap/1', keyA, aad, 0, 10), DecryptionError);
  });

  test('a header claiming another key version opens nothing', async () => {
    const plain = Buffer.from('sealed under the first version');
    await put(store, 'tA/version/1', plain);
    const o = await rowsOf('tA/version/1');
    assert.deepEqual(await read(store, 'tA/version/1'), plain, 'the control: it opens as stored');
    for (const version of [1, 2, 7, 0xffff]) {
      const forged = Buffer.from(o.header);
      forged[4] = 2; // form 2: the key version in the first two bytes of the salt
      forged.writeUInt16BE(version, 9);
      await admin.query('update sealed_objects set header = $1 where id = $2', [forged, o.id]);
      await assert.rejects(read(store, 'tA/version/1'), DecryptionError, `version ${version}`);
    }
    const unknown = Buffer.from(o.header);
    unknown[4] = 3;
    await admin.query('update sealed_objects set header = $1 where id = $2', [unknown, o.id]);
    await assert.rejects(read(store, 'tA/version/1'), DecryptionError);
  });

  test("one office's session neither reads, changes nor removes another office's object or chunks", async () => {
    await put(store, 'tA/wall/1', randomBytes(3000));
    const a = await rowsOf('tA/wall/1');
    const asOffice = <T>(tenant: string, work: (tx: typeof db.db) => Promise<T>) =>
      db.db.transaction().execute(async (tx) => {
        await sql`select set_config('kartei.tenant', ${tenant}, true)`.execute(tx);
        return work(tx);
      });
    const counts = await asOffice('tB', async (tx) => ({
      byId: (await sql`select 1 from sealed_objects where id = ${a.id}`.execute(tx)).rows.length,
      chunks: (await sql`select 1 from sealed_chunks where object_id = ${a.id}`.execute(tx)).rows.length,
      updated: Number(
        (await sql`update sealed_objects set header = '\\x00'::bytea where id = ${a.id}`.execute(tx)).numAffectedRows,
      ),
      chunksUpdated: Number(
        (await sql`update sealed_chunks set bytes = '\\x00'::bytea where object_id = ${a.id}`.execute(tx))
          .numAffectedRows,
      ),
      deleted: Number((await sql`delete from sealed_objects where id = ${a.id}`.execute(tx)).numAffectedRows),
    }));
    assert.deepEqual(counts, { byId: 0, chunks: 0, updated: 0, chunksUpdated: 0, deleted: 0 });
    // Moving an own row into the other office is refused by the wall's check.
    await put(store, 'tB/wall/own', randomBytes(100));
    await assert.rejects(
      asOffice('tB', (tx) =>
        sql`update sealed_objects set tenant_id = 'tA', path = 'tA/wall/1' where path = 'tB/wall/own'`.execute(tx),
      ),
      /row-level security/,
    );
    // No office set: nothing at all.
    const none = await db.db
      .transaction()
      .execute(
        async (tx) => (await sql`select count(*)::int as n from sealed_chunks`.execute(tx)).rows[0] as { n: number },
      );
    assert.equal(none.n, 0);
    assert.equal((await rowsOf('tA/wall/1')).chunks.length, a.chunks.length);
  });

  test("one office's session cannot attach chunks to another office's object (nor learn that it exists)", {}, async () => {
    await put(store, 'tA/attach/1', randomBytes(100), keyA, 1024);
    const a = await rowsOf('tA/attach/1');
    const attempt = (objectId: string | number) =>
      db.db.transaction().execute(async (tx) => {
        await sql`select set_config('kartei.tenant', 'tB', true)`.execute(tx);
        await sql`insert into sealed_chunks (object_id, n, tenant_id, bytes)
          values (${objectId}, 99, 'tB', '\\x00'::bytea)`.execute(tx);
      });
    const forA = await attempt(a.id).then(
      () => 'inserted',
      (e: Error) => e.message,
    );
    const forNone = await attempt(987654321).then(
      () => 'inserted',
      (e: Error) => e.message,
    );
    assert.notEqual(forA, 'inserted', "a chunk of office B under office A's object");
    assert.equal(forA.replace(/\d+/g, '#'), forNone.replace(/\d+/g, '#'), 'the same answer for a taken and a free id');
  });

  test("another instance's recovery of a write it took for dead makes the commit fail whole; the earlier object stays", async () => {
    const earlier = randomBytes(2000);
    await put(store, 'tA/recover/1', earlier);
    // A large write under way: its first batch (uncommitted) is in.
    const w = store.create('tA/recover/1', keyA, aadOf('tA/recover/1'), { chunkSize: 1024 });
    const big = randomBytes(3 * 1024 * 1024);
    const first = big.subarray(0, 1.5 * 1024 * 1024);
    await new Promise<void>((resolve, reject) => w.stream.write(first, (e) => (e ? reject(e) : resolve())));
    await new Promise<void>((resolve, reject) => w.stream.write(Buffer.alloc(0), (e) => (e ? reject(e) : resolve())));
    for (let i = 0; i < 50; i++) {
      const n = (await admin.query("select 1 from sealed_objects where path = 'tA/recover/1' and not committed"))
        .rowCount;
      if (n) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // A second store (another instance) walks: the fresh write is left to its writer.
    const otherDb = await openStore({ dataDir: os.tmpdir(), ...urls });
    const other = new SealedRows(otherDb, 'images');
    const seen = [];
    for await (const e of other.walk()) if (e.temporary && e.relPath.startsWith('tA/recover/1')) seen.push(e);
    assert.equal(seen.length, 1, 'the write in progress is listed as temporary');
    assert.ok(Date.now() - seen[0]!.modifiedAt!.getTime() < 60_000, 'touched just now: recovery leaves it');
    // Taken for dead (its clock far behind): removed behind the writer's back.
    await other.removeLeftover(seen[0]!.relPath);
    await new Promise<void>((resolve, reject) =>
      w.stream.end(big.subarray(first.length), () => resolve()).once('error', reject),
    ).catch(() => {});
    await assert.rejects(w.commit());
    assert.deepEqual(await read(store, 'tA/recover/1'), earlier, 'the committed object under the path is unchanged');
    const orphans = await admin.query(
      'select 1 from sealed_chunks c left join sealed_objects o on o.id = c.object_id where o.id is null',
    );
    assert.equal(orphans.rowCount, 0, 'no chunk left without its object');
    await other.close();
    await otherDb.close();
  });

  test("the application's role may not change the audit trail, the migrations' record or the walls", async () => {
    const q = async (text: string) => (await admin.query(text)).rows[0] as Record<string, boolean>;
    const priv = (table: string, what: string) =>
      q(`select has_table_privilege('${appUser}', '${table}', '${what}') as ok`).then((r) => r.ok);
    for (const t of ['audit_events', 'audit_checkpoints'])
      for (const what of ['UPDATE', 'DELETE', 'TRUNCATE']) assert.equal(await priv(t, what), false, `${what} on ${t}`);
    for (const t of ['sealed_objects', 'sealed_chunks', 'server_instances'])
      for (const what of ['TRUNCATE', 'REFERENCES', 'TRIGGER'])
        assert.equal(await priv(t, what), false, `${what} on ${t}`);
    const owner = await q(`select bool_or(tableowner = '${appUser}') as ok from pg_tables where schemaname = 'public'`);
    assert.equal(owner.ok, false, 'the role owns no table (the walls hold for it)');
    const bypass = await q(`select rolbypassrls or rolsuper as ok from pg_roles where rolname = '${appUser}'`);
    assert.equal(bypass.ok, false);
    for (const t of ['sealed_objects', 'sealed_chunks']) {
      const rls = await q(`select relrowsecurity as ok from pg_class where relname = '${t}'`);
      assert.equal(rls.ok, true, `walls on ${t}`);
    }
  });

  test('a role of the cluster without grants on this database cannot list its offices', {}, async () => {
    await put(store, 'tA/listed/1', randomBytes(10));
    const stranger = `${appUser}_stranger`;
    await admin.query(`create role ${stranger} login`);
    const u = new URL(urls.databaseUrl);
    u.username = stranger;
    const c = new pg.Client({ connectionString: u.toString() });
    await c.connect();
    try {
      await assert.rejects(c.query('select * from sealed_objects'), /permission denied/, 'the control: no table');
      const listed = await c.query("select kartei_sealed_tenants('images') as t").then(
        (r) => r.rows.map((x) => x.t as string),
        (e: Error) => e.message,
      );
      assert.match(String(listed), /permission denied/, `offices listed to a stranger: ${listed}`);
    } finally {
      await c.end();
      await admin.query(`drop role ${stranger}`);
    }
  });

  test("the application's role may not rewrite the migrations' record", {}, async () => {
    for (const t of ['kysely_migration', 'kysely_migration_lock'])
      for (const what of ['INSERT', 'UPDATE', 'DELETE']) {
        const r = await admin.query(`select has_table_privilege($1, $2, $3) as ok`, [appUser, t, what]);
        assert.equal(r.rows[0].ok, false, `${what} on ${t}`);
      }
  });
});
