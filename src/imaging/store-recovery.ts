// Recovery of the image store at start, before anything listens: a crash in
// the middle of a C-STORE or STOW-RS leaves either a `.tmp-` file (the write
// never committed) or a sealed instance file that no index row names (the
// file committed, the index transaction did not). Neither was ever
// acknowledged to its sender, so both are removed. Each office whose files
// were touched gets one audit event with the counts; the counts (no names,
// no ids of instances) go to the log and to `store-recovery.json` in the data
// directory, which `kartei doctor` and the security report read.
//
// Guard: more orphans than a crash can leave means the database is older than
// the files (a restored backup?), not a crash: then no sealed file is removed,
// and the report says so as a critical finding.
//
// A shared store (issue 19: the database, written by every instance): another
// instance's write may be in progress, so entries younger than
// SHARED_STORE_GRACE_MS are left to their writer, and recovery runs under an
// advisory lock, so two instances starting together do not both judge.
import fs from 'node:fs';
import path from 'node:path';
import type { Store } from '../db/connect.ts';
import { inTenantTransaction } from '../db/connect.ts';
import { DEPLOYMENT_CHAIN } from '../db/schema.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { leftToWriter, type SealedStore } from '../vault/sealed-store.ts';
import { exclusively } from '../db/session-lock.ts';
import { parseInstancePath } from './instance-store.ts';

export const RECOVERY_FILE = 'store-recovery.json';
/** More orphaned instance files than this are not a crash's: none is removed. */
const MAX_CRASH_ORPHANS = 1000;
const BATCH = 500;

interface RecoveryCounts {
  /** `.tmp-` files of writes that never committed: removed. */
  partial: number;
  /** Sealed instance files no index row names: removed. */
  orphans: number;
  /** Orphans left in place because there were too many (see the guard above). */
  kept: number;
}

export interface RecoveryReport extends RecoveryCounts {
  at: string;
  /** Per office (tenant id), or `deployment` for files under no known office. */
  offices: Record<string, RecoveryCounts>;
}

export interface RecoveryDeps {
  store: Store;
  images: SealedStore;
  audit: AuditLog;
  dataDir: string;
}

const empty = (): RecoveryCounts => ({ partial: 0, orphans: 0, kept: 0 });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function recoverStore(d: RecoveryDeps, opts: { now?: Date; maxOrphans?: number } = {}): Promise<RecoveryReport> {
  return d.images.shared
    ? exclusively(d.store, 'kartei:store-recovery:images', () => recover(d, opts))
    : recover(d, opts);
}

async function recover(d: RecoveryDeps, opts: { now?: Date; maxOrphans?: number }): Promise<RecoveryReport> {
  const now = opts.now ?? new Date();
  const tenants = new Set((await d.store.db.selectFrom('tenants').select('id').execute()).map((t) => t.id));
  const officeOf = (relPath: string) => {
    const first = relPath.split('/')[0]!;
    return tenants.has(first) ? first : DEPLOYMENT_CHAIN;
  };
  const offices = new Map<string, RecoveryCounts>();
  const counts = (office: string) => offices.get(office) ?? offices.set(office, empty()).get(office)!;

  // Sealed instance files per office, by instance id (two while a re-encryption was cut off: the old and the new).
  const sealed = new Map<string, Map<string, string[]>>();
  for await (const f of d.images.walk()) {
    if (leftToWriter(d.images, f, now)) continue;
    if (f.temporary) {
      await d.images.removeLeftover(f.relPath);
      counts(officeOf(f.relPath)).partial++;
      continue;
    }
    const ref = parseInstancePath(f.relPath);
    if (!ref || !tenants.has(ref.tenantId) || !UUID.test(ref.id)) continue; // not ours to judge
    const ofTenant = sealed.get(ref.tenantId) ?? sealed.set(ref.tenantId, new Map()).get(ref.tenantId)!;
    ofTenant.set(ref.id, [...(ofTenant.get(ref.id) ?? []), f.relPath]);
  }

  const orphans: { office: string; relPath: string }[] = [];
  for (const [tenantId, files] of sealed) {
    const ids = [...files.keys()];
    const named = new Map<string, string>();
    await inTenantTransaction(d.store, tenantId, async (tx) => {
      for (let i = 0; i < ids.length; i += BATCH) {
        const rows = await tx
          .selectFrom('instances')
          .select(['id', 'file'])
          .where('id', 'in', ids.slice(i, i + BATCH))
          .execute();
        for (const r of rows) named.set(r.id, r.file);
      }
    });
    for (const [id, paths] of files)
      for (const relPath of paths) if (named.get(id) !== relPath) orphans.push({ office: tenantId, relPath });
  }
  const remove = orphans.length <= (opts.maxOrphans ?? MAX_CRASH_ORPHANS);
  for (const o of orphans) {
    if (remove) {
      await d.images.remove(o.relPath);
      counts(o.office).orphans++;
    } else counts(o.office).kept++;
  }

  for (const [office, c] of offices) {
    await inTenantTransaction(d.store, office, (tx) =>
      d.audit.append(tx, {
        tenantId: office,
        actorId: null,
        action: 'system.store-recovery',
        resourceType: 'tenant',
        resourceId: office === DEPLOYMENT_CHAIN ? undefined : office,
        outcome: 'allowed',
        detail: { ...c },
      }),
    );
  }
  const total = [...offices.values()].reduce(
    (t, c) => ({ partial: t.partial + c.partial, orphans: t.orphans + c.orphans, kept: t.kept + c.kept }),
    empty(),
  );
  const report: RecoveryReport = { at: now.toISOString(), ...total, offices: Object.fromEntries(offices) };
  writeReport(d.dataDir, report);
  return report;
}

/** Written whole or not at all: the doctor never reads half a report. */
function writeReport(dataDir: string, report: RecoveryReport) {
  const file = path.join(dataDir, RECOVERY_FILE);
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(report)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** The last start's report, if the server has started since recovery existed. */
export function readRecoveryReport(dataDir: string): RecoveryReport | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dataDir, RECOVERY_FILE), 'utf8')) as RecoveryReport;
  } catch {
    return undefined;
  }
}
