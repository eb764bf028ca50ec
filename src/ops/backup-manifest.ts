// The manifest of a backup (`kartei-backup.json`, written last): what it is, when its
// database snapshot was taken, the counts in that snapshot, and every file with its size and
// SHA-256. It is authenticated with an HMAC under a key derived from the audit chain key in
// the key directory (never the key itself), so a manifest rewritten together with the files
// it describes is refused by the installation that made it. Names only paths Kartei writes:
// a path outside the backup, or a file the manifest does not list, is a lie too.
import { createHash, createHmac, hkdfSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { refusal, RefusalError } from '../config/refusal.ts'; // Issue 19: s23-german-cli

export const MANIFEST_FILE = 'kartei-backup.json';
export const KEYS_MANIFEST_FILE = 'kartei-keys-backup.json';
export const FORMAT = 'kartei-backup/v1';

export interface BackupFile {
  path: string;
  size: number;
  sha256: string;
}

/** The rows the snapshot holds: restore recounts them in the copy it is given. */
export interface BackupCounts {
  tenants: number;
  persons: number;
  records: number;
  instances: number;
  documentVersions: number;
  /** Per audit chain: its head's sequence number in the snapshot. */
  chains: Record<string, number>;
}

export interface DataManifest {
  format: typeof FORMAT;
  kind: 'data';
  dialect: 'sqlite' | 'postgres';
  startedAt: string;
  /** When the database snapshot was taken (SQLite); on PostgreSQL, when the file copy began. */
  snapshotAt: string;
  finishedAt: string;
  /** Absent on PostgreSQL: the operator's dump holds the database. */
  counts?: BackupCounts;
  // Issue 19: storage-db
  /**
   * PostgreSQL with images and documents in the database (KARTEI_STORAGE=database): they are in the
   * operator's dump, not in the backup; what the database held when the backup was made.
   */
  objects?: StoredObjects;
  files: BackupFile[];
  mac: string;
}

// Issue 19: storage-db
/** The sealed objects the rows name, kept in PostgreSQL or S3: how many, their sealed bytes, and how many are absent. */
export interface StoredObjects {
  /** `database`: in PostgreSQL (its dump holds them); `s3`: in the S3 bucket (its versioning holds them). */
  storage: 'database' | 's3';
  images: number;
  documents: number;
  /** Their sealed bytes (the database's; the bucket is not asked). */
  bytes?: number;
  missing: number;
}

export interface KeysManifest {
  format: typeof FORMAT;
  kind: 'keys';
  startedAt: string;
  finishedAt: string;
  files: BackupFile[];
  mac: string;
}

export type Manifest = DataManifest | KeysManifest;

/** Where a data backup's files may be: the database, the witness, and the two stores. */
const DATA_PATH = /^(kartei\.sqlite|audit-witness\.json|(images|documents)(\/[A-Za-z0-9_.-]+)+)$/;
const KEYS_PATH = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;

// Issue 19: s23-german-cli — with a refusal code, for `kartei` to say it in German (src/cli/refusals.ts).
export class ManifestError extends RefusalError {}

function macKey(chainKey: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', chainKey, Buffer.alloc(0), 'kartei/backup-manifest/v1', 32));
}

/** Stable JSON: keys sorted at every level, so the MAC does not depend on the writer's key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

function macOf(body: Omit<Manifest, 'mac'>, chainKey: Uint8Array): string {
  return createHmac('sha256', macKey(chainKey)).update(canonical(body)).digest('hex');
}

export function sealManifest<M extends Manifest>(body: Omit<M, 'mac'>, chainKey: Uint8Array): M {
  return { ...body, mac: macOf(body, chainKey) } as M;
}

/** The manifest's own SHA-256 as written: what the audit event and the restore record name. */
const manifestDigest = (text: string) => createHash('sha256').update(text).digest('hex');

/** Writes the manifest last, whole or not at all, and makes it durable. */
export function writeManifest(dir: string, name: string, m: Manifest): string {
  const text = `${JSON.stringify(m, null, 1)}\n`;
  const file = path.join(dir, name);
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    fs.writeFileSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  syncDir(dir);
  return manifestDigest(text);
}

/**
 * Reads and checks a manifest's form and MAC; the files themselves are checked by the caller.
 * Throws a ManifestError naming what is wrong (never a key).
 */
export function readManifest<K extends Manifest['kind']>(
  dir: string,
  kind: K,
  chainKey: Uint8Array,
): { manifest: Extract<Manifest, { kind: K }>; digest: string } {
  const file = path.join(dir, kind === 'data' ? MANIFEST_FILE : KEYS_MANIFEST_FILE);
  let text: string;
  try {
    const st = fs.lstatSync(file);
    if (!st.isFile()) throw new ManifestError(`${file} is not a regular file`, refusal('manifest-not-file', { file }));
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof ManifestError) throw e;
    throw new ManifestError(
      `no backup manifest at ${file}: not a complete Kartei backup`,
      refusal('manifest-missing', { file }),
    );
  }
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch {
    throw new ManifestError(`${file} is not JSON`, refusal('manifest-not-json', { file }));
  }
  if (m.format !== FORMAT || m.kind !== kind || !Array.isArray(m.files) || typeof m.mac !== 'string')
    throw new ManifestError(
      `${file} is not a Kartei ${kind} backup manifest of format ${FORMAT}`,
      refusal('manifest-wrong-format', { file, kind, format: FORMAT }),
    );
  const { mac, ...body } = m;
  const expected = macOf(body, chainKey);
  if (mac.length !== expected.length || !timingSafeEqualHex(mac, expected))
    throw new ManifestError(
      `${file} does not authenticate with this key directory's audit chain key: altered, or made by another installation`,
      refusal('manifest-not-authentic', { file }),
    );
  const allowed = kind === 'data' ? DATA_PATH : KEYS_PATH;
  const seen = new Set<string>();
  for (const f of m.files) {
    if (
      typeof f.path !== 'string' ||
      !allowed.test(f.path) ||
      f.path.split('/').some((p) => p === '.' || p === '..') ||
      !Number.isSafeInteger(f.size) ||
      f.size < 0 ||
      !/^[0-9a-f]{64}$/.test(f.sha256)
    )
      throw new ManifestError(
        `${file} names a file Kartei never writes: ${JSON.stringify(f.path)}`,
        refusal('manifest-foreign-file', { file, path: JSON.stringify(f.path) }),
      );
    if (seen.has(f.path))
      throw new ManifestError(`${file} names ${f.path} twice`, refusal('manifest-file-twice', { file, path: f.path }));
    seen.add(f.path);
  }
  return { manifest: m as Extract<Manifest, { kind: K }>, digest: manifestDigest(text) };
}

function timingSafeEqualHex(a: string, b: string): boolean {
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** Every regular file under `root`, relative to it; a symbolic link or anything else is refused. */
export function listTree(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) out.push(r);
      else
        throw new ManifestError(
          `${path.join(root, r)} is not a regular file or directory`,
          refusal('backup-entry-not-file', { path: path.join(root, r) }),
        );
    }
  };
  walk('');
  return out.sort();
}

export function syncDir(dir: string) {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
