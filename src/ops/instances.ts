// The instance set in operation (issue 19): what a starting server writes of itself into the
// registry (src/db/instances.ts) — host, pid, version, schema level, a fingerprint of its key
// directory, its storage kind and addresses — and what `kartei doctor` says of the set: instances
// of different versions or schema levels, or with different keys (they cannot read each other's
// data), instances that vanished without a stop, and more than one live instance keeping its
// images and documents in its own data directory on a shared PostgreSQL; and whether this host's
// clock is far off the database's (the one the instance set is judged by).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Config, storageKind } from '../config/config.ts';
import {
  CLOCK_SKEW_WARN_MS,
  databaseNow,
  databaseTime,
  isLive,
  listInstances,
  liveInstanceIds,
  measureSkew,
  skewed,
  surelyOff,
  type InstanceFacts,
  type InstanceRow,
} from '../db/instances.ts';
import { inTenantTransaction, type Store } from '../db/connect.ts';
import { chainIds } from '../audit/audit-log.ts';
import type { Services } from '../services.ts';
import { migrationSet } from '../db/migrations/index.ts';
import { keyId, loadMasterKeys } from '../vault/master-keys.ts';
import type { Keyring } from '../vault/keyring.ts';
import type { CheckpointSigner } from '../audit/signing-key.ts';

/** Kartei's version, from package.json ('unknown' if it cannot be read). */
function karteiVersion(): string {
  try {
    const file = fileURLToPath(new URL('../../package.json', import.meta.url));
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The newest migration this code knows: instances of one schema level expect the same tables. */
export function schemaLevel(): string {
  return Object.keys(migrationSet('sqlite', undefined)).at(-1) ?? 'none';
}

/**
 * A fingerprint of what a key directory opens: the current master key's id, a keyed digest of a
 * fixed text under the deployment's index key, and the chain key's id — each a one-way digest,
 * the whole hashed again and cut to 16 hex digits. Two instances with equal fingerprints read each
 * other's data, find each other's blind indexes and link one audit chain; unequal, they cannot.
 * (The audit signing key is left out: `kartei audit rotate-key` changes it while servers run.)
 */
export function keyFingerprint(keyDir: string, keyring: Keyring, signer: CheckpointSigner): string {
  const master = keyId(loadMasterKeys(keyDir).current);
  const index = keyring.globalIndex('audit-input', 'kartei/instance-fingerprint');
  const chain = keyId(Buffer.from(signer.chainKey.key));
  return createHash('sha256').update(`${master}\0${index}\0${chain}`).digest('hex').slice(0, 16);
}

/** The addresses the configuration listens on: HTTP, DICOM, metrics. */
function listenAddresses(config: Config): string[] {
  const out = [`${config.tls ? 'https' : 'http'}://${config.host}:${config.port}`];
  if (config.dicom) out.push(`dicom${config.dicom.tls ? '+tls' : ''}://${config.dicom.host}:${config.dicom.port}`);
  if (config.metrics) out.push(`metrics://${config.metrics.host}:${config.metrics.port}`);
  return out;
}

/** The same for every start from one data directory on one host (a restart after a crash is itself). */
function dataDirId(dataDir: string): string {
  let real = path.resolve(dataDir);
  try {
    real = fs.realpathSync(dataDir);
  } catch {
    // Not there yet: its resolved name.
  }
  return createHash('sha256').update(`${os.hostname()}\0${real}`).digest('hex').slice(0, 16);
}

/** What this server writes of itself into the registry. */
export function instanceFacts(
  id: string,
  config: Config,
  keys: { keyring: Keyring; signer: CheckpointSigner },
): InstanceFacts {
  return {
    id,
    dataDirId: dataDirId(config.dataDir),
    host: os.hostname(),
    pid: process.pid,
    version: karteiVersion(),
    schemaLevel: schemaLevel(),
    keyFingerprint: keyFingerprint(config.keyDir, keys.keyring, keys.signer),
    storage: storageKind(config),
    listen: listenAddresses(config),
  };
}

/** Findings of this module, in the shape of src/ops/security-findings.ts's (which imports this file). */
interface InstanceFinding {
  severity: 'critical' | 'medium';
  code:
    | 'instances-versions-differ'
    | 'instances-keys-differ'
    | 'instances-files-storage'
    | 'instance-crashed'
    | 'instance-clock-skew'
    | 'witness-behind';
  params: Record<string, string | number>;
  title: string;
  fix: string;
}

/** Instances that vanished without a stop are reported for this long after their last heartbeat. */
const CRASH_REPORTED_MS = 7 * 86_400_000;

const who = (r: InstanceRow) => `${r.host} (pid ${r.pid})`;

/** The doctor's findings on the instance set (deployment-wide: never in one office's report), by the database's clock. */
export async function instanceFindings(store: Store): Promise<InstanceFinding[]> {
  const rows = await listInstances(store.db);
  const now = await databaseNow(store.db);
  const live = rows.filter((r) => isLive(r, now));
  const out: InstanceFinding[] = [];
  const versions = new Set(live.map((r) => `${r.version}/${r.schemaLevel}`));
  if (versions.size > 1) {
    const list = live.map((r) => `${who(r)}: ${r.version}, schema ${r.schemaLevel}`).join('; ');
    out.push({
      severity: 'critical',
      code: 'instances-versions-differ',
      params: { instances: list },
      title: `Kartei instances of different versions or schema levels run on this database: ${list}`,
      fix: 'Run one version everywhere: stop the older instances, update them to the version the newest one runs, and start them again.',
    });
  }
  const keys = new Set(live.map((r) => r.keyFingerprint));
  if (keys.size > 1) {
    const list = live.map((r) => `${who(r)}: ${r.keyFingerprint}`).join('; ');
    out.push({
      severity: 'critical',
      code: 'instances-keys-differ',
      params: { instances: list },
      title: `Kartei instances with different key directories run on this database; they cannot read each other's data: ${list}`,
      fix: 'Give every instance the same key directory contents (copy it from the instance that set the office up), then restart the others. Check what the others wrote meanwhile.',
    });
  }
  const files = live.filter((r) => r.storage === 'files');
  if (store.dialect === 'postgres' && files.length > 1) {
    const list = files.map(who).join('; ');
    out.push({
      severity: 'critical',
      code: 'instances-files-storage',
      params: { n: files.length, instances: list },
      title: `${files.length} live instances keep images and documents in their own data directory: ${list}; each sees only what it stored itself`,
      fix: 'Set KARTEI_STORAGE=database (or s3) on every instance and restart them; with files storage run one instance only.',
    });
  }
  for (const r of rows) {
    if (r.stoppedAt !== null || isLive(r, now)) continue;
    if (Date.parse(r.heartbeatAt) < now - CRASH_REPORTED_MS) continue;
    const restarted = rows.some((o) => o.dataDirId === r.dataDirId && o.startedAt > r.startedAt);
    out.push({
      severity: 'medium',
      code: 'instance-crashed',
      params: { host: r.host, pid: r.pid, at: r.heartbeatAt, restarted: restarted ? 'yes' : 'no' },
      title: `The Kartei instance on ${who(r)} stopped without an orderly stop; last heard of at ${r.heartbeatAt}${restarted ? ' (started again since)' : ''}`,
      fix: 'Find out why it ended (its log, the system journal: crash, kill, out of memory, power, lost network); start it again if it is still needed. What it was doing is taken over by the other instances.',
    });
  }
  return out;
}

/** A checkpoint older than this (two rounds of a minute) that this key directory's witness lacks: it is behind. */
const WITNESS_GRACE_MS = 2 * 60_000;

/**
 * Whether a clock is more than CLOCK_SKEW_WARN_MS off the database's: this host's (the one the doctor runs
 * on, one round trip now) and every other live instance's (as its last heartbeat measured it, migration
 * 041). Which instance is live is judged by the database's clock alone; but the times Kartei records
 * (audit events, checkpoints, tokens' expiry) come from each host's clock, and the shared store's
 * recovery expects clocks within minutes. Each server also logs when its host's clock crosses the bound.
 */
export async function clockFindings(store: Store, clock: () => number = Date.now): Promise<InstanceFinding[]> {
  const db = store.db;
  const m = await measureSkew(clock, async () => {
    const r = await db.selectNoFrom(databaseTime(db).as('now')).executeTakeFirstOrThrow();
    return r.now;
  });
  const here = os.hostname();
  const off = new Map<string, number>();
  if (m && skewed(m)) off.set(here, surelyOff(m));
  const peers = await db
    .selectFrom('server_instances')
    .select(['host', 'clock_skew_ms'])
    .where('id', 'in', liveInstanceIds(db))
    .where('host', '!=', here)
    .where('clock_skew_ms', 'is not', null)
    .orderBy('host')
    .execute();
  for (const p of peers) {
    const ms = Number(p.clock_skew_ms);
    if (Math.abs(ms) > CLOCK_SKEW_WARN_MS && !off.has(p.host)) off.set(p.host, ms);
  }
  return [...off].map(([host, ms]) => {
    // Signed: + the host's clock runs ahead, − behind.
    const offset = `${ms > 0 ? '+' : '−'}${Math.round(Math.abs(ms) / 1000)}`;
    return {
      severity: 'medium' as const,
      code: 'instance-clock-skew' as const,
      params: { host, offset, bound: CLOCK_SKEW_WARN_MS / 1000 },
      title: `The clock of the host ${host} is ${offset} s off the database's (+ ahead, − behind; more than ${CLOCK_SKEW_WARN_MS / 1000} s)`,
      fix: "Synchronise the host's clock with NTP (chrony, systemd-timesyncd), the database server's too. Kartei judges which instances are live by the database's clock, but records the times of audit events, checkpoints and tokens by each host's own.",
    };
  });
}

/**
 * Whether this key directory's witness keeps up with the database's signed checkpoints. Each instance
 * records in its own key directory the heads of the rounds it runs (every minute; a round finds what
 * another instance signed already and records it too), so a witness is at most a round behind while
 * its instance runs. One that lags further belongs to an instance that is stopped or cannot write its
 * key directory: a rollback of the database to a point after its last head goes unseen by this copy.
 */
export async function witnessFindings(s: Services, asOf?: number): Promise<InstanceFinding[]> {
  const witness = s.signer.witness;
  if (!witness) return [];
  const heads = witness.read();
  // As of the database's clock (the checkpoints' times are their signers' clocks: see instance-clock-skew).
  const cutoff = new Date((asOf ?? (await databaseNow(s.store.db))) - WITNESS_GRACE_MS).toISOString();
  let behind = 0;
  let oldest: string | undefined;
  for (const id of await chainIds(s.store)) {
    const seen = heads[id]?.seq ?? 0;
    const missed = await inTenantTransaction(s.store, id, (tx) =>
      tx
        .selectFrom('audit_checkpoints')
        .select(['seq', 'at'])
        .where('tenant_id', '=', id)
        .where('seq', '>', seen)
        .where('at', '<', cutoff)
        .orderBy('seq')
        .limit(1)
        .executeTakeFirst(),
    );
    if (!missed) continue;
    behind++;
    if (!oldest || missed.at < oldest) oldest = missed.at;
  }
  if (behind === 0) return [];
  return [
    {
      severity: 'medium',
      code: 'witness-behind',
      params: { n: behind, signedAt: oldest!, file: witness.file },
      title: `The audit witness in this key directory (${witness.file}) lacks checkpoints of ${behind} chain(s) signed since ${oldest}: a rollback of the database past them would not be seen from here`,
      fix: 'Start the Kartei instance of this key directory (each instance records the checkpoints in its own key directory every minute) and check that it can write there; with a shared key directory, check the mount.',
    },
  ];
}
