// Attempts nobody has authenticated for (failed logins, wrong setup tokens,
// refused DICOM associations, failed TLS handshakes) are aggregated per chain,
// action, actor, outcome, source and minute: the first is written at once, the
// rest of that minute are only counted in memory and written as one event
// with their count (`detail.count`) when the minute is over. A flood then
// writes a bounded number of events instead of filling the disk until the
// fail-closed audit stops everything. Sources are kept as keyed hashes; past
// MAX_SOURCES distinct ones in a minute, further sources share one bucket
// (`source: "many"`), so memory is bounded as well.
// The log's event type comes in as a type parameter (`AttemptLog<AuditEvent>` in audit-log.ts),
// so this file needs nothing from audit-log.ts, which holds the one AttemptLog.

/** What an attempt needs of its event: the fields that tell buckets apart, and a detail to count in. */
export interface AttemptEvent {
  tenantId: string;
  actorId: string | null;
  action: string;
  outcome: string;
  detail?: Record<string, string | number | boolean>;
}

const MAX_SOURCES = 1_000;
const MINUTE = 60_000;

interface Bucket<E extends AttemptEvent> {
  minute: number;
  event: E;
  source: string;
  /** Attempts after the first, not yet written. */
  count: number;
}

export class AttemptLog<E extends AttemptEvent> {
  private readonly buckets = new Map<string, Bucket<E>>();

  /** Appends one event in a transaction of its own. */
  private readonly write: (e: E) => Promise<void>;
  /** A keyed hash of a client address. */
  private readonly sourceHash: (address: string) => string;
  private readonly now: () => number;
  private readonly maxSources: number;
  constructor(
    write: (e: E) => Promise<void>,
    sourceHash: (address: string) => string,
    now: () => number = Date.now,
    maxSources = MAX_SOURCES,
  ) {
    this.write = write;
    this.sourceHash = sourceHash;
    this.now = now;
    this.maxSources = maxSources;
  }

  /**
   * Records an attempt from `address`; resolves once it is on the record or counted. `kind`
   * separates attempts of one source that differ in a way the DPO must see (a closed set:
   * the login stage, why an association was refused), never text the caller chose.
   */
  async record(e: E, address: string | undefined, kind = ''): Promise<void> {
    const minute = Math.floor(this.now() / MINUTE);
    let source = address ? this.sourceHash(address) : 'unknown';
    let key = bucketKey(e, source, kind);
    const bucket = this.buckets.get(key);
    if (bucket && bucket.minute === minute) {
      bucket.count++;
      return;
    }
    // A bucket of an earlier minute is replaced before anything is awaited, so concurrent attempts count in the new one.
    if (bucket) this.buckets.delete(key);
    if (this.buckets.size >= this.maxSources) {
      source = 'many';
      key = bucketKey(e, source, kind);
      const shared = this.buckets.get(key);
      if (shared && shared.minute === minute) {
        shared.count++;
        return;
      }
    }
    this.buckets.set(key, { minute, event: e, source, count: 0 });
    if (bucket) await this.writeCount(bucket);
    await this.write(withDetail(e, { source }));
  }

  /** Writes the counts of minutes that are over (all of them with `all`, at shutdown) and forgets those buckets. */
  async flush(all = false): Promise<void> {
    const minute = Math.floor(this.now() / MINUTE);
    for (const [key, b] of [...this.buckets]) if (all || b.minute < minute) await this.flushBucket(key, b);
  }

  private async flushBucket(key: string, b: Bucket<E>): Promise<void> {
    if (this.buckets.get(key) !== b) return; // replaced meanwhile by a new minute's attempt, which wrote this count
    this.buckets.delete(key);
    await this.writeCount(b);
  }

  private async writeCount(b: Bucket<E>): Promise<void> {
    if (b.count === 0) return;
    await this.write(
      withDetail(b.event, { source: b.source, count: b.count, minute: new Date(b.minute * MINUTE).toISOString() }),
    );
  }
}

const bucketKey = (e: AttemptEvent, source: string, kind: string) =>
  JSON.stringify([e.tenantId, e.action, e.actorId, e.outcome, kind, source]);

const withDetail = <E extends AttemptEvent>(e: E, extra: Record<string, string | number>): E => ({
  ...e,
  detail: { ...e.detail, ...extra },
});
