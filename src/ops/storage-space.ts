// A full disk is a state, not a crash (issue 19). This watches the free space of
// the file systems holding the data and key directories (statfs, every few
// seconds and at once after a write failed for want of space) and keeps one of
// three states: `ok`, `low` (free space under the configured threshold: a
// warning, still ready) and `full` (under FULL_FLOOR_BYTES, no inodes left, or a
// write failed with ENOSPC/EDQUOT/SQLITE_FULL/PostgreSQL's disk_full since the
// last look). Each change of state is logged once, never once per request; the
// HTTP error handler answers such a failure 503 `storage-full`, readiness fails
// while full, and `kartei doctor` judges the same numbers (`storageFindings`).
// What it holds is this process's own look at its disks, nothing another instance needs.
import fs from 'node:fs';
import type { Config } from '../config/config.ts';

/** Below this much free space a file system counts as full (a write of a few images would fail). */
const FULL_FLOOR_BYTES = 16 * 1024 * 1024;
/** How often the free space is looked at while nothing failed. */
const CHECK_INTERVAL_MS = 5_000;

export type StorageState = 'ok' | 'low' | 'full';
type Area = 'data' | 'keys';

export interface AreaSpace {
  area: Area;
  path: string;
  freeBytes: number;
  freeFiles: number;
  state: StorageState;
}

/** One file system's state from its free space and inodes. */
function judgeSpace(freeBytes: number, freeFiles: number, lowBytes: number): StorageState {
  if (freeBytes < FULL_FLOOR_BYTES || freeFiles === 0) return 'full';
  return freeBytes < lowBytes ? 'low' : 'ok';
}

/** The free space of the file system holding `dir` (what an unprivileged writer may use). */
function measure(area: Area, dir: string, lowBytes: number): AreaSpace {
  const s = fs.statfsSync(dir);
  const freeBytes = s.bavail * s.bsize;
  // File systems without inode counts (btrfs, some network ones) report 0 files in all: not full for that.
  const freeFiles = s.files === 0 ? Number.MAX_SAFE_INTEGER : s.ffree;
  return { area, path: dir, freeBytes, freeFiles, state: judgeSpace(freeBytes, freeFiles, lowBytes) };
}

interface Log {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export class StorageSpace {
  /** The worst state of the areas at the last look (a failed write counts until the next look after it). */
  state: StorageState = 'ok';
  areas: AreaSpace[] = [];
  /** Writes refused for want of space since the start (a metric). */
  refusals = 0;
  private failedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly dirs: [Area, string][];
  private readonly lowBytes: number;
  private log: Log | undefined;
  private readonly intervalMs: number;
  constructor(config: Pick<Config, 'dataDir' | 'keyDir' | 'storageLowBytes'>, intervalMs = CHECK_INTERVAL_MS) {
    this.dirs = [
      ['data', config.dataDir],
      ['keys', config.keyDir],
    ];
    this.lowBytes = config.storageLowBytes;
    this.intervalMs = intervalMs;
  }

  /** Looks now (a state other than ok is logged) and every few seconds until `stop`; the timer keeps no process alive. */
  start(log: Log): this {
    this.log = log;
    this.check();
    this.timer ??= setInterval(() => this.check(), this.intervalMs).unref();
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A write failed for want of space: full at once, and looked at again. */
  noteFull(): void {
    this.refusals++;
    this.failedAt = Date.now();
    this.check();
  }

  /** Looks at the free space now; logs a change of state once. */
  check(): StorageState {
    const before = this.state;
    try {
      this.areas = this.dirs.map(([area, dir]) => measure(area, dir, this.lowBytes));
    } catch (e) {
      // A directory gone or unreadable: readiness says so by its own check; keep the last figures.
      this.log?.error({ err: { code: (e as { code?: unknown }).code } }, 'storage: free space cannot be read');
      return this.state;
    }
    let state: StorageState = this.areas.some((a) => a.state === 'full')
      ? 'full'
      : this.areas.some((a) => a.state === 'low')
        ? 'low'
        : 'ok';
    // A refused write holds `full` for one interval: quotas and reserved blocks are invisible to statfs.
    if (Date.now() - this.failedAt < this.intervalMs) state = 'full';
    this.state = state;
    if (state !== before) this.logChange(before, state);
    return state;
  }

  private logChange(before: StorageState, now: StorageState) {
    const areas = this.areas.map((a) => ({ area: a.area, path: a.path, freeMb: Math.floor(a.freeBytes / 1048576) }));
    if (now === 'full')
      this.log?.error(
        { areas },
        'storage full: writes and audited reads are refused (503 storage-full) until space is freed',
      );
    else if (now === 'low')
      this.log?.warn(
        { areas, thresholdMb: Math.floor(this.lowBytes / 1048576) },
        'storage low: free space under the warning threshold',
      );
    else this.log?.info({ areas, before }, 'storage: free space back above the warning threshold');
  }
}

/** `kartei doctor`: the same judgement of the data and key directories' free space. */
export function storageFindings(config: Pick<Config, 'dataDir' | 'keyDir' | 'storageLowBytes'>) {
  const out: {
    severity: 'critical' | 'high';
    code: 'storage-full' | 'storage-low';
    params: Record<string, string | number>;
    title: string;
    fix: string;
  }[] = [];
  const seen = new Set<number>();
  for (const [area, dir] of [
    ['data', config.dataDir],
    ['keys', config.keyDir],
  ] as const) {
    // One finding per file system: the key directory usually shares the data directory's.
    if (!fs.existsSync(dir) || seen.has(fs.statSync(dir).dev)) continue;
    seen.add(fs.statSync(dir).dev);
    const a = measure(area, dir, config.storageLowBytes);
    const freeMb = Math.floor(a.freeBytes / 1048576);
    const params = { area, path: dir, freeMb, thresholdMb: Math.floor(config.storageLowBytes / 1048576) };
    if (a.state === 'full')
      out.push({
        severity: 'critical',
        code: 'storage-full',
        params,
        title: `The file system of the ${area === 'data' ? 'data' : 'key'} directory (${dir}) is full: ${freeMb} MB free${a.freeFiles === 0 ? ', no inodes left' : ''}`,
        fix: 'Free space or grow the file system now: writes, stored images and every audited read are refused (503 storage-full) until then. Nothing acknowledged is lost; it works again by itself once there is space.',
      });
    else if (a.state === 'low')
      out.push({
        severity: 'high',
        code: 'storage-low',
        params,
        title: `The file system of the ${area === 'data' ? 'data' : 'key'} directory (${dir}) has ${freeMb} MB free, under the warning threshold of ${params.thresholdMb} MB`,
        fix: 'Free space or grow the file system before it fills; the threshold is KARTEI_STORAGE_LOW_MB.',
      });
  }
  return out;
}
