// What `kartei doctor` (and an office's security report) says about backups: the age of the last
// data backup and of the last keys' backup, a backup running now, and the last restore with the
// audit events it could not bring back. Read from the audit chain — each `kartei backup` and
// `kartei restore` appends `system.backup` / `system.restore` — and from the backup lock file:
// nothing from a process's memory, so every instance reads the same.
import { sql } from 'kysely';
import { inTenantTransaction, type Store } from '../db/connect.ts';
import { DEPLOYMENT_CHAIN } from '../db/schema.ts';
import { runningBackup } from './backup-lock.ts';

/** Findings of this module, in the shape of src/ops/security-findings.ts's. */
export interface BackupFinding {
  severity: 'high' | 'medium' | 'low' | 'info';
  code:
    | 'backup-none'
    | 'backup-old'
    | 'backup-age'
    | 'keys-backup-none'
    | 'keys-backup-stale'
    | 'backup-running'
    | 'restored-from-backup';
  params?: Record<string, string | number>;
  title: string;
  fix: string;
}

/** A data backup older than this many hours is a finding (`KARTEI_BACKUP_MAX_AGE_HOURS`, default 26). */
const DEFAULT_BACKUP_MAX_AGE_HOURS = 26;

interface Row {
  seq: number | string;
  at: string;
  detail: string | null;
}

// Issue 19: backup2 — rotations after which the last keys' backup no longer opens new data backups.
const KEY_ROTATIONS: [action: string, like?: string][] = [
  ['keys.master.rotate', '%"phase":"completed"%'],
  ['audit.signing-key.rotate'],
];

function lastEvent(store: Store, chain: string, action: string, like?: string): Promise<Row | undefined> {
  return inTenantTransaction(store, chain, (tx) => {
    let q = tx
      .selectFrom('audit_events')
      .select(['seq', 'at', 'detail'])
      .where('tenant_id', '=', chain)
      .where('action', '=', action);
    if (like) q = q.where(sql<boolean>`detail like ${like}`);
    return q.orderBy('seq', 'desc').limit(1).executeTakeFirst();
  });
}

const detailOf = (r: Row | undefined) => (r?.detail ? (JSON.parse(r.detail) as Record<string, string | number>) : {});

export async function backupFindings(
  store: Store,
  dataDir: string,
  opts: { tenantId?: string; maxAgeHours?: number; now?: number; setUp: boolean },
): Promise<BackupFinding[]> {
  const out: BackupFinding[] = [];
  const now = opts.now ?? Date.now();
  const maxAge = opts.maxAgeHours ?? DEFAULT_BACKUP_MAX_AGE_HOURS;
  const running = runningBackup(dataDir);
  if (running)
    out.push({
      severity: 'info',
      code: 'backup-running',
      params: { at: running.at, pid: running.pid },
      title: `A ${running.what} is running since ${running.at} (process ${running.pid})`,
      fix: 'Nothing to do; wait for it to end.',
    });
  const data = await lastEvent(store, DEPLOYMENT_CHAIN, 'system.backup', '%"kind":"data"%');
  const restore = await lastEvent(store, opts.tenantId ?? DEPLOYMENT_CHAIN, 'system.restore');
  // The data as it is now was last backed up by the last backup, or by the one a restore brought back.
  const restoredBackup = restore ? String(detailOf(restore).backupSnapshotAt ?? '') : '';
  const last = [data?.at, restoredBackup]
    .filter((a): a is string => !!a)
    .sort()
    .at(-1);
  if (!last) {
    if (opts.setUp)
      out.push({
        severity: 'medium',
        code: 'backup-none',
        title: 'No data backup has been made',
        fix: 'Run `kartei backup DEST` regularly (e.g. a systemd timer) and `kartei backup --keys DEST2` to a separate place.',
      });
  } else {
    const hours = Math.floor((now - Date.parse(last)) / 3_600_000);
    out.push(
      hours > maxAge
        ? {
            severity: hours > 7 * 24 ? 'high' : 'medium',
            code: 'backup-old',
            params: { at: last, hours },
            title: `The last data backup is ${hours} hour(s) old (${last}); more than ${maxAge} hours`,
            fix: 'Run `kartei backup DEST`, and check why the scheduled backup did not run.',
          }
        : {
            severity: 'info',
            code: 'backup-age',
            params: { at: last, hours },
            title: `The last data backup is ${hours} hour(s) old (${last})`,
            fix: 'Nothing to do.',
          },
    );
    const keys = await lastEvent(store, DEPLOYMENT_CHAIN, 'system.backup', '%"kind":"keys"%');
    if (!keys && !opts.tenantId)
      out.push({
        severity: 'medium',
        code: 'keys-backup-none',
        title:
          'The key directory has never been backed up with `kartei backup --keys`; without it no backup can be read',
        fix: 'Run `kartei backup --keys DEST2` to a place apart from the data backups, and again after each key rotation.',
      });
    // Issue 19: backup2 — a keys' backup from before the last key rotation opens no data backup taken since.
    if (keys && !opts.tenantId) {
      const rotations = await Promise.all(
        KEY_ROTATIONS.map(([a, like]) => lastEvent(store, DEPLOYMENT_CHAIN, a, like)),
      );
      const rotated = rotations
        .filter((r): r is Row => !!r && Number(r.seq) > Number(keys.seq))
        .sort((a, b) => Number(a.seq) - Number(b.seq))
        .at(-1);
      if (rotated)
        out.push({
          severity: 'high',
          code: 'keys-backup-stale',
          params: { at: keys.at, rotatedAt: rotated.at },
          title: `The last backup of the key directory (${keys.at}) is older than the last key rotation (${rotated.at}); it cannot read the data backups taken since`,
          fix: "Run `kartei backup --keys DEST2` now, to a place apart from the data backups (keep the older keys' backup as long as the data backups it opens).",
        });
    }
  }
  if (restore) {
    const d = detailOf(restore);
    const gap = opts.tenantId
      ? Number(d.lostTo) > 0
        ? `events ${d.lostFrom}–${d.lostTo}`
        : 'none'
      : String(d.gap ?? 'none');
    out.push({
      severity: 'low',
      code: 'restored-from-backup',
      params: { at: restore.at, backupAt: restoredBackup, gap },
      title: `Restored on ${restore.at} from the backup of ${restoredBackup}; audit events witnessed after the backup and not in it: ${gap}`,
      fix: 'Nothing to repair: the restore and this gap are on the audit record (system.restore). Enter again what was done after the backup.',
    });
  }
  return out;
}

// Issue 19: backup2
/**
 * The last restore as `kartei audit verify` names it beside "audit chain OK": when, from which
 * backup, and the events each chain lost with it (on the record as `system.restore`, not a break);
 * the command words it in the operator's language.
 */
export async function lastRestoreNote(
  store: Store,
): Promise<{ at: string; backupAt: string; gap: string | undefined } | undefined> {
  const restore = await lastEvent(store, DEPLOYMENT_CHAIN, 'system.restore');
  if (!restore) return undefined;
  const d = detailOf(restore);
  return { at: restore.at, backupAt: String(d.backupSnapshotAt), gap: d.gap === undefined ? undefined : String(d.gap) };
}
