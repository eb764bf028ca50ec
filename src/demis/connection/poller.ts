// Fetches each office's new DEMIS notifications on a schedule. Per poll: open the office's
// connection, get a token, walk the clearing API's pages from the stored position, decrypt each
// Binary (cms.ts) and hand the bundle to the import callback the composition root gives; only
// after the import returned (committed) is the position moved on. A crash between the two hands
// the same bundle again next time, and the import is idempotent on the bundle identifier: each
// notification lands once. A notification that cannot be decrypted stops the poll where it is
// (nothing skipped, nothing lost; the error says which). Never two polls of an office at once;
// failures (timeouts, 5xx, TLS, 401, …) back off exponentially with jitter; each poll is audited
// in the office's chain with its outcome and count; `stop()` ends cleanly, waiting for a running poll.
// Issue 19: instances — never two polls of an office across instances either: a poll first claims the
// office's connection for its instance (`polled_by`, one conditional update: free, its own, or held by an
// instance that is no longer live — src/db/instances.ts), and a scheduled poll only while it is still due,
// so an instance that finds an office due just after another polled it leaves it alone.
import type { Store } from '../../db/connect.ts';
import { inTenantTransaction } from '../../db/connect.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { Keyring } from '../../vault/keyring.ts';
import { ClearingClient, DemisFailure, demisTrust, type FailureKind } from './clearing-client.ts';
import { openEnveloped } from './cms.ts';
import { pkcs8Der } from './credentials.ts';
import { dueConnections, loadConnection, recordPoll, savePosition } from './connection-settings.ts';
// Issue 19: instances
import { KarteiError } from '../../errors.ts';
import { liveInstanceIds } from '../../db/instances.ts';

/**
 * Hands one decrypted notification bundle to the inbox: its bytes, media type (application/fhir+xml
 * or application/fhir+json), source, and the office and inbox department it was fetched for. Resolves
 * once the import is committed; idempotent on the bundle's identifier (a bundle handed twice is kept once).
 */
export type ImportBundle = (
  raw: Uint8Array,
  mediaType: string,
  source: 'demis',
  office: { tenantId: string; departmentId: string },
) => Promise<unknown>;

interface PollLog {
  info(o: object, msg: string): void;
  warn(o: object, msg: string): void;
  error(o: object, msg: string): void;
}

export interface Backoff {
  /** The wait after the first failure; doubled for each further one. */
  baseMs: number;
  maxMs: number;
}

export interface PollerOptions {
  store: Store;
  keyring: Keyring;
  audit: AuditLog;
  importBundle: ImportBundle;
  log: PollLog;
  /** CAs of the DEMIS servers (KARTEI_DEMIS_CA_FILE); unset: Node's and the system's. */
  caFile?: string;
  /** How often due offices are looked for (default 15 s). */
  tickMs?: number;
  /** Each request's time limit (default 30 s). */
  timeoutMs?: number;
  backoff?: Backoff;
  /** 0 ≤ r < 1, for the jitter (tests fix it). */
  random?: () => number;
  // Issue 19: instances
  /** This server's id in the instance registry: polls are claimed for it in the database (unset: in this process only). */
  instanceId?: string;
}

export interface PollResult {
  ok: boolean;
  imported: number;
  pages: number;
  failure?: FailureKind;
  nextPollAt: string;
}

const DEFAULT_BACKOFF: Backoff = { baseMs: 30_000, maxMs: 60 * 60_000 };
/** Pages read in one poll at most (50 notifications each): a server that never stops paging is a failure, not a hang. */
const MAX_PAGES_PER_POLL = 2_000;

/** The wait before the next try after `failures` failures in a row: exponential, capped, with equal jitter. */
export function backoffDelay(failures: number, b: Backoff, random: () => number): number {
  const full = Math.min(b.maxMs, b.baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(full / 2 + (full / 2) * random());
}

const mediaTypeOf = (raw: Uint8Array): string => {
  const first = raw.find(
    (b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09 && b !== 0xef && b !== 0xbb && b !== 0xbf,
  );
  return first === 0x7b ? 'application/fhir+json' : 'application/fhir+xml';
};

export class DemisPoller {
  private readonly o: PollerOptions;
  private readonly running = new Map<string, Promise<PollResult>>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = false;
  constructor(o: PollerOptions) {
    this.o = o;
  }

  /** Looks for due offices every tick, until `stop()`. */
  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => {
      this.ticking ??= this.tick().finally(() => {
        this.ticking = undefined;
      });
    }, this.o.tickMs ?? 15_000);
    this.timer.unref();
  }

  /** Stops the schedule and waits for the polls running now. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
    await Promise.allSettled([...this.running.values()]);
  }

  /** Polls every office that is due now. */
  async tick(): Promise<void> {
    let due: string[];
    try {
      due = await dueConnections(this.o.store, new Date().toISOString());
    } catch (e) {
      this.o.log.error({ err: e }, 'DEMIS: due connections not read');
      return;
    }
    const polls = await Promise.allSettled(due.map((tenantId) => this.poll(tenantId, null)));
    polls.forEach((p, i) => {
      // A poll that could not even record its failure (the connection unreadable, the database gone).
      if (p.status === 'rejected') this.o.log.error({ err: p.reason, tenantId: due[i] }, 'DEMIS poll not run');
    });
  }

  /**
   * Polls one office now (`actorId`: the admin who asked; null on the schedule). A poll already
   * running for the office is joined, never doubled.
   */
  poll(tenantId: string, actorId: string | null): Promise<PollResult> {
    const current = this.running.get(tenantId);
    if (current) return current;
    const run = this.run(tenantId, actorId).finally(() => this.running.delete(tenantId));
    this.running.set(tenantId, run);
    return run;
  }

  // Issue 19: instances
  /** The poll, once the office is claimed for this instance; a scheduled poll another instance runs or ran is skipped. */
  private async run(tenantId: string, actorId: string | null): Promise<PollResult> {
    const me = this.o.instanceId;
    if (!me) return this.polled(tenantId, actorId);
    const now = new Date().toISOString();
    if (!(await claimPoll(this.o.store, tenantId, me, actorId === null ? now : null))) {
      if (actorId !== null)
        throw new KarteiError(
          'conflict',
          'A poll of this office is running on another Kartei instance; try again shortly',
        );
      return { ok: true, imported: 0, pages: 0, nextPollAt: now };
    }
    try {
      return await this.polled(tenantId, actorId);
    } finally {
      await releasePoll(this.o.store, tenantId, me).catch((e) =>
        this.o.log.error({ err: e, tenantId }, 'DEMIS: poll not released (free again once this instance is gone)'),
      );
    }
  }

  private async polled(tenantId: string, actorId: string | null): Promise<PollResult> {
    const o = this.o;
    const conn = await loadConnection(o.store, o.keyring, tenantId);
    if (!conn) throw new Error('no DEMIS connection for this office');
    let imported = 0;
    let pages = 0;
    let failure: DemisFailure | undefined;
    const client = new ClearingClient(conn, { ca: demisTrust(o.caFile), timeoutMs: o.timeoutMs ?? 30_000 });
    try {
      const key = pkcs8Der(conn.privateKey);
      const token = await client.token();
      let position = conn.position;
      let ids = new Set(conn.positionIds);
      let url: string | null = client.firstPage(position);
      // A server whose next link points back at a page already read would keep the poll going for ever.
      const visited = new Set<string>();
      while (url && !this.stoppedMidway()) {
        if (visited.has(url) || visited.size >= MAX_PAGES_PER_POLL)
          throw new DemisFailure('protocol', 'clearing API: the next links go round in a loop or never end');
        visited.add(url);
        const page = await client.page(url, token);
        pages++;
        for (const b of page.binaries) {
          const at = Date.parse(b.lastUpdated);
          const was = position === null ? Number.NEGATIVE_INFINITY : Date.parse(position);
          if (at < was || (at === was && ids.has(b.id))) continue;
          let raw: Uint8Array;
          try {
            raw = await openEnveloped(b.data, conn.certificate, key);
          } catch {
            throw new DemisFailure('decrypt', `notification ${b.id} cannot be decrypted with the office's certificate`);
          }
          try {
            await o.importBundle(raw, mediaTypeOf(raw), 'demis', { tenantId, departmentId: conn.departmentId });
          } catch {
            throw new DemisFailure('import', `notification ${b.id} was not imported`);
          }
          if (at !== was) {
            position = b.lastUpdated;
            ids = new Set();
          }
          ids.add(b.id);
          await savePosition(o.store, tenantId, position!, [...ids]);
          imported++;
        }
        url = page.next;
      }
    } catch (e) {
      failure = e instanceof DemisFailure ? e : new DemisFailure('protocol', 'the poll failed unexpectedly');
      if (!(e instanceof DemisFailure)) o.log.error({ err: e, tenantId }, 'DEMIS poll failed unexpectedly');
    } finally {
      client.close();
    }
    const now = Date.now();
    const failures = failure ? conn.failures + 1 : 0;
    const wait = failure
      ? backoffDelay(failures, o.backoff ?? DEFAULT_BACKOFF, o.random ?? Math.random)
      : conn.pollIntervalMs;
    const result: PollResult = {
      ok: !failure,
      imported,
      pages,
      ...(failure ? { failure: failure.kind } : {}),
      nextPollAt: new Date(now + wait).toISOString(),
    };
    await recordPoll(o.store, o.keyring, tenantId, {
      at: new Date(now).toISOString(),
      imported,
      error: failure ? { kind: failure.kind, text: failure.message } : null,
      failures,
      nextPollAt: result.nextPollAt,
    });
    const facts = { tenantId, imported, pages, failures, ...(failure ? { failure: failure.kind } : {}) };
    if (failure) o.log.warn(facts, 'DEMIS poll failed');
    else o.log.info(facts, 'DEMIS poll');
    await inTenantTransaction(o.store, tenantId, (tx) =>
      o.audit.append(tx, {
        tenantId,
        actorId,
        action: 'demis.poll',
        resourceType: 'demis-connection',
        resourceId: tenantId,
        departmentId: conn.departmentId,
        outcome: failure ? 'error' : 'allowed',
        detail: {
          trigger: actorId ? 'admin' : 'schedule',
          imported,
          pages,
          ...(failure ? { failure: failure.kind, ...(failure.status ? { status: failure.status } : {}) } : {}),
        },
      }),
    );
    return result;
  }

  private stoppedMidway(): boolean {
    return this.stopped;
  }
}

// Issue 19: instances
/**
 * Claims the office's poll for instance `me`: free, its own, or held by an instance that is not live;
 * `dueAt`: only if the poll is due then (a scheduled poll). One conditional update, so of any number of
 * instances at most one holds it (PostgreSQL evaluates the condition again on the locked row).
 */
async function claimPoll(store: Store, tenantId: string, me: string, dueAt: string | null): Promise<boolean> {
  return inTenantTransaction(store, tenantId, async (tx) => {
    let claim = tx
      .updateTable('demis_connections')
      .set({ polled_by: me })
      .where('tenant_id', '=', tenantId)
      .where((eb) =>
        eb.or([eb('polled_by', 'is', null), eb('polled_by', '=', me), eb('polled_by', 'not in', liveInstanceIds(tx))]),
      );
    if (dueAt)
      claim = claim
        .where('enabled', '=', 1)
        .where((eb) => eb.or([eb('next_poll_at', 'is', null), eb('next_poll_at', '<=', dueAt)]));
    return Number((await claim.executeTakeFirst()).numUpdatedRows) === 1;
  });
}

/** Lets go of the office's poll (after its outcome and next time are recorded). */
async function releasePoll(store: Store, tenantId: string, me: string): Promise<void> {
  await inTenantTransaction(store, tenantId, (tx) =>
    tx
      .updateTable('demis_connections')
      .set({ polled_by: null })
      .where('tenant_id', '=', tenantId)
      .where('polled_by', '=', me)
      .execute(),
  );
}
