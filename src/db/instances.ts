// The running servers of one database (issue 19: several instances on one PostgreSQL). Each server
// writes its row at start (table `server_instances`, migration 039), beats every HEARTBEAT_MS and marks
// itself stopped on an orderly stop. An instance is live while it has not stopped and its last
// heartbeat is younger than LIVE_WITHIN_MS; whatever an instance holds (the setup link it printed,
// a letter run, an import, an office's DEMIS poll) is held only while it is live, so the others take
// over what a crashed one left without waiting for anyone. Nothing here is secret or personal.
// Every time in this table is the database's clock (`databaseTime`), written and compared there: the
// hosts' clocks may differ, the database has one (an instance whose clock runs behind is still live to
// the others). Each heartbeat also measures how far the instance's own clock is off the database's.
import { PostgresAdapter, sql, type RawBuilder } from 'kysely';
import type { Db, Store } from './connect.ts';

/** How often a server writes its heartbeat. */
const HEARTBEAT_MS = 10_000;
/** A heartbeat older than this, without a stop: the instance is gone (crashed, killed, cut off). */
export const LIVE_WITHIN_MS = 30_000;

/** What a server says of itself when it starts. */
export interface InstanceFacts {
  id: string;
  dataDirId: string;
  host: string;
  pid: number;
  version: string;
  schemaLevel: string;
  keyFingerprint: string;
  storage: string | null;
  listen: string[];
}

/** One row of the registry, as read back. */
export interface InstanceRow {
  id: string;
  dataDirId: string;
  host: string;
  pid: number;
  version: string;
  schemaLevel: string;
  keyFingerprint: string;
  storage: string | null;
  listen: string[];
  startedAt: string;
  heartbeatAt: string;
  stoppedAt: string | null;
  /** How far its clock was surely off the database's at its last heartbeat, ms (> 0 ahead); null before. */
  clockSkewMs: number | null;
}

/** A host clock further than this from the database's is worth a warning (a log line, a doctor finding). */
export const CLOCK_SKEW_WARN_MS = 10_000;

/**
 * The database's clock `offsetMs` from now, as SQL, in the format the table keeps (ISO 8601 in UTC with
 * milliseconds, as `Date.toISOString()` writes it, so texts compare in time order). PostgreSQL's
 * `clock_timestamp()` (not the transaction's start); SQLite's own 'now' (on the one machine it runs on).
 */
export function databaseTime(db: Db, offsetMs = 0): RawBuilder<string> {
  if (db.getExecutor().adapter instanceof PostgresAdapter)
    return sql<string>`to_char((clock_timestamp() + ${offsetMs}::float8 * interval '1 millisecond') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  return sql<string>`strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ${`${offsetMs / 1000} seconds`})`;
}

/** The database's clock now, in milliseconds since 1970. */
export async function databaseNow(db: Db): Promise<number> {
  const r = await sql<{ now: string }>`select ${databaseTime(db)} as now`.execute(db);
  return Date.parse(r.rows[0]!.now);
}

/** The oldest heartbeat of a live instance, on the database's clock (SQL). */
export function liveSince(db: Db): RawBuilder<string> {
  return databaseTime(db, -LIVE_WITHIN_MS);
}

/** The ids of the live instances, as a subquery (`where runner in (…)`); no tenant wall on this table. */
export function liveInstanceIds(db: Db) {
  return db
    .selectFrom('server_instances')
    .select('server_instances.id')
    .where('server_instances.stopped_at', 'is', null)
    .where('server_instances.heartbeat_at', '>=', liveSince(db));
}

/** Whether a row read back is live at `dbNow`, a time read from the database's clock (`databaseNow`). */
export function isLive(row: Pick<InstanceRow, 'stoppedAt' | 'heartbeatAt'>, dbNow: number): boolean {
  return row.stoppedAt === null && row.heartbeatAt >= new Date(dbNow - LIVE_WITHIN_MS).toISOString();
}

/**
 * How far a host's clock is off the database's: `ms` > 0 ahead, < 0 behind, measured as the middle of a
 * round trip against the time the database wrote; `within` is half the round trip (the measurement's slack).
 */
export interface ClockSkew {
  ms: number;
  within: number;
}

/** Runs `write` (which answers the database's time it wrote, if it wrote) between two readings of `clock`. */
export async function measureSkew(
  clock: () => number,
  write: () => Promise<string | undefined>,
): Promise<ClockSkew | undefined> {
  const before = clock();
  const at = await write();
  const after = clock();
  if (at === undefined) return undefined;
  return { ms: Math.round((before + after) / 2 - Date.parse(at)), within: Math.ceil((after - before) / 2) };
}

/** Whether a measured skew is surely beyond CLOCK_SKEW_WARN_MS (the round trip's slack given to the host). */
export function skewed(m: ClockSkew): boolean {
  return Math.abs(surelyOff(m)) > CLOCK_SKEW_WARN_MS;
}

/** What a measurement says for sure: the skew less the round trip's slack, signed (0 within the slack). */
export function surelyOff(m: ClockSkew): number {
  const off = Math.max(0, Math.abs(m.ms) - m.within);
  return m.ms < 0 && off > 0 ? -off : off;
}

/** Rows that stopped or were last heard of more than this long ago are forgotten at a start. */
const KEEP_MS = 30 * 86_400_000;

/** Registers this server, beats, and marks it stopped. One per server process. */
export class InstanceRegistry {
  readonly facts: InstanceFacts;
  private readonly store: Store;
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  /** Told of a heartbeat that could not be written (the database gone for a while). */
  onError: (e: unknown) => void = () => undefined;
  /** Called after each heartbeat (the server removes a setup token file once setup is done). */
  onBeat: () => Promise<void> = async () => undefined;
  /** Told when this host's clock comes to be, or stops being, further than CLOCK_SKEW_WARN_MS off the database's. */
  onClockSkew: (skew: ClockSkew, off: boolean) => void = () => undefined;
  /** This host's clock against the database's at the last heartbeat (undefined before the first). */
  clockSkew: ClockSkew | undefined;
  /** This process's clock: only for measuring the skew (every time written is the database's). */
  private readonly clock: () => number;

  constructor(store: Store, facts: InstanceFacts, clock: () => number = Date.now) {
    this.store = store;
    this.facts = facts;
    this.clock = clock;
  }

  get id(): string {
    return this.facts.id;
  }

  /** Writes this instance's row and starts the heartbeat (an unref'd timer: it keeps no process alive). */
  async register(): Promise<void> {
    const f = this.facts;
    const db = this.store.db;
    await db
      .deleteFrom('server_instances')
      .where((eb) =>
        eb.or([eb('stopped_at', '<', databaseTime(db, -KEEP_MS)), eb('heartbeat_at', '<', databaseTime(db, -KEEP_MS))]),
      )
      .execute();
    await this.measure(async () => {
      const row = await db
        .insertInto('server_instances')
        .values({
          id: f.id,
          data_dir_id: f.dataDirId,
          host: f.host,
          pid: f.pid,
          version: f.version,
          schema_level: f.schemaLevel,
          key_fingerprint: f.keyFingerprint,
          storage: f.storage,
          listen: JSON.stringify(f.listen),
          started_at: databaseTime(db),
          heartbeat_at: databaseTime(db),
          stopped_at: null,
        })
        .returning('heartbeat_at')
        .executeTakeFirstOrThrow();
      return row.heartbeat_at;
    });
    this.timer = setInterval(() => {
      this.beating ??= this.beat()
        .then(() => this.onBeat())
        .catch((e) => this.onError(e))
        .finally(() => {
          this.beating = undefined;
        });
    }, HEARTBEAT_MS);
    this.timer.unref();
  }

  /** The heartbeat: this instance is still here (at the database's time). */
  async beat(): Promise<void> {
    const db = this.store.db;
    await this.measure(async () => {
      const row = await db
        .updateTable('server_instances')
        // The skew measured at the beat before (each measurement needs the write's answer): kept for the doctor.
        .set({ heartbeat_at: databaseTime(db), clock_skew_ms: this.clockSkew ? surelyOff(this.clockSkew) : null })
        .where('id', '=', this.facts.id)
        .returning('heartbeat_at')
        .executeTakeFirst();
      return row?.heartbeat_at;
    });
  }

  /** An orderly stop: the heartbeat ends and the row says so (what this instance held is free at once). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.beating;
    await this.store.db
      .updateTable('server_instances')
      .set({ stopped_at: databaseTime(this.store.db) })
      .where('id', '=', this.facts.id)
      .execute();
  }

  /** A write of the heartbeat, with this host's clock read around it: the skew, told when it crosses the bound. */
  private async measure(write: () => Promise<string | undefined>): Promise<void> {
    const m = await measureSkew(this.clock, write);
    // No row (removed by hand): nothing was measured.
    if (!m) return;
    const was = this.clockSkew ? skewed(this.clockSkew) : false;
    this.clockSkew = m;
    if (skewed(m) !== was) this.onClockSkew(m, skewed(m));
  }
}

/**
 * After a restore: the instances the backed-up database had on record were not running when it was
 * restored (a restore runs with every server stopped), so none of them is live, crashed or holding
 * anything; they are marked stopped as of now. Answers how many were.
 */
export async function stopRestoredInstances(db: Db): Promise<number> {
  const r = await db
    .updateTable('server_instances')
    .set({ stopped_at: databaseTime(db) })
    .where('stopped_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** Every instance on record, newest start first. */
export async function listInstances(db: Db): Promise<InstanceRow[]> {
  const rows = await db.selectFrom('server_instances').selectAll().orderBy('started_at', 'desc').execute();
  return rows.map(toRow);
}

function toRow(r: {
  id: string;
  data_dir_id: string;
  host: string;
  pid: number;
  version: string;
  schema_level: string;
  key_fingerprint: string;
  storage: string | null;
  listen: string;
  started_at: string;
  heartbeat_at: string;
  stopped_at: string | null;
  clock_skew_ms: number | null;
}): InstanceRow {
  let listen: string[] = [];
  try {
    listen = JSON.parse(r.listen) as string[];
  } catch {
    // A row written by hand: shown without addresses.
  }
  return {
    id: r.id,
    dataDirId: r.data_dir_id,
    host: r.host,
    pid: Number(r.pid),
    version: r.version,
    schemaLevel: r.schema_level,
    keyFingerprint: r.key_fingerprint,
    storage: r.storage,
    listen,
    startedAt: r.started_at,
    heartbeatAt: r.heartbeat_at,
    stoppedAt: r.stopped_at,
    clockSkewMs: r.clock_skew_ms === null ? null : Number(r.clock_skew_ms),
  };
}
