// The running servers of one database (issue 19: several instances on one PostgreSQL). Each server
// writes its row at start (table `server_instances`, migration 039), beats every HEARTBEAT_MS and marks
// itself stopped on an orderly stop. An instance is live while it has not stopped and its last
// heartbeat is younger than LIVE_WITHIN_MS; whatever an instance holds (the setup link it printed,
// a letter run, an import, an office's DEMIS poll) is held only while it is live, so the others take
// over what a crashed one left without waiting for anyone. Nothing here is secret or personal.
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
}

/** The oldest heartbeat of a live instance at `now`. */
export function liveSince(now = Date.now()): string {
  return new Date(now - LIVE_WITHIN_MS).toISOString();
}

/** The ids of the live instances, as a subquery (`where runner in (…)`); no tenant wall on this table. */
export function liveInstanceIds(db: Db, now = Date.now()) {
  return db
    .selectFrom('server_instances')
    .select('server_instances.id')
    .where('server_instances.stopped_at', 'is', null)
    .where('server_instances.heartbeat_at', '>=', liveSince(now));
}

/** Whether a row read back is live at `now`. */
export function isLive(row: Pick<InstanceRow, 'stoppedAt' | 'heartbeatAt'>, now = Date.now()): boolean {
  return row.stoppedAt === null && row.heartbeatAt >= liveSince(now);
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

  constructor(store: Store, facts: InstanceFacts) {
    this.store = store;
    this.facts = facts;
  }

  get id(): string {
    return this.facts.id;
  }

  /** Writes this instance's row and starts the heartbeat (an unref'd timer: it keeps no process alive). */
  async register(now = Date.now()): Promise<void> {
    const f = this.facts;
    const at = new Date(now).toISOString();
    await this.store.db
      .deleteFrom('server_instances')
      .where((eb) =>
        eb.or([
          eb('stopped_at', '<', new Date(now - KEEP_MS).toISOString()),
          eb('heartbeat_at', '<', new Date(now - KEEP_MS).toISOString()),
        ]),
      )
      .execute();
    await this.store.db
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
        started_at: at,
        heartbeat_at: at,
        stopped_at: null,
      })
      .execute();
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

  /** The heartbeat: this instance is still here. */
  async beat(now = Date.now()): Promise<void> {
    await this.store.db
      .updateTable('server_instances')
      .set({ heartbeat_at: new Date(now).toISOString() })
      .where('id', '=', this.facts.id)
      .execute();
  }

  /** An orderly stop: the heartbeat ends and the row says so (what this instance held is free at once). */
  async stop(now = Date.now()): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.beating;
    await this.store.db
      .updateTable('server_instances')
      .set({ stopped_at: new Date(now).toISOString() })
      .where('id', '=', this.facts.id)
      .execute();
  }
}

/**
 * After a restore: the instances the backed-up database had on record were not running when it was
 * restored (a restore runs with every server stopped), so none of them is live, crashed or holding
 * anything; they are marked stopped as of now. Answers how many were.
 */
export async function stopRestoredInstances(db: Db, now = Date.now()): Promise<number> {
  const r = await db
    .updateTable('server_instances')
    .set({ stopped_at: new Date(now).toISOString() })
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
  };
}
