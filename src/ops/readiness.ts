// Readiness (issue 19): may this process take traffic now? The database answers,
// the data directory is there and writable and its file system not full, the key
// directory is readable, and the migrations ran (they run before anything
// listens, so a listening server has them). `low` storage is a warning and still
// ready. The checks run at most once a second however often they are asked
// (callers arriving together share one run), and say only ok/failed per check.
import fs from 'node:fs/promises';
import { sql } from 'kysely';
import type { Store } from '../db/connect.ts';
import type { StorageSpace } from './storage-space.ts';

export type CheckResult = 'ok' | 'low' | 'full' | 'failed';

export interface Readiness {
  ready: boolean;
  checks: { database: CheckResult; storage: CheckResult; keys: CheckResult; migrations: CheckResult };
}

/** Results are this fresh at most. */
const FRESH_MS = 1_000;
/** A database that has not answered within this is not ready. */
const DATABASE_TIMEOUT_MS = 2_000;

export class ReadinessCheck {
  private last: { at: number; result: Promise<Readiness> } | undefined;
  private readonly store: Store;
  private readonly storage: StorageSpace;
  private readonly dirs: { dataDir: string; keyDir: string };
  constructor(store: Store, storage: StorageSpace, dirs: { dataDir: string; keyDir: string }) {
    this.store = store;
    this.storage = storage;
    this.dirs = dirs;
  }

  check(): Promise<Readiness> {
    const now = Date.now();
    if (this.last && now - this.last.at < FRESH_MS) return this.last.result;
    const result = this.run();
    this.last = { at: now, result };
    return result;
  }

  private async run(): Promise<Readiness> {
    const [database, dataDir, keys] = await Promise.all([
      this.database(),
      ok(fs.access(this.dirs.dataDir, fs.constants.R_OK | fs.constants.W_OK | fs.constants.X_OK)),
      ok(fs.access(this.dirs.keyDir, fs.constants.R_OK | fs.constants.X_OK)),
    ]);
    const state = this.storage.check();
    const storage: CheckResult = dataDir === 'failed' ? 'failed' : state;
    const checks = { database, storage, keys, migrations: 'ok' as const };
    return { ready: database === 'ok' && keys === 'ok' && (storage === 'ok' || storage === 'low'), checks };
  }

  private async database(): Promise<CheckResult> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<CheckResult>((resolve) => {
      timer = setTimeout(() => resolve('failed'), DATABASE_TIMEOUT_MS);
    });
    try {
      return await Promise.race([ok(sql`select 1`.execute(this.store.db)), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

const ok = (p: Promise<unknown>): Promise<CheckResult> =>
  p.then(
    () => 'ok',
    () => 'failed',
  );
