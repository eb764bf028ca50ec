// Attempts nobody has authenticated for (failed logins, wrong setup tokens,
// refused DICOM associations, failed TLS handshakes) are aggregated per chain,
// action, actor, outcome, source and minute: the first is written at once, the
// rest of that minute are only counted in memory and written as one event
// with their count (`detail.count`) when the minute is over. A flood then
// writes a bounded number of events instead of filling the disk until the
// fail-closed audit stops everything. Sources are kept as keyed hashes; past
// MAX_SOURCES distinct ones in a minute, further sources share one bucket
// (`source: "many"`), so memory is bounded as well.
import type { AuditEvent } from './audit-log.ts';

export const MAX_SOURCES = 1_000;
const MINUTE = 60_000;

interface Bucket {
  minute: number;
  event: AuditEvent;
  source: string;
  /** Attempts after the first, not yet written. */
  count: number;
}

export class AttemptLog {
  private readonly buckets = new Map<string, Bucket>();

  /** Appends one event in a transaction of its own. */
  private readonly write: (e: AuditEvent) => Promise<void>;
  /** A keyed hash of a client address. */
  private readonly sourceHash: (address: string) => string;
  private readonly now: () => number;
  private readonly maxSources: number;
  constructor(
    write: (e: AuditEvent) => Promise<void>,
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
  async record(e: AuditEvent, address: string | undefined, kind = ''): Promise<void> {
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

  private async flushBucket(key: string, b: Bucket): Promise<void> {
    if (this.buckets.get(key) !== b) return; // replaced meanwhile by a new minute's attempt, which wrote this count
    this.buckets.delete(key);
    await this.writeCount(b);
  }

  private async writeCount(b: Bucket): Promise<void> {
    if (b.count === 0) return;
    await this.write(
      withDetail(b.event, { source: b.source, count: b.count, minute: new Date(b.minute * MINUTE).toISOString() }),
    );
  }
}

const bucketKey = (e: AuditEvent, source: string, kind: string) =>
  JSON.stringify([e.tenantId, e.action, e.actorId, e.outcome, kind, source]);

const withDetail = (e: AuditEvent, extra: Record<string, string | number>): AuditEvent => ({
  ...e,
  detail: { ...e.detail, ...extra },
});
