// `kartei backup DEST`: an online, consistent backup of the data while the server runs and
// writes. In this order: the audit witness is copied first (every head it names is committed,
// so the snapshot taken after it holds them all), then the SQLite database through SQLite's
// backup API in one step (one read transaction: a consistent snapshot, writers go on), then
// exactly the sealed image and document files that snapshot's rows name. A committed file is
// never removed while a row names it, so each is still there; files written after the snapshot
// are left out (they would be orphans). Last the manifest with every file's SHA-256 and the
// snapshot's counts, authenticated with the installation's key (backup-manifest.ts), and an
// audit event `system.backup` on the deployment chain — which is also what `kartei doctor`
// reads for the last backup's age. The data backup never holds a key.
//
// `kartei backup --keys DEST`: the key directory alone, 0700/0600, never into (or inside) a
// data backup, the data directory or the key directory itself.
//
// Neither runs during a master key rotation: `kartei keys rotate-master` holds the backup lock,
// and one it left interrupted (office keys under two masters) refuses both until it is completed.
//
// PostgreSQL: the database is the operator's `pg_dump` (or `pg_basebackup`), taken before;
// `kartei backup` then copies the witness and the files every row names at that moment —
// a superset of the dump's, since files are never removed while named — and says so.
// Issue 19: storage-db — with images and documents in PostgreSQL (KARTEI_STORAGE=database) they
// are in that dump: `kartei backup` copies the witness, checks in one snapshot that every object
// a row names is there, and puts their count and size in the manifest.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { lossTolerated, pgOptions } from '../db/pg-connect.ts'; // s27: a time limit on new connections
import { ConfigError, storageKind, type Config } from '../config/config.ts';
import { inTenantTransaction } from '../db/connect.ts';
import { DEPLOYMENT_CHAIN } from '../db/schema.ts';
import { MASTER_KEY_FILE } from '../vault/keyring.ts';
import { masterRotationState } from '../vault/master-rotation.ts';
import { CHAIN_KEY_FILE, chainKeyFromKeyDir } from '../audit/chain-key.ts';
import { withServicesOnly } from '../server.ts';
import { lockBackup, refuseWhileRestoring } from './backup-lock.ts';
import { bucketObjects } from './bucket-objects.ts';
import { refusal } from '../config/refusal.ts'; // Issue 19: cli-german
import {
  FORMAT,
  KEYS_MANIFEST_FILE,
  MANIFEST_FILE,
  listTree,
  sealManifest,
  syncDir,
  writeManifest,
  type BackupCounts,
  type BackupFile,
  type DataManifest,
  type KeysManifest,
  type StoredObjects,
} from './backup-manifest.ts';

export const WITNESS_FILE = 'audit-witness.json';
export const DB_FILE = 'kartei.sqlite';
/** Present in a destination while a backup is written into it; removed after the manifest. */
export const IN_PROGRESS = '.kartei-backup-in-progress';
const COPY_PARALLEL = 4;
const CHUNK = 1024 * 1024;

export interface BackupResult {
  dest: string;
  manifestSha256: string;
  files: number;
  bytes: number;
  counts?: BackupCounts;
  snapshotAt: string;
  ms: number;
  /** PostgreSQL: what the operator's dump must be. */
  note?: string;
  /** Issue 19: cli-german — the note's facts, for `kartei backup` to word in the operator's language. */
  notice?: BackupNotice;
  /** Milliseconds per step: snapshot (database), files, record (the audit event). */
  steps?: { snapshot: number; files: number; record: number };
}

/** Issue 19: cli-german — where the images and documents are when they are not in the backup. */
export type BackupNotice =
  | { kind: 'postgres' }
  | { kind: 'postgres-database'; images: number; documents: number; bytes: number }
  | { kind: 's3'; bucket: string; images: number; documents: number; postgres: boolean };

/** The chain key, read only: a backup never creates a key. */
// Issue 19: backup2
/** Refuses while the key directory shows an interrupted master rotation (call it holding the backup lock). */
function refuseDuringMasterRotation(keyDir: string): void {
  const r = masterRotationState(keyDir);
  if (r.state !== 'none')
    throw new ConfigError(
      `a master key rotation is interrupted in ${keyDir} (${r.state}): the office keys are under two masters; complete it with \`kartei keys rotate-master\` first, then back up the data and the key directory`,
      refusal('backup-master-rotation-interrupted', { keyDir, state: r.state }),
    );
}

export function existingChainKey(keyDir: string): Uint8Array {
  for (const f of [MASTER_KEY_FILE, CHAIN_KEY_FILE])
    if (!fs.existsSync(path.join(keyDir, f)))
      throw new ConfigError(
        `the key directory ${keyDir} has no ${f}: not an initialised Kartei key directory (restore the keys first)`,
        refusal('key-dir-not-initialised', { keyDir, file: f }),
      );
  return chainKeyFromKeyDir(keyDir, {}).key;
}

const real = (p: string) => fs.realpathSync(p);
const inside = (child: string, parent: string) => {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
};

/**
 * Where a backup may go: a new or empty directory, not a symbolic link, not in (or around) the
 * data or key directory, and not in another kind of backup (`--keys` never inside a data backup,
 * nor data inside a keys backup). Returns its resolved path and whether it existed.
 */
function checkDestination(config: Config, dest: string, kind: 'data' | 'keys'): { dir: string; existed: boolean } {
  const abs = path.resolve(dest);
  let existed = false;
  try {
    const st = fs.lstatSync(abs);
    if (st.isSymbolicLink())
      throw new ConfigError(
        `the backup destination ${abs} is a symbolic link; name the directory itself`,
        refusal('backup-dest-link', { dest: abs }),
      );
    if (!st.isDirectory())
      throw new ConfigError(
        `the backup destination ${abs} exists and is not a directory`,
        refusal('backup-dest-not-dir', { dest: abs }),
      );
    if (fs.readdirSync(abs).length > 0)
      throw new ConfigError(
        `the backup destination ${abs} is not empty; a backup never writes over another`,
        refusal('backup-dest-not-empty', { dest: abs }),
      );
    existed = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    if (!fs.existsSync(path.dirname(abs)))
      throw new ConfigError(
        `the backup destination's parent ${path.dirname(abs)} does not exist`,
        refusal('backup-dest-no-parent', { parent: path.dirname(abs) }),
      );
  }
  const resolved = existed ? real(abs) : path.join(real(path.dirname(abs)), path.basename(abs));
  const guarded: [string, string, string][] = [
    [config.dataDir, 'the data directory', 'backup-dest-in-data-dir'],
    [config.keyDir, 'the key directory', 'backup-dest-in-key-dir'],
  ];
  for (const [dir, name, code] of guarded) {
    if (!fs.existsSync(dir)) continue;
    const r = real(dir);
    if (inside(resolved, r) || inside(r, resolved))
      throw new ConfigError(
        `the backup destination ${abs} is in or around ${name} (${dir}); choose a place outside it`,
        refusal(code, { dest: abs, dir }),
      );
  }
  // No backup inside another: a data backup's directory (or one being written) never takes the keys, and back.
  const other = kind === 'keys' ? [MANIFEST_FILE, IN_PROGRESS, DB_FILE] : [KEYS_MANIFEST_FILE];
  for (let d = resolved; ; d = path.dirname(d)) {
    for (const f of other)
      if (fs.existsSync(path.join(d, f)))
        throw new ConfigError(
          kind === 'keys'
            ? `the keys' backup destination ${abs} is inside a data backup (${d}); keep the keys in a separate place`
            : `the data backup destination ${abs} is inside a keys' backup (${d}); keep the keys in a separate place`,
          refusal(kind === 'keys' ? 'keys-backup-in-data-backup' : 'data-backup-in-keys-backup', {
            dest: abs,
            backup: d,
          }),
        );
    if (path.dirname(d) === d) break;
  }
  return { dir: resolved, existed };
}

/** Copies one file, hashing what it reads; `sync` (default) makes the copy durable before it returns. */
async function copyHashed(from: string, to: string, sync = true): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  await fsp.mkdir(path.dirname(to), { recursive: true, mode: 0o700 });
  const src = await fsp.open(from, 'r');
  const dst = await fsp.open(to, 'wx', 0o600);
  let size = 0;
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const { bytesRead } = await src.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) break;
      const piece = buf.subarray(0, bytesRead);
      hash.update(piece);
      await dst.write(piece);
      size += bytesRead;
    }
    if (sync) await dst.sync();
  } finally {
    await src.close();
    await dst.close();
  }
  return { size, sha256: hash.digest('hex') };
}

export async function hashFile(file: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: CHUNK })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest('hex') };
}

/** Runs `work` over `items`, `n` at a time. */
async function pool<T>(items: T[], n: number, work: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

type Query = (text: string) => Promise<Record<string, unknown>[]>;

/** The files a database's rows name, relative to the data directory, and its counts. */
export async function snapshotFacts(q: Query): Promise<{ files: string[]; counts: BackupCounts }> {
  const n = async (table: string) => Number((await q(`select count(*) as n from ${table}`))[0]!.n);
  const images = (await q('select file from instances')).map((r) => `images/${r.file as string}`);
  const documents = (
    await q(
      'select d.tenant_id, d.department_id, v.document_id, v.version from document_versions v ' +
        'join documents d on d.id = v.document_id',
    )
  ).map((r) => `documents/${r.tenant_id}/${r.department_id}/${r.document_id}-${r.version}`);
  const heads = await q('select tenant_id, seq from audit_heads');
  return {
    files: [...images, ...documents].sort(),
    counts: {
      tenants: await n('tenants'),
      persons: await n('persons'),
      records: await n('records'),
      instances: await n('instances'),
      documentVersions: await n('document_versions'),
      chains: Object.fromEntries(heads.map((h) => [h.tenant_id as string, Number(h.seq)])),
    },
  };
}

export const sqliteQuery =
  (db: SQLite.Database): Query =>
  async (text) =>
    db.prepare(text).all() as Record<string, unknown>[];

/** Takes the snapshot of the live SQLite database into `to`, in one read transaction, as a single file. */
function snapshotSqlite(liveFile: string, to: string): Promise<void> {
  const live = new SQLite(liveFile, { fileMustExist: true });
  live.pragma('busy_timeout = 5000');
  // All pages in one step: one read transaction, so the copy is one moment's database and is never restarted by a write.
  return live
    .backup(to, { progress: () => 0x7fffffff })
    .then(() => {
      const copy = new SQLite(to);
      try {
        // One self-contained file: no write-ahead log beside it.
        copy.pragma('journal_mode = DELETE');
      } finally {
        copy.close();
      }
    })
    .finally(() => live.close());
}

export interface BackupOptions {
  /** Lower the process's priority (default): the server's requests come first. */
  nice?: boolean;
  now?: () => Date;
}

export async function backupData(config: Config, dest: string, opts: BackupOptions = {}): Promise<BackupResult> {
  const now = opts.now ?? (() => new Date());
  const started = performance.now();
  const chainKey = existingChainKey(config.keyDir);
  refuseWhileRestoring(config.dataDir);
  const liveDb = path.join(config.dataDir, DB_FILE);
  if (!config.databaseUrl && !fs.existsSync(liveDb))
    throw new ConfigError(
      `no database at ${liveDb}: nothing to back up (start the server once)`,
      refusal('backup-no-database', { db: liveDb }),
    );
  const { dir, existed } = checkDestination(config, dest, 'data');
  if (opts.nice !== false) os.setPriority(10);
  const unlock = lockBackup(config.dataDir, 'backup');
  let wrote = false;
  try {
    refuseDuringMasterRotation(config.keyDir); // Issue 19: backup2
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.chmodSync(dir, 0o700);
    wrote = true;
    fs.writeFileSync(path.join(dir, IN_PROGRESS), `${process.pid}\n`, { mode: 0o600, flag: 'wx' });
    const startedAt = now().toISOString();
    const files: BackupFile[] = [];
    // 1. The witness: every head it names is committed, so the snapshot below holds them.
    const witness = path.join(config.keyDir, WITNESS_FILE);
    if (fs.existsSync(witness))
      files.push({ path: WITNESS_FILE, ...(await copyHashed(witness, path.join(dir, WITNESS_FILE))) });
    // 2. The database, and what its rows name.
    const snapshotAt = now().toISOString();
    const t0 = performance.now();
    let facts: { files: string[]; counts?: BackupCounts; objects?: StoredObjects };
    let note: string | undefined;
    let notice: BackupNotice | undefined;
    // Issue 19: storage-db — the objects are in the database: the dump holds them, nothing to copy.
    if (config.databaseUrl && storageKind(config) === 'database') {
      facts = await postgresFacts(config);
      const o = facts.objects!;
      if (o.missing > 0)
        throw new ConfigError(
          `${o.missing} image(s) or document(s) the database names are missing from its storage; the backup is incomplete — run \`kartei doctor\``,
          refusal('backup-objects-missing', { missing: o.missing }),
        );
      facts = { files: [], objects: o };
      note =
        `PostgreSQL with images and documents in the database (${o.images} images, ${o.documents} document versions, ` +
        `${o.bytes} sealed bytes): they are in the database's dump, not here; this backup holds the witness. Take the ` +
        'database with `pg_dump -Fc` (or `pg_basebackup`) BEFORE each `kartei backup`, and keep the key backup apart.';
      notice = { kind: 'postgres-database', images: o.images, documents: o.documents, bytes: o.bytes ?? 0 };
    } else if (config.databaseUrl) {
      facts = await postgresFacts(config);
      note =
        'PostgreSQL: this backup holds the files and the witness, not the database. Take the database with ' +
        '`pg_dump -Fc` (or `pg_basebackup`) BEFORE each `kartei backup`: every file a row of that dump names is in here.';
      notice = { kind: 'postgres' };
    } else {
      const copy = path.join(dir, DB_FILE);
      await snapshotSqlite(liveDb, copy);
      fs.chmodSync(copy, 0o600);
      const db = new SQLite(copy, { readonly: true, fileMustExist: true });
      try {
        facts = await snapshotFacts(sqliteQuery(db));
      } finally {
        db.close();
      }
      files.push({ path: DB_FILE, ...(await hashFile(copy)) });
      const fd = fs.openSync(copy, 'r');
      fs.fsyncSync(fd);
      fs.closeSync(fd);
    }
    // Issue 19: s3 — the objects are in the bucket: checked there for the snapshot's rows, nothing to copy.
    if (storageKind(config) === 's3') {
      const o = await bucketObjects(config, facts.files);
      if (o.missing > 0)
        throw new ConfigError(
          `${o.missing} image(s) or document(s) the database names are missing from the S3 bucket ${config.s3?.bucket}; the backup is incomplete — run \`kartei doctor\``,
          refusal('backup-s3-objects-missing', { missing: o.missing, bucket: String(config.s3?.bucket) }),
        );
      facts = { ...facts, files: [], objects: o };
      note =
        `Images and documents are in the S3 bucket ${config.s3?.bucket} (${o.images} images, ${o.documents} document versions, ` +
        'each checked there): they are not in this backup. Keep the bucket versioned or replicated (Kartei never overwrites ' +
        'or removes an object a row names)' +
        (config.databaseUrl ? '; take the database with `pg_dump -Fc` BEFORE each `kartei backup`' : '') +
        ', and keep the key backup apart.';
      const [images, documents] = [o.images, o.documents];
      notice = { kind: 's3', bucket: String(config.s3?.bucket), images, documents, postgres: !!config.databaseUrl };
    }
    const t1 = performance.now();
    // 3. Exactly the files the snapshot names: each is committed and never removed while named.
    const missing: string[] = [];
    const copied: BackupFile[] = [];
    await pool(facts.files, COPY_PARALLEL, async (rel) => {
      try {
        copied.push({ path: rel, ...(await copyHashed(path.join(config.dataDir, rel), path.join(dir, rel), false)) });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        missing.push(rel);
      }
    });
    if (missing.length > 0)
      throw new ConfigError(
        `${missing.length} file(s) the database names are missing from the data directory (first: ${missing[0]}); the backup is incomplete — run \`kartei doctor\``,
        refusal('backup-files-missing', { missing: missing.length, first: String(missing[0]) }),
      );
    // Synced after all are written (the kernel has written most back by then), several at a time.
    await pool(copied, COPY_PARALLEL * 2, async (f) => {
      const fh = await fsp.open(path.join(dir, f.path), 'r');
      try {
        await fh.datasync();
      } finally {
        await fh.close();
      }
    });
    for (const d of new Set(copied.map((f) => path.dirname(path.join(dir, f.path))))) syncDir(d);
    files.push(...copied.sort((a, b) => (a.path < b.path ? -1 : 1)));
    // 4. The manifest, last; then the marker goes.
    const manifest = sealManifest<DataManifest>(
      {
        format: FORMAT,
        kind: 'data',
        dialect: config.databaseUrl ? 'postgres' : 'sqlite',
        startedAt,
        snapshotAt,
        finishedAt: now().toISOString(),
        ...(facts.counts ? { counts: facts.counts } : {}),
        ...(facts.objects ? { objects: facts.objects } : {}),
        files,
      },
      chainKey,
    );
    const digest = writeManifest(dir, MANIFEST_FILE, manifest);
    fs.rmSync(path.join(dir, IN_PROGRESS));
    syncDir(dir);
    const bytes = files.reduce((n, f) => n + f.size, 0);
    const t2 = performance.now();
    const ms = Math.round(t2 - started);
    await recordOnChain(config, 'system.backup', {
      kind: 'data',
      snapshotAt,
      files: files.length,
      bytes,
      manifestSha256: digest,
      ms,
    });
    return {
      dest: dir,
      manifestSha256: digest,
      files: files.length,
      bytes,
      counts: facts.counts,
      snapshotAt,
      ms,
      note,
      notice,
      steps: { snapshot: Math.round(t1 - t0), files: Math.round(t2 - t1), record: Math.round(performance.now() - t2) },
    };
  } catch (e) {
    if (wrote) removeWritten(dir, existed);
    throw e;
  } finally {
    unlock();
  }
}

/** A backup that failed leaves nothing: the directory it made, or what it wrote into an empty one. */
function removeWritten(dir: string, existed: boolean) {
  if (!existed) fs.rmSync(dir, { recursive: true, force: true });
  else for (const e of fs.readdirSync(dir)) fs.rmSync(path.join(dir, e), { recursive: true, force: true });
}

/** PostgreSQL: what the rows name right now, read as the schema owner (row-level security walls the app role). */
async function postgresFacts(config: Config): Promise<{ files: string[]; objects?: StoredObjects }> {
  const client = lossTolerated(new pg.Client(pgOptions(config.databaseAdminUrl ?? config.databaseUrl)));
  await client.connect();
  try {
    await client.query('begin isolation level repeatable read read only');
    const q: Query = async (text) => (await client.query(text)).rows;
    const facts = await snapshotFacts(q);
    // Issue 19: storage-db — in the same snapshot: the objects those rows name, in the database.
    const objects = storageKind(config) === 'database' ? await storedObjects(q) : undefined;
    await client.query('commit');
    return { files: facts.files, ...(objects ? { objects } : {}) };
  } finally {
    await client.end();
  }
}

// Issue 19: storage-db
/** The sealed objects (sealed-rows.ts) the rows name: how many, their sealed size, and how many are absent. */
export async function storedObjects(q: Query): Promise<StoredObjects> {
  const named = (area: string) =>
    `exists (select 1 from sealed_objects o where o.area = '${area}' and o.committed and o.path = `;
  const image = `${named('images')}i.file)`;
  const doc = `${named('documents')}d.tenant_id || '/' || d.department_id || '/' || v.document_id || '-' || v.version)`;
  const docs = 'from document_versions v join documents d on d.id = v.document_id';
  const [r] = await q(
    `select (select count(*) from instances) as images, (select count(*) ${docs}) as documents, ` +
      `(select count(*) from instances i where not ${image}) + (select count(*) ${docs} where not ${doc}) as missing, ` +
      `(select coalesce(sum(o.sealed_size), 0) from sealed_objects o where o.committed) as bytes`,
  );
  return {
    storage: 'database',
    images: Number(r!.images),
    documents: Number(r!.documents),
    bytes: Number(r!.bytes),
    missing: Number(r!.missing),
  };
}

/** Appends a backup or restore event to the deployment chain, from this process (SQLite serialises the writers). */
export async function recordOnChain(
  config: Config,
  action: 'system.backup' | 'system.restore',
  detail: Record<string, string | number | boolean>,
  chains: string[] = [DEPLOYMENT_CHAIN],
  perChain?: (chain: string) => Record<string, string | number | boolean>,
): Promise<void> {
  await withServicesOnly(config, async (s) => {
    for (const chain of chains)
      await inTenantTransaction(s.store, chain, (tx) =>
        s.audit.append(tx, {
          tenantId: chain,
          actorId: null,
          action,
          resourceType: 'tenant',
          resourceId: chain === DEPLOYMENT_CHAIN ? undefined : chain,
          outcome: 'allowed',
          detail: { ...detail, ...perChain?.(chain) },
        }),
      );
  });
}

export async function backupKeys(config: Config, dest: string, opts: BackupOptions = {}): Promise<BackupResult> {
  const now = opts.now ?? (() => new Date());
  const started = performance.now();
  const chainKey = existingChainKey(config.keyDir);
  const { dir, existed } = checkDestination(config, dest, 'keys');
  const startedAt = now().toISOString();
  let wrote = false;
  // Issue 19: backup2 — not beside a master rotation (which holds this lock), nor after an interrupted one.
  const unlock = fs.existsSync(config.dataDir) ? lockBackup(config.dataDir, 'keys backup') : () => undefined;
  try {
    refuseDuringMasterRotation(config.keyDir);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.chmodSync(dir, 0o700);
    wrote = true;
    const files: BackupFile[] = [];
    for (const rel of listTree(config.keyDir)) {
      if (rel.endsWith('.tmp')) continue;
      files.push({ path: rel, ...(await copyHashed(path.join(config.keyDir, rel), path.join(dir, rel))) });
    }
    for (const d of new Set(files.map((f) => path.dirname(path.join(dir, f.path))))) syncDir(d);
    const manifest = sealManifest<KeysManifest>(
      { format: FORMAT, kind: 'keys', startedAt, finishedAt: now().toISOString(), files },
      chainKey,
    );
    const digest = writeManifest(dir, KEYS_MANIFEST_FILE, manifest);
    const ms = Math.round(performance.now() - started);
    await recordOnChain(config, 'system.backup', { kind: 'keys', files: files.length, manifestSha256: digest, ms });
    return { dest: dir, manifestSha256: digest, files: files.length, bytes: 0, snapshotAt: startedAt, ms };
  } catch (e) {
    if (wrote) removeWritten(dir, existed);
    throw e;
  } finally {
    unlock();
  }
}
