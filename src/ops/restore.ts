// `kartei restore SRC`: a data backup back into an empty data directory. The manifest is
// checked first — its MAC under this key directory's chain key, every file's size and SHA-256,
// no file it does not list, and on SQLite the snapshot's counts recounted — and every office's
// key in the backup's database copy (on PostgreSQL: in the restored dump) must unwrap with the
// key directory's masters, all before anything is written: a key directory that does not belong
// to the data is refused with the data directory untouched. Then, with `restore-incomplete` in
// the data directory (no server starts while it is there), the files are copied into a staging
// directory and checked again, moved into place, and the offices' keys are unwrapped once more
// from the data in place. The witness that belongs to the data replaces the key directory's
// (which is kept beside it as `audit-witness.before-restore-<time>.json`), and what that newer
// witness had seen beyond the backup — the gap — is named in a `system.restore` event on every
// chain and in `kartei doctor`. An interrupted restore is completed by running it again with the
// same backup; it never writes over a data directory it did not fill itself.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { lossTolerated, pgOptions } from '../db/pg-connect.ts'; // s27: a time limit on new connections
import { ConfigError, storageKind, type Config } from '../config/config.ts';
import { inTenantTransaction } from '../db/connect.ts';
import { DEPLOYMENT_CHAIN } from '../db/schema.ts';
import { stopRestoredInstances } from '../db/instances.ts';
import { bucketObjects } from './bucket-objects.ts';
import { gapSince, heldHashes, priorHeads, type ChainGap, type Witnessed } from './restore-gap.ts';
import { withServicesOnly } from '../server.ts';
import type { Services } from '../services.ts';
import { lockDataDir } from './serve-lock.ts';
import { BACKUP_LOCK_FILE, lockBackup, RESTORE_MARKER } from './backup-lock.ts';
import {
  DB_FILE,
  existingChainKey,
  hashFile,
  IN_PROGRESS,
  recordOnChain,
  snapshotFacts,
  sqliteQuery,
  storedObjects,
  WITNESS_FILE,
} from './backup.ts';
import { listTree, MANIFEST_FILE, ManifestError, readManifest, syncDir, type DataManifest } from './backup-manifest.ts';
import { bindingBytes, open } from '../vault/aead.ts';
import { loadMasterKeys } from '../vault/master-keys.ts';
import { Keyring, wrapBinding } from '../vault/keyring.ts';
import { refusal } from '../config/refusal.ts'; // Issue 19: cli-german

const STAGING = '.restore-staging';
/** Test only (NODE_ENV=test): the restore kills itself at this step, as a crash there would (test/ops/restore-crash.int.test.ts). */
export const TEST_CRASH_VARIABLE = 'KARTEI_TEST_RESTORE_CRASH_AT';
const crashPoint = (step: string) => {
  if (process.env.NODE_ENV === 'test' && process.env[TEST_CRASH_VARIABLE] === step)
    process.kill(process.pid, 'SIGKILL');
};
/** What a restore itself puts into the data directory: the only entries a repeated restore removes. */
const OWN_ENTRIES = new Set([DB_FILE, 'images', 'documents', STAGING, RESTORE_MARKER, BACKUP_LOCK_FILE, 'serve.lock']);

interface Marker {
  manifestSha256: string;
  backupSnapshotAt: string;
  gap: Record<string, ChainGap>;
  /** Issue 19: attack21 — the heads the key directory had witnessed before this restore (carried in the installed witness). */
  prior?: Record<string, { seq: number; hash: string; at: string }>;
}

export interface RestoreResult {
  backupSnapshotAt: string;
  files: number;
  gap: Record<string, ChainGap>;
  /** Where the key directory's witness from before the restore was kept. */
  previousWitness?: string;
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Checks the backup against its manifest without writing anything. */
export async function checkBackup(config: Config, src: string): Promise<{ manifest: DataManifest; digest: string }> {
  const chainKey = existingChainKey(config.keyDir);
  const dir = path.resolve(src);
  if (fs.existsSync(path.join(dir, IN_PROGRESS)))
    throw new ManifestError(
      `${dir} is a backup that never finished (${IN_PROGRESS}); use another one`,
      refusal('backup-unfinished', { dir, marker: IN_PROGRESS }),
    );
  const { manifest, digest } = readManifest(dir, 'data', chainKey);
  if ((manifest.dialect === 'postgres') !== !!config.databaseUrl)
    throw new ManifestError(
      `the backup is of a ${manifest.dialect} installation; this configuration uses ${config.databaseUrl ? 'postgres' : 'sqlite'}`,
      refusal('backup-other-dialect', {
        backupDialect: manifest.dialect,
        dialect: config.databaseUrl ? 'postgres' : 'sqlite',
      }),
    );
  // Issue 19: storage-db — images and documents in the database (its dump) or in files: as the backup was made.
  // Issue 19: s3 — or in the S3 bucket.
  const kept = { database: 'in the database', files: 'in files', s3: 'in S3' } as const;
  const backupStorage = manifest.objects?.storage ?? 'files';
  if (backupStorage !== storageKind(config))
    throw new ManifestError(
      `the backup keeps images and documents ${kept[backupStorage]}; this configuration keeps them ${kept[storageKind(config)]} (KARTEI_STORAGE)`,
      refusal('backup-other-storage', { backupStorage, storage: storageKind(config) }),
    );
  const listed = new Map(manifest.files.map((f) => [f.path, f]));
  const present = listTree(dir).filter((f) => f !== MANIFEST_FILE);
  const extra = present.filter((f) => !listed.has(f));
  if (extra.length > 0)
    throw new ManifestError(
      `the backup holds ${extra.length} file(s) its manifest does not list (first: ${extra[0]})`,
      refusal('backup-extra-files', { n: extra.length, first: String(extra[0]) }),
    );
  const absent = [...listed.keys()].filter((f) => !present.includes(f));
  if (absent.length > 0)
    throw new ManifestError(
      `${absent.length} file(s) of the manifest are missing from the backup (first: ${absent[0]})`,
      refusal('backup-files-absent', { n: absent.length, first: String(absent[0]) }),
    );
  for (const f of manifest.files) {
    const got = await hashFile(path.join(dir, f.path));
    if (got.size !== f.size || got.sha256 !== f.sha256)
      throw new ManifestError(
        `${f.path} in the backup does not match its manifest (size or SHA-256 differs)`,
        refusal('backup-file-differs', { path: f.path }),
      );
  }
  if (manifest.dialect === 'sqlite') {
    if (!manifest.counts || !listed.has(DB_FILE))
      throw new ManifestError('the manifest names no database', refusal('manifest-no-database'));
    const db = new SQLite(path.join(dir, DB_FILE), { readonly: true, fileMustExist: true });
    let facts: Awaited<ReturnType<typeof snapshotFacts>>;
    try {
      facts = await snapshotFacts(sqliteQuery(db));
    } catch (e) {
      throw new ManifestError(
        `the backup's database cannot be read: ${(e as Error).message}`,
        refusal('backup-database-unreadable', { reason: (e as Error).message }),
      );
    } finally {
      db.close();
    }
    if (JSON.stringify(sortKeys(facts.counts)) !== JSON.stringify(sortKeys(manifest.counts)))
      throw new ManifestError(
        "the backup's database does not hold the counts its manifest names",
        refusal('backup-database-counts-differ'),
      );
    const stored = manifest.files
      .map((f) => f.path)
      .filter((p) => p.startsWith('images/') || p.startsWith('documents/'));
    // Issue 19: s3 — the objects its database names are in the bucket, not in the backup.
    if (backupStorage === 's3') await bucketHolds(config, facts.files);
    else if (JSON.stringify(facts.files) !== JSON.stringify(stored.sort()))
      throw new ManifestError(
        'the files of the backup are not the ones its database names',
        refusal('backup-files-not-database'),
      );
    // Issue 19: backup2 — the key directory opens the backup's office keys (`restore --check` says it too).
    checkKeysOpenSqlite(config.keyDir, path.join(dir, DB_FILE));
  }
  return { manifest, digest };
}

const sortKeys = (c: object) =>
  JSON.parse(
    JSON.stringify(c, (_k, v) =>
      v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort()) : v,
    ),
  );

/** The data directory may be restored into: absent, empty, or left by an interrupted restore of the same backup. */
function checkTarget(dataDir: string, digest: string): { resume: Marker | undefined } {
  let entries: string[];
  try {
    const st = fs.statSync(dataDir);
    if (!st.isDirectory())
      throw new ConfigError(
        `the data directory ${dataDir} is not a directory`,
        refusal('restore-target-not-dir', { dataDir }),
      );
    entries = fs.readdirSync(dataDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { resume: undefined };
    throw e;
  }
  if (entries.length === 0) return { resume: undefined };
  const marker = readJson<Marker>(path.join(dataDir, RESTORE_MARKER));
  if (!marker)
    throw new ConfigError(
      `the data directory ${dataDir} is not empty; a restore never writes over data — restore into an empty directory`,
      refusal('restore-target-not-empty', { dataDir }),
    );
  if (marker.manifestSha256 !== digest)
    throw new ConfigError(
      `the data directory ${dataDir} holds an interrupted restore of another backup; run \`kartei restore\` with that one, or start from an empty directory`,
      refusal('restore-other-backup', { dataDir }),
    );
  const foreign = entries.filter(
    (e) => !OWN_ENTRIES.has(e) && !e.startsWith(`${DB_FILE}-`) && !e.startsWith(`${BACKUP_LOCK_FILE}.`),
  );
  if (foreign.length > 0)
    throw new ConfigError(
      `the data directory ${dataDir} holds ${foreign.join(', ')} besides an interrupted restore; empty it first`,
      refusal('restore-foreign-files', { dataDir, files: foreign.join(', ') }),
    );
  return { resume: marker };
}

function writeMarker(dataDir: string, m: Marker) {
  const file = path.join(dataDir, RESTORE_MARKER);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(m), { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
  syncDir(dataDir);
}

// Issue 19: backup2
/** An office's key as the database holds it: wrapped under a master (`wrapped_by` null: the first one). */
interface OfficeKeyRow {
  tenant_id: string;
  wrapped: Buffer;
  wrapped_by: string | null;
}

const KEYS_DO_NOT_OPEN =
  "the key directory's master key does not open this backup's data: restore the key directory that belongs to it (kartei backup --keys)";
const KEYS_REFUSAL = refusal('restore-keys-do-not-open');

/**
 * Before anything is written: every office's key in the data to be restored unwraps with the key
 * directory's masters (after a rotation it may hold several). `offices` null: the office list is
 * not visible (PostgreSQL without the owner's connection) and only the keys seen are checked.
 */
function checkKeysOpen(keyDir: string, offices: string[] | null, rows: OfficeKeyRow[]): void {
  const keyring = new Keyring(loadMasterKeys(keyDir));
  const byOffice = new Map(rows.map((r) => [r.tenant_id, r]));
  for (const id of offices ?? [...byOffice.keys()]) {
    const row = byOffice.get(id);
    if (!row) throw new ConfigError(`${KEYS_DO_NOT_OPEN} (an office has no key in it)`, KEYS_REFUSAL);
    try {
      open(keyring.masterFor(row.wrapped_by), row.wrapped, bindingBytes(wrapBinding(id, 'tenant', id)));
    } catch {
      throw new ConfigError(KEYS_DO_NOT_OPEN, KEYS_REFUSAL);
    }
  }
}

const OFFICE_KEYS_SQL =
  "select tenant_id, wrapped, wrapped_by from data_keys where scope = 'tenant' and owner_id = tenant_id and destroyed_at is null";

/** The backup's own database copy, opened read-only: its offices and their keys. */
function checkKeysOpenSqlite(keyDir: string, dbFile: string): void {
  const db = new SQLite(dbFile, { readonly: true, fileMustExist: true });
  try {
    const offices = (db.prepare('select id from tenants').all() as { id: string }[]).map((r) => r.id);
    checkKeysOpen(keyDir, offices, db.prepare(OFFICE_KEYS_SQL).all() as OfficeKeyRow[]);
  } finally {
    db.close();
  }
}

async function checkKeysOpenPostgres(config: Config): Promise<void> {
  const client = lossTolerated(new pg.Client(pgOptions(config.databaseAdminUrl ?? config.databaseUrl)));
  await client.connect();
  try {
    const rows = (await client.query<OfficeKeyRow>(OFFICE_KEYS_SQL)).rows;
    checkKeysOpen(
      config.keyDir,
      config.databaseAdminUrl
        ? (await client.query<{ id: string }>('select id from tenants')).rows.map((r) => r.id)
        : null,
      rows,
    );
  } finally {
    await client.end();
  }
}

/** Issue 19: s3 — refuses a restore whose rows name objects the S3 bucket does not hold. */
async function bucketHolds(config: Config, files: string[]): Promise<void> {
  const o = await bucketObjects(config, files);
  if (o.missing > 0)
    throw new ManifestError(
      `the S3 bucket ${config.s3?.bucket} lacks ${o.missing} image(s) or document(s) the database names: restore the bucket's objects (its versioning) first`,
      refusal('restore-s3-objects-missing', { missing: o.missing, bucket: String(config.s3?.bucket) }),
    );
}

async function postgresHeads(
  config: Config,
  inDatabase: boolean,
  inBucket = false,
): Promise<{ heads: Record<string, number>; files: string[] }> {
  const client = lossTolerated(new pg.Client(pgOptions(config.databaseAdminUrl ?? config.databaseUrl)));
  await client.connect();
  try {
    const q = async (text: string) => (await client.query(text)).rows;
    const facts = await snapshotFacts(q);
    // Issue 19: storage-db — the objects are in the restored dump itself: every one its rows name must be there.
    if (inDatabase) {
      const objects = await storedObjects(q);
      if (objects.missing > 0)
        throw new ConfigError(
          `the database names ${objects.missing} image(s) or document(s) its storage does not hold: restore a complete dump`,
          refusal('restore-objects-missing', { missing: objects.missing }),
        );
      return { heads: facts.counts.chains, files: [] };
    }
    // Issue 19: s3 — the objects are in the bucket: every one the restored rows name must be there.
    if (inBucket) {
      await bucketHolds(config, facts.files);
      return { heads: facts.counts.chains, files: [] };
    }
    return { heads: facts.counts.chains, files: facts.files };
  } finally {
    await client.end();
  }
}

export async function restoreData(
  config: Config,
  src: string,
  opts: { now?: () => Date } = {},
): Promise<RestoreResult> {
  const now = opts.now ?? (() => new Date());
  const dir = path.resolve(src);
  const { manifest, digest } = await checkBackup(config, dir);
  const dataDir = config.dataDir;
  const { resume } = checkTarget(dataDir, digest);
  // Issue 19: backup2 — the key directory must open the data before anything is written.
  // (on SQLite checkBackup has checked the backup's database copy)
  if (manifest.dialect === 'postgres') await checkKeysOpenPostgres(config);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dataDir, 0o700);
  // What the database will hold: from the manifest (SQLite), or from the operator's restored dump (PostgreSQL).
  const pgFacts =
    manifest.dialect === 'postgres'
      ? await postgresHeads(config, manifest.objects?.storage === 'database', manifest.objects?.storage === 's3')
      : undefined;
  if (pgFacts) {
    const inBackup = new Set(manifest.files.map((f) => f.path));
    const absent = pgFacts.files.filter((f) => !inBackup.has(f));
    if (absent.length > 0)
      throw new ConfigError(
        `the database names ${absent.length} file(s) this backup does not hold (first: ${absent[0]}): restore the dump taken BEFORE this backup`,
        refusal('restore-files-missing', { missing: absent.length, first: String(absent[0]) }),
      );
  }
  const heads = pgFacts?.heads ?? manifest.counts!.chains;
  const witnessFile = path.join(config.keyDir, WITNESS_FILE);
  // Issue 19: attack21 — the bytes read here are the ones checked: a witness swapped in the backup after
  // checkBackup hashed it (by whoever can write where backups are kept) is refused, not installed.
  const witnessEntry = manifest.files.find((f) => f.path === WITNESS_FILE);
  const backupWitness = witnessEntry ? checkedBytes(dir, witnessEntry) : undefined;
  // Issue 19: clock-pg — on PostgreSQL the operator's database backup is taken before `kartei backup`
  // copies the witness, so a checkpoint signed between the two is witnessed beyond the restored heads:
  // lost as well (a key directory restored from its backup, older than both, saw none of it).
  const backupWitnessed = backupWitness ? (JSON.parse(backupWitness.toString('utf8')) as Witnessed) : undefined;
  // Issue 19: attack21 — and witnessed heads the database holds other events under (a fork) are lost too.
  // And what a restore interrupted after installing its witness had carried over from before it.
  const keyWitness = readJson<Witnessed>(witnessFile);
  const witnesses = [keyWitness, { chains: keyWitness?.beforeRestore }, backupWitnessed];
  const marker: Marker = resume ?? {
    manifestSha256: digest,
    backupSnapshotAt: manifest.snapshotAt,
    prior: priorHeads(keyWitness),
    gap: gapSince(
      witnesses,
      heads,
      await heldHashes(config, manifest.dialect === 'sqlite' ? path.join(dir, DB_FILE) : undefined, witnesses, heads),
    ),
  };
  writeMarker(dataDir, marker);
  crashPoint('marked');
  const unlockServe = lockDataDir(dataDir);
  let unlockBackup: (() => void) | undefined;
  try {
    unlockBackup = lockBackup(dataDir, 'restore');
    // A repeated restore starts again from the backup: what the interrupted one wrote goes.
    for (const e of fs.readdirSync(dataDir))
      if (e === DB_FILE || e.startsWith(`${DB_FILE}-`) || e === 'images' || e === 'documents' || e === STAGING)
        fs.rmSync(path.join(dataDir, e), { recursive: true, force: true });
    // 1. Into the staging directory, each file checked again as it is copied.
    const staging = path.join(dataDir, STAGING);
    fs.mkdirSync(staging, { mode: 0o700 });
    const named = pgFacts ? new Set(pgFacts.files) : undefined;
    let files = 0;
    for (const f of manifest.files) {
      if (f.path === WITNESS_FILE) continue;
      if (named && !named.has(f.path)) continue; // newer than the dump: an orphan, left out
      const to = path.join(staging, f.path);
      fs.mkdirSync(path.dirname(to), { recursive: true, mode: 0o700 });
      fs.copyFileSync(path.join(dir, f.path), to, fs.constants.COPYFILE_EXCL);
      fs.chmodSync(to, 0o600);
      const got = await hashFile(to);
      if (got.size !== f.size || got.sha256 !== f.sha256)
        throw new ManifestError(
          `${f.path} changed in the backup while it was restored`,
          refusal('backup-changed-during-restore', { path: f.path }),
        );
      const fd = fs.openSync(to, 'r');
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      files++;
    }
    syncTree(staging);
    crashPoint('staged');
    // 2. Into place.
    for (const e of fs.readdirSync(staging)) fs.renameSync(path.join(staging, e), path.join(dataDir, e));
    fs.rmdirSync(staging);
    syncDir(dataDir);
    crashPoint('in-place');
    // 3. Checked again on the data in place (before step 1 on the backup's copy): every office's key unwraps.
    let witnessToInstall: Buffer | undefined;
    await withServicesOnly(config, async (s) => {
      for (const t of await s.store.db.selectFrom('tenants').select('id').execute())
        await inTenantTransaction(s.store, t.id, (tx) => s.keyring.tenantKey(tx, t.id)).catch(() => {
          throw new ConfigError(KEYS_DO_NOT_OPEN, KEYS_REFUSAL);
        });
      // Issue 19: instances — the backup's running servers are not running now (neither live nor crashed).
      await stopRestoredInstances(s.store.db);
      // Issue 19: clock-pg — heads the backup's witness names beyond the restored database (PostgreSQL:
      // signed after the operator's database backup) go back to the last checkpoint the database holds;
      // the events between are the gap recorded below, and the restore's own events take their places.
      if (backupWitnessed) witnessToInstall = await witnessWithin(s, backupWitnessed, heads);
    });
    // 4. The witness that belongs to the data; the key directory's own is kept beside it.
    let previousWitness: string | undefined;
    const current = fs.existsSync(witnessFile) ? fs.readFileSync(witnessFile) : undefined;
    // Issue 19: attack21 — until the restore completes, the installed witness carries the heads the key
    // directory had witnessed, and the key directory never lacks a witness: the earlier one is copied
    // aside (once, however often the restore is run) before the new one is renamed over it.
    const prior = marker.prior ?? {};
    const data = witnessToInstall ?? backupWitness;
    const installing =
      Object.keys(prior).length > 0
        ? Buffer.from(
            JSON.stringify(
              { ...(data ? JSON.parse(data.toString('utf8')) : { chains: {} }), beforeRestore: prior },
              null,
              1,
            ),
          )
        : data;
    const replace = !!installing && !current?.equals(installing);
    if (replace) writeSynced(`${witnessFile}.restore.tmp`, installing!);
    if (current && !(installing && current.equals(installing))) {
      previousWitness =
        keptAlready(config.keyDir, current) ??
        path.join(config.keyDir, `audit-witness.before-restore-${now().toISOString().replace(/[:.]/g, '-')}.json`);
      if (!fs.existsSync(previousWitness)) writeSynced(previousWitness, current);
      syncDir(config.keyDir);
      crashPoint('witness-moved');
    }
    if (replace) fs.renameSync(`${witnessFile}.restore.tmp`, witnessFile);
    else if (current && !installing) fs.rmSync(witnessFile);
    syncDir(config.keyDir);
    crashPoint('witness-written');
    // 5. On the record of every chain: the restore, and what each chain lost since the backup.
    const chains = Object.keys(heads);
    const lostChains = Object.keys(marker.gap).filter((c) => !(c in heads));
    await recordOnChain(
      config,
      'system.restore',
      {
        backupSnapshotAt: marker.backupSnapshotAt,
        manifestSha256: digest,
        ...(lostChains.length > 0 ? { chainsLost: lostChains.length } : {}),
      },
      chains.includes(DEPLOYMENT_CHAIN) ? chains : [DEPLOYMENT_CHAIN, ...chains],
      (chain): Record<string, string | number> => {
        const g = marker.gap[chain];
        return {
          ...(g ? { lostFrom: g.from, lostTo: g.to, witnessedAt: g.witnessedAt } : { lostFrom: 0, lostTo: 0 }),
          // The installation's own chain names every chain's gap (an office's names only its own).
          ...(chain === DEPLOYMENT_CHAIN ? { gap: gapSummary(marker.gap) } : {}),
        };
      },
    );
    crashPoint('recorded');
    // Issue 19: attack21 — complete: the witness no longer carries the heads from before it.
    const installed = readJson<Witnessed>(witnessFile);
    if (installed?.beforeRestore) {
      const { beforeRestore: _done, ...rest } = installed;
      writeSynced(`${witnessFile}.restore.tmp`, Buffer.from(JSON.stringify(rest, null, 1)));
      fs.renameSync(`${witnessFile}.restore.tmp`, witnessFile);
      syncDir(config.keyDir);
    }
    fs.rmSync(path.join(dataDir, RESTORE_MARKER));
    syncDir(dataDir);
    return { backupSnapshotAt: marker.backupSnapshotAt, files, gap: marker.gap, previousWitness };
  } finally {
    // On a failure the marker stays: no server starts on a half-restored directory; a repeated restore completes it.
    unlockBackup?.();
    unlockServe();
  }
}

// Issue 19: clock-pg
/**
 * The backup's witness as it may stand beside the restored database: a chain's head beyond the
 * restored head becomes the database's last checkpoint at or below it (or is left out: the next
 * round records it). Undefined when every head is within (the witness is installed as it is).
 */
async function witnessWithin(s: Services, w: Witnessed, heads: Record<string, number>): Promise<Buffer | undefined> {
  const chains = { ...(w.chains ?? {}) };
  let changed = false;
  for (const [chain, head] of Object.entries(chains)) {
    const restored = heads[chain] ?? 0;
    if (head.seq <= restored) continue;
    changed = true;
    const last = await inTenantTransaction(s.store, chain, (tx) =>
      tx
        .selectFrom('audit_checkpoints')
        .select(['seq', 'hash', 'at', 'key_id'])
        .where('tenant_id', '=', chain)
        .where('seq', '<=', restored)
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst(),
    );
    if (last) chains[chain] = { seq: Number(last.seq), hash: last.hash, at: last.at, keyId: last.key_id };
    else delete chains[chain];
  }
  return changed ? Buffer.from(JSON.stringify({ ...w, chains }, null, 1)) : undefined;
}

// Issue 19: attack21
/** Written and synced (mode 0600), over whatever was there. */
function writeSynced(file: string, bytes: Buffer): void {
  const fd = fs.openSync(file, 'w', 0o600);
  try {
    fs.writeSync(fd, bytes);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** A witness kept aside by an earlier run of this restore, with these very bytes. */
function keptAlready(keyDir: string, bytes: Buffer): string | undefined {
  return fs
    .readdirSync(keyDir)
    .filter((f) => f.startsWith('audit-witness.before-restore-') && f.endsWith('.json'))
    .map((f) => path.join(keyDir, f))
    .find((f) => fs.readFileSync(f).equals(bytes));
}

/** A small file of the backup read once into memory and checked against its manifest entry there. */
function checkedBytes(dir: string, entry: { path: string; size: number; sha256: string }): Buffer {
  const bytes = fs.readFileSync(path.join(dir, entry.path));
  if (bytes.length !== entry.size || createHash('sha256').update(bytes).digest('hex') !== entry.sha256)
    throw new ManifestError(
      `${entry.path} changed in the backup while it was restored`,
      refusal('backup-changed-during-restore', { path: entry.path }),
    );
  return bytes;
}

/** `chain events a–b; …`, or `none`. */
function gapSummary(gap: Record<string, ChainGap>): string {
  const parts = Object.entries(gap).map(([chain, g]) => `${chain} events ${g.from}–${g.to}`);
  return parts.length > 0 ? parts.join('; ') : 'none';
}

function syncTree(root: string) {
  for (const e of fs.readdirSync(root, { withFileTypes: true })) if (e.isDirectory()) syncTree(path.join(root, e.name));
  syncDir(root);
}
